//! The wire rules for service and method names (WIRE.md section 1).

/// `true` when `name` matches `^[a-z][a-z0-9-]*$`, the rule for a service segment.
///
/// ```
/// assert!(clamator_core::is_valid_service_name("arith"));
/// assert!(clamator_core::is_valid_service_name("user-store2"));
/// assert!(!clamator_core::is_valid_service_name("Arith"));
/// assert!(!clamator_core::is_valid_service_name(""));
/// ```
pub fn is_valid_service_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// `true` when `name` matches `^[a-z][a-zA-Z0-9]*$`, the rule for a method segment.
///
/// ```
/// assert!(clamator_core::is_valid_method_name("slowAdd"));
/// assert!(!clamator_core::is_valid_method_name("slow-add"));
/// assert!(!clamator_core::is_valid_method_name("SlowAdd"));
/// ```
pub fn is_valid_method_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// Converts a Rust `snake_case` identifier to the wire's `camelCase` (`slow_add` → `slowAdd`).
///
/// ```
/// assert_eq!(clamator_core::to_camel_case("slow_add"), "slowAdd");
/// assert_eq!(clamator_core::to_camel_case("add"), "add");
/// assert_eq!(clamator_core::to_camel_case("sleep_ms"), "sleepMs");
/// ```
pub fn to_camel_case(snake: &str) -> String {
    if snake.starts_with('_') {
        // `__all__` and friends are not field names; leave them alone.
        return snake.to_owned();
    }
    let mut out = String::with_capacity(snake.len());
    let mut upper_next = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper_next = true;
        } else if upper_next {
            out.extend(ch.to_uppercase());
            upper_next = false;
        } else {
            out.push(ch);
        }
    }
    out
}
