//! In-process memory bus transport for [clamator](https://docs.rs/clamator).
//!
//! A [`MemoryBus`] connects [`MemoryRpcServer`]s and [`MemoryRpcClient`]s inside one process.
//! It runs the same dispatcher as the Redis transport, so validation, error codes and result
//! encoding are identical; only the queue is missing. Use it for tests, for single-process
//! deployments, and to develop a service before it moves behind Redis.
//!
//! Rules (WIRE.md section 4, tightened where 0.1.9 was silent):
//! - one server per service per bus: a second registration of a name is an error;
//! - services are registered before `start`; registering after `start` is an error;
//! - `start` and `stop` are idempotent; `start` after `stop` is an error;
//! - calls before `start` or after `stop` fail; `stop` fails pending calls with
//!   `transport stopped`;
//! - a call to a service nobody serves gets `-32601 Method not found`;
//! - a call (or notification) to a service whose server is registered but not started
//!   fails with [`TransportError::NotSent`](clamator_core::TransportError::NotSent)
//!   ("service \"arith\" is registered on the memory bus but its server has not been
//!   started"): nothing ran, and it is not the service that is unknown. Over Redis the same
//!   call would wait in the stream for the server; on the bus there is no queue to wait in.
//! - dropping the last handle of a [`MemoryRpcServer`] stops it: its services leave the bus
//!   at once, and in-flight handlers get the grace period in a task on the current runtime.
//!
//! The registration and lifecycle rules are kept by
//! [`ServiceRegistry`](clamator_core::ServiceRegistry), the same code as the Redis server's,
//! and [`MemoryRpcServer`] implements [`RpcServer`](clamator_core::RpcServer).
#![warn(missing_docs)]

mod bus;
mod client;
mod server;

pub use bus::MemoryBus;
pub use client::MemoryRpcClient;
pub use server::{MemoryRpcServer, DEFAULT_SHUTDOWN_GRACE};
