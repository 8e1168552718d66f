//! Services as servers host them: a named method table of type-erased handlers and the
//! dispatcher every transport shares. Services assembled at run time: [`crate::ServiceBuilder`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::Either;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use validator::Validate;

use std::convert::Infallible;

use tower::{Layer, Service};

use crate::context::Context;
use crate::contract::{MethodKind, ServiceDescriptor};
use crate::envelope::{Call, Response};
use crate::error::{codes, RpcError};
use crate::json_lane::JsonFn;
use crate::pipeline::{BoxDispatch, Dispatch, RpcRequest};
use crate::validation::Rules;

/// The boxed future a type-erased handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send>>;

/// A type-erased handler: raw params in (with the request's [`Context`] for a handler that
/// takes one), raw result (or error) out. Built by [`typed_method`] and
/// [`typed_notification`] (and their `_with_context` forms), which add decoding and
/// validation, or by [`Handler::raw`]. Cloning is cheap.
#[derive(Clone)]
pub struct Handler {
    call: HandlerFn,
    /// The JSON lane of a typed handler (see [`ServiceTable::dispatch_json`]).
    pub(crate) json: Option<JsonFn>,
}

#[derive(Clone)]
enum HandlerFn {
    /// Takes no context: the dispatcher builds none for it, and keeps the request id.
    Plain(Arc<dyn Fn(Value) -> HandlerFuture + Send + Sync>),
    WithContext(Arc<dyn Fn(Context, Value) -> HandlerFuture + Send + Sync>),
}

impl Handler {
    /// A handler over raw JSON params that takes the request's [`Context`]: no decoding or
    /// validation beyond the envelope's.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
    /// use clamator::transport::{Call, Handler};
    /// use clamator::{Id, MethodDescriptor, MethodKind, ServiceDescriptor, ServiceTable};
    /// use serde_json::json;
    /// use std::borrow::Cow;
    ///
    /// let descriptor = ServiceDescriptor {
    ///     name: Cow::Borrowed("who"),
    ///     methods: Cow::Owned(vec![MethodDescriptor {
    ///         name: Cow::Borrowed("am_i"),
    ///         rust_name: Cow::Borrowed("am_i"),
    ///         kind: MethodKind::Method,
    ///     }]),
    /// };
    /// let handler = Handler::raw(|ctx, _params| async move { Ok(json!(ctx.id().map(ToString::to_string))) });
    /// let table = ServiceTable::from_descriptor(&descriptor, vec![handler]);
    /// let call = Call { service: "who".into(), method: "am_i".into(), params: json!({}), id: Some(Id::from("r7")) };
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let reply = rt.block_on(table.dispatch(call)).unwrap();
    /// assert_eq!(reply.outcome.unwrap(), json!("r7"));
    /// ```
    pub fn raw<F, Fut>(f: F) -> Self
    where
        F: Fn(Context, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        Self { call: HandlerFn::WithContext(Arc::new(move |ctx, params| Box::pin(f(ctx, params)))), json: None }
    }

    pub(crate) fn plain(f: impl Fn(Value) -> HandlerFuture + Send + Sync + 'static) -> Self {
        Self { call: HandlerFn::Plain(Arc::new(f)), json: None }
    }

    pub(crate) fn with_context(f: impl Fn(Context, Value) -> HandlerFuture + Send + Sync + 'static) -> Self {
        Self { call: HandlerFn::WithContext(Arc::new(f)), json: None }
    }

    /// The same handler with a JSON lane.
    pub(crate) fn with_json(mut self, json: JsonFn) -> Self {
        self.json = Some(json);
        self
    }

    /// `true` when the handler takes the request's [`Context`].
    pub(crate) fn takes_context(&self) -> bool {
        matches!(self.call, HandlerFn::WithContext(_))
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler").field("takes_context", &self.takes_context()).finish_non_exhaustive()
    }
}

/// Wraps a typed async function as a [`Handler`]: params are deserialized and validated
/// (`-32602` with `data.errors` on failure), the function runs, its result is validated
/// (`-32603 Result validation failed`, also for a non-finite float, which JSON cannot
/// represent) and serialized. Its error may be any type that converts into an
/// [`RpcError`]: an `RpcError` passes through unchanged, a [`HandlerError`](crate::HandlerError) (what `?` on any
/// `std::error::Error` gives) becomes `-32603 Internal error`.
pub fn typed_method<P, R, E, F, Fut>(f: F) -> Handler
where
    P: DeserializeOwned + Validate + Send + 'static,
    R: Serialize + Validate + 'static,
    E: Into<RpcError> + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    crate::typed::typed_method_with_rules(Rules::validator(), Rules::validator(), f)
}

/// [`typed_method`] for a function that also takes the request's [`Context`].
pub fn typed_method_with_context<P, R, E, F, Fut>(f: F) -> Handler
where
    P: DeserializeOwned + Validate + Send + 'static,
    R: Serialize + Validate + 'static,
    E: Into<RpcError> + 'static,
    F: Fn(Context, P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    crate::typed::typed_method_with_context_and_rules(Rules::validator(), Rules::validator(), f)
}

/// Wraps a typed async notification handler as a [`Handler`]; params are decoded and
/// validated as for [`typed_method`].
pub fn typed_notification<P, F, Fut>(f: F) -> Handler
where
    P: DeserializeOwned + Validate + Send + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    crate::typed::typed_notification_with_rules(Rules::validator(), f)
}

/// [`typed_notification`] for a function that also takes the request's [`Context`].
pub fn typed_notification_with_context<P, F, Fut>(f: F) -> Handler
where
    P: DeserializeOwned + Validate + Send + 'static,
    F: Fn(Context, P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    crate::typed::typed_notification_with_context_and_rules(Rules::validator(), f)
}

pub(crate) struct MethodEntry {
    /// The wire name, as the descriptor holds it (borrowed for generated contracts).
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: MethodKind,
    pub(crate) handler: Handler,
}

/// A service ready to be hosted: its descriptor and one handler per method.
///
/// Made by a generated `ArithServer` (through [`IntoServiceTable`]) or by a
/// [`ServiceBuilder`](crate::ServiceBuilder); register it with a transport's server. Cloning is cheap.
#[derive(Clone)]
pub struct ServiceTable {
    descriptor: Arc<ServiceDescriptor>,
    pub(crate) methods: Arc<HashMap<String, MethodEntry>>,
    /// The middleware stack around the dispatcher, if any layer was added.
    pub(crate) layered: Option<BoxDispatch>,
}

impl std::fmt::Debug for ServiceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceTable").field("descriptor", &self.descriptor).finish_non_exhaustive()
    }
}

impl ServiceTable {
    /// Builds a table from a static descriptor and one handler per method, in the
    /// descriptor's order. Used by generated code.
    ///
    /// # Panics
    /// When the number of handlers differs from the number of methods: generated code
    /// always passes matching lists.
    pub fn from_descriptor(descriptor: &ServiceDescriptor, handlers: Vec<Handler>) -> Self {
        assert_eq!(descriptor.methods.len(), handlers.len(), "one handler per method");
        let methods = descriptor
            .methods
            .iter()
            .zip(handlers)
            .map(|(m, handler)| (m.name.to_string(), MethodEntry { name: m.name.clone(), kind: m.kind, handler }))
            .collect();
        Self { descriptor: Arc::new(descriptor.clone()), methods: Arc::new(methods), layered: None }
    }

    /// The service name.
    pub fn name(&self) -> &str {
        &self.descriptor.name
    }

    /// The contract this table serves.
    pub fn descriptor(&self) -> &ServiceDescriptor {
        &self.descriptor
    }

    /// Runs one call through the shared dispatcher and returns the reply to send, if any.
    ///
    /// Unknown method: `-32601`. Params that fail to deserialize or validate: `-32602`.
    /// A handler's [`RpcError`]: passed through unchanged. A panic in the handler:
    /// `-32603 Internal error` with `data {name: "panic", message}`; the server keeps
    /// running. A result that fails validation: `-32603 Result validation failed`.
    /// Notifications never get a reply. A request sent to a notification method runs it
    /// and gets a `null` result, so that the caller does not wait for nothing.
    pub fn dispatch(&self, call: Call) -> impl Future<Output = Option<Response>> + Send + '_ {
        self.dispatch_with(Context::default(), call)
    }

    /// [`dispatch`](Self::dispatch) with the request's [`Context`] as the transport built it
    /// (attempt, deadline, metadata), through the table's middleware if it has any. The
    /// context's id is set from the call, and its service and method names from this table.
    pub fn dispatch_with(&self, mut ctx: Context, call: Call) -> impl Future<Output = Option<Response>> + Send + '_ {
        match &self.layered {
            Some(stack) => {
                // Layers see the id and names before the dispatcher looks the method up.
                let method =
                    self.methods.get(&call.method).map_or_else(|| Cow::Owned(call.method.clone()), |m| m.name.clone());
                ctx.set_names(self.descriptor.name.clone(), method);
                ctx.set_id(call.id.clone());
                // Boxed: the layered future holds the whole request, and would otherwise make
                // the unlayered one as large.
                Either::Left(Box::pin(crate::pipeline::run(stack, RpcRequest { ctx, call })))
            }
            None => Either::Right(self.dispatch_direct(ctx, call)),
        }
    }

    /// The same table with `layer` around its dispatcher (outside any layer added before):
    /// every transport that hosts it runs each request through the stack. `layer` is any
    /// `tower::Layer` whose service takes an [`RpcRequest`] (a `tower::ServiceBuilder`
    /// stacks several); see [`layers`](crate::layers) for the ones clamator ships.
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<BoxDispatch>,
        L::Service:
            Service<RpcRequest, Response = Option<Response>, Error = Infallible> + Clone + Send + Sync + 'static,
        <L::Service as Service<RpcRequest>>::Future: Send + 'static,
    {
        let inner = match self.layered.take() {
            Some(stack) => stack,
            None => BoxDispatch::new(Dispatch(self.clone())),
        };
        self.layered = Some(BoxDispatch::new(layer.layer(inner)));
        self
    }

    /// `true` when middleware was added with [`layer`](Self::layer).
    pub fn is_layered(&self) -> bool {
        self.layered.is_some()
    }

    /// The dispatcher itself, without middleware.
    ///
    /// The handler is looked up and started here, before the returned future is first
    /// polled, so that the future holds only the handler's boxed future and the request id:
    /// neither the call nor the context is moved along with it. A handler that takes no
    /// context gets none, and the id is not copied for it.
    pub(crate) fn dispatch_direct(
        &self,
        mut ctx: Context,
        call: Call,
    ) -> impl Future<Output = Option<Response>> + Send + '_ {
        let Call { method, params, id, .. } = call;
        let Some(entry) = self.methods.get(&method) else {
            tracing::debug!(service = %self.name(), %method, "method not found");
            let reply = id.map(|id| Response::error(Some(id), RpcError::method_not_found()));
            return Either::Left(std::future::ready(reply));
        };
        let started = std::panic::catch_unwind(AssertUnwindSafe(|| match &entry.handler.call {
            HandlerFn::Plain(handler) => handler(params),
            HandlerFn::WithContext(handler) => {
                self.fill_context(&mut ctx, entry, id.as_ref());
                handler(ctx, params)
            }
        }));
        Either::Right(async move {
            let outcome = match started {
                Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await.unwrap_or_else(|p| Err(panic_error(p))),
                Err(p) => Err(panic_error(p)),
            };
            if let Err(error) = &outcome {
                self.log_failure(&entry.name, id.as_ref(), error);
            }
            let id = id?;
            let outcome = if entry.kind == MethodKind::Notification { outcome.map(|_| Value::Null) } else { outcome };
            Some(Response { id: Some(id), outcome })
        })
    }

    /// Names the service and method in the context a handler gets, and the request id
    /// unless the transport set one.
    pub(crate) fn fill_context(&self, ctx: &mut Context, entry: &MethodEntry, id: Option<&crate::Id>) {
        ctx.set_names(self.descriptor.name.clone(), entry.name.clone());
        if ctx.id().is_none() {
            ctx.set_id(id.cloned());
        }
    }

    pub(crate) fn log_failure(&self, method: &str, id: Option<&crate::Id>, error: &RpcError) {
        let service = self.name();
        let id = id.map(ToString::to_string);
        match (error.code, error.message.as_str()) {
            (codes::INVALID_PARAMS, _) => {
                tracing::warn!(service, method, ?id, data = ?error.data, "RPC params validation failed")
            }
            (codes::INTERNAL_ERROR, "Internal error") => {
                tracing::error!(service, method, ?id, data = ?error.data, "RPC handler failed")
            }
            (codes::INTERNAL_ERROR, _) => {
                tracing::error!(service, method, ?id, data = ?error.data, "RPC result validation failed")
            }
            _ => tracing::debug!(service, method, ?id, code = error.code, "RPC handler returned an error"),
        }
    }
}

pub(crate) fn panic_error(payload: Box<dyn std::any::Any + Send>) -> RpcError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "handler panicked".to_owned());
    RpcError::internal("panic", message)
}

/// Anything a server can host: a generated `ArithServer<T>`, a [`ServiceTable`], a
/// [`ServiceBuilder`](crate::ServiceBuilder) result.
pub trait IntoServiceTable {
    /// Produces the method table.
    fn into_service_table(self) -> ServiceTable;
}

impl IntoServiceTable for ServiceTable {
    fn into_service_table(self) -> ServiceTable {
        self
    }
}
