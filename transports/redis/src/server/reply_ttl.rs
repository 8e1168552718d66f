//! When a reply carries a TTL refresh (`PEXPIRE`) of its reply stream.
//!
//! A server used to send `PEXPIRE` with every reply: one Redis command per call more than
//! the reply itself needs. Now it refreshes a stream's TTL at most once per third of that TTL
//! (tracked here, per worker), so a stream that receives replies never has less than two
//! thirds of its TTL left. Every other reply is an `XADD ... NOMKSTREAM`: it lands only in a
//! stream that exists (and so carries the TTL it was given). When the stream is gone (its
//! client stopped and deleted it, or Redis lost it), that `XADD` writes nothing and the
//! completion writer sends the reply again as `XADD` + `PEXPIRE`, so a re-created reply
//! stream always expires.

use foldhash::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked streams, those whose refresh is due are forgotten (and if that is
/// not enough, all of them: forgetting a stream costs one `PEXPIRE` more, nothing else).
const MAX_TRACKED: usize = 4096;

/// The last TTL refresh this worker sent, per reply stream.
#[derive(Debug, Default)]
pub(crate) struct ReplyTtls {
    last: Mutex<HashMap<String, Refresh>>,
}

#[derive(Debug, Clone, Copy)]
struct Refresh {
    at: Instant,
    ttl_ms: u64,
}

impl Refresh {
    /// Whether a reply at `now` with `ttl_ms` may go without a refresh.
    fn covers(&self, ttl_ms: u64, now: Instant) -> bool {
        self.ttl_ms == ttl_ms && now < self.at + Duration::from_millis(ttl_ms / 3)
    }
}

impl ReplyTtls {
    /// Whether a reply to `key` whose caller keeps `ttl_ms` must refresh the TTL at `now`.
    pub(crate) fn due(&self, key: &str, ttl_ms: u64, now: Instant) -> bool {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        !last.get(key).is_some_and(|r| r.covers(ttl_ms, now))
    }

    /// Records refreshes that Redis carried out at (or after) `at`.
    pub(crate) fn refreshed<'a>(&self, keys: impl IntoIterator<Item = (&'a str, u64)>, at: Instant) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        for (key, ttl_ms) in keys {
            if last.len() >= MAX_TRACKED && !last.contains_key(key) {
                last.retain(|_, r| r.covers(r.ttl_ms, at));
                if last.len() >= MAX_TRACKED {
                    last.clear();
                }
            }
            last.insert(key.to_owned(), Refresh { at, ttl_ms });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_covers_a_third_of_its_ttl_for_the_same_ttl() {
        let ttls = ReplyTtls::default();
        let t0 = Instant::now();
        assert!(ttls.due("k", 3000, t0));
        ttls.refreshed([("k", 3000)], t0);
        assert!(!ttls.due("k", 3000, t0 + Duration::from_millis(999)));
        assert!(ttls.due("k", 3000, t0 + Duration::from_millis(1000)));
        assert!(ttls.due("k", 6000, t0), "another TTL is refreshed at once");
        assert!(ttls.due("other", 3000, t0));
    }

    #[test]
    fn the_map_stays_bounded() {
        let ttls = ReplyTtls::default();
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED * 2 {
            ttls.refreshed([(format!("k{i}").as_str(), 60_000)], t0);
        }
        let len = ttls.last.lock().unwrap().len();
        assert!(len <= MAX_TRACKED, "{len}");
        assert!(!ttls.due(&format!("k{}", MAX_TRACKED * 2 - 1), 60_000, t0));
    }
}
