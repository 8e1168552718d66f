//! JSON Schemas of a contract's params and results (feature `schemas`, through
//! [schemars](https://docs.rs/schemars)): what servers publish for discovery, what an
//! OpenRPC document and a codegen manifest are made of.
//!
//! `#[clamator::contract]` implements [`Contract::schemas`](crate::Contract::schemas): with
//! the feature on, each params or result type that derives `schemars::JsonSchema` gets its
//! schema; a type that does not (or the feature off) gets `None`, so contracts that do not
//! derive it keep compiling.

use serde_json::Value;

/// The JSON Schemas of one method.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MethodSchema {
    /// The wire name.
    pub method: &'static str,
    /// The params' schema, when the type has one.
    pub params: Option<Value>,
    /// The result's schema, when the type has one (never for a notification).
    pub result: Option<Value>,
}

impl MethodSchema {
    /// A method's schemas.
    pub fn new(method: &'static str, params: Option<Value>, result: Option<Value>) -> Self {
        Self { method, params, result }
    }
}

/// The schema schemars generates for `T`.
#[cfg(feature = "schemas")]
pub fn schema_of<T: schemars::JsonSchema>() -> Option<Value> {
    serde_json::to_value(schemars::schema_for!(T)).ok()
}
