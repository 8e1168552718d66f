//! The Redis client: sends requests to `P:cmds:<service>` and reads replies from its own
//! `P:replies:<instance id>` stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator_core::{
    CallOptions, ClientCore, Envelope, Error, Id, Response, RpcClient, State, TransportError, DEFAULT_TIMEOUT,
};
use redis::aio::ConnectionManager;
use redis::Client;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::connection::{is_connection_error, sleep_or_stop, Backoff, Source};
use crate::entry::read_reply;
use crate::keys::{command_stream, reply_stream};
use crate::DEFAULT_MAX_PAYLOAD;

const BLOCK: Duration = Duration::from_millis(1000);

type Pending = Mutex<HashMap<String, oneshot::Sender<Result<Response, TransportError>>>>;

/// Builds a [`RedisRpcClient`]; see [`RedisRpcClient::builder`].
#[derive(Clone)]
#[must_use]
pub struct RedisClientBuilder {
    prefix: String,
    url: Option<String>,
    client: Option<Client>,
    connection: Option<ConnectionManager>,
    instance_id: Option<String>,
    default_timeout: Duration,
    max_payload: usize,
}

impl RedisClientBuilder {
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

    /// An existing connection for the client's commands (`XADD`, `DEL`). It is never closed
    /// by [`RedisRpcClient::stop`]. The reply reader still opens a connection of its own
    /// (from the URL or client), because a blocking read would stall a shared connection.
    pub fn connection(mut self, connection: ConnectionManager) -> Self {
        self.connection = Some(connection);
        self
    }

    /// The instance id (default: a UUID v4); the reply stream is `P:replies:<id>`.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// The default call timeout (30 s); each call can override it.
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// The largest request envelope the client sends, in bytes (default 16 MiB); larger ones
    /// fail with [`TransportError::PayloadTooLarge`] before anything is sent.
    pub fn max_payload_bytes(mut self, limit: usize) -> Self {
        self.max_payload = limit;
        self
    }

    /// Builds the client (no connection is made before [`RedisRpcClient::start`]).
    pub fn build(self) -> Result<RedisRpcClient, TransportError> {
        let source = Source::resolve(self.url, self.client, self.connection)?;
        let instance_id = self.instance_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let inner = Inner {
            reply_stream: reply_stream(&self.prefix, &instance_id),
            prefix: self.prefix,
            instance_id,
            source,
            core: ClientCore::new(self.default_timeout),
            pending: Mutex::new(HashMap::new()),
            commands: Mutex::new(None),
            reader: Mutex::new(None),
            start_lock: tokio::sync::Mutex::new(()),
            max_payload: self.max_payload,
        };
        Ok(RedisRpcClient { inner: Arc::new(inner) })
    }
}

struct Inner {
    prefix: String,
    instance_id: String,
    reply_stream: String,
    source: Source,
    core: ClientCore,
    pending: Pending,
    commands: Mutex<Option<ConnectionManager>>,
    reader: Mutex<Option<JoinHandle<()>>>,
    start_lock: tokio::sync::Mutex<()>,
    max_payload: usize,
}

/// A clamator client over Redis Streams. Cloning is cheap; one client backs any number of
/// generated proxies.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use clamator_over_redis::RedisRpcClient;
/// use clamator_core::{CallOptions, RpcClient};
/// use std::time::Duration;
///
/// let client = RedisRpcClient::builder("myapp")
///     .url("redis://127.0.0.1:6379")
///     .default_timeout(Duration::from_secs(5))
///     .build()?;
/// client.start().await?;
/// let sum = client.call_value("arith", "add", serde_json::json!({"a": 1, "b": 2}), CallOptions::default()).await?;
/// client.stop().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRpcClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisRpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRpcClient")
            .field("prefix", &self.inner.prefix)
            .field("instance_id", &self.inner.instance_id)
            .field("state", &self.state())
            .finish()
    }
}

/// Removes a pending call's entry when the call ends, however it ends.
struct PendingGuard<'a> {
    pending: &'a Pending,
    id: String,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

impl RedisRpcClient {
    /// A builder for a client using key prefix `prefix`.
    pub fn builder(prefix: impl Into<String>) -> RedisClientBuilder {
        RedisClientBuilder {
            prefix: prefix.into(),
            url: None,
            client: None,
            connection: None,
            instance_id: None,
            default_timeout: DEFAULT_TIMEOUT,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }

    /// The instance id.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The key of this client's reply stream.
    pub fn reply_stream(&self) -> &str {
        &self.inner.reply_stream
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.inner.core.state()
    }

    /// Connects and starts the reply reader. Idempotent; fails with `transport stopped`
    /// after `stop`, and with a connection error when Redis cannot be reached (the client
    /// then stays idle and `start` can be tried again).
    pub async fn start(&self) -> Result<(), TransportError> {
        let _guard = self.inner.start_lock.lock().await;
        match self.state() {
            State::Started => return Ok(()),
            State::Stopped => return Err(TransportError::Stopped),
            State::Idle => {}
        }
        let commands = self.inner.source.commands().await?;
        *self.inner.commands.lock().unwrap_or_else(|e| e.into_inner()) = Some(commands);
        self.inner.core.start()?;
        let inner = Arc::clone(&self.inner);
        let reader = tokio::spawn(async move { inner.reply_loop().await });
        *self.inner.reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(reader);
        Ok(())
    }

    /// Stops the client: pending calls fail with `transport stopped`, the reply stream is
    /// deleted, and owned connections are closed. Idempotent.
    pub async fn stop(&self) {
        let _guard = self.inner.start_lock.lock().await;
        if self.inner.core.stop() != State::Started {
            return;
        }
        let reader = self.inner.reader.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(reader) = reader {
            let _ = reader.await;
        }
        let commands = self.inner.commands.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut commands) = commands {
            let mut del_cmd = redis::cmd("DEL");
            del_cmd.arg(&self.inner.reply_stream);
            let del = del_cmd.query_async::<()>(&mut commands);
            if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), del).await {
                tracing::warn!(error = %e, stream = %self.inner.reply_stream, "could not delete the reply stream");
            }
        }
    }

    fn commands(&self) -> Result<ConnectionManager, TransportError> {
        let guard = self.inner.commands.lock().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or(TransportError::Stopped)
    }

    fn check_size(&self, envelope: &str) -> Result<(), TransportError> {
        if envelope.len() > self.inner.max_payload {
            return Err(TransportError::PayloadTooLarge { size: envelope.len(), limit: self.inner.max_payload });
        }
        Ok(())
    }
}

impl Inner {
    /// Reads replies until stop; reconnects with backoff. When the connection is lost, calls
    /// in flight fail at once with a connection error: their requests may be gone with it.
    async fn reply_loop(self: Arc<Self>) {
        let stop = self.core.stop_token().clone();
        let mut backoff = Backoff::new();
        let mut connection: Option<ConnectionManager> = None;
        let mut last_id = "0".to_owned();
        while !stop.is_cancelled() {
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match self.source.blocking(BLOCK).await {
                    Ok(conn) => connection.insert(conn),
                    Err(e) => {
                        self.fail_pending("connection to Redis lost");
                        tracing::error!(error = %e, "reply reader cannot connect; retrying");
                        sleep_or_stop(backoff.next_delay(), &stop).await;
                        continue;
                    }
                },
            };
            let mut read_cmd = redis::cmd("XREAD");
            read_cmd
                .arg("COUNT")
                .arg(512)
                .arg("BLOCK")
                .arg(BLOCK.as_millis() as u64)
                .arg("STREAMS")
                .arg(&self.reply_stream)
                .arg(&last_id);
            let read = read_cmd.query_async::<redis::Value>(conn);
            let result = tokio::select! {
                () = stop.cancelled() => break,
                result = read => result,
            };
            match result {
                Ok(value) => {
                    backoff.reset();
                    for entry in read_reply(value) {
                        last_id.clone_from(&entry.id);
                        self.deliver(entry.field("envelope"));
                    }
                }
                Err(e) => {
                    if is_connection_error(&e) {
                        self.fail_pending("connection to Redis lost");
                    }
                    tracing::error!(error = %e, "reply reader failed; retrying");
                    sleep_or_stop(backoff.next_delay(), &stop).await;
                }
            }
        }
    }

    fn deliver(&self, envelope: Option<&[u8]>) {
        let Some(bytes) = envelope else {
            tracing::warn!(stream = %self.reply_stream, "reply without an envelope dropped");
            return;
        };
        let response = match Envelope::parse(bytes) {
            Ok(Envelope::Response(response)) => response,
            Ok(Envelope::Call(_)) => {
                tracing::warn!(stream = %self.reply_stream, "a call on the reply stream dropped");
                return;
            }
            Err(e) => {
                tracing::warn!(stream = %self.reply_stream, error = %e, "malformed reply dropped");
                return;
            }
        };
        let Some(id) = response.id.as_ref().map(ToString::to_string) else {
            tracing::warn!(stream = %self.reply_stream, "reply without an id dropped");
            return;
        };
        let waiter = self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        match waiter {
            Some(tx) => {
                let _ = tx.send(Ok(response));
            }
            None => tracing::debug!(%id, "reply for an unknown or expired call dropped"),
        }
    }

    fn fail_pending(&self, message: &str) {
        let drained: Vec<_> = self.pending.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
        for (_, tx) in drained {
            let _ = tx.send(Err(TransportError::Connection { message: message.to_owned(), source: None }));
        }
    }
}

impl RpcClient for RedisRpcClient {
    async fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> Result<Value, Error> {
        let core = &self.inner.core;
        let id = uuid::Uuid::new_v4().to_string();
        let call = core.prepare(service, method, params, Some(Id::String(id.clone())))?;
        let envelope = call.to_json();
        self.check_size(&envelope)?;
        let mut connection = self.commands()?;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), tx);
        let _guard = PendingGuard { pending: &self.inner.pending, id };
        let stream = command_stream(&self.inner.prefix, service);
        let mut added_cmd = redis::cmd("XADD");
        added_cmd
            .arg(&stream)
            .arg("*")
            .arg("type")
            .arg("rpc")
            .arg("envelope")
            .arg(envelope)
            .arg("reply-to")
            .arg(&self.inner.reply_stream);
        let added = added_cmd.query_async::<()>(&mut connection);
        let reply = async move {
            added.await.map_err(|e| TransportError::connection("XADD failed", e))?;
            rx.await.map_err(|_| TransportError::Stopped)?
        };
        core.await_reply(reply, core.timeout_for(options)).await
    }

    async fn notify_value<'a>(&'a self, service: &'a str, method: &'a str, params: Value) -> Result<(), Error> {
        let call = self.inner.core.prepare(service, method, params, None)?;
        let envelope = call.to_json();
        self.check_size(&envelope)?;
        let mut connection = self.commands()?;
        redis::cmd("XADD")
            .arg(command_stream(&self.inner.prefix, service))
            .arg("*")
            .arg("type")
            .arg("rpc")
            .arg("envelope")
            .arg(envelope)
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| TransportError::connection("XADD failed", e).into())
    }
}
