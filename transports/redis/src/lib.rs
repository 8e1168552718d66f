//! Redis Streams transport for [clamator](https://docs.rs/clamator), wire-compatible with
//! the Python `clamator-over-redis` 0.1.9: Rust and Python servers and clients mix freely on
//! one Redis with nothing but a shared key prefix.
//!
//! - [`RedisRpcServer`]: hosts services; servers with the same prefix form a worker pool per
//!   service (a consumer group), with at-least-once delivery and reclaim of entries whose
//!   server died.
//! - [`RedisRpcClient`]: sends calls and reads replies from its own reply stream.
//! - [`ConnectionOptions`]: the connection settings both builders share (URL or client,
//!   injected connection, instance id, payload limit), to build once and give to each.
//!
//! Keys (for a prefix `P`), as 0.1.9 lays them out: `P:cmds:<service>` (stream; group
//! `<service>`; consumers `<service>:<server id>`) and `P:replies:<client id>` (stream).
//!
//! Beyond 0.1.9, this transport does not run a request twice unless a server really failed
//! (bounded prefetch and leases), isolates and dead-letters poison requests, skips requests
//! whose caller has given up (deadlines on Redis's clock), keeps Redis's memory bounded by
//! the work in flight (acknowledged entries are deleted or trimmed, dead consumers swept,
//! reply streams expire with their client), recovers when Redis loses its data, answers
//! malformed requests when it can, and never lets bad bytes block a stream. The guide is in
//! [`delivery`]; every addition to the 0.1.9 wire is listed in [`wire_extensions`].
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod call_options;
mod client;
mod conn;
mod connection;
mod dead_letter;
pub mod discovery;
mod entry;
mod keys;
mod options;
mod sentinel;
mod server;
mod tls;

#[doc = include_str!("../../../docs/redis-delivery.md")]
pub mod delivery {}

#[doc = include_str!("../../../docs/deployment.md")]
pub mod deployment {}

#[doc = include_str!("../../../docs/wire-extensions.md")]
pub mod wire_extensions {}

pub use client::{RedisClientBuilder, RedisRpcClient, DEFAULT_REPLY_TTL};
pub use connection::DEFAULT_URL;
pub use dead_letter::{DeadLetter, DeadLetters, DEAD_LETTERED};
pub use discovery::DEFAULT_DISCOVERY_INTERVAL;
pub use keys::{command_stream, consumer_group, consumer_name, dead_letter_stream, reply_stream};
pub use options::ConnectionOptions;
pub use server::{
    RedisRpcServer, RedisServerBuilder, ServerStats, DEFAULT_CLAIM_IDLE, DEFAULT_DEAD_CONSUMER_IDLE,
    DEFAULT_DEAD_LETTER_MAXLEN, DEFAULT_FOREIGN_REPLY_TTL, DEFAULT_MAX_DELIVERIES, DEFAULT_PREFETCH_BUDGET,
    DEFAULT_REPLY_MAXLEN, DEFAULT_SHUTDOWN_GRACE,
};

/// Every command clamator sends (directly or from its Lua scripts), as ACL rules: with
/// `~P:*` as the only key pattern, a user limited to these can serve and call under prefix
/// `P` and touch no other key. `+cluster|slots` (slot map) and `+role` (Sentinel's check of
/// the master) are there for Cluster and Sentinel deployments; `+set +zadd +zrem
/// +zremrangebyscore` (with `+pexpire +del`) for the [`discovery`] heartbeat. (redis-rs also sends
/// `CLIENT SETINFO` on Redis 7.2+ and ignores a refusal: add `+client|setinfo` there to
/// keep it from failing; Redis 7.0 does not know the command.) See the
/// [deployment guide](crate::deployment).
///
/// ```text
/// ACL SETUSER app on >PASSWORD resetkeys ~P:* resetchannels -@all <ACL_COMMANDS>
/// ```
pub const ACL_COMMANDS: &str = "+ping +time +exists +del +pexpire +xadd +xread +xreadgroup +xack +xdel \
+xclaim +xpending +xtrim +xinfo|groups +xinfo|consumers +xgroup|create +xgroup|delconsumer +evalsha \
+script|load +cluster|slots +role +set +zadd +zrem +zremrangebyscore";

/// Default limit on the size of one envelope, both ways: 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Re-exported so that an injected connection names the same redis-rs version.
pub use redis;
