//! Delivery counters of one server, all services together.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a server's delivery counters since it was built; see
/// [`RedisRpcServer::stats`](crate::RedisRpcServer::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Entries handled and acknowledged (replied to when they had a caller).
    pub completed: u64,
    /// Entries acknowledged without running because their caller's deadline had passed.
    pub expired: u64,
    /// Entries moved to a dead-letter stream after too many deliveries.
    pub dead_lettered: u64,
    /// Entries taken over from another consumer that had left them idle.
    pub reclaimed: u64,
    /// Held entries whose claim another consumer took over while this server held them
    /// (this server stalled longer than the claim idle time): they may run twice.
    pub leases_lost: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    completed: AtomicU64,
    expired: AtomicU64,
    dead_lettered: AtomicU64,
    reclaimed: AtomicU64,
    leases_lost: AtomicU64,
}

/// Which counter to add to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Completed,
    Expired,
    DeadLettered,
    Reclaimed,
    LeasesLost,
}

impl Counters {
    pub(crate) fn add(&self, counter: Counter, n: usize) {
        let cell = match counter {
            Counter::Completed => &self.completed,
            Counter::Expired => &self.expired,
            Counter::DeadLettered => &self.dead_lettered,
            Counter::Reclaimed => &self.reclaimed,
            Counter::LeasesLost => &self.leases_lost,
        };
        cell.fetch_add(n as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        {
            let name = match counter {
                Counter::Completed => "clamator_redis_completed_total",
                Counter::Expired => "clamator_redis_expired_total",
                Counter::DeadLettered => "clamator_redis_dead_lettered_total",
                Counter::Reclaimed => "clamator_redis_reclaimed_total",
                Counter::LeasesLost => "clamator_redis_leases_lost_total",
            };
            metrics::counter!(name).increment(n as u64);
        }
    }

    pub(crate) fn snapshot(&self) -> ServerStats {
        ServerStats {
            completed: self.completed.load(Ordering::Relaxed),
            expired: self.expired.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            reclaimed: self.reclaimed.load(Ordering::Relaxed),
            leases_lost: self.leases_lost.load(Ordering::Relaxed),
        }
    }
}
