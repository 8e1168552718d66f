//! What a server publishes about each service it hosts: one JSON document per service and
//! instance, at [`instance_key`](super::instance_key).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stats::MethodStatsSnapshot;

/// One service on one server instance, as published by its heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InstanceInfo {
    /// The service name.
    pub service: String,
    /// The server's instance id (its consumer is `<service>:<instance>`).
    pub instance: String,
    /// The consumer name in the service's group.
    pub consumer: String,
    /// The implementation that publishes (`clamator-rs`).
    pub library: String,
    /// The library's version.
    pub library_version: String,
    /// The application's version, when the server was given one.
    #[serde(default)]
    pub version: Option<String>,
    /// When the server started, Redis Unix time in ms.
    pub started_at_ms: i64,
    /// When this document was written, Redis Unix time in ms.
    pub heartbeat_at_ms: i64,
    /// The heartbeat interval, ms: the document is rewritten this often.
    pub heartbeat_interval_ms: u64,
    /// Handlers of this service that may run at once on this server.
    pub concurrency: usize,
    /// The methods, in declaration order.
    pub methods: Vec<MethodInfo>,
}

/// One method of a published service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MethodInfo {
    /// The wire name.
    pub name: String,
    /// `method` or `notification`.
    pub kind: String,
    /// The JSON Schema of the params, when the server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_schema: Option<Value>,
    /// The JSON Schema of the result, when the server has one (never for notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_schema: Option<Value>,
    /// The method's statistics on this instance.
    #[serde(default)]
    pub stats: MethodStatsSnapshot,
}

impl InstanceInfo {
    /// The method with wire name `name`.
    pub fn method(&self, name: &str) -> Option<&MethodInfo> {
        self.methods.iter().find(|m| m.name == name)
    }
}

/// The JSON Schemas of one method, for [`RedisRpcServer::describe_method`](crate::RedisRpcServer::describe_method).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MethodSchemas {
    /// The params' JSON Schema.
    pub params: Option<Value>,
    /// The result's JSON Schema (`None` for notifications).
    pub result: Option<Value>,
}

impl MethodSchemas {
    /// Schemas given as JSON values.
    pub fn new(params: Option<Value>, result: Option<Value>) -> Self {
        Self { params, result }
    }

    /// The schemas schemars generates for `P` and `R` (feature `schemas`).
    #[cfg(feature = "schemas")]
    pub fn of<P: schemars::JsonSchema, R: schemars::JsonSchema>() -> Self {
        let params = serde_json::to_value(schemars::schema_for!(P)).ok();
        let result = serde_json::to_value(schemars::schema_for!(R)).ok();
        Self { params, result }
    }

    /// The schema schemars generates for a notification's params `P` (feature `schemas`).
    #[cfg(feature = "schemas")]
    pub fn notification<P: schemars::JsonSchema>() -> Self {
        Self { params: serde_json::to_value(schemars::schema_for!(P)).ok(), result: None }
    }
}
