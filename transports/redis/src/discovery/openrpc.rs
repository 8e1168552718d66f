//! Published schemas as documents: an OpenRPC document per service, a manifest in the shape
//! of `@clamator/codegen`'s, and the comparison of two manifests that a CI job uses to catch
//! contract drift.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use clamator_core::{Contract, MethodKind};

use super::document::{InstanceInfo, MethodInfo};

/// The manifest's `generatedBy`.
pub const GENERATED_BY: &str = concat!("clamator-rs ", env!("CARGO_PKG_VERSION"));

/// Contract `C` described as a server hosting it publishes it (methods, kinds and schemas;
/// no instance, no stats): for [`openrpc`] and [`manifest`] straight from the code, e.g. a
/// CI test that compares a committed manifest with [`compare_manifests`].
///
/// ```ignore
/// let current = manifest(&[describe_contract::<ArithContract>()]);
/// let committed: serde_json::Value = serde_json::from_str(include_str!("contracts.json"))?;
/// let drift = compare_manifests(&committed, &current, None);
/// assert!(drift.is_empty(), "contract drift: {drift:?}");
/// ```
pub fn describe_contract<C: Contract>() -> InstanceInfo {
    let schemas = C::schemas();
    let methods = C::descriptor()
        .methods
        .iter()
        .map(|m| {
            let s = schemas.iter().find(|s| s.method == m.name);
            MethodInfo {
                name: m.name.to_string(),
                kind: match m.kind {
                    MethodKind::Method => "method".to_owned(),
                    MethodKind::Notification => "notification".to_owned(),
                },
                params_schema: s.and_then(|s| s.params.clone()),
                result_schema: s.and_then(|s| s.result.clone()),
                stats: Default::default(),
            }
        })
        .collect();
    InstanceInfo {
        service: C::SERVICE.to_owned(),
        instance: String::new(),
        consumer: String::new(),
        library: super::LIBRARY.to_owned(),
        library_version: env!("CARGO_PKG_VERSION").to_owned(),
        version: None,
        started_at_ms: 0,
        heartbeat_at_ms: 0,
        heartbeat_interval_ms: 0,
        concurrency: 0,
        methods,
    }
}

/// The OpenRPC 1.3 document of one service, from a published instance: one method per
/// wire method (`service.method`), its params by name (the properties of the params
/// schema), its result, and the schemas' `$defs` under `components.schemas`. A method
/// without a published schema gets an open `{}` schema. Notifications carry
/// `"x-clamator-kind": "notification"` and no result.
pub fn openrpc(info: &InstanceInfo) -> Value {
    let mut components = Map::new();
    let methods: Vec<Value> = info
        .methods
        .iter()
        .map(|m| {
            let params_schema = m.params_schema.clone().map(|s| relocate_defs(s, &mut components));
            let mut method = json!({
                "name": format!("{}.{}", info.service, m.name),
                "paramStructure": "by-name",
                "params": by_name_params(params_schema.as_ref()),
                "x-clamator-kind": m.kind,
            });
            if m.kind != "notification" {
                let schema = m.result_schema.clone().map(|s| relocate_defs(s, &mut components)).unwrap_or(json!({}));
                method["result"] = json!({ "name": "result", "schema": schema });
            }
            method
        })
        .collect();
    let mut doc = json!({
        "openrpc": "1.3.2",
        "info": {
            "title": info.service,
            "version": info.version.clone().unwrap_or_else(|| info.library_version.clone()),
            "x-clamator-library": info.library,
        },
        "methods": methods,
    });
    if !components.is_empty() {
        doc["components"] = json!({ "schemas": components });
    }
    doc
}

/// OpenRPC params for a clamator params object: one by-name param per property.
fn by_name_params(schema: Option<&Value>) -> Vec<Value> {
    let Some(schema) = schema else { return vec![json!({ "name": "params", "schema": {} })] };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) => props
            .iter()
            .map(|(name, s)| json!({ "name": name, "required": required.contains(&name.as_str()), "schema": s }))
            .collect(),
        None => Vec::new(),
    }
}

/// Moves a schema's `$defs` (or `definitions`) into `components` and points its `$ref`s
/// there.
fn relocate_defs(mut schema: Value, components: &mut Map<String, Value>) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(defs)) = obj.remove(key) {
                components.extend(defs);
            }
        }
    }
    rewrite_refs(&mut schema);
    schema
}

fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj.iter_mut() {
                if k == "$ref" {
                    if let Value::String(r) = child {
                        for from in ["#/$defs/", "#/definitions/"] {
                            if let Some(rest) = r.strip_prefix(from) {
                                *r = format!("#/components/schemas/{rest}");
                            }
                        }
                    }
                } else {
                    rewrite_refs(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The sha256 (hex) of a schema serialized as compact JSON (keys sorted), or `null`.
fn schema_hash(schema: Option<&Value>) -> Value {
    match schema {
        Some(s) => {
            let bytes = serde_json::to_vec(s).unwrap_or_default();
            Value::String(Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect())
        }
        None => Value::Null,
    }
}

/// The manifest of the given services (one published instance each), in the shape of
/// `@clamator/codegen`'s: `{"generatedBy", "contracts": {service: {method: {"paramsHash",
/// "resultHash"}}}}`, each hash the sha256 of the serialized JSON Schema (`null` when the
/// server published none, and for a notification's result).
pub fn manifest(services: &[InstanceInfo]) -> Value {
    let mut contracts = BTreeMap::new();
    for info in services {
        let methods: BTreeMap<&str, Value> = info
            .methods
            .iter()
            .map(|m| {
                let hashes = json!({
                    "paramsHash": schema_hash(m.params_schema.as_ref()),
                    "resultHash": schema_hash(m.result_schema.as_ref()),
                });
                (m.name.as_str(), hashes)
            })
            .collect();
        contracts.insert(info.service.as_str(), methods);
    }
    json!({ "generatedBy": GENERATED_BY, "contracts": contracts })
}

/// One difference between two manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Drift {
    /// A service is in the current manifest only.
    ServiceAdded {
        /// The service.
        service: String,
    },
    /// A service is in the committed manifest only.
    ServiceRemoved {
        /// The service.
        service: String,
    },
    /// A method is in the current manifest only.
    MethodAdded {
        /// `service.method`.
        method: String,
    },
    /// A method is in the committed manifest only.
    MethodRemoved {
        /// `service.method`.
        method: String,
    },
    /// A method's params schema changed.
    ParamsChanged {
        /// `service.method`.
        method: String,
        /// The committed hash.
        was: Value,
        /// The current hash.
        now: Value,
    },
    /// A method's result schema changed.
    ResultChanged {
        /// `service.method`.
        method: String,
        /// The committed hash.
        was: Value,
        /// The current hash.
        now: Value,
    },
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |v: &Value| v.as_str().map(|s| s[..s.len().min(12)].to_owned()).unwrap_or_else(|| "none".into());
        match self {
            Drift::ServiceAdded { service } => write!(f, "{service}: service added"),
            Drift::ServiceRemoved { service } => write!(f, "{service}: service removed"),
            Drift::MethodAdded { method } => write!(f, "{method}: method added"),
            Drift::MethodRemoved { method } => write!(f, "{method}: method removed"),
            Drift::ParamsChanged { method, was, now } => {
                write!(f, "{method}: params schema changed ({} -> {})", short(was), short(now))
            }
            Drift::ResultChanged { method, was, now } => {
                write!(f, "{method}: result schema changed ({} -> {})", short(was), short(now))
            }
        }
    }
}

/// The differences from manifest `committed` to manifest `current`, services and methods in
/// name order. Only the services present in `scope` are compared when it is given (a
/// prefix often hosts more than one repository's contracts).
pub fn compare_manifests(committed: &Value, current: &Value, scope: Option<&[String]>) -> Vec<Drift> {
    let empty = Map::new();
    let contracts = |m: &Value| m.get("contracts").and_then(Value::as_object).cloned().unwrap_or_default();
    let (old, new) = (contracts(committed), contracts(current));
    let in_scope = |s: &str| scope.is_none_or(|names| names.iter().any(|n| n == s));
    let mut names: Vec<&String> = old.keys().chain(new.keys()).filter(|s| in_scope(s)).collect();
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for service in names {
        let (was, now) = match (old.get(service), new.get(service)) {
            (Some(_), None) => {
                out.push(Drift::ServiceRemoved { service: service.clone() });
                continue;
            }
            (None, Some(_)) => {
                out.push(Drift::ServiceAdded { service: service.clone() });
                continue;
            }
            (Some(a), Some(b)) => (a.as_object().unwrap_or(&empty), b.as_object().unwrap_or(&empty)),
            (None, None) => continue,
        };
        let mut methods: Vec<&String> = was.keys().chain(now.keys()).collect();
        methods.sort();
        methods.dedup();
        for m in methods {
            let method = format!("{service}.{m}");
            match (was.get(m), now.get(m)) {
                (Some(_), None) => out.push(Drift::MethodRemoved { method }),
                (None, Some(_)) => out.push(Drift::MethodAdded { method }),
                (Some(a), Some(b)) => {
                    let hash = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
                    if hash(a, "paramsHash") != hash(b, "paramsHash") {
                        out.push(Drift::ParamsChanged {
                            method: method.clone(),
                            was: hash(a, "paramsHash"),
                            now: hash(b, "paramsHash"),
                        });
                    }
                    if hash(a, "resultHash") != hash(b, "resultHash") {
                        out.push(Drift::ResultChanged {
                            method,
                            was: hash(a, "resultHash"),
                            now: hash(b, "resultHash"),
                        });
                    }
                }
                (None, None) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_names_the_method_and_what_changed() {
        let a = json!({"generatedBy": "x", "contracts": {"arith": {"add": {"paramsHash": "aa", "resultHash": "bb"}, "gone": {"paramsHash": null, "resultHash": null}}}});
        let b = json!({"generatedBy": "y", "contracts": {"arith": {"add": {"paramsHash": "cc", "resultHash": "bb"}}, "kv": {}}});
        let drift = compare_manifests(&a, &b, None);
        assert_eq!(
            drift,
            vec![
                Drift::ParamsChanged { method: "arith.add".into(), was: json!("aa"), now: json!("cc") },
                Drift::MethodRemoved { method: "arith.gone".into() },
                Drift::ServiceAdded { service: "kv".into() },
            ]
        );
        assert_eq!(drift[0].to_string(), "arith.add: params schema changed (aa -> cc)");
        assert!(compare_manifests(&a, &b, Some(&["kv".to_owned()])).len() == 1);
    }

    #[test]
    fn defs_move_to_components() {
        let mut components = Map::new();
        let s = relocate_defs(
            json!({"properties": {"x": {"$ref": "#/$defs/X"}}, "$defs": {"X": {"type": "string"}}}),
            &mut components,
        );
        assert_eq!(s, json!({"properties": {"x": {"$ref": "#/components/schemas/X"}}}));
        assert_eq!(components.get("X"), Some(&json!({"type": "string"})));
    }
}
