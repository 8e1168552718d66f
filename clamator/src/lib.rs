//! # clamator
//!
//! Typed RPC over queues. A contract is a Rust trait; `#[clamator::contract]` turns it into a
//! typed client proxy, a service trait to implement, and a method table that any clamator
//! transport can host. Every message is a JSON-RPC 2.0 envelope, params and results are any
//! serde types, checked on both sides where they have [`validator`] rules, and the wire is the
//! one the Python and TypeScript clamator 0.1.9 packages speak, so services written in any of
//! them mix freely.
//!
//! ```
//! use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
//! use clamator::RpcError;
//! use serde::{Deserialize, Serialize};
//! use validator::Validate;
//!
//! #[derive(Debug, Serialize, Deserialize, Validate)]
//! pub struct AddParams { pub a: f64, pub b: f64 }
//! #[derive(Debug, Serialize, Deserialize, Validate)]
//! pub struct AddResult { pub sum: f64 }
//!
//! #[clamator::contract(service = "arith")]
//! pub trait Arith {
//!     async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
//! }
//!
//! struct Calculator;
//! impl Arith for Calculator {
//!     async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
//!         Ok(AddResult { sum: p.a + p.b })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bus = MemoryBus::new();
//! let server = MemoryRpcServer::new(&bus);
//! server.register_service(ArithServer::new(Calculator))?;
//! server.start().await?;
//!
//! let client = MemoryRpcClient::new(&bus);
//! client.start().await?;
//! let arith = ArithClient::new(client.clone());
//! assert_eq!(arith.add(AddParams { a: 2.0, b: 3.0 }).await?.sum, 5.0);
//!
//! client.stop().await;
//! server.stop().await;
//! # Ok(()) }
//! ```
//!
//! ## Where to read on
//!
//! - [`contract`]: the contract reference: options, generated items, method shapes, params and
//!   result types, validation, failure as data ([`Outcome`]), the compile-time rules.
//! - [`RpcError`], [`Error`], [`HandlerError`]: what handlers return and what callers get.
//! - [`memory`], `redis`: the transports; [`LocalClient`]: calls without a transport, for
//!   tests; [`AnyClient`]: a transport chosen at run time.
//! - [`layers`]: middleware (tracing, metrics, deadlines) as tower layers.
//! - [`transport`]: for transport and middleware authors.
//!
//! ## Dependencies
//!
//! clamator is not on crates.io; depend on it by path or git. `serde` (with `derive`) and
//! `validator` 0.21 (with `derive`, exactly the version clamator uses) are needed by contract
//! types; `tokio` runs the transports:
//!
//! ```toml
//! [dependencies]
//! clamator = { git = "https://example.invalid/clamator-rs", features = ["redis"] }
//! # or: clamator = { path = "../clamator-rs/clamator", features = ["redis"] }
//! serde = { version = "1", features = ["derive"] }
//! validator = { version = "0.21", features = ["derive"] }
//! tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
//! # optional, for the wire types below
//! chrono = { version = "0.4", features = ["serde"] }
//! uuid = { version = "1", features = ["serde"] }
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | yes | [`contract`], the attribute macro |
//! | `memory` | yes | [`memory`]: the in-process bus transport |
//! | `redis` | no | `redis`: the Redis Streams transport |
//! | `metrics` | no | `layers::MetricsLayer` and the Redis transport's counters, through the `metrics` facade |
//! | `anyhow` | no | handlers may return `anyhow::Result<T>` |
//! | `base64` | no | `wire::base64`: bytes as base64 strings |
//!
#![doc = include_str!("../../docs/wire-types.md")]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use clamator_core::{
    call, call_with_rules, codes, decode_and_validate, decode_with_rules, notify, notify_with_rules, AnyClient,
    BoxFuture, CallOptions, ClientRequest, Context, Contract, ContractError, DynRpcClient, Error, Extensions,
    FieldError, HandlerError, Id, IntoServiceTable, LayeredClient, LocSegment, LocalClient, Metadata, MethodDescriptor,
    MethodKind, Outcome, ProtocolError, Response, RpcClient, RpcError, RpcRequest, RpcServer, Rules, ServerError,
    ServiceBuilder, ServiceDescriptor, ServiceRegistry, ServiceTable, State, TransportError, DEFAULT_TIMEOUT,
};

pub use clamator_core::{layers, wire};

/// The support module of `#[clamator::contract]`'s expansion; not a public API.
#[doc(hidden)]
pub use clamator_core::__private_0_1_0;

/// For transport and middleware authors: envelopes, the client core and lifecycle, type-erased
/// handlers, the dispatch pipeline's boxed services and the wire-name rules. An application
/// that only declares contracts, implements them and calls them needs none of it.
pub mod transport {
    pub use clamator_core::{
        decode_result, decode_result_with_rules, encode_params, encode_params_with_rules, from_validator,
        is_valid_method_name, is_valid_service_name, to_camel_case, typed_method, typed_method_with_context,
        typed_method_with_context_and_rules, typed_method_with_rules, typed_notification,
        typed_notification_with_context, typed_notification_with_context_and_rules, typed_notification_with_rules,
        validate, BoxCall, BoxDispatch, BoxFuture, Call, ClientCore, Dispatch, DynRpcClient, Envelope, EnvelopeError,
        Handler, HandlerFuture, Id, Lifecycle, Response, RpcRequest, State, Transport,
    };
}

/// Re-exported so that contracts can name `clamator::validator::Validate`; the derive macro
/// itself still needs `validator` as a direct dependency.
pub use validator;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc = include_str!("../../docs/contract.md")]
pub use clamator_macros::contract;

/// The in-process memory bus transport (feature `memory`).
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub mod memory {
    pub use clamator_over_memory::*;
}

/// The Redis Streams transport (feature `redis`).
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis {
    pub use clamator_over_redis::*;
}

/// README.md's Rust examples, compiled as doctests (they use both transports).
#[cfg(all(doctest, feature = "macros", feature = "memory", feature = "redis"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
