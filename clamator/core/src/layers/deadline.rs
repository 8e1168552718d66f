//! [`DeadlineLayer`]: stop a handler once its caller has given up.

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use tower::{Layer, Service};

use crate::client::BoxFuture;
use crate::envelope::Response;
use crate::error::{codes, RpcError};
use crate::pipeline::RpcRequest;

/// Cancels a handler when its caller's deadline ([`Context::deadline`](crate::Context::deadline))
/// passes, and answers `-32011 Deadline exceeded` (nobody may be listening any more, but the
/// transport acknowledges the request). Requests without a deadline run as usual. Opt-in: a
/// handler cancelled half-way must be safe to stop at any `.await`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl DeadlineLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline { inner }
    }
}

/// The service of a [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
}

impl<S> Service<RpcRequest> for Deadline<S>
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

    fn call(&mut self, req: RpcRequest) -> Self::Future {
        let (deadline, id) = (req.ctx.deadline(), req.call.id.clone());
        let fut = self.inner.call(req);
        Box::pin(async move {
            let Some(deadline) = deadline else { return fut.await };
            match tokio::time::timeout_at(deadline, fut).await {
                Ok(reply) => reply,
                Err(_) => {
                    tracing::debug!(?id, "deadline passed; handler cancelled");
                    let error = RpcError::new(codes::DEADLINE_EXCEEDED, "Deadline exceeded");
                    Ok(id.map(|id| Response::error(Some(id), error)))
                }
            }
        })
    }
}
