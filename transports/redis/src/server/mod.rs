//! The Redis server: one consumer-group member per registered service. Per service, a
//! reader takes new entries (never more than there are free handler slots), a reclaimer
//! takes over the entries of dead servers one at a time, a lease keeps the claim of held
//! entries fresh, and a writer sends replies and acknowledgements in handling order. One
//! upkeep task per server trims streams, sweeps dead consumers and keeps Redis's clock.

mod builder;
mod clock;
mod completion;
mod janitor;
mod lease;
mod reader;
mod reclaim;
mod reply_batch;
mod reply_ttl;
mod stats;
mod worker;

use std::sync::{Arc, Mutex};

use crate::conn::Conn;
use clamator_core::{
    BoxFuture, IntoServiceTable, RpcServer, ServerError, ServiceRegistry, ServiceTable, State, TransportError,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use builder::{
    RedisServerBuilder, DEFAULT_CLAIM_IDLE, DEFAULT_DEAD_CONSUMER_IDLE, DEFAULT_DEAD_LETTER_MAXLEN,
    DEFAULT_FOREIGN_REPLY_TTL, DEFAULT_MAX_DELIVERIES, DEFAULT_PREFETCH_BUDGET, DEFAULT_REPLY_MAXLEN,
    DEFAULT_SHUTDOWN_GRACE,
};
pub use stats::ServerStats;

use builder::Settings;
use clock::{RedisClock, RECALIBRATE_EVERY};
use stats::Counters;
use worker::Worker;

use crate::connection::sleep_or_stop;
use crate::discovery::{MethodSchemas, Publisher};

struct Shared {
    settings: Settings,
    /// The registration and lifecycle rules, shared with every transport.
    registry: ServiceRegistry,
    workers: Mutex<Vec<Arc<Worker>>>,
    start_lock: tokio::sync::Mutex<()>,
    /// Cancelled by `stop`: readers and reclaimers stop taking entries.
    stop: CancellationToken,
    /// Cancelled when the grace period is over: unfinished handlers are dropped, unacked.
    abort: CancellationToken,
    /// Cancelled once the handlers (and the writes they do) are done: leases and upkeep end.
    finish: CancellationToken,
    /// Readers and reclaimers.
    loops: TaskTracker,
    /// Handlers, and the completion writes they take on.
    handlers: TaskTracker,
    /// Leases and upkeep.
    background: TaskTracker,
    commands: Mutex<Option<Conn>>,
    clock: RedisClock,
    counters: Counters,
    /// Discovery: per-method counters, and what the heartbeat publishes.
    discovery: Publisher,
}

impl Shared {
    fn commands(&self) -> Option<Conn> {
        self.commands.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A clamator server over Redis Streams.
///
/// Several servers (in one process or many, Rust or Python 0.1.9) with the same prefix form
/// a worker pool: they share each service's consumer group and every request is handled by
/// one of them. See the crate documentation's "Delivery guarantees" for exactly when a
/// handler can run twice, and what happens to poison and expired requests.
///
/// Cloning gives another handle to the same server. **Dropping the last handle stops the
/// server**, as [`stop`](Self::stop) would: its readers stop at once (a request sent
/// afterwards waits in Redis for another server), and the rest of `stop` (the grace period
/// for in-flight handlers, retiring the consumers) runs as a task on the current tokio
/// runtime, since a drop cannot wait. Dropped outside a runtime, in-flight handlers are
/// abandoned unacknowledged, for another server to reclaim. Call `stop` and await it to
/// know when the server is done.
///
/// ```no_run
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod redis { pub use clamator_over_redis::*; } }
/// # async fn demo(table: clamator::ServiceTable) -> Result<(), Box<dyn std::error::Error>> {
/// use clamator::redis::RedisRpcServer;
///
/// let server = RedisRpcServer::builder("myapp").url("redis://127.0.0.1:6379").concurrency(4).build()?;
/// server.register_service(table)?;
/// server.start().await?;
/// // ... until shutdown:
/// server.stop().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRpcServer {
    shared: Arc<Shared>,
    /// Dropped with the last clone: stops the server.
    _last: Arc<StopOnDrop>,
}

impl std::fmt::Debug for RedisRpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRpcServer")
            .field("prefix", &self.shared.settings.prefix)
            .field("instance_id", &self.shared.settings.instance_id)
            .field("state", &self.state())
            .finish()
    }
}

impl RedisRpcServer {
    /// A builder for a server using key prefix `prefix`.
    pub fn builder(prefix: impl Into<String>) -> RedisServerBuilder {
        RedisServerBuilder::new(prefix.into())
    }

    fn from_settings(settings: Settings) -> Self {
        let discovery = settings.publisher();
        let shared = Shared {
            settings,
            registry: ServiceRegistry::new(),
            workers: Mutex::new(Vec::new()),
            start_lock: tokio::sync::Mutex::new(()),
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
            finish: CancellationToken::new(),
            loops: TaskTracker::new(),
            handlers: TaskTracker::new(),
            background: TaskTracker::new(),
            commands: Mutex::new(None),
            clock: RedisClock::default(),
            counters: Counters::default(),
            discovery,
        };
        let shared = Arc::new(shared);
        Self { _last: Arc::new(StopOnDrop { shared: Arc::clone(&shared) }), shared }
    }

    /// The instance id.
    pub fn instance_id(&self) -> &str {
        &self.shared.settings.instance_id
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.shared.registry.state()
    }

    /// This server's delivery counters: completed, expired, dead-lettered and reclaimed
    /// entries, and leases lost.
    pub fn stats(&self) -> ServerStats {
        self.shared.counters.snapshot()
    }

    /// Publishes the JSON Schemas of one method in this server's discovery documents (from
    /// the next heartbeat on), for `clamator describe`, `call`'s params check, `schema` and
    /// `manifest`. See [`discovery`](crate::discovery).
    pub fn describe_method(&self, service: &str, method: &str, schemas: MethodSchemas) {
        self.shared.discovery.set_schemas(service, method, schemas);
    }

    /// Publishes the schemas of every method of contract `C` ([`Contract::schemas`](clamator_core::Contract::schemas): from
    /// schemars derives with the `schemas` feature), as [`describe_method`](Self::describe_method)
    /// would one by one. Methods without a schema publish none.
    pub fn describe_contract<C: clamator_core::Contract>(&self) {
        for m in C::schemas() {
            self.describe_method(C::SERVICE, m.method, MethodSchemas::new(m.params, m.result));
        }
    }

    /// Hosts a service. Errors: [`ServerError::DuplicateService`] (on this server),
    /// [`ServerError::RegisterAfterStart`], [`ServerError::Stopped`].
    pub fn register_service(&self, service: impl IntoServiceTable) -> Result<(), ServerError> {
        self.shared.registry.register(service.into_service_table())
    }

    /// Connects, reads Redis's clock, creates each service's consumer group (`MKSTREAM`; an
    /// existing group is fine) and starts reading. Idempotent; [`ServerError::Stopped`]
    /// after `stop`; a connection error leaves the server idle, so `start` can be tried again.
    ///
    /// A group is created at the start of its stream (`0`), so requests queued before any
    /// server of the service ever ran are served (0.1.9 creates it at `$` and never serves them).
    pub async fn start(&self) -> Result<(), ServerError> {
        let _guard = self.shared.start_lock.lock().await;
        let Some(services) = self.shared.registry.begin_start()? else { return Ok(()) };
        let workers = match self.set_up(services).await {
            Ok(workers) => workers,
            Err(e) => {
                self.shared.registry.abort_start();
                return Err(e);
            }
        };
        self.shared.registry.finish_start()?;
        for worker in &workers {
            self.shared.background.spawn(Arc::clone(worker).lease_loop());
            self.shared.loops.spawn(Arc::clone(worker).read_loop());
            self.shared.loops.spawn(Arc::clone(worker).reclaim_loop());
        }
        *self.shared.workers.lock().unwrap_or_else(|e| e.into_inner()) = workers;
        self.shared.background.spawn(Arc::clone(&self.shared).upkeep_loop());
        self.shared.background.spawn(Arc::clone(&self.shared).discovery_loop());
        Ok(())
    }

    /// `start`'s I/O: connects, reads the clock, creates the groups.
    async fn set_up(&self, services: Vec<ServiceTable>) -> Result<Vec<Arc<Worker>>, ServerError> {
        let mut commands = self.shared.settings.source.commands().await?;
        self.shared.clock.calibrate(&mut commands).await.map_err(|e| TransportError::connection("TIME failed", e))?;
        let mut workers = Vec::new();
        for table in services {
            let worker = Worker::new(table, Arc::clone(&self.shared));
            worker
                .create_group(&mut commands)
                .await
                .map_err(|e| TransportError::connection("XGROUP CREATE failed", e))?;
            workers.push(Arc::new(worker));
        }
        *self.shared.commands.lock().unwrap_or_else(|e| e.into_inner()) = Some(commands);
        Ok(workers)
    }

    /// Stops: readers stop at once, in-flight handlers get the grace period to finish (and
    /// reply, and acknowledge), then the rest are dropped unacknowledged, to be reclaimed by
    /// another server. A consumer that holds nothing is deleted from its group. Owned
    /// connections are closed. Idempotent.
    pub async fn stop(&self) {
        self.shared.shut_down().await;
    }
}

/// Held once per [`RedisRpcServer`] and its clones (never by the server's own tasks): its
/// drop, when the last user handle goes, stops the server.
struct StopOnDrop {
    shared: Arc<Shared>,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let shared = &self.shared;
        match shared.registry.state() {
            State::Stopped => {}
            State::Idle => {
                shared.registry.stop();
            }
            State::Started => {
                // Readers and reclaimers stop at once; the rest of `stop` (the grace period
                // for in-flight handlers, retiring the consumers) needs to await, which a
                // drop cannot: it runs on the runtime, if there is one.
                shared.stop.cancel();
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        let shared = Arc::clone(shared);
                        runtime.spawn(async move { shared.shut_down().await });
                    }
                    Err(_) => {
                        tracing::warn!("RedisRpcServer dropped outside a runtime: handlers in flight are dropped");
                        shared.registry.stop();
                        shared.abort.cancel();
                        shared.finish.cancel();
                        shared.workers.lock().unwrap_or_else(|e| e.into_inner()).clear();
                    }
                }
            }
        }
    }
}

impl Shared {
    /// `stop`, for both the user's call and the last handle's drop.
    async fn shut_down(&self) {
        let _guard = self.start_lock.lock().await;
        if self.registry.stop() != State::Started {
            return;
        }
        let shared = self;
        let grace_ends = Instant::now() + shared.settings.grace;
        shared.stop.cancel();
        shared.loops.close();
        shared.loops.wait().await;
        shared.handlers.close();
        if tokio::time::timeout_at(grace_ends, shared.handlers.wait()).await.is_err() {
            tracing::warn!(grace = ?shared.settings.grace, "handlers still running after the grace period were dropped");
            shared.abort.cancel();
            shared.handlers.wait().await;
        }
        let workers = std::mem::take(&mut *shared.workers.lock().unwrap_or_else(|e| e.into_inner()));
        shared.finish.cancel();
        shared.background.close();
        shared.background.wait().await;
        if let Some(mut conn) = shared.commands() {
            shared.discovery.unpublish(&mut conn).await;
            for worker in &workers {
                let retire = worker.retire_consumer(&mut conn);
                if tokio::time::timeout(std::time::Duration::from_secs(2), retire).await.is_err() {
                    tracing::warn!(service = %worker.table.name(), "timed out deleting the consumer");
                }
            }
        }
        shared.commands.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Delegates to the inherent methods of the same names.
impl RpcServer for RedisRpcServer {
    fn register_service(&self, service: ServiceTable) -> Result<(), ServerError> {
        RedisRpcServer::register_service(self, service)
    }

    fn start(&self) -> BoxFuture<'_, Result<(), ServerError>> {
        Box::pin(RedisRpcServer::start(self))
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(RedisRpcServer::stop(self))
    }

    fn state(&self) -> State {
        RedisRpcServer::state(self)
    }
}

impl Shared {
    /// Trims streams and sweeps dead consumers every janitor interval; reads Redis's clock
    /// again every minute.
    async fn upkeep_loop(self: Arc<Self>) {
        let interval = self.settings.janitor_interval();
        let mut calibrated = Instant::now();
        while !self.finish.is_cancelled() {
            sleep_or_stop(interval, &self.finish).await;
            if self.finish.is_cancelled() {
                break;
            }
            let Some(mut conn) = self.commands() else { break };
            if calibrated.elapsed() >= RECALIBRATE_EVERY {
                match self.clock.calibrate(&mut conn).await {
                    Ok(()) => calibrated = Instant::now(),
                    Err(e) => tracing::warn!(error = %e, "TIME failed; keeping the last clock reading"),
                }
            }
            let workers = self.workers.lock().unwrap_or_else(|e| e.into_inner()).clone();
            for worker in workers {
                worker.upkeep(&mut conn).await;
            }
        }
    }
}

impl Shared {
    /// Publishes this server's discovery documents every heartbeat until it stops.
    async fn discovery_loop(self: Arc<Self>) {
        let Some(interval) = self.discovery.interval() else { return };
        while !self.finish.is_cancelled() {
            if let (Some(mut conn), Some(now)) = (self.commands(), self.clock.now_ms()) {
                self.discovery.publish(&mut conn, now).await;
            }
            sleep_or_stop(interval, &self.finish).await;
        }
    }
}
