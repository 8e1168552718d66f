//! Transport-independent core of [clamator](https://docs.rs/clamator): JSON-RPC 2.0
//! envelopes, the error model, the contract model, the dispatcher every transport shares and
//! the client core. It does no I/O.
//!
//! Applications depend on the `clamator` facade crate, which re-exports this crate together
//! with the `#[contract]` macro and the transports; transport crates depend on this one.
#![warn(missing_docs)]

mod client;
mod context;
mod contract;
mod envelope;
mod error;
mod finite;
mod handler_error;
pub mod layers;
mod lifecycle;
mod local;
mod names;
mod pipeline;
mod server;
mod service;
mod validation;

#[doc(hidden)]
pub mod __private;

pub use client::{
    call, decode_result, encode_params, notify, AnyClient, BoxFuture, CallOptions, ClientCore, DynRpcClient, RpcClient,
    DEFAULT_TIMEOUT,
};
pub use context::{Context, Extensions, Metadata};
pub use contract::{Contract, MethodDescriptor, MethodKind, ServiceDescriptor};
pub use envelope::{Call, Envelope, EnvelopeError, Id, Response};
pub use error::{codes, ContractError, Error, ProtocolError, RpcError, ServerError, TransportError};
pub use handler_error::HandlerError;
pub use lifecycle::{Lifecycle, State};
pub use local::LocalClient;
pub use names::{is_valid_method_name, is_valid_service_name, to_camel_case};
pub use pipeline::{BoxCall, BoxDispatch, ClientRequest, Dispatch, LayeredClient, RpcRequest, Transport};
pub use server::{RpcServer, ServiceRegistry};
pub use service::{
    typed_method, typed_method_with_context, typed_notification, typed_notification_with_context, Handler,
    HandlerFuture, IntoServiceTable, ServiceBuilder, ServiceTable,
};
pub use validation::{decode_and_validate, from_validator, validate, FieldError, LocSegment};
