//! An authentication layer, written as any clamator middleware is: a `tower::Layer` whose
//! service takes an [`RpcRequest`]. It checks a bearer token in the call's metadata and puts
//! the caller's identity into the request's extensions for the handler; a call without a
//! valid token is refused with [`UNAUTHORIZED`] and its handler never runs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use clamator::{BoxFuture, Response, RpcError, RpcRequest};
use tower::{Layer, Service};

/// The application error code of a refused call (outside the ranges JSON-RPC reserves).
pub const UNAUTHORIZED: i64 = -31001;

/// Who made the call, as [`AuthLayer`] found it: a handler reads it with
/// `ctx.extensions().get::<Caller>()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

/// Accepts calls whose `authorization` metadata is `Bearer <token>` for a known token.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    tokens: Arc<HashMap<String, String>>,
}

impl AuthLayer {
    /// Accepts `token`, as caller `name` (more with [`token`](Self::token)).
    pub fn new(token: impl Into<String>, name: impl Into<String>) -> Self {
        Self { tokens: Arc::new(HashMap::from([(token.into(), name.into())])) }
    }

    /// Also accepts `token`, as caller `name`.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.tokens).insert(token.into(), name.into());
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth { inner, tokens: Arc::clone(&self.tokens) }
    }
}

/// The service of an [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    tokens: Arc<HashMap<String, String>>,
}

impl<S> Service<RpcRequest> for Auth<S>
where
    S: Service<RpcRequest, Response = Option<Response>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Option<Response>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: RpcRequest) -> Self::Future {
        let caller = req
            .ctx
            .metadata()
            .get("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| self.tokens.get(token))
            .cloned();
        match caller {
            Some(name) => {
                req.ctx.extensions_mut().insert(Caller(name));
                Box::pin(self.inner.call(req))
            }
            None => {
                tracing::warn!(service = %req.ctx.service(), method = %req.ctx.method(), "call without a valid token refused");
                let refused = RpcError::new(UNAUTHORIZED, "Unauthorized");
                let reply = req.call.id.map(|id| Response::error(Some(id), refused));
                Box::pin(std::future::ready(Ok(reply)))
            }
        }
    }
}
