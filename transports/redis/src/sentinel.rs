//! Sentinel: the master a set of sentinels names, asked for at connect and asked for again
//! whenever a command suggests the master moved (the connection failed, or the node now
//! answers `READONLY` because it was demoted to a replica).
//!
//! A [`MasterConn`] wraps one [`ConnectionManager`] to the current master. When a command
//! fails that way, the failure goes back to the caller as it is (the server's and client's
//! loops already retry with backoff, and know whether the command may have run) and the
//! sentinels are asked where the master is; if it moved, the next command goes to the new
//! one. Until the sentinels have promoted a replica (their `down-after-milliseconds` plus
//! the election), commands fail fast.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator_core::TransportError;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Client, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};

use crate::connection::{connect, is_connection_error, Reconnect};
use crate::tls::{check_scheme, install_crypto_provider, invalid_url, TlsSettings};

/// How long asking the sentinels may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a master is found: sentinel addresses and the master's name.
#[derive(Clone)]
pub(crate) struct SentinelTarget {
    pub(crate) master_name: String,
    pub(crate) sentinels: Vec<String>,
    /// The master's (and replicas') username and password, when they need them.
    pub(crate) master_username: Option<String>,
    pub(crate) master_password: Option<String>,
}

/// The sentinels of one master, shared by every connection to it.
pub(crate) struct Sentinels {
    client: tokio::sync::Mutex<SentinelClient>,
}

impl Sentinels {
    /// Checks the configuration (no connection is made).
    pub(crate) fn new(target: &SentinelTarget, tls: &TlsSettings) -> Result<Self, TransportError> {
        let invalid = |message: &str| TransportError::Connection { message: message.to_owned(), source: None };
        if target.sentinels.is_empty() {
            return Err(invalid("Sentinel: no sentinel address given"));
        }
        if target.master_name.is_empty() {
            return Err(invalid("Sentinel: the master name is empty"));
        }
        install_crypto_provider();
        let mut infos = Vec::new();
        for url in &target.sentinels {
            check_scheme(url)?;
            infos.push(url.as_str().into_connection_info().map_err(|e| invalid_url(url, e))?);
        }
        let first = infos[0].clone();
        let tls_mode = match first.addr() {
            redis::ConnectionAddr::TcpTls { .. } => Some(redis::TlsMode::Secure),
            _ => None,
        };
        let addrs = infos.iter().map(|info| info.addr().clone());
        let mut builder = SentinelClientBuilder::new(addrs, &target.master_name, SentinelServerType::Master)
            .map_err(|e| TransportError::connection("Sentinel: invalid configuration", e))?;
        if let Some(username) = first.redis_settings().username() {
            builder = builder.set_client_to_sentinel_username(username);
        }
        if let Some(password) = first.redis_settings().password() {
            builder = builder.set_client_to_sentinel_password(password);
        }
        if let Some(username) = &target.master_username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &target.master_password {
            builder = builder.set_client_to_redis_password(password);
        }
        if let Some(mode) = tls_mode {
            builder = builder.set_client_to_sentinel_tls_mode(mode).set_client_to_redis_tls_mode(mode);
        }
        #[cfg(feature = "tls")]
        if let Some(certificates) = tls.certificates() {
            builder = builder
                .set_client_to_sentinel_certificates(certificates.clone())
                .set_client_to_redis_certificates(certificates);
        }
        let _ = tls;
        let client = builder.build().map_err(|e| TransportError::connection("Sentinel: invalid configuration", e))?;
        Ok(Self { client: tokio::sync::Mutex::new(client) })
    }

    /// Asks the sentinels for the master, checked with `ROLE`, and returns a client for it.
    async fn master(&self) -> redis::RedisResult<Client> {
        let mut client = self.client.lock().await;
        match tokio::time::timeout(LOOKUP_TIMEOUT, client.async_get_client()).await {
            Ok(result) => result,
            Err(_) => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "the sentinels did not name a reachable master in time",
            ))),
        }
    }

    /// A connection to the current master that follows it across failovers.
    pub(crate) async fn connect(
        self: &Arc<Self>,
        response_timeout: Option<Duration>,
        reconnect: Reconnect,
    ) -> Result<MasterConn, TransportError> {
        let client = self
            .master()
            .await
            .map_err(|e| TransportError::connection(format!("Sentinel: cannot find the master ({e})"), e))?;
        let address = client.get_connection_info().addr().to_string();
        let conn = connect(&client, response_timeout, reconnect).await?;
        let state = State {
            sentinels: Arc::clone(self),
            response_timeout,
            reconnect,
            current: Mutex::new(Current { generation: 0, address, conn }),
            following: tokio::sync::Mutex::new(()),
        };
        Ok(MasterConn { state: Arc::new(state) })
    }
}

/// A connection to the master, re-pointed when the sentinels name another one.
#[derive(Clone)]
pub(crate) struct MasterConn {
    state: Arc<State>,
}

struct State {
    sentinels: Arc<Sentinels>,
    response_timeout: Option<Duration>,
    reconnect: Reconnect,
    current: Mutex<Current>,
    /// One lookup at a time; the others find the result.
    following: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Current {
    /// Bumped at each move: a failure seen on an older connection asks nothing.
    generation: u64,
    address: String,
    conn: ConnectionManager,
}

/// `true` when a failure suggests the master is no longer where the connection points.
fn master_may_have_moved(e: &redis::RedisError) -> bool {
    is_connection_error(e) || matches!(e.code(), Some("READONLY" | "MASTERDOWN"))
}

impl State {
    fn current(&self) -> Current {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asks the sentinels where the master is, after a failure seen on connection
    /// `generation`, and re-points the connection if it moved.
    async fn follow(&self, generation: u64) {
        let _one_at_a_time = self.following.lock().await;
        let current = self.current();
        if current.generation != generation {
            return; // another command already followed the move
        }
        let client = match self.sentinels.master().await {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "Sentinel: no master reachable yet; will ask again");
                return;
            }
        };
        let address = client.get_connection_info().addr().to_string();
        if address == current.address {
            return; // same master: its connection manager reconnects by itself
        }
        match connect(&client, self.response_timeout, self.reconnect).await {
            Ok(conn) => {
                tracing::warn!(from = %current.address, to = %address, "Sentinel: the master moved; following it");
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
                    Current { generation: generation + 1, address, conn };
            }
            Err(e) => tracing::warn!(%address, error = %e, "Sentinel: cannot connect to the new master yet"),
        }
    }
}

impl ConnectionLike for MasterConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let Current { generation, mut conn, .. } = self.state.current();
            let result = conn.req_packed_command(cmd).await;
            if matches!(&result, Err(e) if master_may_have_moved(e)) {
                self.state.follow(generation).await;
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let Current { generation, mut conn, .. } = self.state.current();
            let result = conn.req_packed_commands(pipeline, offset, count).await;
            let moved = match &result {
                Err(e) => master_may_have_moved(e),
                // A pipeline that ignores errors reports READONLY in its values.
                Ok(values) => values.iter().any(|v| matches!(v, Value::ServerError(e) if e.code() == "READONLY")),
            };
            if moved {
                self.state.follow(generation).await;
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.state.current().conn.get_db()
    }
}
