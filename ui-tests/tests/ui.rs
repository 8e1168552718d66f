//! `#[clamator::contract]` UI tests: the pass cases compile and run, the fail cases (grouped
//! by topic under `tests/fail/`) produce exactly the checked-in diagnostics.
//!
//! The `.stderr` files hold rustc's wording, which changes between releases. They were
//! written with the rustc named in `tests/fail/RUSTC_VERSION`; with any other rustc the fail
//! cases are skipped with a loud note (the pass cases always run), so that a new stable
//! release cannot turn CI red. `CLAMATOR_UI=force` runs them anyway. To move to a new rustc:
//! `TRYBUILD=overwrite cargo test -p clamator-ui-tests`, review the diff, and update
//! `RUSTC_VERSION` to the first line of `rustc --version`'s output (`rustc 1.95.0`).

use std::process::Command;

/// `rustc X.Y.Z` of the compiler cargo uses.
fn rustc_version() -> Option<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
}

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    let pinned = include_str!("fail/RUSTC_VERSION").trim();
    let current = rustc_version().unwrap_or_else(|| "unknown rustc".to_owned());
    let forced = std::env::var("CLAMATOR_UI").is_ok_and(|v| v == "force");
    if current == pinned || forced {
        t.compile_fail("tests/fail/*/*.rs");
    } else {
        eprintln!(
            "\n\n*** SKIPPED the compile-fail UI tests: their .stderr files were written with {pinned}, this is \
             {current}. Run them with CLAMATOR_UI=force, or regenerate (TRYBUILD=overwrite) and update \
             ui-tests/tests/fail/RUSTC_VERSION. ***\n"
        );
    }
}
