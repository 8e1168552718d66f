//! The server: hosts services on the bus and runs their handlers.

use std::sync::Arc;
use std::time::Duration;

use clamator_core::{
    BoxFuture, Call, Context, IntoServiceTable, Response, RpcServer, ServerError, ServiceRegistry, ServiceTable, State,
};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{Hosted, MemoryBus};

/// How long `stop` lets in-flight handlers finish: 5 seconds, as in clamator 0.1.9.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// State the bus entries share with their server.
pub(crate) struct ServerShared {
    /// The registration and lifecycle rules, shared with every transport.
    registry: ServiceRegistry,
    tracker: TaskTracker,
    /// Cancelled when the grace period is over: unfinished handlers are dropped.
    abort: CancellationToken,
}

impl ServerShared {
    pub(crate) fn is_started(&self) -> bool {
        self.registry.is_started()
    }
}

impl Hosted {
    /// Runs `call` in `ctx` on its server (tracked, so `stop` can wait for it); the reply, if any,
    /// goes to `reply`.
    pub(crate) fn spawn(self, ctx: Context, call: Call, reply: Option<oneshot::Sender<Response>>) {
        let server = Arc::clone(&self.server);
        server.tracker.spawn(async move {
            tokio::select! {
                response = self.table.dispatch_with(ctx, call) => {
                    if let (Some(reply), Some(response)) = (reply, response) {
                        // The caller may have timed out and gone: nothing to do then.
                        let _ = reply.send(response);
                    }
                }
                () = self.server.abort.cancelled() => {}
            }
        });
    }
}

/// A server on a [`MemoryBus`]. Cloning gives another handle to the same server.
///
/// **Dropping the last handle stops the server**, as [`stop`](Self::stop) would: its
/// services leave the bus at once, and in-flight handlers get the grace period in a task on
/// the current tokio runtime (a drop cannot wait); outside a runtime they are dropped and
/// their callers get `transport stopped`.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod memory { pub use clamator_over_memory::*; } }
/// # use clamator::memory::{MemoryBus, MemoryRpcServer};
/// # use clamator::ServiceBuilder;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), clamator::ServerError> {
/// let bus = MemoryBus::new();
/// let server = MemoryRpcServer::new(&bus);
/// let echo = ServiceBuilder::new("echo").raw_method("echo", |p| async move { Ok(p) }).build().unwrap();
/// server.register_service(echo)?;
/// server.start().await?;
/// assert_eq!(bus.services(), ["echo"]);
/// server.stop().await;
/// assert!(bus.services().is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryRpcServer {
    bus: MemoryBus,
    shared: Arc<ServerShared>,
    grace: Duration,
    /// Dropped with the last clone: stops the server.
    _last: Arc<StopOnDrop>,
}

/// Held once per [`MemoryRpcServer`] and its clones (never by the bus or the handlers): its
/// drop, when the last user handle goes, stops the server.
struct StopOnDrop {
    bus: MemoryBus,
    shared: Arc<ServerShared>,
    grace: Duration,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if !begin_shut_down(&self.bus, &self.shared) {
            return;
        }
        // Waiting out the grace period for in-flight handlers needs a runtime, which a drop
        // cannot await on.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let (shared, grace) = (Arc::clone(&self.shared), self.grace);
                runtime.spawn(async move { finish_shut_down(&shared, grace).await });
            }
            Err(_) => self.shared.abort.cancel(),
        }
    }
}

/// The part of `stop` that needs no waiting: stopped, off the bus (no new calls reach the
/// server), no new handlers. `false` when it was already stopped.
fn begin_shut_down(bus: &MemoryBus, shared: &Arc<ServerShared>) -> bool {
    let was = shared.registry.stop();
    bus.unregister(shared);
    if was == State::Stopped {
        return false;
    }
    shared.tracker.close();
    true
}

/// The rest of `stop`: in-flight handlers get `grace` to finish, then are dropped.
async fn finish_shut_down(shared: &ServerShared, grace: Duration) {
    if tokio::time::timeout(grace, shared.tracker.wait()).await.is_err() {
        tracing::warn!(?grace, "memory server stopped with handlers still running");
        shared.abort.cancel();
        shared.tracker.wait().await;
    }
}

impl MemoryRpcServer {
    /// A server on `bus` with the default shutdown grace period.
    pub fn new(bus: &MemoryBus) -> Self {
        Self::with_shutdown_grace(bus, DEFAULT_SHUTDOWN_GRACE)
    }

    /// A server on `bus` whose `stop` waits at most `grace` for in-flight handlers.
    pub fn with_shutdown_grace(bus: &MemoryBus, grace: Duration) -> Self {
        let shared = ServerShared {
            registry: ServiceRegistry::new(),
            tracker: TaskTracker::new(),
            abort: CancellationToken::new(),
        };
        let shared = Arc::new(shared);
        let last = StopOnDrop { bus: bus.clone(), shared: Arc::clone(&shared), grace };
        Self { bus: bus.clone(), shared, grace, _last: Arc::new(last) }
    }

    /// Hosts a service. The name is claimed on the bus at once, so a second server
    /// registering the same name fails here rather than at start.
    ///
    /// Errors: [`ServerError::DuplicateService`], [`ServerError::RegisterAfterStart`],
    /// [`ServerError::Stopped`].
    pub fn register_service(&self, service: impl IntoServiceTable) -> Result<(), ServerError> {
        let table = service.into_service_table();
        // The registry checks this server's rules; the bus claims the name across servers.
        let claim =
            |table: &ServiceTable| self.bus.register(Hosted { table: table.clone(), server: Arc::clone(&self.shared) });
        self.shared.registry.register_with(table, claim)
    }

    /// Starts serving. Idempotent; fails with [`ServerError::Stopped`] after `stop`.
    pub async fn start(&self) -> Result<(), ServerError> {
        self.shared.registry.start().map(drop)
    }

    /// Stops serving: the services leave the bus at once, in-flight handlers get the grace
    /// period to finish, and the callers of any still running then get `transport stopped`.
    /// Idempotent.
    pub async fn stop(&self) {
        if begin_shut_down(&self.bus, &self.shared) {
            finish_shut_down(&self.shared, self.grace).await;
        }
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.shared.registry.state()
    }
}

/// Delegates to the inherent methods of the same names.
impl RpcServer for MemoryRpcServer {
    fn register_service(&self, service: ServiceTable) -> Result<(), ServerError> {
        MemoryRpcServer::register_service(self, service)
    }

    fn start(&self) -> BoxFuture<'_, Result<(), ServerError>> {
        Box::pin(MemoryRpcServer::start(self))
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(MemoryRpcServer::stop(self))
    }

    fn state(&self) -> State {
        MemoryRpcServer::state(self)
    }
}
