//! The request pipeline as tower services, so middleware is ordinary `tower::Layer`s:
//!
//! - server side, a request is an [`RpcRequest`] (its [`Context`] and [`Call`]) and the
//!   innermost service is the dispatcher; [`ServiceTable::layer`] wraps it, and every
//!   transport hosting the table runs requests through the stack;
//! - client side, a call is a [`ClientRequest`] and the innermost service is the transport's
//!   client; [`LayeredClient`] wraps it and is itself an [`RpcClient`].
//!
//! A table or client without layers runs no tower code at all.
//!
//! ```
//! # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
//! use clamator::layers::{DeadlineLayer, TracingLayer};
//! use clamator::{ServiceBuilder, ServiceTable};
//!
//! let table: ServiceTable = ServiceBuilder::new("echo")
//!     .raw_method("echo", |p| async move { Ok(p) })
//!     .build()
//!     .unwrap()
//!     .layer(tower::ServiceBuilder::new().layer(TracingLayer::new()).layer(DeadlineLayer::new()));
//! assert!(table.is_layered());
//! ```

use std::convert::Infallible;
use std::task::{Context as TaskContext, Poll};

use serde_json::Value;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use crate::client::{BoxFuture, CallOptions, RpcClient};
use crate::context::Context;
use crate::envelope::{Call, Response};
use crate::error::Error;
use crate::service::ServiceTable;

/// A request on its way to a handler: what server-side middleware sees.
#[derive(Debug)]
pub struct RpcRequest {
    /// What the transport and earlier layers know about it; layers may add metadata and
    /// extensions.
    pub ctx: Context,
    /// The call itself.
    pub call: Call,
}

/// A type-erased server-side stack: `RpcRequest` in, the reply to send (none for a
/// notification) out.
pub type BoxDispatch = BoxCloneSyncService<RpcRequest, Option<Response>, Infallible>;

/// The innermost server-side service: a table's own dispatcher, without its layers.
#[derive(Clone, Debug)]
pub struct Dispatch(pub(crate) ServiceTable);

impl Service<RpcRequest> for Dispatch {
    type Response = Option<Response>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Option<Response>, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: RpcRequest) -> Self::Future {
        let table = self.0.clone();
        Box::pin(async move { Ok(table.dispatch_direct(req.ctx, req.call).await) })
    }
}

/// Runs a request through a layered stack.
pub(crate) async fn run(stack: &BoxDispatch, req: RpcRequest) -> Option<Response> {
    match stack.clone().oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// A call on its way to a transport: what client-side middleware sees.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// The service name.
    pub service: String,
    /// The method's wire name.
    pub method: String,
    /// The params, encoded and validated.
    pub params: Value,
    /// Timeout and metadata; layers may add metadata (`traceparent`, `authorization`).
    pub options: CallOptions,
}

/// A type-erased client-side stack: a call in, its result out.
pub type BoxCall = BoxCloneSyncService<ClientRequest, Value, Error>;

/// The innermost client-side service: the transport's client.
#[derive(Clone, Debug)]
pub struct Transport<C>(pub C);

impl<C: RpcClient + Clone + 'static> Service<ClientRequest> for Transport<C> {
    type Response = Value;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Value, Error>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ClientRequest) -> Self::Future {
        let client = self.0.clone();
        Box::pin(async move { client.call_value(&req.service, &req.method, req.params, req.options).await })
    }
}

/// A client whose calls go through a tower layer stack; use it wherever a client goes
/// (generated proxies included). Notifications go straight to the inner client.
///
/// ```no_run
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// # async fn demo(client: clamator::LocalClient) {
/// use clamator::layers::TracingLayer;
/// use clamator::LayeredClient;
///
/// let traced = LayeredClient::new(client, TracingLayer::new());
/// // ArithClient::new(traced) ...
/// # }
/// ```
#[derive(Clone)]
pub struct LayeredClient<C> {
    inner: C,
    calls: BoxCall,
}

impl<C> std::fmt::Debug for LayeredClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayeredClient").finish_non_exhaustive()
    }
}

impl<C: RpcClient + Clone + 'static> LayeredClient<C> {
    /// `client` with `layer` around its calls (a `tower::ServiceBuilder` stacks several).
    pub fn new<L>(client: C, layer: L) -> Self
    where
        L: Layer<Transport<C>>,
        L::Service: Service<ClientRequest, Response = Value, Error = Error> + Clone + Send + Sync + 'static,
        <L::Service as Service<ClientRequest>>::Future: Send + 'static,
    {
        let calls = BoxCloneSyncService::new(layer.layer(Transport(client.clone())));
        Self { inner: client, calls }
    }

    /// The client underneath.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: RpcClient + Clone + 'static> RpcClient for LayeredClient<C> {
    async fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> Result<Value, Error> {
        let req = ClientRequest { service: service.to_owned(), method: method.to_owned(), params, options };
        self.calls.clone().oneshot(req).await
    }

    async fn notify_value<'a>(&'a self, service: &'a str, method: &'a str, params: Value) -> Result<(), Error> {
        self.inner.notify_value(service, method, params).await
    }
}
