//! [`ConnectionOptions`]: the settings the client and server builders share.

use clamator_core::TransportError;
use redis::aio::ConnectionManager;
use redis::Client;

use crate::connection::Source;
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
#[derive(Clone)]
#[must_use]
pub struct ConnectionOptions {
    url: Option<String>,
    client: Option<Client>,
    connection: Option<ConnectionManager>,
    instance_id: Option<String>,
    max_payload: usize,
}

impl std::fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: say only whether one was given.
        f.debug_struct("ConnectionOptions")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .field("client", &self.client.as_ref().map(|_| "<set>"))
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
        Self { url: None, client: None, connection: None, instance_id: None, max_payload: DEFAULT_MAX_PAYLOAD }
    }

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
            source: Source::resolve(self.url, self.client, self.connection)?,
            instance_id: self.instance_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            max_payload: self.max_payload,
        })
    }
}
