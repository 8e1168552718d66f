//! [`ConnectionOptions`]: the settings the client and server builders share.

use clamator_core::TransportError;
use redis::aio::ConnectionManager;
use redis::Client;

use crate::connection::{Source, Target};
use crate::sentinel::SentinelTarget;
use crate::tls::TlsSettings;
use crate::DEFAULT_MAX_PAYLOAD;

/// Where and as whom a Redis client or server connects: the settings
/// [`RedisClientBuilder`](crate::RedisClientBuilder) and
/// [`RedisServerBuilder`](crate::RedisServerBuilder) have in common.
///
/// Each builder has the same setters (they fill in its own `ConnectionOptions`); build one
/// value when a client and a server (or several) should connect the same way, and hand it
/// to each builder with `options(..)`, which replaces everything these setters set.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod redis { pub use clamator_over_redis::*; } }
/// use clamator::redis::{ConnectionOptions, RedisRpcClient, RedisRpcServer};
///
/// let options = ConnectionOptions::new().url("redis://127.0.0.1:6379").max_payload_bytes(1 << 20);
/// let server = RedisRpcServer::builder("myapp").options(options.clone()).concurrency(4).build()?;
/// let client = RedisRpcClient::builder("myapp").options(options).build()?;
/// # Ok::<(), clamator::TransportError>(())
/// ```
///
/// Where Redis is: one node ([`url`](Self::url) or [`client`](Self::client)), a master
/// behind Sentinel ([`sentinel`](Self::sentinel)) or a Redis Cluster
/// ([`cluster`](Self::cluster)); the last of these three set wins. The
/// [deployment guide](crate::deployment) says what each guarantees.
#[derive(Clone)]
#[must_use]
pub struct ConnectionOptions {
    target: Target,
    tls: TlsSettings,
    connection: Option<ConnectionManager>,
    instance_id: Option<String>,
    max_payload: usize,
}

impl std::fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: say only whether one was given.
        f.debug_struct("ConnectionOptions")
            .field(
                "target",
                &match &self.target {
                    Target::Node { url: None, client: None } => "default",
                    Target::Node { client: Some(_), .. } => "client",
                    Target::Node { .. } => "url",
                    Target::Sentinel(_) => "sentinel",
                    Target::Cluster(_) => "cluster",
                },
            )
            .field("tls_ca", &self.tls.ca_pem.as_ref().map(|_| "<set>"))
            .field("connection", &self.connection.as_ref().map(|_| "<set>"))
            .field("instance_id", &self.instance_id)
            .field("max_payload", &self.max_payload)
            .finish()
    }
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`ConnectionOptions`] resolve to when a builder builds.
pub(crate) struct Resolved {
    pub(crate) source: Source,
    pub(crate) instance_id: String,
    pub(crate) max_payload: usize,
}

impl ConnectionOptions {
    /// The defaults: `REDIS_URL`, else [`DEFAULT_URL`](crate::DEFAULT_URL); a random
    /// instance id; [`DEFAULT_MAX_PAYLOAD`].
    pub fn new() -> Self {
        Self {
            target: Target::Node { url: None, client: None },
            tls: TlsSettings::default(),
            connection: None,
            instance_id: None,
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }

    /// The Redis URL of a single node (default: `REDIS_URL`, else `redis://localhost:6379`):
    /// `redis://[USER[:PASSWORD]@]HOST:PORT[/DB]`, or `rediss://...` for TLS (the `tls`
    /// feature). A user in the URL is an ACL user (`AUTH USER PASSWORD`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        let client = match self.target {
            Target::Node { client, .. } => client,
            _ => None,
        };
        self.target = Target::Node { url: Some(url.into()), client };
        self
    }

    /// A redis-rs client to open connections from, instead of a URL (single node).
    pub fn client(mut self, client: Client) -> Self {
        let url = match self.target {
            Target::Node { url, .. } => url,
            _ => None,
        };
        self.target = Target::Node { url, client: Some(client) };
        self
    }

    /// A master behind Redis Sentinel: the sentinels' URLs (`redis://[:PASSWORD@]HOST:PORT`,
    /// `rediss://` for TLS to the sentinels and the master) and the master's name as the
    /// sentinels know it (`sentinel monitor <name> ...`).
    ///
    /// The master is asked for when connecting, and again whenever a command fails in a way
    /// that says it may have moved (connection lost, `READONLY`): after a failover, servers
    /// and clients go on with the promoted replica without a restart. The credentials of
    /// the first URL are used for every sentinel; the master's are
    /// [`sentinel_master_auth`](Self::sentinel_master_auth).
    pub fn sentinel<I, S>(mut self, master_name: impl Into<String>, sentinels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (master_username, master_password) = match self.target {
            Target::Sentinel(t) => (t.master_username, t.master_password),
            _ => (None, None),
        };
        self.target = Target::Sentinel(SentinelTarget {
            master_name: master_name.into(),
            sentinels: sentinels.into_iter().map(Into::into).collect(),
            master_username,
            master_password,
        });
        self
    }

    /// The username (ACL user; `None`: `default`) and password for the master (and
    /// replicas) found through [`sentinel`](Self::sentinel). Call after `sentinel`.
    pub fn sentinel_master_auth(mut self, username: Option<&str>, password: impl Into<String>) -> Self {
        if let Target::Sentinel(t) = &mut self.target {
            t.master_username = username.map(str::to_owned);
            t.master_password = Some(password.into());
        }
        self
    }

    /// A Redis Cluster: the URLs of some of its nodes (one that answers is enough: the
    /// others are discovered), each `redis://[USER[:PASSWORD]@]HOST:PORT` or `rediss://...`;
    /// every node gets the first URL's credentials.
    ///
    /// Each key lives on the shard owning its hash slot, so a plain prefix spreads a
    /// backend's services over the shards, and a hash-tag prefix (`{tenant-42}`) keeps all
    /// of them (and the reply streams) on one shard. Commands follow `MOVED`/`ASK`;
    /// pipelines that touch two keys are split per slot; blocking reads get cluster
    /// connections of their own. See the [deployment guide](crate::deployment).
    pub fn cluster<I, S>(mut self, nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.target = Target::Cluster(nodes.into_iter().map(Into::into).collect());
        self
    }

    /// A CA certificate (PEM, one or several) to trust for `rediss://` connections instead
    /// of the system's roots: for servers with certificates from a private CA.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca_pem = Some(pem.into());
        self
    }

    /// An existing connection for ordinary (non-blocking) commands; never closed by
    /// clamator. Blocking reads still get connections of their own, opened from the URL or
    /// client, because a blocked command would stall a shared connection.
    pub fn connection(mut self, connection: ConnectionManager) -> Self {
        self.connection = Some(connection);
        self
    }

    /// The instance id (default: a UUID v4): a server's consumers are `<service>:<id>`, a
    /// client's reply stream is `P:replies:<id>`. A client and a server may share one.
    pub fn instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance_id = Some(id.into());
        self
    }

    /// The largest envelope handled, in bytes (default 16 MiB): a client refuses to send a
    /// larger request ([`TransportError::PayloadTooLarge`]), a server acknowledges, logs and
    /// drops a larger entry.
    pub fn max_payload_bytes(mut self, limit: usize) -> Self {
        self.max_payload = limit;
        self
    }

    pub(crate) fn resolve(self) -> Result<Resolved, TransportError> {
        Ok(Resolved {
            source: Source::resolve(self.target, self.connection, &self.tls)?,
            instance_id: self.instance_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            max_payload: self.max_payload,
        })
    }
}
