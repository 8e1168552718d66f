//! The server: hosts services on the bus and runs their handlers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator_core::{Call, Context, IntoServiceTable, Lifecycle, Response, ServerError, State};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{Hosted, MemoryBus};

/// How long `stop` lets in-flight handlers finish: 5 seconds, as in clamator 0.1.9.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// State the bus entries share with their server.
pub(crate) struct ServerShared {
    lifecycle: Lifecycle,
    /// Serializes registration against start, so no service slips in after start.
    registering: Mutex<()>,
    tracker: TaskTracker,
    /// Cancelled when the grace period is over: unfinished handlers are dropped.
    abort: CancellationToken,
}

impl ServerShared {
    pub(crate) fn is_started(&self) -> bool {
        self.lifecycle.is_started()
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
/// ```
/// # use clamator_over_memory::{MemoryBus, MemoryRpcServer};
/// # use clamator_core::ServiceBuilder;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), clamator_core::ServerError> {
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
}

impl std::fmt::Debug for MemoryRpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRpcServer").field("state", &self.state()).field("grace", &self.grace).finish()
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
            lifecycle: Lifecycle::new(),
            registering: Mutex::new(()),
            tracker: TaskTracker::new(),
            abort: CancellationToken::new(),
        };
        Self { bus: bus.clone(), shared: Arc::new(shared), grace }
    }

    /// Hosts a service. The name is claimed on the bus at once, so a second server
    /// registering the same name fails here rather than at start.
    ///
    /// Errors: [`ServerError::DuplicateService`], [`ServerError::RegisterAfterStart`],
    /// [`ServerError::Stopped`].
    pub fn register_service(&self, service: impl IntoServiceTable) -> Result<(), ServerError> {
        let table = service.into_service_table();
        let _guard = self.shared.registering.lock().unwrap_or_else(|e| e.into_inner());
        match self.shared.lifecycle.state() {
            State::Idle => {}
            State::Started => return Err(ServerError::RegisterAfterStart(table.name().to_owned())),
            State::Stopped => return Err(ServerError::Stopped),
        }
        self.bus.register(Hosted { table, server: Arc::clone(&self.shared) })
    }

    /// Starts serving. Idempotent; fails with [`ServerError::Stopped`] after `stop`.
    pub async fn start(&self) -> Result<(), ServerError> {
        let _guard = self.shared.registering.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.lifecycle.start().map(drop).map_err(|()| ServerError::Stopped)
    }

    /// Stops serving: the services leave the bus at once, in-flight handlers get the grace
    /// period to finish, and the callers of any still running then get `transport stopped`.
    /// Idempotent.
    pub async fn stop(&self) {
        let was = self.shared.lifecycle.stop();
        self.bus.unregister(&self.shared);
        if was == State::Stopped {
            return;
        }
        self.shared.tracker.close();
        if tokio::time::timeout(self.grace, self.shared.tracker.wait()).await.is_err() {
            tracing::warn!(grace = ?self.grace, "memory server stopped with handlers still running");
            self.shared.abort.cancel();
            self.shared.tracker.wait().await;
        }
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.shared.lifecycle.state()
    }
}
