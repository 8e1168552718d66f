//! The wire-name rules (WIRE.md section 1), as the macro checks them at compile time.

use heck::ToLowerCamelCase;

/// `true` when `name` matches `^[a-z][a-z0-9-]*$`, the rule for service names.
pub fn is_valid_service_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
}

/// `true` when `name` matches `^[a-z][a-zA-Z0-9]*$`, the rule for method (wire) names.
pub fn is_valid_method_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// The default wire name of a Rust method: its lowerCamelCase form (`slow_add` → `slowAdd`).
pub fn default_wire_name(rust_name: &str) -> String {
    rust_name.to_lower_camel_case()
}

/// Checks a wire name; `derived_from` is the Rust name when the wire name was not given
/// explicitly. Returns the message to report, if any.
pub fn check_wire_name(name: &str, derived_from: Option<&str>) -> Option<String> {
    if is_valid_method_name(name) {
        return None;
    }
    if name.contains('-') {
        return Some(format!(
            "method names may not contain '-' (since clamator 0.1.6): `{name}`; use camelCase, e.g. `{}`",
            name.to_lower_camel_case()
        ));
    }
    Some(match derived_from {
        None => format!("invalid method name `{name}`: method names must match ^[a-z][a-zA-Z0-9]*$"),
        Some(rust) => format!(
            "the wire name `{name}` derived from `{rust}` is invalid: method names must match \
             ^[a-z][a-zA-Z0-9]*$; set one with #[clamator(name = \"...\")]"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case() {
        assert_eq!(default_wire_name("add"), "add");
        assert_eq!(default_wire_name("slow_add"), "slowAdd");
        assert_eq!(default_wire_name("sleep_ms"), "sleepMs");
        assert_eq!(default_wire_name("get_user_by_id"), "getUserById");
        assert_eq!(default_wire_name("add2"), "add2");
    }

    #[test]
    fn service_names() {
        assert!(is_valid_service_name("arith"));
        assert!(is_valid_service_name("user-store2"));
        assert!(!is_valid_service_name(""));
        assert!(!is_valid_service_name("Arith"));
        assert!(!is_valid_service_name("2arith"));
        assert!(!is_valid_service_name("-arith"));
        assert!(!is_valid_service_name("ari_th"));
        assert!(!is_valid_service_name("ari.th"));
    }

    #[test]
    fn method_names() {
        assert!(is_valid_method_name("add"));
        assert!(is_valid_method_name("slowAdd"));
        assert!(is_valid_method_name("add2"));
        assert!(!is_valid_method_name(""));
        assert!(!is_valid_method_name("SlowAdd"));
        assert!(!is_valid_method_name("slow_add"));
        assert!(!is_valid_method_name("slow-add"));
        assert!(!is_valid_method_name("2add"));
    }

    #[test]
    fn wire_name_messages() {
        assert_eq!(check_wire_name("slowAdd", None), None);
        assert!(check_wire_name("slow-add", None).unwrap().contains("may not contain '-' (since clamator 0.1.6)"));
        assert!(check_wire_name("slow-add", None).unwrap().contains("`slowAdd`"));
        assert!(check_wire_name("Div", None).unwrap().starts_with("invalid method name `Div`"));
        assert!(check_wire_name("é", Some("é")).unwrap().contains("derived from `é`"));
    }
}
