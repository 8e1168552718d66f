//! The client side: the [`RpcClient`] trait every transport's client implements, typed
//! calls on top of it, and [`ClientCore`], the lifecycle/timeout logic transports share.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use validator::Validate;

use crate::client_codec::{encode_params_with_rules, ResultData};
use crate::context::Metadata;
use crate::envelope::{Call, Id, Response};
use crate::error::{Error, ProtocolError, TransportError};
use crate::lifecycle::{Lifecycle, State};
use crate::names::{is_valid_method_name, is_valid_service_name};
use crate::validation::Rules;

/// The default call timeout: 30 seconds, as in clamator 0.1.9.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Per-call options: a timeout override and metadata for the server.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::CallOptions;
/// use std::time::Duration;
///
/// let options = CallOptions::timeout(Duration::from_secs(2)).with_metadata("authorization", "Bearer s3cret");
/// assert_eq!(options.metadata["authorization"], "Bearer s3cret");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// Overrides the client's default timeout for this call.
    pub timeout: Option<Duration>,
    /// Metadata for the server: it reaches the handler's [`Context::metadata`](crate::Context::metadata)
    /// (over Redis as the entry's `metadata` field, which 0.1.9 servers ignore).
    pub metadata: Metadata,
}

impl CallOptions {
    /// Options with a timeout override.
    pub fn timeout(timeout: Duration) -> Self {
        Self { timeout: Some(timeout), ..Self::default() }
    }

    /// The same options with a timeout override.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The same options with one more metadata entry.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// A clamator client over some transport. Generated proxies (`ArithClient<C>`) work over any
/// implementation, so switching transports changes only the constructor.
///
/// The raw methods take and return JSON; [`call`] and [`notify`] add typing and validation.
pub trait RpcClient: Send + Sync {
    /// Sends a request and waits for its reply (or the timeout).
    fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> impl Future<Output = Result<Value, Error>> + Send + 'a;

    /// Sends a notification; returns once it is handed to the transport.
    fn notify_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a;

    /// `true` when [`call_json`](Self::call_json) is the transport's own: typed callers
    /// then encode params straight to JSON text and decode results from it, with no `Value`.
    fn writes_json(&self) -> bool {
        false
    }

    /// [`call_value`](Self::call_value) for params already encoded as a JSON object's text;
    /// the result as the transport has it ([`ResultData`]). The default parses the params
    /// and calls [`call_value`](Self::call_value); see [`writes_json`](Self::writes_json).
    fn call_json<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: String,
        options: CallOptions,
    ) -> impl Future<Output = Result<ResultData, Error>> + Send + 'a {
        async move {
            let params = serde_json::from_str(&params).map_err(ProtocolError::ParamsNotSerializable)?;
            self.call_value(service, method, params, options).await.map(ResultData::Value)
        }
    }
}

/// Forwards every method of [`RpcClient`] through a pointer type (`&C`, `Arc<C>`), so that
/// transports' own overrides (`writes_json`, `call_json`) stay in effect behind it.
macro_rules! forward_rpc_client {
    ($($pointer:ty),*) => {$(
        impl<C: RpcClient + ?Sized> RpcClient for $pointer {
            fn call_value<'a>(
                &'a self,
                service: &'a str,
                method: &'a str,
                params: Value,
                options: CallOptions,
            ) -> impl Future<Output = Result<Value, Error>> + Send + 'a {
                (**self).call_value(service, method, params, options)
            }

            fn notify_value<'a>(
                &'a self,
                service: &'a str,
                method: &'a str,
                params: Value,
            ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
                (**self).notify_value(service, method, params)
            }

            fn writes_json(&self) -> bool {
                (**self).writes_json()
            }

            fn call_json<'a>(
                &'a self,
                service: &'a str,
                method: &'a str,
                params: String,
                options: CallOptions,
            ) -> impl Future<Output = Result<ResultData, Error>> + Send + 'a {
                (**self).call_json(service, method, params, options)
            }
        }
    )*};
}

forward_rpc_client!(&C, Arc<C>);

/// A boxed, `Send` future: what the object-safe traits ([`DynRpcClient`],
/// [`RpcServer`](crate::RpcServer)) return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`RpcClient`]: the same two operations, returning boxed futures,
/// so that `dyn DynRpcClient` exists.
///
/// Every [`RpcClient`] implements it (blanket impl); you never implement it yourself. Use it
/// through [`AnyClient`], which wraps an `Arc<dyn DynRpcClient>` and is itself an
/// [`RpcClient`], so generated proxies work over it.
pub trait DynRpcClient: Send + Sync {
    /// [`RpcClient::call_value`], boxed.
    fn call_value_boxed<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> BoxFuture<'a, Result<Value, Error>>;

    /// [`RpcClient::notify_value`], boxed.
    fn notify_value_boxed<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

impl<C: RpcClient> DynRpcClient for C {
    fn call_value_boxed<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> BoxFuture<'a, Result<Value, Error>> {
        Box::pin(self.call_value(service, method, params, options))
    }

    fn notify_value_boxed<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.notify_value(service, method, params))
    }
}

/// Any client behind one type: an `Arc<dyn DynRpcClient>`. Cheap to clone, and itself an
/// [`RpcClient`], so a generated `ArithClient<AnyClient>` works whatever transport is
/// underneath. Use it when the transport is chosen at run time (from configuration), or to
/// keep the transport out of your own types' signatures.
///
/// Start the concrete client before wrapping it, and keep a clone of it for `stop`: the
/// lifecycle methods belong to the transport, [`AnyClient`] only carries calls. Each call
/// costs one extra allocation (the boxed future).
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{AnyClient, LocalClient, RpcClient, CallOptions, ServiceBuilder};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let echo = ServiceBuilder::new("echo").raw_method("echo", |p| async move { Ok(p) }).build()?;
/// let use_local = true; // e.g. read from configuration
/// let client: AnyClient = if use_local {
///     AnyClient::new(LocalClient::new().with_service(echo)?)
/// } else {
///     unreachable!("a started Redis or memory client would go here")
/// };
/// let reply = client.call_value("echo", "echo", json!({"x": 1}), CallOptions::default()).await?;
/// assert_eq!(reply, json!({"x": 1}));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AnyClient {
    inner: Arc<dyn DynRpcClient>,
}

impl AnyClient {
    /// Wraps `client`. Wrapping an [`AnyClient`] again is harmless but adds a layer; clone
    /// it instead.
    pub fn new<C: RpcClient + 'static>(client: C) -> Self {
        Self { inner: Arc::new(client) }
    }

    /// Wraps an already shared client.
    pub fn from_arc(client: Arc<dyn DynRpcClient>) -> Self {
        Self { inner: client }
    }

    /// The shared client inside.
    pub fn as_dyn(&self) -> &Arc<dyn DynRpcClient> {
        &self.inner
    }
}

impl std::fmt::Debug for AnyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyClient").finish_non_exhaustive()
    }
}

impl RpcClient for AnyClient {
    fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> impl Future<Output = Result<Value, Error>> + Send + 'a {
        self.inner.call_value_boxed(service, method, params, options)
    }

    fn notify_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        self.inner.notify_value_boxed(service, method, params)
    }
}

/// A typed call: validates params client-side, sends, decodes the result into `R`.
///
/// ```no_run
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// # async fn demo(client: impl clamator::RpcClient) -> Result<(), clamator::Error> {
/// # #[derive(serde::Serialize, validator::Validate)] struct AddParams { a: f64, b: f64 }
/// # #[derive(serde::Deserialize, validator::Validate)] struct AddResult { sum: f64 }
/// use clamator::{call, CallOptions};
/// let r: AddResult = call(&client, "arith", "add", &AddParams { a: 1.0, b: 2.0 }, CallOptions::default()).await?;
/// # Ok(()) }
/// ```
pub fn call<'a, C, P, R>(
    client: &'a C,
    service: &'a str,
    method: &'a str,
    params: &P,
    options: CallOptions,
) -> impl Future<Output = Result<R, Error>> + Send + 'a
where
    C: RpcClient + ?Sized,
    P: Serialize + Validate,
    R: DeserializeOwned + Validate,
{
    let sent = send_typed(client, service, method, params, options, Rules::validator());
    async move { crate::client_codec::decode_result_data(sent.await?, Rules::validator()) }
}

/// [`call`] with the checks of params and result given explicitly: any `Serialize` params
/// and `DeserializeOwned` result, with or without `validator` rules.
pub fn call_with_rules<'a, C, P, R>(
    client: &'a C,
    service: &'a str,
    method: &'a str,
    params: &P,
    options: CallOptions,
    params_rules: Rules<P>,
    result_rules: Rules<R>,
) -> impl Future<Output = Result<R, Error>> + Send + 'a
where
    C: RpcClient + ?Sized,
    P: Serialize,
    R: DeserializeOwned + 'a,
{
    let sent = send_typed(client, service, method, params, options, params_rules);
    async move { crate::client_codec::decode_result_data(sent.await?, result_rules) }
}

/// Checks and encodes `params` and sends the call: straight to JSON text for a transport that
/// writes JSON ([`RpcClient::writes_json`]), through a `Value` otherwise (middleware and
/// in-process transports work on `Value`s). Nothing is sent when the params fail their checks.
pub(crate) fn send_typed<'a, C, P>(
    client: &'a C,
    service: &'a str,
    method: &'a str,
    params: &P,
    options: CallOptions,
    rules: Rules<P>,
) -> impl Future<Output = Result<ResultData, Error>> + Send + 'a
where
    C: RpcClient + ?Sized,
    P: Serialize,
{
    let encoded = if client.writes_json() {
        crate::client_codec::encode_params_json(params, rules).map(Ok)
    } else {
        encode_params_with_rules(params, rules).map(Err)
    };
    async move {
        match encoded? {
            Ok(text) => client.call_json(service, method, text, options).await,
            Err(value) => client.call_value(service, method, value, options).await.map(ResultData::Value),
        }
    }
}

/// A typed notification: validates params client-side, then sends.
pub fn notify<'a, C, P>(
    client: &'a C,
    service: &'a str,
    method: &'a str,
    params: &P,
) -> impl Future<Output = Result<(), Error>> + Send + 'a
where
    C: RpcClient + ?Sized,
    P: Serialize + Validate,
{
    notify_with_rules(client, service, method, params, Rules::validator())
}

/// [`notify`] with the checks of the params given explicitly.
pub fn notify_with_rules<'a, C, P>(
    client: &'a C,
    service: &'a str,
    method: &'a str,
    params: &P,
    params_rules: Rules<P>,
) -> impl Future<Output = Result<(), Error>> + Send + 'a
where
    C: RpcClient + ?Sized,
    P: Serialize,
{
    let encoded = encode_params_with_rules(params, params_rules);
    async move { client.notify_value(service, method, encoded?).await }
}

/// Lifecycle, timeouts and reply decoding shared by every transport's client.
#[derive(Debug)]
pub struct ClientCore {
    lifecycle: Lifecycle,
    stopped: CancellationToken,
    default_timeout: Duration,
}

impl ClientCore {
    /// A core with the given default timeout.
    pub fn new(default_timeout: Duration) -> Self {
        Self { lifecycle: Lifecycle::new(), stopped: CancellationToken::new(), default_timeout }
    }

    /// The default timeout.
    pub fn default_timeout(&self) -> Duration {
        self.default_timeout
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.lifecycle.state()
    }

    /// Marks the client started: `Ok(true)` the first time, `Ok(false)` when already started,
    /// [`TransportError::Stopped`] after stop.
    pub fn start(&self) -> Result<bool, TransportError> {
        self.lifecycle.start().map_err(|()| TransportError::Stopped)
    }

    /// Marks the client stopped and fails every pending call with `transport stopped`.
    /// Returns the state it was in.
    pub fn stop(&self) -> State {
        let was = self.lifecycle.stop();
        self.stopped.cancel();
        was
    }

    /// A token cancelled on [`stop`](Self::stop), for transport loops.
    pub fn stop_token(&self) -> &CancellationToken {
        &self.stopped
    }

    /// Checks state and names and builds the envelope for a call; `id` is `None` for a
    /// notification.
    pub fn prepare(&self, service: &str, method: &str, params: Value, id: Option<Id>) -> Result<Call, Error> {
        match self.lifecycle.state() {
            State::Started => {}
            State::Idle => return Err(TransportError::NotStarted.into()),
            State::Stopped => return Err(TransportError::Stopped.into()),
        }
        if !is_valid_service_name(service) {
            return Err(ProtocolError::InvalidName(format!("invalid service \"{service}\"")).into());
        }
        if !is_valid_method_name(method) {
            return Err(ProtocolError::InvalidName(format!("invalid method \"{method}\"")).into());
        }
        Ok(Call { service: service.to_owned(), method: method.to_owned(), params, id })
    }

    /// [`prepare`](Self::prepare) for params given as JSON text (an object), straight to the
    /// request envelope's JSON text, for transports that implement
    /// [`RpcClient::call_json`]. Params that are not a JSON object's text are
    /// [`ProtocolError::InvalidParams`].
    pub fn prepare_json(&self, service: &str, method: &str, params: &str, id: Id) -> Result<String, Error> {
        let checked = self.prepare(service, method, Value::Null, None)?;
        let is_object = params.starts_with('{')
            && serde_json::from_str::<&serde_json::value::RawValue>(params)
                .is_ok_and(|raw| raw.get().len() == params.len());
        if !is_object {
            let entry = crate::validation::FieldError::new(Vec::new(), "params must be a JSON object", "model_type");
            return Err(ProtocolError::InvalidParams(vec![entry]).into());
        }
        Ok(Call { id: Some(id), ..checked }.to_json_with_params(params))
    }

    /// The timeout for a call with `options`.
    pub fn timeout_for(&self, options: &CallOptions) -> Duration {
        options.timeout.unwrap_or(self.default_timeout)
    }

    /// Waits for `reply` until the timeout or until the client stops, and turns the reply
    /// into the caller's result. `reply` fails with whatever the transport knows (a
    /// [`TransportError`], or a [`ProtocolError`] for a malformed reply).
    pub async fn await_reply<F, E>(&self, reply: F, timeout: Duration) -> Result<Value, Error>
    where
        F: Future<Output = Result<Response, E>>,
        E: Into<Error>,
    {
        tokio::select! {
            biased;
            reply = reply => match reply.map_err(Into::into)?.outcome {
                Ok(result) => Ok(result),
                Err(error) => Err(Error::Rpc(error)),
            },
            () = self.stopped.cancelled() => Err(TransportError::Stopped.into()),
            () = tokio::time::sleep(timeout) => Err(TransportError::Timeout.into()),
        }
    }
}
