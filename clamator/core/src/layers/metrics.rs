//! [`MetricsLayer`]: request metrics through the `metrics` facade.

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use tokio::time::Instant;
use tower::{Layer, Service};

use crate::client::BoxFuture;
use crate::envelope::Response;
use crate::pipeline::RpcRequest;

/// Server-side metrics through the [`metrics`](https://docs.rs/metrics) facade, labelled
/// `service` and `method` (errors also `code`). Install any recorder (a Prometheus exporter,
/// say); without one they cost next to nothing. Transports add their own counters (Redis:
/// `clamator_redis_expired_total`, `clamator_redis_dead_lettered_total`, ...).
///
/// | name | kind | what |
/// |---|---|---|
/// | `clamator_requests_total` | counter | requests and notifications dispatched |
/// | `clamator_errors_total` | counter | error replies, by `code` |
/// | `clamator_handler_seconds` | histogram | time in the handler (and the layers inside this one) |
/// | `clamator_queue_wait_seconds` | histogram | time the request waited in the transport (when known) |
/// | `clamator_in_flight` | gauge | requests being handled |
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsLayer;

impl MetricsLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Metrics<S> {
        Metrics { inner }
    }
}

/// The service of a [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct Metrics<S> {
    inner: S,
}

impl<S> Service<RpcRequest> for Metrics<S>
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
        let labels = [("service", req.ctx.service().to_owned()), ("method", req.ctx.method().to_owned())];
        metrics::counter!("clamator_requests_total", &labels).increment(1);
        if let Some(waited) = req.ctx.queue_wait() {
            metrics::histogram!("clamator_queue_wait_seconds", &labels).record(waited.as_secs_f64());
        }
        let in_flight = metrics::gauge!("clamator_in_flight", &labels[..1]);
        in_flight.increment(1.0);
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let reply = fut.await;
            in_flight.decrement(1.0);
            metrics::histogram!("clamator_handler_seconds", &labels).record(started.elapsed().as_secs_f64());
            if let Ok(Some(Response { outcome: Err(e), .. })) = &reply {
                let [service, method] = labels;
                let labels = [service, method, ("code", e.code.to_string())];
                metrics::counter!("clamator_errors_total", &labels).increment(1);
            }
            reply
        })
    }
}
