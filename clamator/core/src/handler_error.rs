//! [`HandlerError`]: what `?` turns any error into inside a handler.

use crate::error::RpcError;

/// Any error a handler hits, for `?`: every `std::error::Error + Send + Sync + 'static`
/// converts into it (io, serde_json, thiserror enums, and [`RpcError`] itself). (With the
/// `anyhow` feature a handler may return `anyhow::Result<T>` instead.)
///
/// The caller receives `-32603 Internal error` with `data: {"name": <the error's type>,
/// "message": <its Display>}` (WIRE.md), except for an [`RpcError`], which passes through
/// unchanged. To map your own error enum to application codes instead, implement
/// `From<YourError> for RpcError` and return `Result<T, YourError>` from the handler.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{HandlerError, RpcError};
///
/// fn read_config(path: &str) -> Result<String, HandlerError> {
///     let text = std::fs::read_to_string(path)?; // io::Error
///     if text.is_empty() {
///         Err(RpcError::new(-31001, "empty config"))?; // passes through as itself
///     }
///     Ok(text)
/// }
///
/// let err: RpcError = read_config("/no/such/file").unwrap_err().into();
/// assert_eq!(err.code, -32603);
/// assert_eq!(err.data.unwrap()["name"], "std::io::error::Error");
/// ```
///
/// It deliberately does not implement `std::error::Error` (as `anyhow::Error` does not):
/// that is what lets every error convert into it.
pub struct HandlerError {
    name: &'static str,
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl HandlerError {
    /// The error's type name (`std::io::error::Error`).
    pub fn name(&self) -> &str {
        self.name
    }

    /// The underlying error.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self { name: std::any::type_name::<E>(), error: Box::new(error) }
    }
}

/// With the `anyhow` feature, a handler may also return `anyhow::Result<T>`: the error
/// becomes `-32603 Internal error` with the anyhow message chain, unless it wraps an
/// [`RpcError`], which passes through unchanged.
#[cfg(feature = "anyhow")]
#[cfg_attr(docsrs, doc(cfg(feature = "anyhow")))]
impl From<anyhow::Error> for RpcError {
    fn from(e: anyhow::Error) -> RpcError {
        match e.downcast::<RpcError>() {
            Ok(rpc) => rpc,
            Err(other) => RpcError::internal("anyhow::Error", format!("{other:#}")),
        }
    }
}

impl From<HandlerError> for RpcError {
    fn from(e: HandlerError) -> RpcError {
        match e.error.downcast::<RpcError>() {
            Ok(rpc) => *rpc,
            Err(other) => RpcError::internal(e.name, other.to_string()),
        }
    }
}

impl std::fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerError").field("name", &self.name).field("error", &self.error).finish()
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_errors_pass_through_others_are_internal() {
        let rpc: RpcError = HandlerError::from(RpcError::new(-31000, "nope")).into();
        assert_eq!((rpc.code, rpc.message.as_str()), (-31000, "nope"));
        let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let rpc: RpcError = HandlerError::from(json).into();
        assert_eq!(rpc.code, -32603);
        let data = rpc.data.unwrap();
        assert_eq!(data["name"], "serde_json::error::Error");
        assert!(data["message"].as_str().unwrap().contains("EOF"));
    }
}
