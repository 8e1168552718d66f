//! `#[clamator::contract]` UI tests: the pass cases compile and run, the fail cases produce
//! exactly the checked-in diagnostics (regenerate with `TRYBUILD=overwrite`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/fail/*.rs");
}
