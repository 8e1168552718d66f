//! Transport-independent core of [clamator](https://docs.rs/clamator): JSON-RPC 2.0
//! envelopes, the error model, the contract model, the dispatcher every transport shares and
//! the client core. It does no I/O.
//!
//! Applications depend on the `clamator` facade crate, which re-exports this crate together
//! with the `#[contract]` macro and the transports; transport crates depend on this one.
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod client_codec;
mod context;
mod contract;
mod envelope;
mod envelope_fast;
mod error;
mod finite;
mod handler_error;
mod json_lane;
pub mod layers;
mod lifecycle;
mod local;
mod names;
mod outcome;
mod pipeline;
mod schema;
mod server;
mod service;
mod service_builder;
mod typed;
mod validation;
pub mod wire;

#[doc(hidden)]
#[path = "private_support.rs"]
pub mod __private_0_1_0;

/// The support module's name carries the crate version; a version bump must rename it (and
/// the macro, which derives the name from its own version, follows).
const _: () = {
    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    assert!(same(env!("CARGO_PKG_VERSION"), "0.1.0"), "rename __private_0_1_0 after the version");
};

pub use client::{
    call, call_with_rules, notify, notify_with_rules, AnyClient, BoxFuture, CallOptions, ClientCore, DynRpcClient,
    RpcClient, DEFAULT_TIMEOUT,
};
pub use client_codec::{
    decode_result, decode_result_data, decode_result_with_rules, encode_params, encode_params_json,
    encode_params_with_rules, ResultData,
};
pub use context::{Context, Extensions, Metadata};
pub use contract::{Contract, MethodDescriptor, MethodKind, ServiceDescriptor};
pub use envelope::{Call, Envelope, EnvelopeError, Id, Response};
pub use error::{codes, ContractError, Error, ProtocolError, RpcError, ServerError, TransportError};
pub use handler_error::HandlerError;
pub use json_lane::JsonReply;
pub use lifecycle::{Lifecycle, State};
pub use local::LocalClient;
pub use names::{is_valid_method_name, is_valid_service_name, to_camel_case};
pub use outcome::Outcome;
pub use pipeline::{BoxCall, BoxDispatch, ClientRequest, Dispatch, LayeredClient, RpcRequest, Transport};
pub use schema::MethodSchema;
pub use server::{RpcServer, ServiceRegistry};
pub use service::{
    typed_method, typed_method_with_context, typed_notification, typed_notification_with_context, Handler,
    HandlerFuture, IntoServiceTable, ServiceTable,
};
pub use service_builder::ServiceBuilder;
pub use typed::{
    typed_method_with_context_and_rules, typed_method_with_rules, typed_notification_with_context_and_rules,
    typed_notification_with_rules,
};
pub use validation::{decode_and_validate, decode_with_rules, from_validator, validate, FieldError, LocSegment, Rules};
