//! Redis Streams transport for [clamator](https://docs.rs/clamator), wire-compatible with
//! the Python `clamator-over-redis` 0.1.9: Rust and Python servers and clients mix freely on
//! one Redis with nothing but a shared key prefix.
//!
//! - [`RedisRpcServer`]: hosts services; servers with the same prefix form a worker pool per
//!   service (a consumer group), with at-least-once delivery and reclaim of entries whose
//!   server died.
//! - [`RedisRpcClient`]: sends calls and reads replies from its own reply stream.
//!
//! Keys (for a prefix `P`), as 0.1.9 lays them out: `P:cmds:<service>` (stream; group
//! `<service>`; consumers `<service>:<server id>`) and `P:replies:<client id>` (stream).
//!
//! Beyond 0.1.9, this transport recovers when Redis loses its data (groups are recreated on
//! `NOGROUP`, connections come back with capped exponential backoff), answers malformed
//! requests when it can instead of leaving the caller to time out, never lets bad bytes
//! block a stream, acknowledges an entry whose reply cannot be written instead of running
//! it again and again, checks that a call's service matches its stream, serves requests
//! queued before any server started, and can run several handlers per service at once.
#![warn(missing_docs)]

mod client;
mod connection;
mod entry;
mod keys;
mod server;

pub use client::{RedisClientBuilder, RedisRpcClient, DEFAULT_REPLY_TTL};
pub use connection::DEFAULT_URL;
pub use keys::{command_stream, consumer_group, consumer_name, reply_stream};
pub use server::{
    RedisRpcServer, RedisServerBuilder, DEFAULT_CLAIM_IDLE, DEFAULT_REPLY_MAXLEN, DEFAULT_SHUTDOWN_GRACE,
};

/// Default limit on the size of one envelope, both ways: 16 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// Re-exported so that an injected connection names the same redis-rs version.
pub use redis;
