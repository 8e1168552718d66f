//! Connections and reconnection: where a server or client gets Redis from, how a command's
//! failure is classified (written or not), and the capped exponential backoff the loops use
//! after a failure.

use std::sync::Arc;
use std::time::Duration;

use clamator_core::TransportError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::Client;

use crate::conn::Conn;
use crate::sentinel::{SentinelTarget, Sentinels};
use crate::tls::{check_scheme, install_crypto_provider, invalid_url, open_client, TlsSettings};

/// The URL used when none is given and `REDIS_URL` is unset.
pub const DEFAULT_URL: &str = "redis://localhost:6379";

/// What a builder was told to connect to.
#[derive(Clone)]
pub(crate) enum Target {
    /// One node: a client, else a URL, else `REDIS_URL`, else [`DEFAULT_URL`].
    Node { url: Option<String>, client: Option<Client> },
    /// The master named by a set of sentinels.
    Sentinel(SentinelTarget),
    /// A Redis Cluster, discovered from these nodes.
    Cluster(Vec<String>),
}

/// Where connections come from.
#[derive(Clone)]
pub(crate) enum Source {
    /// A URL or client given by the user, or `REDIS_URL`, or [`DEFAULT_URL`]: every
    /// connection is opened, and closed on stop, by clamator.
    Client(Client),
    /// A user's connection for ordinary commands (never closed by clamator), plus a client
    /// for the blocking reads, which need connections of their own.
    Injected { commands: ConnectionManager, client: Client },
    /// The master the sentinels name, followed across failovers.
    Sentinel(Arc<Sentinels>),
    /// A cluster: one client for ordinary commands, another (longer response timeout) from
    /// which each blocking reader gets a cluster connection of its own.
    Cluster(Box<ClusterClients>),
}

/// A cluster's two clients (see [`Source::Cluster`]).
#[derive(Clone)]
pub(crate) struct ClusterClients {
    commands: ClusterClient,
    blocking: ClusterClient,
}

impl Source {
    /// What a builder was given, plus an optional injected connection for ordinary commands
    /// (single node only).
    pub(crate) fn resolve(
        target: Target,
        connection: Option<ConnectionManager>,
        tls: &TlsSettings,
    ) -> Result<Self, TransportError> {
        let only_single = |what: &str| TransportError::Connection {
            message: format!("an injected connection works with a single node only, not with {what}"),
            source: None,
        };
        match target {
            Target::Node { url, client } => {
                let client = match client {
                    Some(client) => client,
                    None => {
                        let url =
                            url.or_else(|| std::env::var("REDIS_URL").ok()).unwrap_or_else(|| DEFAULT_URL.to_owned());
                        open_client(&url, tls)?
                    }
                };
                Ok(match connection {
                    Some(commands) => Source::Injected { commands, client },
                    None => Source::Client(client),
                })
            }
            Target::Sentinel(_) if connection.is_some() => Err(only_single("Sentinel")),
            Target::Cluster(_) if connection.is_some() => Err(only_single("a cluster")),
            Target::Sentinel(target) => Ok(Source::Sentinel(Arc::new(Sentinels::new(&target, tls)?))),
            Target::Cluster(nodes) => Ok(Source::Cluster(Box::new(ClusterClients {
                commands: cluster_client(&nodes, tls, COMMAND_RESPONSE_TIMEOUT)?,
                blocking: cluster_client(&nodes, tls, BLOCKING_RESPONSE_TIMEOUT)?,
            }))),
        }
    }

    /// The connection for ordinary commands (multiplexed: concurrent commands pipeline),
    /// checked with a `PING`: on redis-server 7.0 `PING` needs authentication, so a server
    /// with `requirepass` and no password in the URL fails here, with `NOAUTH` in the message,
    /// instead of at the first call.
    pub(crate) async fn commands(&self) -> Result<Conn, TransportError> {
        let mut conn = match self {
            Source::Injected { commands, .. } => Conn::Node(commands.clone()),
            Source::Client(client) => {
                Conn::Node(connect(client, Some(COMMAND_RESPONSE_TIMEOUT), Reconnect::Once).await?)
            }
            Source::Sentinel(sentinels) => {
                Conn::Sentinel(sentinels.connect(Some(COMMAND_RESPONSE_TIMEOUT), Reconnect::Once).await?)
            }
            Source::Cluster(clients) => Conn::Cluster(connect_cluster(&clients.commands).await?),
        };
        verify(&mut conn).await?;
        Ok(conn)
    }

    /// A dedicated connection for one blocking reader: a blocked command would hold up every
    /// other command on a shared connection.
    ///
    /// Unlike [`commands`](Self::commands), a single node's reconnections retry until Redis
    /// is back (every 100-500 ms): a read issued during an outage waits, and goes through as
    /// soon as Redis accepts connections again, with no kept failure and no backoff sleep in
    /// between. Readers must therefore always race their reads against their stop signal.
    /// (Behind Sentinel, a read fails fast instead, so that the reader's connection asks the
    /// sentinels where the master went.) Opening it gives up after [`OPEN_BLOCKING_TIMEOUT`],
    /// so a loop opening one during an outage still sees its stop signal between attempts.
    pub(crate) async fn blocking(&self, block: Duration) -> Result<Conn, TransportError> {
        let response_timeout = Some(block + COMMAND_RESPONSE_TIMEOUT);
        let opened = async {
            match self {
                Source::Client(client) | Source::Injected { client, .. } => {
                    Ok(Conn::Node(connect(client, response_timeout, Reconnect::UntilBack).await?))
                }
                Source::Sentinel(sentinels) => {
                    Ok(Conn::Sentinel(sentinels.connect(response_timeout, Reconnect::Once).await?))
                }
                Source::Cluster(clients) => Ok(Conn::Cluster(connect_cluster(&clients.blocking).await?)),
            }
        };
        match tokio::time::timeout(OPEN_BLOCKING_TIMEOUT, opened).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Connection {
                message: format!("cannot connect to Redis within {OPEN_BLOCKING_TIMEOUT:?}"),
                source: None,
            }),
        }
    }
}

/// How long a blocking read may wait for its answer: longer than any `BLOCK` clamator uses
/// (1 s), plus [`COMMAND_RESPONSE_TIMEOUT`].
const BLOCKING_RESPONSE_TIMEOUT: Duration = Duration::from_secs(11);

/// How many times a cluster connection retries a command after a connection failure or a
/// `TRYAGAIN`/`CLUSTERDOWN` (100 ms doubling up to 1 s between attempts, refreshing the slot
/// map): enough to ride out most of a failover, short enough that the transport's own loops
/// (which know whether a command may have run) take over when it lasts longer.
const CLUSTER_RETRIES: u32 = 5;

/// A cluster client for `nodes` (credentials and TLS as their URLs say).
fn cluster_client(
    nodes: &[String],
    tls: &TlsSettings,
    response_timeout: Duration,
) -> Result<ClusterClient, TransportError> {
    if nodes.is_empty() {
        return Err(TransportError::Connection {
            message: "Redis Cluster: no node URL given".to_owned(),
            source: None,
        });
    }
    for url in nodes {
        check_scheme(url)?;
    }
    install_crypto_provider();
    let builder = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(response_timeout)
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(100)
        .max_retry_wait(1000);
    #[cfg(feature = "tls")]
    let builder = match tls.certificates() {
        Some(certificates) => builder.certs(certificates),
        None => builder,
    };
    let _ = tls;
    builder.build().map_err(|e| invalid_url(&nodes.join(","), e))
}

/// Opens a cluster connection (it discovers the slot map from the first node that answers).
async fn connect_cluster(client: &ClusterClient) -> Result<redis::cluster_async::ClusterConnection, TransportError> {
    client.get_async_connection().await.map_err(|e| TransportError::connection(connection_failure(&e), e))
}

/// How long a command may wait for its answer once written.
const COMMAND_RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long opening a blocking reader's connection may take, retries included.
const OPEN_BLOCKING_TIMEOUT: Duration = Duration::from_secs(3);

/// How a [`ConnectionManager`] reconnects after its connection broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reconnect {
    /// One attempt per reconnection: commands issued during an outage fail fast.
    Once,
    /// Attempts every 100-500 ms until one succeeds: for blocking readers, which wait.
    UntilBack,
}

/// Opens a [`ConnectionManager`] whose kept failures never outlive an outage.
///
/// How redis-rs 1.8 reconnects: after a command fails on a broken connection, the manager
/// starts one reconnection (up to `number_of_retries` further attempts) in the background and
/// keeps its outcome; the next command awaits it. If Redis was still down, that kept failure
/// is what the next command gets, even when Redis has been back for a while: a "stale"
/// failure (and the command only triggers the next attempt). Hence:
/// - [`Reconnect::Once`] (commands): no retries inside a reconnection, so a command issued
///   during an outage awaits one attempt (refused at once, or [`CONNECT_TIMEOUT`]) and fails
///   fast instead of waiting out a retry schedule; and [`query`] runs a command a second time
///   when the first failed because the connection was refused: nothing was written, and the
///   second run awaits the fresh attempt the failure started, so the first command after
///   Redis is back succeeds;
/// - [`Reconnect::UntilBack`] (blocking readers): the reconnection never gives up, so it
///   never keeps a failure; it connects within about 500 ms of Redis accepting connections.
pub(crate) async fn connect(
    client: &Client,
    response_timeout: Option<Duration>,
    reconnect: Reconnect,
) -> Result<ConnectionManager, TransportError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(response_timeout);
    let config = match reconnect {
        Reconnect::Once => config.set_number_of_retries(0),
        Reconnect::UntilBack => config
            .set_number_of_retries(usize::MAX)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_millis(250)),
    };
    ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|e| TransportError::connection(connection_failure(&e), e))
}

/// Checks that the connection can run commands (authentication included).
async fn verify(conn: &mut Conn) -> Result<(), TransportError> {
    match query::<()>(conn, &redis::cmd("PING")).await {
        Ok(()) => Ok(()),
        Err(failure) => {
            let e = failure.into_error();
            Err(TransportError::connection(connection_failure(&e), e))
        }
    }
}

const WRONG_CREDENTIALS: &str =
    "Redis refused the credentials (WRONGPASS: invalid username-password pair): check the user and password in the URL";

/// What went wrong while connecting, in words a user can act on.
fn connection_failure(e: &redis::RedisError) -> String {
    match e.code() {
        Some("NOAUTH") => "Redis requires authentication (NOAUTH): put the password in the URL, \
                           redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port"
            .to_owned(),
        Some("WRONGPASS") => WRONG_CREDENTIALS.to_owned(),
        Some(code) => format!("Redis refused the connection check ({code})"),
        // redis-rs reports a refused AUTH during the handshake under its own kind, no code.
        None if e.kind() == redis::ErrorKind::AuthenticationFailed => WRONG_CREDENTIALS.to_owned(),
        None => "cannot connect to Redis".to_owned(),
    }
}

/// A command that failed, and whether its effects may have happened.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The command was certainly not carried out: no connection could be made, or Redis
    /// answered with an error (a refused command has no effect).
    NotSent(redis::RedisError),
    /// The command may have reached Redis and run: the connection broke while it was in
    /// flight, or its answer did not come in time.
    MaybeSent(redis::RedisError),
}

impl Failure {
    fn classify(e: redis::RedisError) -> Self {
        let refused_by_redis = e.code().is_some();
        let never_left = matches!(e.kind(), redis::ErrorKind::Client | redis::ErrorKind::InvalidClientConfig);
        if e.is_connection_refusal() || refused_by_redis || never_left {
            Failure::NotSent(e)
        } else {
            Failure::MaybeSent(e)
        }
    }

    /// The underlying error.
    pub(crate) fn into_error(self) -> redis::RedisError {
        match self {
            Failure::NotSent(e) | Failure::MaybeSent(e) => e,
        }
    }

    /// The error for a caller: [`TransportError::NotSent`] or
    /// [`TransportError::OutcomeUnknown`].
    pub(crate) fn into_transport_error(self, what: &str) -> TransportError {
        match self {
            Failure::NotSent(e) => TransportError::not_sent(format!("{what} was not written"), e),
            Failure::MaybeSent(e) => {
                TransportError::outcome_unknown(format!("{what} may have been written, then the connection failed"), e)
            }
        }
    }

    /// `true` when the connection itself failed (as opposed to a command error).
    pub(crate) fn is_connection_error(&self) -> bool {
        match self {
            Failure::NotSent(e) | Failure::MaybeSent(e) => is_connection_error(e),
        }
    }
}

/// Runs `cmd` on a managed connection and says, on failure, whether it may have run.
///
/// A connection refusal means nothing was written: it is either fresh (Redis is down) or
/// the kept outcome of an earlier reconnection attempt (see [`connect`]). The manager has
/// then started a new attempt, so the command runs once more, awaiting it: the first
/// command after Redis comes back succeeds instead of failing with an old refusal.
pub(crate) async fn query<T: redis::FromRedisValue>(conn: &mut Conn, cmd: &redis::Cmd) -> Result<T, Failure> {
    match cmd.query_async::<T>(conn).await {
        Err(e) if e.is_connection_refusal() => cmd.query_async::<T>(conn).await.map_err(Failure::classify),
        other => other.map_err(Failure::classify),
    }
}

/// Capped exponential backoff with jitter, from [`backon`]: 100 ms doubling up to 500 ms,
/// plus up to 100% jitter, so every delay is at most [`Backoff::MAX`] (1 s). A short cap
/// matters more than saving attempts: a loop sleeping its full backoff is a loop that is
/// not serving while Redis is already back.
#[derive(Debug)]
pub(crate) struct Backoff {
    delays: backon::ExponentialBackoff,
}

impl Backoff {
    pub(crate) const MIN: Duration = Duration::from_millis(100);
    /// No delay is longer: the longest step (half of this) plus at most 100% jitter.
    pub(crate) const MAX: Duration = Duration::from_secs(1);

    fn schedule() -> backon::ExponentialBackoff {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(Self::MIN)
            .with_max_delay(Self::MAX / 2)
            .with_jitter()
            .without_max_times()
            .build()
    }

    pub(crate) fn new() -> Self {
        Self { delays: Self::schedule() }
    }

    /// The delay to wait now; grows until the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(Self::MAX / 2).min(Self::MAX)
    }

    /// Back to the shortest delay (after a success).
    pub(crate) fn reset(&mut self) {
        self.delays = Self::schedule();
    }
}

/// Sleeps for `delay`, or less when `stop` is cancelled first.
pub(crate) async fn sleep_or_stop(delay: Duration, stop: &tokio_util::sync::CancellationToken) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = tokio::time::sleep(delay) => {}
    }
}

/// `true` for errors that mean the connection is gone (as opposed to a command error).
pub(crate) fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_what_may_have_been_written() {
        let io = |kind| redis::RedisError::from(std::io::Error::from(kind));
        let refused = Failure::classify(io(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(refused, Failure::NotSent(_)), "{refused:?}");
        let loading = (redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading), "loading");
        let loading = Failure::classify(redis::RedisError::from(loading));
        assert!(matches!(loading, Failure::NotSent(_)), "Redis answered with an error: {loading:?}");
        let client = Failure::classify(redis::RedisError::from((redis::ErrorKind::Client, "bad")));
        assert!(matches!(client, Failure::NotSent(_)), "{client:?}");
        for kind in [std::io::ErrorKind::BrokenPipe, std::io::ErrorKind::ConnectionReset, std::io::ErrorKind::TimedOut]
        {
            let failure = Failure::classify(io(kind));
            assert!(matches!(failure, Failure::MaybeSent(_)), "{failure:?}");
            assert!(failure.is_connection_error());
        }
        let e = Failure::classify(io(std::io::ErrorKind::BrokenPipe)).into_transport_error("XADD to p:cmds:a");
        assert!(matches!(e, TransportError::OutcomeUnknown { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "outcome unknown: XADD to p:cmds:a may have been written, then the connection failed: broken pipe"
        );
    }

    #[test]
    fn backoff_grows_is_capped_at_one_second_and_resets() {
        let mut b = Backoff::new();
        let first = b.next_delay();
        assert!(first >= Backoff::MIN && first <= Backoff::MIN * 2, "{first:?}");
        let later: Vec<Duration> = (0..30).map(|_| b.next_delay()).collect();
        assert!(later.iter().all(|d| *d <= Backoff::MAX), "{later:?}");
        assert!(later[10..].iter().all(|d| *d >= Backoff::MAX / 2), "reaches the cap: {later:?}");
        b.reset();
        assert!(b.next_delay() <= Backoff::MIN * 2);
    }
}
