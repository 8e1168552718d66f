//! The client: sends calls over the bus.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clamator_core::{
    CallOptions, ClientCore, Context, Error, Id, Response, RpcClient, RpcError, State, TransportError, DEFAULT_TIMEOUT,
};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::bus::MemoryBus;

struct Inner {
    bus: MemoryBus,
    core: ClientCore,
    next_id: AtomicU64,
}

/// A client on a [`MemoryBus`]. Cloning is cheap; one client backs any number of proxies.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod memory { pub use clamator_over_memory::*; } }
/// # use clamator::memory::{MemoryBus, MemoryRpcClient};
/// # use clamator::{RpcClient, CallOptions, Error, TransportError};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let bus = MemoryBus::new();
/// let client = MemoryRpcClient::new(&bus);
/// let early = client.call_value("arith", "add", serde_json::json!({}), CallOptions::default()).await;
/// assert!(matches!(early, Err(Error::Transport(TransportError::NotStarted))));
///
/// client.start().await.unwrap();
/// let unknown = client.call_value("arith", "add", serde_json::json!({}), CallOptions::default()).await;
/// assert_eq!(unknown.unwrap_err().as_rpc().unwrap().code, -32601);
/// client.stop().await;
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryRpcClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemoryRpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRpcClient")
            .field("state", &self.state())
            .field("default_timeout", &self.inner.core.default_timeout())
            .finish()
    }
}

impl MemoryRpcClient {
    /// A client on `bus` with the default 30 s call timeout.
    pub fn new(bus: &MemoryBus) -> Self {
        Self::with_default_timeout(bus, DEFAULT_TIMEOUT)
    }

    /// A client on `bus` whose calls time out after `timeout` unless overridden per call.
    pub fn with_default_timeout(bus: &MemoryBus, timeout: Duration) -> Self {
        let inner = Inner { bus: bus.clone(), core: ClientCore::new(timeout), next_id: AtomicU64::new(1) };
        Self { inner: Arc::new(inner) }
    }

    /// Starts the client. Idempotent; fails with `transport stopped` after `stop`.
    pub async fn start(&self) -> Result<(), TransportError> {
        self.inner.core.start().map(drop)
    }

    /// Stops the client: pending calls fail with `transport stopped`, later calls too.
    /// Idempotent.
    pub async fn stop(&self) {
        self.inner.core.stop();
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.inner.core.state()
    }
}

impl RpcClient for MemoryRpcClient {
    async fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> Result<Value, Error> {
        let core = &self.inner.core;
        let id = Id::from(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let call = core.prepare(service, method, params, Some(id.clone()))?;
        let hosted = match self.inner.bus.lookup(service) {
            Some(hosted) if hosted.server.is_started() => hosted,
            Some(_) => return Err(not_running(service).into()),
            None => return Err(RpcError::method_not_found().into()),
        };
        let (tx, rx) = oneshot::channel::<Response>();
        let timeout = core.timeout_for(&options);
        let ctx = Context::default()
            .with_deadline(Some(tokio::time::Instant::now() + timeout))
            .with_metadata(options.metadata);
        hosted.spawn(ctx, call, Some(tx));
        // A dropped sender means the server stopped before the handler finished.
        let reply = async { rx.await.map_err(|_| TransportError::Stopped) };
        core.await_reply(reply, timeout).await
    }

    async fn notify_value<'a>(&'a self, service: &'a str, method: &'a str, params: Value) -> Result<(), Error> {
        let call = self.inner.core.prepare(service, method, params, None)?;
        match self.inner.bus.lookup(service) {
            Some(hosted) if hosted.server.is_started() => hosted.spawn(Context::default(), call, None),
            Some(_) => return Err(not_running(service).into()),
            None => tracing::debug!(service, method, "notification for a service nobody serves dropped"),
        }
        Ok(())
    }
}

/// The error for a service whose server is registered on the bus but not running: nothing
/// ran, and the call can be made again once the server has started.
fn not_running(service: &str) -> TransportError {
    TransportError::NotSent {
        message: format!("service \"{service}\" is registered on the memory bus but its server has not been started"),
        source: None,
    }
}
