//! The wire rules for service and method names (WIRE.md section 1): the `clamator-names`
//! crate's, which the `#[contract]` macro checks at compile time too.

/// `true` when `name` matches `^[a-z][a-z0-9-]*$`, the rule for a service segment.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// assert!(clamator::transport::is_valid_service_name("arith"));
/// assert!(clamator::transport::is_valid_service_name("user-store2"));
/// assert!(!clamator::transport::is_valid_service_name("Arith"));
/// assert!(!clamator::transport::is_valid_service_name(""));
/// ```
pub fn is_valid_service_name(name: &str) -> bool {
    clamator_names::is_valid_service_name(name)
}

/// `true` when `name` matches `^[a-z][a-zA-Z0-9]*$`, the rule for a method segment.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// assert!(clamator::transport::is_valid_method_name("slowAdd"));
/// assert!(!clamator::transport::is_valid_method_name("slow-add"));
/// assert!(!clamator::transport::is_valid_method_name("SlowAdd"));
/// ```
pub fn is_valid_method_name(name: &str) -> bool {
    clamator_names::is_valid_method_name(name)
}

/// Converts a Rust `snake_case` identifier to the wire's `camelCase` (`slow_add` → `slowAdd`).
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// assert_eq!(clamator::transport::to_camel_case("slow_add"), "slowAdd");
/// assert_eq!(clamator::transport::to_camel_case("add"), "add");
/// assert_eq!(clamator::transport::to_camel_case("sleep_ms"), "sleepMs");
/// ```
pub fn to_camel_case(snake: &str) -> String {
    clamator_names::to_camel_case(snake)
}
