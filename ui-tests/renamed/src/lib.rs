//! Checks that `#[rpc::contract]` works when the `clamator` dependency is renamed to `rpc`:
//! see `tests/renamed.rs`.
