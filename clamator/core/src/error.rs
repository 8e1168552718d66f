//! Error types: what handlers return ([`RpcError`]) and what callers receive ([`Error`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::FieldError;

/// Well-known JSON-RPC 2.0 error codes, as clamator 0.1.9 uses them.
pub mod codes {
    /// The envelope is not JSON (`Parse error`).
    pub const PARSE_ERROR: i64 = -32700;
    /// The envelope is JSON but not a valid request (`Invalid Request`).
    pub const INVALID_REQUEST: i64 = -32600;
    /// Unknown service or method (`Method not found`).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// Params failed to deserialize or validate (`Invalid params`).
    pub const INVALID_PARAMS: i64 = -32602;
    /// The handler failed with something other than an [`RpcError`](crate::RpcError),
    /// or its result failed validation.
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The request's deadline passed while its handler ran (`DeadlineLayer`): `Deadline exceeded`.
    pub const DEADLINE_EXCEEDED: i64 = -32011;
    /// First code of the range reserved for transports.
    pub const TRANSPORT_RESERVED_MIN: i64 = -32099;
    /// Last code of the range reserved for transports.
    pub const TRANSPORT_RESERVED_MAX: i64 = -32000;
}

/// A JSON-RPC error object: what a handler returns to produce an error reply, and what a caller
/// receives (inside [`Error::Rpc`]) when the server answered with one.
///
/// Application errors pass through the wire unchanged: code, message and data arrive at the
/// caller exactly as the handler built them.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::RpcError;
/// use serde_json::json;
///
/// let err = RpcError::new(-32000, "division by zero").with_data(json!({ "a": 1.0 }));
/// assert_eq!(err.code, -32000);
/// assert_eq!(err.to_string(), r#"RPC error -32000: division by zero: {"a":1.0}"#);
/// assert_eq!(RpcError::new(-32601, "Method not found").to_string(), "RPC error -32601: Method not found");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The error code. Application codes are free; see [`codes`] for the reserved ones.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Optional structured details; `null` on the wire when absent.
    #[serde(default)]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error with no `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: None }
    }

    /// Attaches structured `data`.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = if data.is_null() { None } else { Some(data) };
        self
    }

    /// `-32601 Method not found`.
    pub fn method_not_found() -> Self {
        Self::new(codes::METHOD_NOT_FOUND, "Method not found")
    }

    /// `-32602 Invalid params` with `data.errors` listing each failing field.
    pub fn invalid_params(errors: &[FieldError]) -> Self {
        Self::new(codes::INVALID_PARAMS, "Invalid params").with_data(serde_json::json!({ "errors": errors }))
    }

    /// `-32603 Internal error` with `data {name, message}`.
    pub fn internal(name: &str, message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, "Internal error")
            .with_data(serde_json::json!({ "name": name, "message": message.into() }))
    }

    /// `-32603 Result validation failed` with `data.errors`.
    pub fn result_validation_failed(errors: &[FieldError]) -> Self {
        Self::new(codes::INTERNAL_ERROR, "Result validation failed").with_data(serde_json::json!({ "errors": errors }))
    }

    /// The `data.errors` list of an `Invalid params` or `Result validation failed` error, if any.
    ///
    /// Works on errors from any clamator peer (Rust or Python): each entry carries at least
    /// `loc`, `msg` and `type`.
    pub fn validation_errors(&self) -> Option<Vec<FieldError>> {
        let errors = self.data.as_ref()?.get("errors")?;
        serde_json::from_value(errors.clone()).ok()
    }
}

/// The longest rendering of `data` that [`RpcError`]'s `Display` writes, in bytes; longer
/// data is cut (at a character boundary) and marked with `…`.
const DISPLAY_DATA_LIMIT: usize = 512;

impl fmt::Display for RpcError {
    /// `RPC error <code>: <message>`, then `: <data as compact JSON>` when there is data
    /// (cut after about 512 bytes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RPC error {}: {}", self.code, self.message)?;
        if let Some(data) = &self.data {
            let text = data.to_string();
            if text.len() <= DISPLAY_DATA_LIMIT {
                write!(f, ": {text}")?;
            } else {
                let mut end = DISPLAY_DATA_LIMIT;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                write!(f, ": {}… ({} bytes)", &text[..end], text.len())?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// A failure to produce or understand a message: the peer or the caller broke the protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The params failed client-side validation; nothing was sent.
    #[error("invalid params (not sent): {}", crate::validation::summarize(.0))]
    InvalidParams(Vec<FieldError>),
    /// The params could not be serialized to JSON.
    #[error("params could not be serialized: {0}")]
    ParamsNotSerializable(#[source] serde_json::Error),
    /// A service or method name does not follow the wire rules.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// The reply envelope is malformed.
    #[error("invalid response envelope: {0}")]
    InvalidReply(String),
    /// The reply's `result` does not deserialize into the declared result type.
    #[error("result does not match the declared type: {0}")]
    ResultMismatch(String),
    /// The reply's `result` deserialized but failed its validation rules.
    #[error("result failed validation: {}", crate::validation::summarize(.0))]
    InvalidResult(Vec<FieldError>),
}

/// A failure of the transport: no answer arrived.
///
/// The variants say what is known about the request, so that a caller can decide whether a
/// retry could run it twice:
///
/// | variant | was the request written? | retry |
/// |---|---|---|
/// | [`NotSent`](Self::NotSent), [`Connection`](Self::Connection) | no | safe ([`is_retry_safe`](Self::is_retry_safe)) |
/// | [`NotStarted`](Self::NotStarted), [`PayloadTooLarge`](Self::PayloadTooLarge) | no | pointless until the cause is fixed |
/// | [`OutcomeUnknown`](Self::OutcomeUnknown) | maybe | only if the method is idempotent |
/// | [`Timeout`](Self::Timeout) | yes | only if the method is idempotent |
/// | [`Stopped`](Self::Stopped) | maybe (if it was pending) | only if the method is idempotent |
///
/// A timeout and "nobody is serving this service" are the same error over a queue: the
/// request waits in the stream until a server takes it or the caller gives up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request was written and no reply came within the call's timeout. It may still
    /// run later, or may already have run: retry only an idempotent method.
    #[error("call timeout")]
    Timeout,
    /// The transport was stopped while the call was pending, or before it was made.
    #[error("transport stopped")]
    Stopped,
    /// The transport has not been started.
    #[error("transport not started")]
    NotStarted,
    /// The connection to the broker could not be set up (at `start`). Nothing was sent.
    #[error("connection error: {message}{}", source_suffix(source))]
    Connection {
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The request was certainly not written: the connection could not be established, or
    /// the broker refused the write. Nothing ran, so the call is safe to retry, for any method.
    #[error("request not sent: {message}{}", source_suffix(source))]
    NotSent {
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The request may have been written, and its outcome is unknown: the connection broke
    /// while the write was in flight. It may run (or have run) without its reply reaching
    /// this caller: retry only an idempotent method.
    #[error("outcome unknown: {message}{}", source_suffix(source))]
    OutcomeUnknown {
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A message exceeded a configured size limit; nothing was sent.
    #[error("payload too large: {size} bytes (limit {limit})")]
    PayloadTooLarge {
        /// The size of the encoded message.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
}

/// `": <source>"` when there is a source: the cause belongs in the message, not only in
/// `Debug`.
fn source_suffix(source: &Option<Box<dyn std::error::Error + Send + Sync>>) -> String {
    source.as_ref().map(|s| format!(": {s}")).unwrap_or_default()
}

impl TransportError {
    /// A [`TransportError::Connection`] wrapping `source`.
    pub fn connection(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Connection { message: message.into(), source: Some(Box::new(source)) }
    }

    /// A [`TransportError::NotSent`] wrapping `source`.
    pub fn not_sent(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::NotSent { message: message.into(), source: Some(Box::new(source)) }
    }

    /// A [`TransportError::OutcomeUnknown`] wrapping `source`.
    pub fn outcome_unknown(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::OutcomeUnknown { message: message.into(), source: Some(Box::new(source)) }
    }

    /// `true` when the request certainly never reached the broker and the failure may pass
    /// ([`NotSent`](Self::NotSent), [`Connection`](Self::Connection)): retrying cannot run
    /// the call twice, whatever the method.
    pub fn is_retry_safe(&self) -> bool {
        matches!(self, Self::NotSent { .. } | Self::Connection { .. })
    }

    /// `true` when the request may have run although no reply arrived
    /// ([`OutcomeUnknown`](Self::OutcomeUnknown), [`Timeout`](Self::Timeout)): retry only
    /// an idempotent method.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. } | Self::Timeout)
    }
}

/// The error a caller receives: the server's [`RpcError`], a [`ProtocolError`] or a
/// [`TransportError`].
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{Error, RpcError, TransportError};
///
/// fn describe(err: &Error) -> &'static str {
///     match err {
///         Error::Rpc(e) if e.code == -32602 => "bad params",
///         Error::Rpc(_) => "the server said no",
///         Error::Protocol(_) => "malformed exchange",
///         Error::Transport(TransportError::Timeout) => "nobody answered in time",
///         Error::Transport(_) => "transport failure",
///     }
/// }
/// assert_eq!(describe(&Error::Transport(TransportError::Timeout)), "nobody answered in time");
/// assert_eq!(describe(&RpcError::new(1, "x").into()), "the server said no");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error envelope.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The exchange broke the protocol (on either side).
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The transport failed: timeout, stopped, not started, connection.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
}

impl Error {
    /// The server's error, if this is [`Error::Rpc`].
    pub fn as_rpc(&self) -> Option<&RpcError> {
        match self {
            Error::Rpc(e) => Some(e),
            _ => None,
        }
    }

    /// `true` for [`TransportError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport(TransportError::Timeout))
    }

    /// `true` when the call certainly did not run and retrying may succeed: see
    /// [`TransportError::is_retry_safe`]. Server errors ([`Error::Rpc`]) and protocol errors
    /// are never retry-safe in this sense (a retry gets the same answer).
    pub fn is_retry_safe(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_retry_safe())
    }

    /// `true` when the call may have run although no reply arrived: see
    /// [`TransportError::is_outcome_unknown`].
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_outcome_unknown())
    }
}

/// Why a server refused a registration or a lifecycle step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The service name is already registered (on this server, or on the memory bus).
    #[error("service \"{0}\" is already registered")]
    DuplicateService(String),
    /// Services must be registered before `start`.
    #[error("cannot register service \"{0}\": the server has already started")]
    RegisterAfterStart(String),
    /// A stopped server cannot be started or changed again.
    #[error("the server has been stopped")]
    Stopped,
    /// The transport failed while starting.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// A runtime-built service was declared wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The service name does not match `^[a-z][a-z0-9-]*$`.
    #[error("invalid service name \"{0}\": must match ^[a-z][a-z0-9-]*$")]
    InvalidServiceName(String),
    /// The method name does not match `^[a-z][a-zA-Z0-9]*$`.
    #[error("invalid method name \"{0}\": must match ^[a-z][a-zA-Z0-9]*$")]
    InvalidMethodName(String),
    /// Two methods share one wire name.
    #[error("duplicate method name \"{0}\"")]
    DuplicateMethod(String),
}
