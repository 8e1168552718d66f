//! The wire-name rules (WIRE.md section 1) as the macro reports them: the rules themselves
//! are the `clamator-names` crate's, shared with `clamator-core`.

pub use clamator_names::is_valid_service_name;
use clamator_names::{is_valid_method_name, to_camel_case};

/// The default wire name of a Rust method: its lowerCamelCase form (`slow_add` → `slowAdd`).
pub fn default_wire_name(rust_name: &str) -> String {
    to_camel_case(rust_name)
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
            to_camel_case(&name.replace('-', "_"))
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
    fn wire_name_messages() {
        assert_eq!(check_wire_name("slowAdd", None), None);
        assert!(check_wire_name("slow-add", None).unwrap().contains("may not contain '-' (since clamator 0.1.6)"));
        assert!(check_wire_name("slow-add", None).unwrap().contains("`slowAdd`"));
        assert!(check_wire_name("Div", None).unwrap().starts_with("invalid method name `Div`"));
        assert!(check_wire_name("é", Some("é")).unwrap().contains("derived from `é`"));
    }
}
