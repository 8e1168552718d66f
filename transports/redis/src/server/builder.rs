//! The server's builder and the settings it produces.

use std::time::Duration;

use clamator_core::TransportError;
use redis::aio::ConnectionManager;
use redis::Client;

use super::RedisRpcServer;
use crate::connection::Source;
use crate::options::{ConnectionOptions, Resolved};

/// Default time an entry may stay unacknowledged before another server reclaims it: 60 s.
///
/// A live server renews the claim of every entry it holds (every third of this time), so
/// only the entries of a dead, stopped-past-its-grace or stalled server are reclaimed.
pub const DEFAULT_CLAIM_IDLE: Duration = Duration::from_secs(60);
/// Default approximate maximum length of a reply stream: 1024 entries.
pub const DEFAULT_REPLY_MAXLEN: usize = 1024;
/// Default time `stop` lets in-flight handlers finish: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Default time entries may wait inside a server for a free handler slot: 2 ms (see
/// [`RedisServerBuilder::prefetch_budget`]).
pub const DEFAULT_PREFETCH_BUDGET: Duration = Duration::from_millis(2);
/// Default number of deliveries after which a request that never completed is dead-lettered: 5.
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;
/// Default approximate maximum length of a dead-letter stream: 10 000 entries.
pub const DEFAULT_DEAD_LETTER_MAXLEN: usize = 10_000;
/// Default TTL of reply streams whose caller declares none (0.1.9 clients): 24 hours; see
/// [`RedisServerBuilder::default_reply_ttl`].
pub const DEFAULT_FOREIGN_REPLY_TTL: Duration = Duration::from_secs(24 * 3600);
/// Default idle time after which a consumer with no pending entries is deleted from its
/// group as dead: 1 hour.
pub const DEFAULT_DEAD_CONSUMER_IDLE: Duration = Duration::from_secs(3600);

/// Everything a built server was configured with.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) prefix: String,
    pub(crate) instance_id: String,
    pub(crate) source: Source,
    pub(crate) claim_idle: Duration,
    pub(crate) reply_maxlen: usize,
    pub(crate) grace: Duration,
    pub(crate) concurrency: usize,
    pub(crate) prefetch_budget: Duration,
    pub(crate) max_payload: usize,
    pub(crate) max_deliveries: Option<u32>,
    pub(crate) dead_letter_maxlen: usize,
    pub(crate) dead_consumer_idle: Duration,
    pub(crate) default_reply_ttl: Option<Duration>,
    pub(crate) discovery_interval: Option<Duration>,
    pub(crate) version: Option<String>,
}

impl Settings {
    /// How often held entries have their claim renewed: a third of the claim idle time.
    /// The discovery publisher of a server with these settings.
    pub(crate) fn publisher(&self) -> crate::discovery::Publisher {
        crate::discovery::Publisher::new(
            &self.prefix,
            &self.instance_id,
            self.version.clone(),
            self.discovery_interval,
            self.concurrency,
        )
    }

    pub(crate) fn lease_interval(&self) -> Duration {
        (self.claim_idle / 3).max(Duration::from_millis(20))
    }

    /// How often idle entries of other consumers are looked for.
    pub(crate) fn reclaim_interval(&self) -> Duration {
        (self.claim_idle / 4).clamp(Duration::from_millis(250), Duration::from_secs(5))
    }

    /// How often acknowledged entries are trimmed and dead consumers swept.
    pub(crate) fn janitor_interval(&self) -> Duration {
        self.claim_idle.min(self.dead_consumer_idle / 3).clamp(Duration::from_millis(250), Duration::from_secs(5))
    }
}

/// Builds a [`RedisRpcServer`]; see [`RedisRpcServer::builder`].
#[derive(Clone)]
#[must_use]
pub struct RedisServerBuilder {
    pub(super) prefix: String,
    pub(super) options: ConnectionOptions,
    pub(super) claim_idle: Duration,
    pub(super) reply_maxlen: usize,
    pub(super) grace: Duration,
    pub(super) concurrency: usize,
    pub(super) prefetch_budget: Duration,
    pub(super) max_deliveries: Option<u32>,
    pub(super) dead_letter_maxlen: usize,
    pub(super) dead_consumer_idle: Duration,
    pub(super) default_reply_ttl: Option<Duration>,
    pub(super) discovery_interval: Option<Duration>,
    pub(super) version: Option<String>,
}

impl RedisServerBuilder {
    pub(super) fn new(prefix: String) -> Self {
        Self {
            prefix,
            options: ConnectionOptions::new(),
            claim_idle: DEFAULT_CLAIM_IDLE,
            reply_maxlen: DEFAULT_REPLY_MAXLEN,
            grace: DEFAULT_SHUTDOWN_GRACE,
            concurrency: 1,
            prefetch_budget: DEFAULT_PREFETCH_BUDGET,
            max_deliveries: Some(DEFAULT_MAX_DELIVERIES),
            dead_letter_maxlen: DEFAULT_DEAD_LETTER_MAXLEN,
            dead_consumer_idle: DEFAULT_DEAD_CONSUMER_IDLE,
            default_reply_ttl: Some(DEFAULT_FOREIGN_REPLY_TTL),
            discovery_interval: Some(crate::discovery::DEFAULT_DISCOVERY_INTERVAL),
            version: None,
        }
    }

    /// Replaces the connection settings (URL or client, connection, instance id, payload
    /// limit) with `options`, e.g. the ones a client of the same application uses.
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

    /// An existing connection for the server's non-blocking commands (`XADD`, `XACK`,
    /// `XCLAIM`, `XGROUP`, scripts); never closed by [`RedisRpcServer::stop`]. The readers
    /// still open connections of their own, because a blocking read would stall a shared one.
    pub fn connection(mut self, connection: ConnectionManager) -> Self {
        self.options = self.options.connection(connection);
        self
    }

    /// The instance id (default: a UUID v4); the consumer is `<service>:<id>`.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.options = self.options.instance_id(id);
        self
    }

    /// How long an entry may stay unacknowledged before another server reclaims it
    /// (default 60 s).
    ///
    /// A live server renews the claim of the entries it holds every third of this time, so
    /// a handler may run far longer than this without being duplicated. Only the entries of
    /// a server that died, was stopped past its grace period or stalled (a pause longer than
    /// this) are reclaimed. Shorter means faster recovery after a crash and more renewal
    /// traffic.
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle.max(Duration::from_millis(100));
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
    /// The server never reads more entries than it has free handlers, so a busy server
    /// leaves work in the stream for its peers. With 1, requests to a service on one server
    /// run one at a time in arrival order, each seeing the previous one's effects, and their
    /// replies and acknowledgements leave in that order. With more, up to that many run at
    /// once and **that ordering is gone**.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// How long, at most, entries may wait inside a server for a free handler slot
    /// (default 2 ms; `Duration::ZERO`: never take more entries than there are free slots).
    ///
    /// A server normally reads only as many entries as it has free handler slots, so a busy
    /// server leaves the backlog in the stream for its peers and, if it dies, only the
    /// entries it was running wait for the claim idle time. When its handlers are fast, that
    /// costs one read round trip per entry under a backlog. So a server also takes a few
    /// extra entries (at most 32) when the slowest of its recent handlers says they will
    /// all have started within this budget: with sub-millisecond handlers it reads in
    /// batches; after any handler slower than the budget it goes back to one entry per free
    /// slot. Extra entries are leased like running ones (never reclaimed from a live
    /// server) and at concurrency 1 still run in arrival order.
    pub fn prefetch_budget(mut self, budget: Duration) -> Self {
        self.prefetch_budget = budget;
        self
    }

    /// The largest envelope the server handles, in bytes (default 16 MiB). Larger entries are
    /// acknowledged, logged and dropped.
    pub fn max_payload_bytes(mut self, limit: usize) -> Self {
        self.options = self.options.max_payload_bytes(limit);
        self
    }

    /// How many deliveries a request may have before it is dead-lettered instead of being run
    /// again (default 5; `None`: never dead-letter).
    ///
    /// A request whose handler crashes its server is delivered again each time a server
    /// reclaims it; once it has been delivered this many times without completing it is
    /// moved to the dead-letter stream `P:dead:<service>`, acknowledged, and its caller gets
    /// a [`DEAD_LETTERED`](crate::DEAD_LETTERED) error reply. Values below 1 count as 1.
    pub fn max_deliveries(mut self, max: Option<u32>) -> Self {
        self.max_deliveries = max.map(|m| m.max(1));
        self
    }

    /// The approximate maximum length of each dead-letter stream (`MAXLEN ~`, default 10 000):
    /// the oldest dead letters go first when it is full.
    pub fn dead_letter_maxlen(mut self, maxlen: usize) -> Self {
        self.dead_letter_maxlen = maxlen;
        self
    }

    /// How long a consumer of a service's group may stay idle, holding no pending entries,
    /// before this server deletes it as dead (default 1 hour). A live Rust server touches its
    /// consumer every few seconds, so this removes the consumers of servers that are gone; a
    /// consumer holding pending entries is never deleted. On Redis 7.0 an `XREADGROUP` that
    /// finds nothing does not reset a consumer's idle time, so a 0.1.9 server that received
    /// nothing for this long is deleted too: harmless, Redis recreates its consumer at its next
    /// delivery.
    pub fn dead_consumer_idle(mut self, idle: Duration) -> Self {
        self.dead_consumer_idle = idle;
        self
    }

    /// The TTL a server gives a reply stream whose caller did not say what TTL it keeps
    /// (clamator 0.1.9 clients send no `reply-ttl-ms`), refreshed by the replies, at most once
    /// per third of it (default 24 hours; `None`: leave such streams as 0.1.9 does, without a TTL).
    ///
    /// A 0.1.9 client deletes its reply stream on `stop`, and a reply written after that (a
    /// call that outlived its caller) creates it again: without a TTL that key stays for
    /// ever. A live client reads its replies within milliseconds, so a TTL of a day, renewed
    /// while replies arrive, never takes an unread reply from a client that is still there.
    pub fn default_reply_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_reply_ttl = ttl;
        self
    }

    /// How often the server rewrites its [discovery](crate::discovery) documents (default
    /// 5 s; each lives three intervals, so a killed server disappears within that time).
    /// `None`: publish nothing (the per-method counters are still kept).
    pub fn discovery_interval(mut self, interval: Option<Duration>) -> Self {
        self.discovery_interval = interval.map(|i| i.max(Duration::from_millis(50)));
        self
    }

    /// The application's version, published in discovery documents (default: none).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Builds the server (no connection is made before [`RedisRpcServer::start`]).
    pub fn build(self) -> Result<RedisRpcServer, TransportError> {
        let Resolved { source, instance_id, max_payload } = self.options.resolve()?;
        let settings = Settings {
            prefix: self.prefix,
            instance_id,
            source,
            claim_idle: self.claim_idle,
            reply_maxlen: self.reply_maxlen,
            grace: self.grace,
            concurrency: self.concurrency,
            prefetch_budget: self.prefetch_budget,
            max_payload,
            max_deliveries: self.max_deliveries,
            dead_letter_maxlen: self.dead_letter_maxlen,
            dead_consumer_idle: self.dead_consumer_idle,
            default_reply_ttl: self.default_reply_ttl,
            discovery_interval: self.discovery_interval,
            version: self.version,
        };
        Ok(RedisRpcServer::from_settings(settings))
    }
}
