//! Redis's clock, as seen from this process: deadlines are computed on it, never on a
//! client's clock, so clock skew between hosts cannot expire or keep a request by mistake.
//!
//! An entry id's millisecond part is Redis's time at `XADD`; a request's deadline is that
//! plus its `timeout-ms` call option. The server learns Redis's time with `TIME` (at start and
//! every minute) and advances it with the local monotonic clock in between.

use std::sync::Mutex;
use std::time::Duration;

use crate::conn::Conn;
use tokio::time::Instant;

/// How often the offset to Redis's clock is measured again.
pub(crate) const RECALIBRATE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Reading {
    /// Local monotonic time of the reading (mid-point of the round trip).
    at: Instant,
    /// Redis's Unix time in milliseconds at that moment.
    redis_ms: i64,
}

/// The last reading of Redis's clock.
#[derive(Debug, Default)]
pub(crate) struct RedisClock {
    reading: Mutex<Option<Reading>>,
}

impl RedisClock {
    /// Reads Redis's `TIME`.
    pub(crate) async fn calibrate(&self, conn: &mut Conn) -> redis::RedisResult<()> {
        let sent = Instant::now();
        let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(conn).await?;
        let received = Instant::now();
        let at = sent + (received - sent) / 2;
        let reading = Reading { at, redis_ms: secs * 1000 + micros / 1000 };
        *self.reading.lock().unwrap_or_else(|e| e.into_inner()) = Some(reading);
        Ok(())
    }

    /// Redis's current Unix time in ms, if a reading was taken.
    pub(crate) fn now_ms(&self) -> Option<i64> {
        let reading = (*self.reading.lock().unwrap_or_else(|e| e.into_inner()))?;
        let elapsed = i64::try_from(reading.at.elapsed().as_millis()).unwrap_or(i64::MAX);
        Some(reading.redis_ms.saturating_add(elapsed))
    }
}

/// Where a deadline given on Redis's clock falls on the local one, Redis's time being
/// `now_ms` now.
pub(crate) fn local_deadline(now_ms: i64, deadline_ms: i64) -> Instant {
    let now = Instant::now();
    match u64::try_from(deadline_ms.saturating_sub(now_ms)) {
        Ok(left) => now + Duration::from_millis(left),
        Err(_) => now,
    }
}

/// The millisecond part of a stream entry id: Redis's time at its `XADD`.
pub(crate) fn entry_id_ms(entry_id: &str) -> Option<i64> {
    let bytes = entry_id.as_bytes();
    let end = bytes.iter().position(|&b| b == b'-').unwrap_or(bytes.len());
    i64::try_from(crate::call_options::decimal(&bytes[..end])?).ok()
}

/// The deadline of an entry on Redis's clock: its id's millisecond part (`added_ms`, from
/// [`entry_id_ms`]) plus its `timeout-ms` call option. `None` when the entry has no timeout:
/// 0.1.9 clients send none.
pub(crate) fn entry_deadline_ms(added_ms: Option<i64>, timeout_ms: Option<u64>) -> Option<i64> {
    let timeout = i64::try_from(timeout_ms?).unwrap_or(i64::MAX);
    Some(added_ms?.saturating_add(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_id_time_plus_timeout() {
        let added = entry_id_ms("1700000000000-3");
        assert_eq!(entry_deadline_ms(added, Some(2500)), Some(1_700_000_002_500));
        assert_eq!(entry_deadline_ms(added, None), None);
        assert_eq!(entry_deadline_ms(added, Some(u64::MAX)), Some(i64::MAX));
        assert_eq!(entry_id_ms("garbage"), None);
        assert_eq!(entry_deadline_ms(entry_id_ms("garbage"), Some(5)), None);
    }

    #[tokio::test]
    async fn redis_time_maps_onto_the_local_clock() {
        let clock = RedisClock::default();
        assert_eq!(clock.now_ms(), None, "no reading, no time: such requests have no deadline");
        *clock.reading.lock().unwrap() = Some(Reading { at: Instant::now(), redis_ms: 10_000 });
        let now_ms = clock.now_ms().unwrap();
        assert!((10_000..10_100).contains(&now_ms));
        assert!(local_deadline(now_ms, 5_000) <= Instant::now());
        assert!(local_deadline(now_ms, now_ms + 2_000) > Instant::now() + Duration::from_millis(1900));
        assert_eq!(entry_id_ms("1700000000000-3"), Some(1_700_000_000_000));
    }
}
