//! [`TracingLayer`]: a span per request on both sides, and W3C trace context carried in the
//! call's metadata (`traceparent`) so one trace spans the client's and the server's process.

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use serde_json::Value;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::client::BoxFuture;
use crate::envelope::Response;
use crate::error::Error;
use crate::pipeline::{ClientRequest, RpcRequest};

/// The metadata key of the W3C trace context.
const TRACEPARENT: &str = "traceparent";

/// A W3C trace context (`traceparent`: `00-<trace id>-<span id>-<flags>`). The server-side
/// [`TracingLayer`] puts the one of the request's span into the request's extensions, so a
/// handler can continue the trace in the calls it makes:
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::layers::TraceContext;
/// use clamator::{CallOptions, Context};
///
/// fn downstream_options(ctx: &Context) -> CallOptions {
///     let mut options = CallOptions::default();
///     if let Some(trace) = ctx.extensions().get::<TraceContext>() {
///         options = options.with_metadata("traceparent", trace.traceparent());
///     }
///     options
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits: the span this context names.
    pub span_id: String,
}

impl TraceContext {
    /// A new trace with a new span.
    pub fn new_root() -> Self {
        Self { trace_id: uuid::Uuid::new_v4().simple().to_string(), span_id: new_span_id() }
    }

    /// A new span in the same trace.
    pub fn child(&self) -> Self {
        Self { trace_id: self.trace_id.clone(), span_id: new_span_id() }
    }

    /// Parses a `traceparent` value (version `00`); `None` when malformed or all zeros.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace_id, span_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0')
        };
        if parts.next().is_some() || version != "00" || !hex(trace_id, 32) || !hex(span_id, 16) || flags.len() != 2 {
            return None;
        }
        Some(Self { trace_id: trace_id.to_ascii_lowercase(), span_id: span_id.to_ascii_lowercase() })
    }

    /// The `traceparent` value naming this span (sampled).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }
}

fn new_span_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// A span per request, on the server (`rpc.server`) and on the client (`rpc.client`), with
/// the fields `service`, `method`, `id`, `attempt` (server), `trace_id`, `span_id`,
/// `parent_span_id` and, once it is known, `code` (0 for success, the error code otherwise).
///
/// The client side starts a trace (or continues the one in the call's `traceparent`
/// metadata) and sends its span as `traceparent`; the server side continues the trace it
/// receives. The spans are ordinary `tracing` spans: export them with any subscriber
/// (`tracing-opentelemetry` makes them OpenTelemetry spans; the trace ids are W3C ones).
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingLayer;

impl TracingLayer {
    /// The layer (for either side).
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for TracingLayer {
    type Service = Tracing<S>;

    fn layer(&self, inner: S) -> Tracing<S> {
        Tracing { inner }
    }
}

/// The service of a [`TracingLayer`].
#[derive(Debug, Clone)]
pub struct Tracing<S> {
    inner: S,
}

impl<S> Service<RpcRequest> for Tracing<S>
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
        let parent = req.ctx.metadata().get(TRACEPARENT).and_then(|v| TraceContext::parse(v));
        let trace = parent.as_ref().map_or_else(TraceContext::new_root, TraceContext::child);
        let span = tracing::info_span!(
            "rpc.server",
            service = %req.ctx.service(),
            method = %req.ctx.method(),
            id = req.ctx.id().map(tracing::field::display),
            attempt = req.ctx.attempt(),
            trace_id = %trace.trace_id,
            span_id = %trace.span_id,
            parent_span_id = parent.as_ref().map(|p| tracing::field::display(&p.span_id)),
            code = tracing::field::Empty,
        );
        req.ctx.extensions_mut().insert(trace);
        // Entered while inner layers run their synchronous part, so their logs carry it too.
        let fut = span.in_scope(|| self.inner.call(req)).instrument(span.clone());
        Box::pin(async move {
            let reply = fut.await;
            if let Ok(Some(response)) = &reply {
                span.record("code", response.outcome.as_ref().err().map_or(0, |e| e.code));
            }
            reply
        })
    }
}

impl<S> Service<ClientRequest> for Tracing<S>
where
    S: Service<ClientRequest, Response = Value, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = Value;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Value, Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: ClientRequest) -> Self::Future {
        let parent = req.options.metadata.get(TRACEPARENT).and_then(|v| TraceContext::parse(v));
        let trace = parent.as_ref().map_or_else(TraceContext::new_root, TraceContext::child);
        let span = tracing::info_span!(
            "rpc.client",
            service = %req.service,
            method = %req.method,
            trace_id = %trace.trace_id,
            span_id = %trace.span_id,
            parent_span_id = parent.as_ref().map(|p| tracing::field::display(&p.span_id)),
            code = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        req.options.metadata.insert(TRACEPARENT.to_owned(), trace.traceparent());
        let fut = span.in_scope(|| self.inner.call(req)).instrument(span.clone());
        Box::pin(async move {
            let result = fut.await;
            match &result {
                Ok(_) => span.record("code", 0),
                Err(Error::Rpc(e)) => span.record("code", e.code),
                Err(e) => span.record("error", tracing::field::display(e)),
            };
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trip_and_rejects() {
        let root = TraceContext::new_root();
        assert_eq!(root.trace_id.len(), 32);
        assert_eq!(root.span_id.len(), 16);
        assert_eq!(TraceContext::parse(&root.traceparent()), Some(root.clone()));
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
        for bad in [
            "",
            "00-abc-def-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        let ok = TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(ok.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
