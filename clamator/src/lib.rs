//! # clamator
//!
//! Typed RPC over queues. A contract is a Rust trait; `#[clamator::contract]` turns it into a
//! typed client proxy, a service trait to implement, and a method table that any clamator
//! transport can host. Every message is a JSON-RPC 2.0 envelope, params and results are
//! validated on both sides (serde + [`validator`]), and the wire is the one the Python and
//! TypeScript clamator 0.1.9 packages speak, so services written in any of them mix freely.
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
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `macros` | yes | [`contract`], the attribute macro |
//! | `memory` | yes | [`memory`]: the in-process bus transport |
//! | `redis` | no | `redis`: the Redis Streams transport |
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use clamator_core::{
    call, codes, decode_and_validate, decode_result, encode_params, is_valid_method_name, is_valid_service_name,
    notify, to_camel_case, typed_method, typed_method_with_context, typed_notification,
    typed_notification_with_context, validate, AnyClient, BoxFuture, Call, CallOptions, ClientCore, Context, Contract,
    ContractError, DynRpcClient, Envelope, EnvelopeError, Error, Extensions, FieldError, Handler, HandlerError,
    HandlerFuture, Id, IntoServiceTable, Lifecycle, LocSegment, LocalClient, Metadata, MethodDescriptor, MethodKind,
    ProtocolError, Response, RpcClient, RpcError, RpcServer, ServerError, ServiceBuilder, ServiceDescriptor,
    ServiceRegistry, ServiceTable, State, TransportError, DEFAULT_TIMEOUT,
};

#[doc(hidden)]
pub use clamator_core::__private;

pub use clamator_core::{layers, BoxCall, BoxDispatch, ClientRequest, Dispatch, LayeredClient, RpcRequest, Transport};

/// Re-exported so that contracts can name `clamator::validator::Validate`; the derive macro
/// itself still needs `validator` as a direct dependency.
pub use validator;

#[cfg(feature = "macros")]
pub use clamator_macros::contract;

/// The in-process memory bus transport (feature `memory`).
#[cfg(feature = "memory")]
pub mod memory {
    pub use clamator_over_memory::*;
}

/// The Redis Streams transport (feature `redis`).
#[cfg(feature = "redis")]
pub mod redis {
    pub use clamator_over_redis::*;
}
