//! The Redis server: one consumer-group member per registered service, a reader and a
//! reclaimer per service, handlers run through the shared dispatcher.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator_core::{
    Envelope, IntoServiceTable, Lifecycle, Response, RpcError, ServerError, ServiceTable, State, TransportError,
};
use redis::aio::ConnectionManager;
use redis::Client;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::{is_connection_error, sleep_or_stop, Backoff, Source};
use crate::entry::{autoclaim_reply, read_reply, RawEntry};
use crate::keys::{command_stream, consumer_group, consumer_name};
use crate::DEFAULT_MAX_PAYLOAD;

/// Default time an entry may stay unacknowledged before another server reclaims it: 60 s.
pub const DEFAULT_CLAIM_IDLE: Duration = Duration::from_secs(60);
/// Default approximate maximum length of a reply stream: 1024 entries.
pub const DEFAULT_REPLY_MAXLEN: usize = 1024;
/// Default time `stop` lets in-flight handlers finish: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const READ_COUNT: usize = 16;
const CLAIM_COUNT: usize = 32;
const BLOCK: Duration = Duration::from_millis(1000);
const ACK_ATTEMPTS: u32 = 5;

/// Builds a [`RedisRpcServer`]; see [`RedisRpcServer::builder`].
#[derive(Clone)]
#[must_use]
pub struct RedisServerBuilder {
    prefix: String,
    url: Option<String>,
    client: Option<Client>,
    connection: Option<ConnectionManager>,
    instance_id: Option<String>,
    claim_idle: Duration,
    reply_maxlen: usize,
    grace: Duration,
    concurrency: usize,
    max_payload: usize,
}

impl RedisServerBuilder {
    /// The Redis URL (default: `REDIS_URL`, else `redis://localhost:6379`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// A redis-rs client to open connections from, instead of a URL.
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// An existing connection for the server's non-blocking commands (`XADD`, `XACK`,
    /// `XAUTOCLAIM`, `XGROUP`); never closed by [`RedisRpcServer::stop`]. The readers still
    /// open connections of their own, because a blocking read would stall a shared one.
    pub fn connection(mut self, connection: ConnectionManager) -> Self {
        self.connection = Some(connection);
        self
    }

    /// The instance id (default: a UUID v4); the consumer is `<service>:<id>`.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// How long an entry may stay unacknowledged (its server died, say) before this server
    /// reclaims it (default 60 s). The reclaimer runs every `max(1 s, claim_idle / 4)`.
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    /// The approximate maximum length of reply streams (`MAXLEN ~`, default 1024).
    pub fn reply_maxlen(mut self, maxlen: usize) -> Self {
        self.reply_maxlen = maxlen;
        self
    }

    /// How long `stop` lets in-flight handlers finish (default 5 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How many handlers of one service may run at once on this server (default 1).
    ///
    /// With 1, requests to a service on one server run one at a time in arrival order, each
    /// seeing the previous one's effects (the 0.1.9 behaviour). With more, up to that many run
    /// at once and **that ordering is gone**.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The largest envelope the server handles, in bytes (default 16 MiB). Larger entries are
    /// acknowledged, logged and dropped.
    pub fn max_payload_bytes(mut self, limit: usize) -> Self {
        self.max_payload = limit;
        self
    }

    /// Builds the server (no connection is made before [`RedisRpcServer::start`]).
    pub fn build(self) -> Result<RedisRpcServer, TransportError> {
        let source = Source::resolve(self.url, self.client, self.connection)?;
        let shared = Shared {
            prefix: self.prefix,
            instance_id: self.instance_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            source,
            claim_idle: self.claim_idle,
            reply_maxlen: self.reply_maxlen,
            grace: self.grace,
            concurrency: self.concurrency,
            max_payload: self.max_payload,
            lifecycle: Lifecycle::new(),
            services: Mutex::new(Vec::new()),
            start_lock: tokio::sync::Mutex::new(()),
            stop: CancellationToken::new(),
            abort: CancellationToken::new(),
            loops: TaskTracker::new(),
            handlers: TaskTracker::new(),
            commands: Mutex::new(None),
        };
        Ok(RedisRpcServer { shared: Arc::new(shared) })
    }
}

struct Shared {
    prefix: String,
    instance_id: String,
    source: Source,
    claim_idle: Duration,
    reply_maxlen: usize,
    grace: Duration,
    concurrency: usize,
    max_payload: usize,
    lifecycle: Lifecycle,
    services: Mutex<Vec<ServiceTable>>,
    start_lock: tokio::sync::Mutex<()>,
    /// Cancelled by `stop`: readers stop reading.
    stop: CancellationToken,
    /// Cancelled when the grace period is over: unfinished handlers are dropped, unacked.
    abort: CancellationToken,
    loops: TaskTracker,
    handlers: TaskTracker,
    commands: Mutex<Option<ConnectionManager>>,
}

/// A clamator server over Redis Streams.
///
/// Several servers (in one process or many, Rust or Python 0.1.9) with the same prefix form
/// a worker pool: they share each service's consumer group, every request is handled by one
/// of them, and a request whose server died is reclaimed by another after the claim idle
/// time (at-least-once delivery).
///
/// ```no_run
/// # async fn demo(table: clamator_core::ServiceTable) -> Result<(), Box<dyn std::error::Error>> {
/// use clamator_over_redis::RedisRpcServer;
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
}

impl std::fmt::Debug for RedisRpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRpcServer")
            .field("prefix", &self.shared.prefix)
            .field("instance_id", &self.shared.instance_id)
            .field("state", &self.state())
            .finish()
    }
}

impl RedisRpcServer {
    /// A builder for a server using key prefix `prefix`.
    pub fn builder(prefix: impl Into<String>) -> RedisServerBuilder {
        RedisServerBuilder {
            prefix: prefix.into(),
            url: None,
            client: None,
            connection: None,
            instance_id: None,
            claim_idle: DEFAULT_CLAIM_IDLE,
            reply_maxlen: DEFAULT_REPLY_MAXLEN,
            grace: DEFAULT_SHUTDOWN_GRACE,
            concurrency: 1,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }

    /// The instance id.
    pub fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.shared.lifecycle.state()
    }

    /// Hosts a service. Errors: [`ServerError::DuplicateService`] (on this server),
    /// [`ServerError::RegisterAfterStart`], [`ServerError::Stopped`].
    pub fn register_service(&self, service: impl IntoServiceTable) -> Result<(), ServerError> {
        let table = service.into_service_table();
        let mut services = self.shared.services.lock().unwrap_or_else(|e| e.into_inner());
        match self.shared.lifecycle.state() {
            State::Idle => {}
            State::Started => return Err(ServerError::RegisterAfterStart(table.name().to_owned())),
            State::Stopped => return Err(ServerError::Stopped),
        }
        if services.iter().any(|s| s.name() == table.name()) {
            return Err(ServerError::DuplicateService(table.name().to_owned()));
        }
        services.push(table);
        Ok(())
    }

    /// Connects, creates each service's consumer group (`MKSTREAM`; an existing group is
    /// fine) and starts reading. Idempotent; [`ServerError::Stopped`] after `stop`; a
    /// connection error leaves the server idle, so `start` can be tried again.
    ///
    /// A group is created at the start of its stream (`0`), so requests queued before any
    /// server of the service ever ran are served (0.1.9 creates it at `$` and never serves them).
    pub async fn start(&self) -> Result<(), ServerError> {
        let _guard = self.shared.start_lock.lock().await;
        match self.state() {
            State::Started => return Ok(()),
            State::Stopped => return Err(ServerError::Stopped),
            State::Idle => {}
        }
        let mut commands = self.shared.source.commands().await?;
        let services = self.shared.services.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let workers: Vec<Arc<Worker>> = services
            .into_iter()
            .map(|table| {
                let name = table.name().to_owned();
                Arc::new(Worker {
                    stream: command_stream(&self.shared.prefix, &name),
                    group: consumer_group(&name).to_owned(),
                    consumer: consumer_name(&name, &self.shared.instance_id),
                    permits: Arc::new(Semaphore::new(self.shared.concurrency)),
                    in_progress: Mutex::new(HashSet::new()),
                    table,
                    shared: Arc::clone(&self.shared),
                })
            })
            .collect();
        for worker in &workers {
            worker
                .create_group(&mut commands)
                .await
                .map_err(|e| TransportError::connection("XGROUP CREATE failed", e))?;
        }
        *self.shared.commands.lock().unwrap_or_else(|e| e.into_inner()) = Some(commands);
        if self.shared.lifecycle.start().is_err() {
            return Err(ServerError::Stopped);
        }
        for worker in workers {
            self.shared.loops.spawn(Arc::clone(&worker).read_loop());
            self.shared.loops.spawn(worker.reclaim_loop());
        }
        Ok(())
    }

    /// Stops: readers stop at once, in-flight handlers get the grace period to finish (and
    /// reply, and acknowledge), then the rest are dropped unacknowledged, to be reclaimed by
    /// another server. Owned connections are closed. Idempotent.
    pub async fn stop(&self) {
        let _guard = self.shared.start_lock.lock().await;
        if self.shared.lifecycle.stop() != State::Started {
            return;
        }
        self.shared.stop.cancel();
        self.shared.loops.close();
        self.shared.loops.wait().await;
        self.shared.handlers.close();
        if tokio::time::timeout(self.shared.grace, self.shared.handlers.wait()).await.is_err() {
            tracing::warn!(grace = ?self.shared.grace, "handlers still running after the grace period were dropped");
            self.shared.abort.cancel();
            self.shared.handlers.wait().await;
        }
        self.shared.commands.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// What to do with an entry once it has been processed.
struct Outcome {
    reply_to: Option<String>,
    response: Option<Response>,
}

/// One service on one server.
struct Worker {
    table: ServiceTable,
    stream: String,
    group: String,
    consumer: String,
    permits: Arc<Semaphore>,
    /// Entries read or claimed and not finished, so a reclaim never runs one twice here.
    in_progress: Mutex<HashSet<String>>,
    shared: Arc<Shared>,
}

impl Worker {
    async fn create_group(&self, conn: &mut ConnectionManager) -> redis::RedisResult<()> {
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async::<()>(conn)
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    fn commands(&self) -> Option<ConnectionManager> {
        self.shared.commands.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn read_loop(self: Arc<Self>) {
        let stop = self.shared.stop.clone();
        let mut backoff = Backoff::new();
        let mut connection: Option<ConnectionManager> = None;
        while !stop.is_cancelled() {
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match self.shared.source.blocking(BLOCK).await {
                    Ok(conn) => connection.insert(conn),
                    Err(e) => {
                        tracing::error!(service = %self.table.name(), error = %e, "reader cannot connect; retrying");
                        sleep_or_stop(backoff.next_delay(), &stop).await;
                        continue;
                    }
                },
            };
            let mut read_cmd = redis::cmd("XREADGROUP");
            read_cmd
                .arg("GROUP")
                .arg(&self.group)
                .arg(&self.consumer)
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.stream)
                .arg(">");
            let read = read_cmd.query_async::<redis::Value>(conn);
            let result = tokio::select! {
                () = stop.cancelled() => break,
                result = read => result,
            };
            match result {
                Ok(value) => {
                    backoff.reset();
                    for entry in read_reply(value) {
                        if !self.submit(entry).await {
                            break;
                        }
                    }
                }
                Err(e) => self.recover(e, &mut backoff).await,
            }
        }
    }

    async fn reclaim_loop(self: Arc<Self>) {
        let stop = self.shared.stop.clone();
        let interval = (self.shared.claim_idle / 4).max(Duration::from_secs(1));
        let mut backoff = Backoff::new();
        loop {
            sleep_or_stop(interval, &stop).await;
            if stop.is_cancelled() {
                break;
            }
            let Some(mut conn) = self.commands() else { break };
            let claimed = redis::cmd("XAUTOCLAIM")
                .arg(&self.stream)
                .arg(&self.group)
                .arg(&self.consumer)
                .arg(self.shared.claim_idle.as_millis() as u64)
                .arg("0-0")
                .arg("COUNT")
                .arg(CLAIM_COUNT)
                .query_async::<redis::Value>(&mut conn)
                .await;
            match claimed {
                Ok(value) => {
                    backoff.reset();
                    let (_, entries) = autoclaim_reply(value);
                    if !entries.is_empty() {
                        tracing::info!(service = %self.table.name(), count = entries.len(), "reclaimed idle entries");
                    }
                    for entry in entries {
                        if !self.submit(entry).await {
                            break;
                        }
                    }
                }
                Err(e) => self.recover(e, &mut backoff).await,
            }
        }
    }

    /// After a failed read: recreate the group if Redis lost it, else back off.
    async fn recover(&self, e: redis::RedisError, backoff: &mut Backoff) {
        if e.code() == Some("NOGROUP") {
            tracing::warn!(service = %self.table.name(), "consumer group missing (Redis lost its data?); recreating it");
            if let Some(mut conn) = self.commands() {
                match self.create_group(&mut conn).await {
                    Ok(()) => return,
                    Err(e) => tracing::error!(service = %self.table.name(), error = %e, "cannot recreate the group"),
                }
            }
        } else {
            tracing::error!(service = %self.table.name(), error = %e, "stream read failed; retrying");
        }
        sleep_or_stop(backoff.next_delay(), &self.shared.stop).await;
    }

    /// Waits for a handler slot and runs the entry. `false` when the server is stopping (the
    /// entry stays pending, for another server to reclaim).
    async fn submit(self: &Arc<Self>, entry: RawEntry) -> bool {
        if !self.in_progress.lock().unwrap_or_else(|e| e.into_inner()).insert(entry.id.clone()) {
            return true;
        }
        let permit = tokio::select! {
            () = self.shared.stop.cancelled() => {
                self.in_progress.lock().unwrap_or_else(|e| e.into_inner()).remove(&entry.id);
                return false;
            }
            permit = Arc::clone(&self.permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return false,
            },
        };
        let worker = Arc::clone(self);
        self.shared.handlers.spawn(async move {
            let outcome = tokio::select! {
                () = worker.shared.abort.cancelled() => None,
                outcome = worker.process(&entry) => Some(outcome),
            };
            // The handler is done: the next entry may start now, while this one's reply and
            // acknowledgement are written. They go out in order on the shared connection, and
            // the next handler still sees every effect of this one.
            drop(permit);
            if let Some(outcome) = outcome {
                worker.finish(&entry.id, outcome.reply_to.as_deref(), outcome.response.as_ref()).await;
            }
            worker.in_progress.lock().unwrap_or_else(|e| e.into_inner()).remove(&entry.id);
        });
        true
    }

    /// Runs one entry and decides its reply. Every outcome is then acknowledged (by
    /// [`finish`](Self::finish)), so nothing blocks the stream and nothing bad is retried
    /// for ever.
    async fn process(&self, entry: &RawEntry) -> Outcome {
        let service = self.table.name();
        let reply_to = match entry.field("reply-to").map(std::str::from_utf8) {
            Some(Ok(key)) if !key.is_empty() => Some(key.to_owned()),
            Some(_) => {
                tracing::warn!(service, entry = %entry.id, "reply-to is not UTF-8; no reply can be sent");
                None
            }
            None => None,
        };
        let Some(bytes) = entry.field("envelope") else {
            tracing::warn!(service, entry = %entry.id, "entry without an envelope acknowledged and dropped");
            return Outcome { reply_to: None, response: None };
        };
        if bytes.len() > self.shared.max_payload {
            tracing::warn!(service, entry = %entry.id, size = entry.size(), "oversized envelope acknowledged and dropped");
            return Outcome { reply_to: None, response: None };
        }
        let call = match Envelope::parse(bytes) {
            Ok(Envelope::Call(call)) => call,
            Ok(Envelope::Response(_)) => {
                tracing::warn!(service, entry = %entry.id, "a response on a command stream acknowledged and dropped");
                return Outcome { reply_to: None, response: None };
            }
            Err(e) => {
                tracing::warn!(service, entry = %entry.id, error = %e, "malformed envelope");
                // Answer when the caller can be told; otherwise acknowledge and drop.
                let reply = e.id.clone().map(|id| Response::error(Some(id), e.to_rpc_error()));
                return Outcome { reply_to, response: reply };
            }
        };
        if call.service != service {
            tracing::warn!(service, entry = %entry.id, got = %call.service, "call for another service on this stream");
            let reply = call.id.map(|id| Response::error(Some(id), RpcError::method_not_found()));
            return Outcome { reply_to, response: reply };
        }
        let response = self.table.dispatch(call).await;
        Outcome { reply_to, response }
    }

    /// Sends the reply (if any) and acknowledges the entry in one round trip. A reply that
    /// cannot be written (the key is not a stream, say) is logged and the entry is still
    /// acknowledged, so the handler never runs again because of it.
    async fn finish(&self, entry_id: &str, reply_to: Option<&str>, response: Option<&Response>) {
        let reply = match (reply_to, response) {
            (Some(key), Some(response)) => Some((key, response.to_json())),
            _ => None,
        };
        let mut backoff = Backoff::new();
        for attempt in 1..=ACK_ATTEMPTS {
            let Some(mut conn) = self.commands() else { return };
            let mut pipe = redis::pipe();
            if let Some((key, json)) = &reply {
                pipe.cmd("XADD")
                    .arg(*key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(self.shared.reply_maxlen)
                    .arg("*")
                    .arg("type")
                    .arg("rpc")
                    .arg("envelope")
                    .arg(json.as_str())
                    .ignore();
            }
            pipe.cmd("XACK").arg(&self.stream).arg(&self.group).arg(entry_id).ignore();
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => return,
                Err(e) if !is_connection_error(&e) => {
                    // A command error (e.g. WRONGTYPE on the reply key): Redis ran the XACK
                    // anyway; make sure of it without the reply.
                    tracing::warn!(service = %self.table.name(), entry = entry_id, error = %e, "reply could not be written");
                    let mut ack_cmd = redis::cmd("XACK");
                    ack_cmd.arg(&self.stream).arg(&self.group).arg(entry_id);
                    let ack = ack_cmd.query_async::<()>(&mut conn);
                    if let Err(e) = ack.await {
                        tracing::error!(service = %self.table.name(), entry = entry_id, error = %e, "XACK failed");
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(service = %self.table.name(), entry = entry_id, attempt, error = %e, "reply/ack failed; retrying");
                    sleep_or_stop(backoff.next_delay(), &self.shared.abort).await;
                }
            }
        }
        tracing::error!(
            service = %self.table.name(),
            entry = entry_id,
            "could not reply/acknowledge; the entry stays pending and will be reclaimed"
        );
    }
}
