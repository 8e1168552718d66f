//! Compile-time tests for `#[clamator::contract]`: see `tests/ui.rs`, `tests/pass/` and
//! `tests/fail/`. The crate itself is empty; its dependencies are what the test cases use.
