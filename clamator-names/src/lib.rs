//! The clamator wire-name rules (WIRE.md section 1), in one place: the `#[clamator::contract]`
//! macro checks names with them at compile time and `clamator-core` at run time, so the two
//! cannot disagree. No dependencies, `no_std`.
//!
//! ```
//! assert!(clamator_names::is_valid_service_name("user-store2"));
//! assert!(clamator_names::is_valid_method_name("slowAdd"));
//! assert_eq!(clamator_names::to_camel_case("get_user_by_id"), "getUserById");
//! ```
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

use alloc::string::String;

/// `true` when `name` matches `^[a-z][a-z0-9-]*$`, the rule for a service name.
///
/// ```
/// assert!(clamator_names::is_valid_service_name("arith"));
/// assert!(!clamator_names::is_valid_service_name("Arith"));
/// assert!(!clamator_names::is_valid_service_name(""));
/// ```
pub fn is_valid_service_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// `true` when `name` matches `^[a-z][a-zA-Z0-9]*$`, the rule for a method (wire) name.
/// Since clamator 0.1.6 a method name may not contain `-`.
///
/// ```
/// assert!(clamator_names::is_valid_method_name("slowAdd"));
/// assert!(!clamator_names::is_valid_method_name("slow-add"));
/// assert!(!clamator_names::is_valid_method_name("SlowAdd"));
/// ```
pub fn is_valid_method_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// A Rust `snake_case` identifier in the wire's lowerCamelCase (`slow_add` → `slowAdd`): the
/// default wire name of a contract method, and the wire name of a field renamed with
/// `#[serde(rename_all = "camelCase")]`. Names starting with `_` (`__all__`) are returned
/// unchanged; they are not field names.
///
/// ```
/// use clamator_names::to_camel_case;
/// assert_eq!(to_camel_case("slow_add"), "slowAdd");
/// assert_eq!(to_camel_case("add"), "add");
/// assert_eq!(to_camel_case("add_2"), "add2");
/// assert_eq!(to_camel_case("__all__"), "__all__");
/// ```
pub fn to_camel_case(snake: &str) -> String {
    if snake.starts_with('_') {
        return String::from(snake);
    }
    let mut out = String::with_capacity(snake.len());
    let mut upper_next = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper_next = !out.is_empty();
        } else if upper_next {
            out.extend(ch.to_uppercase());
            upper_next = false;
        } else if out.is_empty() {
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// `true` when a field's Rust name differs from its camelCase wire name (`sleep_ms`): a
/// struct with such a field needs `#[serde(rename_all = "camelCase")]` to speak the wire.
///
/// ```
/// assert!(clamator_names::needs_camel_case("sleep_ms"));
/// assert!(!clamator_names::needs_camel_case("sum"));
/// ```
pub fn needs_camel_case(field: &str) -> bool {
    !field.starts_with('_') && to_camel_case(field) != field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case() {
        assert_eq!(to_camel_case("add"), "add");
        assert_eq!(to_camel_case("slow_add"), "slowAdd");
        assert_eq!(to_camel_case("sleep_ms"), "sleepMs");
        assert_eq!(to_camel_case("get_user_by_id"), "getUserById");
        assert_eq!(to_camel_case("add2"), "add2");
        assert_eq!(to_camel_case("slow__add_"), "slowAdd");
        assert_eq!(to_camel_case("é"), "é");
    }

    #[test]
    fn service_names() {
        assert!(is_valid_service_name("arith"));
        assert!(is_valid_service_name("user-store2"));
        for bad in ["", "Arith", "2arith", "-arith", "ari_th", "ari.th"] {
            assert!(!is_valid_service_name(bad), "{bad}");
        }
    }

    #[test]
    fn method_names() {
        assert!(is_valid_method_name("add"));
        assert!(is_valid_method_name("slowAdd"));
        assert!(is_valid_method_name("add2"));
        for bad in ["", "SlowAdd", "slow_add", "slow-add", "2add"] {
            assert!(!is_valid_method_name(bad), "{bad}");
        }
    }
}
