//! Discovery and live statistics (the NATS services protocol's `PING`/`INFO`/`STATS`, over
//! Redis keys), and the inspection an operator needs: what runs under a prefix, how far
//! behind it is, what is pending or dead, and what can be cleaned up.
//!
//! **Publishing.** Every [`RedisRpcServer`](crate::RedisRpcServer) writes, per service it
//! hosts, one JSON document ([`InstanceInfo`]: methods and kinds, schemas when it has them,
//! instance id, versions, start time and per-method statistics, with latency histograms
//! of processing time and queue wait: [`histogram`]) and refreshes it every
//! heartbeat (default 5 s, [`discovery_interval`](crate::RedisServerBuilder::discovery_interval)).
//! A document lives three heartbeats: a server that is killed disappears within that time;
//! one that stops removes its documents at once. Keys, for a prefix `P`:
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:srv:services` | sorted set | service names, score = last heartbeat (Redis ms) |
//! | `P:srv:<service>:instances` | sorted set | instance ids, score = last heartbeat; pruned of ids silent for three heartbeats |
//! | `P:srv:<service>:instance:<id>` | string (JSON) | the instance's [`InstanceInfo`], `PX` = three heartbeats |
//!
//! A reader never scans the keyspace for Rust services, and every command names one key,
//! so it works on Redis Cluster. Python and TypeScript 0.1.9 servers publish nothing: their
//! services are found from the command streams (`SCAN MATCH P:cmds:*`, the documented
//! fallback, which on a cluster covers the node connected to only) and described from the
//! consumer group (`XINFO GROUPS`, `XINFO CONSUMERS`, `XPENDING`).
//!
//! **Reading.** [`Inspector`] lists services with their backlog, consumers and instances,
//! the pending entries of a service, and plans and runs a cleanup; [`openrpc`] and
//! [`manifest`] turn published schemas into an OpenRPC document and a codegen manifest, and
//! [`compare_manifests`] reports contract drift.

mod cleanup;
mod document;
pub mod histogram;
mod inspect;
mod openrpc;
mod publisher;
mod stats;
mod xinfo;

use std::time::Duration;

pub use cleanup::{CleanupPlan, CleanupReport, StaleConsumer, StaleReplyStream};
pub use document::{InstanceInfo, MethodInfo, MethodSchemas};
pub use histogram::LatencyHistogram;
pub use inspect::{
    ConsumerInfo, ConsumerState, GroupInfo, InspectOptions, Inspector, PendingEntryInfo, PendingReport, ServiceOverview,
};
pub use openrpc::{compare_manifests, describe_contract, manifest, openrpc, Drift, GENERATED_BY};
pub use stats::{LastError, MethodStatsSnapshot};

pub(crate) use publisher::Publisher;
pub(crate) use stats::{MethodStats, ServiceStats};

/// The default heartbeat interval of discovery documents.
pub const DEFAULT_DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);

/// How long the indexes outlive the last heartbeat that touched them.
const INDEX_TTL: Duration = Duration::from_secs(24 * 3600);

/// The implementation name published in [`InstanceInfo::library`].
const LIBRARY: &str = "clamator-rs";

/// `P:srv:services`: the index of services that Rust servers host.
pub fn services_key(prefix: &str) -> String {
    format!("{prefix}:srv:services")
}

/// `P:srv:<service>:instances`: the index of a service's published instances.
pub fn instances_key(prefix: &str, service: &str) -> String {
    format!("{prefix}:srv:{service}:instances")
}

/// `P:srv:<service>:instance:<id>`: one instance's published document.
pub fn instance_key(prefix: &str, service: &str, instance: &str) -> String {
    format!("{prefix}:srv:{service}:instance:{instance}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout() {
        assert_eq!(services_key("p"), "p:srv:services");
        assert_eq!(instances_key("p", "arith"), "p:srv:arith:instances");
        assert_eq!(instance_key("p", "arith", "i1"), "p:srv:arith:instance:i1");
    }
}
