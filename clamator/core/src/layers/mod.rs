//! Middleware that clamator ships, as `tower::Layer`s for a [`ServiceTable`](crate::ServiceTable)
//! (server side, [`ServiceTable::layer`](crate::ServiceTable::layer)) or a
//! [`LayeredClient`](crate::LayeredClient) (client side):
//!
//! | layer | side | what it does |
//! |---|---|---|
//! | [`TracingLayer`] | both | a span per request (`rpc.server` / `rpc.client`: service, method, id, attempt, trace id, outcome code) and W3C trace context: the client sends `traceparent` in the call's metadata, the server continues that trace |
//! | [`DeadlineLayer`] | server | cancels a handler when its caller's deadline passes (`-32011 Deadline exceeded`) |
//! | `MetricsLayer` (feature `metrics`) | server | counters, histograms and a gauge through the `metrics` facade |
//!
//! Write your own as any tower layer whose service takes an [`RpcRequest`](crate::RpcRequest)
//! (server) or a [`ClientRequest`](crate::ClientRequest) (client); the authentication example
//! (`examples/src/auth.rs`) is one.

mod deadline;
#[cfg(feature = "metrics")]
mod metrics;
mod trace;

pub use deadline::{Deadline, DeadlineLayer};
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::{Metrics, MetricsLayer};
pub use trace::{TraceContext, Tracing, TracingLayer};
