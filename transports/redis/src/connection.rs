//! Connections and reconnection: where a server or client gets Redis from, and the capped
//! exponential backoff its loops use after a failure.

use std::time::Duration;

use clamator_core::TransportError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Client;

/// The URL used when none is given and `REDIS_URL` is unset.
pub const DEFAULT_URL: &str = "redis://localhost:6379";

/// Where connections come from.
#[derive(Clone)]
pub(crate) enum Source {
    /// A URL or client given by the user, or `REDIS_URL`, or [`DEFAULT_URL`]: every
    /// connection is opened, and closed on stop, by clamator.
    Client(Client),
    /// A user's connection for ordinary commands (never closed by clamator), plus a client
    /// for the blocking reads, which need connections of their own.
    Injected { commands: ConnectionManager, client: Client },
}

impl Source {
    /// What a builder was given: a client, else a URL, else `REDIS_URL`, else
    /// [`DEFAULT_URL`]; plus an optional injected connection for ordinary commands.
    pub(crate) fn resolve(
        url: Option<String>,
        client: Option<Client>,
        connection: Option<ConnectionManager>,
    ) -> Result<Self, TransportError> {
        let client = match client {
            Some(client) => client,
            None => {
                let url = url.or_else(|| std::env::var("REDIS_URL").ok()).unwrap_or_else(|| DEFAULT_URL.to_owned());
                Client::open(url.as_str())
                    .map_err(|e| TransportError::connection(format!("invalid Redis URL {url:?}"), e))?
            }
        };
        Ok(match connection {
            Some(commands) => Source::Injected { commands, client },
            None => Source::Client(client),
        })
    }

    fn client(&self) -> &Client {
        match self {
            Source::Client(c) | Source::Injected { client: c, .. } => c,
        }
    }

    /// The connection for ordinary commands (multiplexed: concurrent commands pipeline).
    pub(crate) async fn commands(&self) -> Result<ConnectionManager, TransportError> {
        match self {
            Source::Injected { commands, .. } => Ok(commands.clone()),
            Source::Client(client) => connect(client, Some(Duration::from_secs(10))).await,
        }
    }

    /// A dedicated connection for one blocking reader: a blocked command would hold up every
    /// other command on a shared connection.
    pub(crate) async fn blocking(&self, block: Duration) -> Result<ConnectionManager, TransportError> {
        connect(self.client(), Some(block + Duration::from_secs(10))).await
    }
}

async fn connect(client: &Client, response_timeout: Option<Duration>) -> Result<ConnectionManager, TransportError> {
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_secs(2))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(response_timeout);
    ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|e| TransportError::connection("cannot connect to Redis", e))
}

/// Capped exponential backoff with jitter: 100 ms doubling up to 30 s.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) const MIN: Duration = Duration::from_millis(100);
    pub(crate) const MAX: Duration = Duration::from_secs(30);

    pub(crate) fn new() -> Self {
        Self { next: Self::MIN }
    }

    /// The delay to wait now (between half and all of the current step); doubles the step.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        let jitter = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
        step.mul_f64(0.5 + jitter * 0.5)
    }

    pub(crate) fn reset(&mut self) {
        self.next = Self::MIN;
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
    fn backoff_doubles_and_caps() {
        let mut b = Backoff::new();
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        for _ in 0..20 {
            assert!(b.next_delay() <= Backoff::MAX);
        }
        assert_eq!(b.next, Backoff::MAX);
        b.reset();
        assert_eq!(b.next, Backoff::MIN);
    }
}
