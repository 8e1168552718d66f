//! Test support shared by the clamator crates (not published):
//!
//! - [`contracts`]: the contracts and handlers the suites run against;
//! - [`conformance`]: the transport conformance suite, generic over a [`conformance::TestTransport`],
//!   instantiated once per transport with [`conformance_suite!`];
//! - [`counting`]: a service counting executions per call key, to account for every call;
//! - [`redis_server`]: starts a private `redis-server` on a free loopback port (or uses
//!   `REDIS_URL`), and can kill and restart it; [`tls_certs`]: a throwaway CA and server
//!   certificate for TLS tests.
#![allow(missing_docs)]

pub mod conformance;
pub mod contracts;
pub mod counting;
pub mod failover;
pub mod jobs;
pub mod raw_redis;
pub mod redis_cluster;
pub mod redis_sentinel;
pub mod redis_server;
pub mod tls_certs;

/// A key prefix unique to this process and call, so tests never share keys.
pub fn unique_prefix(test: &str) -> String {
    format!("clamator-test:{test}:{}", uuid::Uuid::new_v4().simple())
}
