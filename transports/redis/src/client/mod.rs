//! The Redis client: sends requests to `P:cmds:<service>` and reads replies from its own
//! `P:replies:<instance id>` stream (the reply loop is in [`reply`]).

mod reply;

use foldhash::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::conn::Conn;
use clamator_core::{
    CallOptions, ClientCore, Error, Id, ProtocolError, Response, ResultData, RpcClient, State, TransportError,
    DEFAULT_TIMEOUT,
};
use redis::aio::ConnectionManager;
use redis::Client;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::call_options::CallOptionsField;
use crate::connection::{query, Failure, Source};
use crate::keys::{command_stream, field, reply_stream};
use crate::options::{ConnectionOptions, Resolved};

/// How long a reply stream lives without its client refreshing it: 10 minutes.
///
/// A started client renews the TTL (`PEXPIRE`) every third of it, so the stream of a client
/// that died without `stop` (killed, crashed) disappears from Redis after at most this long.
pub const DEFAULT_REPLY_TTL: Duration = Duration::from_secs(600);

/// The shortest reply TTL accepted; shorter values are raised to it.
const MIN_REPLY_TTL: Duration = Duration::from_secs(3);

/// Calls waiting for their reply, by the UUID of their request id (as a number: no string to
/// allocate, copy or hash per call).
type Pending = Mutex<HashMap<u128, oneshot::Sender<Result<Delivered, Error>>>>;

/// A reply as the reply loop hands it to its call.
#[derive(Debug)]
pub(super) enum Delivered {
    /// Any response, parsed.
    Parsed(Response),
    /// A success as clamator servers write it: the result's JSON text (syntax checked), for
    /// the call to decode.
    Result(String),
}

impl Delivered {
    /// The call's outcome: a success's text stays text, for the caller to decode as it needs.
    fn into_outcome(self) -> Result<ResultData, Error> {
        match self {
            Delivered::Parsed(response) => response.outcome.map(ResultData::Value).map_err(Error::Rpc),
            Delivered::Result(text) => Ok(ResultData::Json(text)),
        }
    }
}

/// A call's params: a `Value` ([`RpcClient::call_value`]), or an object's JSON text
/// ([`RpcClient::call_json`]).
enum Params {
    Value(Value),
    Json(String),
}

/// Builds a [`RedisRpcClient`]; see [`RedisRpcClient::builder`].
#[derive(Clone)]
#[must_use]
pub struct RedisClientBuilder {
    prefix: String,
    options: ConnectionOptions,
    default_timeout: Duration,
    reply_ttl: Duration,
}

impl RedisClientBuilder {
    /// Replaces the connection settings (URL or client, connection, instance id, payload
    /// limit) with `options`, e.g. the ones a server of the same application uses.
    pub fn options(mut self, options: ConnectionOptions) -> Self {
        self.options = options;
        self
    }

    /// The Redis URL (default: `REDIS_URL`, else `redis://localhost:6379`); see
    /// [`ConnectionOptions::url`].
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.options = self.options.url(url);
        self
    }

    /// A redis-rs client to open connections from, instead of a URL; see
    /// [`ConnectionOptions::client`].
    pub fn client(mut self, client: Client) -> Self {
        self.options = self.options.client(client);
        self
    }

    /// An existing connection for the client's commands (`XADD`, `PEXPIRE`, `DEL`). It is
    /// never closed by [`RedisRpcClient::stop`]. The reply reader still opens a connection of
    /// its own (from the URL or client), because a blocking read would stall a shared
    /// connection. Its reconnection settings stay the caller's; a command that finds its
    /// connection refused is still run once more, so a kept failure from an outage does
    /// not fail the first call after it.
    pub fn connection(mut self, connection: ConnectionManager) -> Self {
        self.options = self.options.connection(connection);
        self
    }

    /// The instance id (default: a UUID v4); the reply stream is `P:replies:<id>`.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.options = self.options.instance_id(id);
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
        self.options = self.options.max_payload_bytes(limit);
        self
    }

    /// How long the reply stream lives without being refreshed (default
    /// [`DEFAULT_REPLY_TTL`], at least 3 s). While started, the client renews it every third
    /// of the TTL; each request also carries it (call option `reply-ttl-ms`) so that a server can
    /// renew it when it replies. `stop` still deletes the stream at once.
    pub fn reply_ttl(mut self, ttl: Duration) -> Self {
        self.reply_ttl = ttl.max(MIN_REPLY_TTL);
        self
    }

    /// Builds the client (no connection is made before [`RedisRpcClient::start`]).
    pub fn build(self) -> Result<RedisRpcClient, TransportError> {
        let Resolved { source, instance_id, max_payload } = self.options.resolve()?;
        let inner = Inner {
            reply_stream: reply_stream(&self.prefix, &instance_id),
            prefix: self.prefix,
            instance_id,
            source,
            core: ClientCore::new(self.default_timeout),
            pending: Mutex::new(HashMap::default()),
            commands: Mutex::new(None),
            reader: Mutex::new(None),
            start_lock: tokio::sync::Mutex::new(()),
            max_payload,
            reply_ttl: self.reply_ttl,
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
    commands: Mutex<Option<Conn>>,
    reader: Mutex<Option<JoinHandle<()>>>,
    start_lock: tokio::sync::Mutex<()>,
    max_payload: usize,
    reply_ttl: Duration,
}

/// A clamator client over Redis Streams. Cloning is cheap; one client backs any number of
/// generated proxies.
///
/// ```no_run
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod redis { pub use clamator_over_redis::*; } }
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use clamator::redis::RedisRpcClient;
/// use clamator::{CallOptions, RpcClient};
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
    id: u128,
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
            options: ConnectionOptions::new(),
            default_timeout: DEFAULT_TIMEOUT,
            reply_ttl: DEFAULT_REPLY_TTL,
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

    /// The reply stream's TTL (see [`RedisClientBuilder::reply_ttl`]).
    pub fn reply_ttl(&self) -> Duration {
        self.inner.reply_ttl
    }

    /// Connects, checks the connection (a `PING`, which needs authentication: a missing or
    /// wrong password fails here, naming `NOAUTH` or `WRONGPASS`) and starts the reply
    /// reader. Idempotent; fails with `transport stopped` after `stop`, and with
    /// [`TransportError::Connection`] when Redis cannot be reached or refuses the
    /// connection (the client then stays idle and `start` can be tried again).
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
        // Every pending call fails with `Stopped` (its sender is dropped).
        let pending = std::mem::take(&mut *self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()));
        drop(pending);
        let reader = self.inner.reader.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(reader) = reader {
            let _ = reader.await;
        }
        let commands = self.inner.commands.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut commands) = commands {
            let mut del_cmd = redis::cmd("DEL");
            del_cmd.arg(&self.inner.reply_stream);
            let del = query::<()>(&mut commands, &del_cmd);
            if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), del).await {
                let e = e.into_error();
                tracing::warn!(error = %e, stream = %self.inner.reply_stream, "could not delete the reply stream (it expires on its own)");
            }
        }
    }

    /// Sends a request and waits for its reply: the body of `call_value` and `call_json`.
    async fn send(
        &self,
        service: &str,
        method: &str,
        params: Params,
        options: CallOptions,
    ) -> Result<ResultData, Error> {
        let core = &self.inner.core;
        let uuid = uuid::Uuid::new_v4();
        // Encoded into a stack buffer: `to_string` went through `fmt`.
        let id = String::from(&*uuid.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
        let envelope = match params {
            Params::Value(params) => core.prepare(service, method, params, Some(Id::String(id)))?.to_json(),
            Params::Json(params) => core.prepare_json(service, method, &params, Id::String(id))?,
        };
        self.check_size(&envelope)?;
        let timeout = core.timeout_for(&options);
        let mut connection = self.commands()?;
        // Registered before the XADD: the reply may arrive before the XADD returns.
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(uuid.as_u128(), tx);
        let _guard = PendingGuard { pending: &self.inner.pending, id: uuid.as_u128() };
        // `stop` fails pending calls by dropping their senders; one registered just after that
        // sees the state instead.
        if core.state() != State::Started {
            return Err(TransportError::Stopped.into());
        }
        let stream = command_stream(&self.inner.prefix, service);
        // Sized once: growing the command's buffers showed in the client's profile.
        let mut add = redis::Cmd::with_capacity(12, envelope.len() + stream.len() + self.inner.reply_stream.len() + 96);
        add.arg("XADD")
            .arg(&stream)
            .arg("*")
            .arg(field::TYPE)
            .arg("rpc")
            .arg(field::ENVELOPE)
            .arg(envelope)
            .arg(field::REPLY_TO)
            .arg(&self.inner.reply_stream)
            .arg(field::CALL_OPTIONS)
            .arg(
                CallOptionsField {
                    timeout_ms: Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
                    reply_ttl_ms: Some(u64::try_from(self.inner.reply_ttl.as_millis()).unwrap_or(u64::MAX)),
                    reply_batch: true,
                }
                .encode(),
            );
        if !options.metadata.is_empty() {
            let metadata = serde_json::to_string(&options.metadata).map_err(ProtocolError::ParamsNotSerializable)?;
            add.arg(field::METADATA).arg(metadata);
        }
        let uncertain: Mutex<Option<redis::RedisError>> = Mutex::new(None);
        let reply = async {
            match query::<()>(&mut connection, &add).await {
                Ok(()) => {}
                Err(Failure::MaybeSent(e)) => {
                    tracing::warn!(error = %e, %stream, "XADD interrupted; waiting for a reply in case it was written");
                    *uncertain.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                }
                Err(failure) => return Err(Error::from(failure.into_transport_error(&format!("XADD to {stream}")))),
            }
            rx.await.map_err(|_| Error::from(TransportError::Stopped))?
        };
        // No wait on the client's stop token here (a lock on a shared waiter list per call):
        // `stop` drops the pending calls' senders instead, which ends `reply` with `Stopped`.
        let outcome = tokio::select! {
            biased;
            reply = reply => reply.and_then(Delivered::into_outcome),
            () = tokio::time::sleep(timeout) => Err(TransportError::Timeout.into()),
        };
        match outcome {
            Err(Error::Transport(TransportError::Timeout)) => {
                match uncertain.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    Some(e) => Err(TransportError::outcome_unknown(
                        format!("XADD to {stream} was interrupted and no reply came within {timeout:?}; the call may or may not have run"),
                        e,
                    )
                    .into()),
                    None => Err(TransportError::Timeout.into()),
                }
            }
            other => other,
        }
    }

    fn commands(&self) -> Result<Conn, TransportError> {
        self.inner.commands()
    }

    fn check_size(&self, envelope: &str) -> Result<(), TransportError> {
        if envelope.len() > self.inner.max_payload {
            return Err(TransportError::PayloadTooLarge { size: envelope.len(), limit: self.inner.max_payload });
        }
        Ok(())
    }
}

impl Inner {
    fn commands(&self) -> Result<Conn, TransportError> {
        let guard = self.commands.lock().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or(TransportError::Stopped)
    }
}

impl RpcClient for RedisRpcClient {
    /// Sends the request and waits for its reply.
    ///
    /// The entry carries the 0.1.9 fields `type`, `envelope`, `reply-to`, then `call-options`
    /// (`timeout-ms=<this call's timeout>;reply-ttl-ms=<the reply stream's TTL>;reply-batch=1`:
    /// replies may come several to an entry, as a JSON-RPC batch response) and, when the call
    /// has metadata, `metadata` (a JSON object of strings), which 0.1.9 servers ignore.
    ///
    /// When the `XADD` fails, the error says whether the request was written
    /// ([`TransportError::NotSent`]: certainly not). When the connection broke while the
    /// `XADD` was in flight, the request may be in Redis: the call keeps waiting for a reply
    /// and, if none comes within the timeout, fails with [`TransportError::OutcomeUnknown`].
    async fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> Result<Value, Error> {
        self.send(service, method, Params::Value(params), options).await?.into_value()
    }

    fn writes_json(&self) -> bool {
        true
    }

    async fn call_json<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: String,
        options: CallOptions,
    ) -> Result<ResultData, Error> {
        self.send(service, method, Params::Json(params), options).await
    }

    /// Sends the notification: `type`, `envelope`, and nothing else (no reply, no deadline).
    /// A failed `XADD` is [`TransportError::NotSent`] or [`TransportError::OutcomeUnknown`].
    async fn notify_value<'a>(&'a self, service: &'a str, method: &'a str, params: Value) -> Result<(), Error> {
        let call = self.inner.core.prepare(service, method, params, None)?;
        let envelope = call.to_json();
        self.check_size(&envelope)?;
        let mut connection = self.commands()?;
        let stream = command_stream(&self.inner.prefix, service);
        let mut add = redis::cmd("XADD");
        add.arg(&stream).arg("*").arg(field::TYPE).arg("rpc").arg(field::ENVELOPE).arg(envelope);
        query::<()>(&mut connection, &add)
            .await
            .map_err(|failure| failure.into_transport_error(&format!("XADD to {stream}")).into())
    }
}
