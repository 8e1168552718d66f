//! Latency histograms with one fixed bucket scheme, so a reader can add up and subtract the
//! histograms of any instances and readings: processing time and queue wait per method.
//!
//! **The scheme** (`log2x4-us`): durations in whole microseconds `v`, four buckets per power
//! of two. Buckets 0 to 7 hold one value each (`v` = 0..=7 µs); from there, bucket
//! `i = 4·(m − 1) + s` holds `[(4 + s)·2^(m−2), (5 + s)·2^(m−2))` µs, where `m = ⌊log2 v⌋` and
//! `s` (0..=3) is the two bits after the leading one. A bucket is at most 25% wider than its
//! lower bound (so a quantile is known to within that). Bucket 99 ends at 2^26 µs (about
//! 67 s); bucket 100 holds everything longer.
//!
//! **Recording** is one bucket index (a leading-zero count and two shifts) and one relaxed
//! atomic addition.
//!
//! **Published** as `{"scheme": "log2x4-us", "counts": [[bucket, count], ...]}`, non-empty
//! buckets only, counts cumulative since the server started. A reader that meets another
//! scheme reads an empty histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The number of buckets (the last one is the overflow bucket).
pub const BUCKETS: usize = 101;

/// The name of the bucket scheme, as published.
pub const SCHEME: &str = "log2x4-us";

const OVERFLOW: usize = BUCKETS - 1;

/// The bucket of a duration of `us` whole microseconds.
#[inline]
pub fn bucket_of_micros(us: u64) -> usize {
    if us < 8 {
        return us as usize;
    }
    let m = 63 - us.leading_zeros(); // ⌊log2 us⌋, at least 3
    let index = 4 * (m as usize - 1) + ((us >> (m - 2)) & 3) as usize;
    index.min(OVERFLOW)
}

/// Whole microseconds of `d`, saturating.
#[inline]
fn micros(d: Duration) -> u64 {
    d.as_secs().saturating_mul(1_000_000).saturating_add(u64::from(d.subsec_micros()))
}

/// The bucket of duration `d`.
#[inline]
pub fn bucket_of(d: Duration) -> usize {
    bucket_of_micros(micros(d))
}

/// The bounds of bucket `i` in microseconds: from (inclusive), to (exclusive; `None` for the
/// overflow bucket and beyond).
pub fn bucket_bounds_micros(i: usize) -> (u64, Option<u64>) {
    if i < 8 {
        return (i as u64, Some(i as u64 + 1));
    }
    if i >= OVERFLOW {
        return (1 << 26, None);
    }
    let (m, s) = (i / 4 + 1, (i % 4) as u64);
    ((4 + s) << (m - 2), Some((5 + s) << (m - 2)))
}

/// The live histogram a server records into.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    buckets: [AtomicU64; BUCKETS],
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        Self { buckets: std::array::from_fn(|_| AtomicU64::new(0)) }
    }
}

impl AtomicHistogram {
    /// Counts one duration.
    #[inline]
    pub(crate) fn record(&self, d: Duration) {
        // The index is always in range; `get` keeps the bounds check out of sight.
        if let Some(bucket) = self.buckets.get(bucket_of(d)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts so far.
    pub(crate) fn snapshot(&self) -> LatencyHistogram {
        LatencyHistogram { counts: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect() }
    }
}

/// A latency histogram in the fixed scheme of this module (see [`SCHEME`]): counts per
/// bucket, to add up across instances, subtract between two readings, and ask for quantiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Published", into = "Published")]
pub struct LatencyHistogram {
    /// Always [`BUCKETS`] long.
    counts: Vec<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS] }
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `n` more durations of `d` (for readers that build one, and for tests).
    pub fn record_n(&mut self, d: Duration, n: u64) {
        let i = bucket_of(d);
        self.counts[i] = self.counts[i].saturating_add(n);
    }

    /// The count in each bucket ([`BUCKETS`] of them).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// How many durations it holds.
    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, c| a.saturating_add(*c))
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| *c == 0)
    }

    /// Adds `other`'s counts (the same method on another instance, say).
    pub fn add(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
    }

    /// What was counted after `earlier`, an older reading of the same histogram: the
    /// bucket-by-bucket difference (a bucket that shrank, as after a restart, counts 0).
    pub fn since(&self, earlier: &Self) -> Self {
        Self { counts: self.counts.iter().zip(&earlier.counts).map(|(a, b)| a.saturating_sub(*b)).collect() }
    }

    /// The `q` quantile (`0.5` for the median, `0.99` for p99; clamped to 0..=1), `None` when
    /// empty or `q` is NaN. It lies in the bucket that holds the true quantile (so it is off by
    /// less than that bucket's width, at most 25%), placed in the bucket by linear
    /// interpolation of the rank; in the overflow bucket it is that bucket's lower bound
    /// (2^26 µs).
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 || q.is_nan() {
            return None;
        }
        // The rank of the quantile: 1..=total.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            if seen + c >= rank {
                let (from, to) = bucket_bounds_micros(i);
                let us = match to {
                    Some(to) => from as f64 + (to - from) as f64 * ((rank - seen) as f64 - 0.5) / c as f64,
                    None => from as f64,
                };
                return Some(Duration::from_nanos((us * 1000.0) as u64));
            }
            seen += c;
        }
        None
    }

    /// [`quantile`](Self::quantile) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        self.quantile(q).map(|d| d.as_secs_f64() * 1000.0)
    }
}

/// The published form: the scheme's name and the non-empty buckets as `[bucket, count]`.
#[derive(Serialize, Deserialize)]
struct Published {
    scheme: String,
    #[serde(default)]
    counts: Vec<(u64, u64)>,
}

impl From<Published> for LatencyHistogram {
    fn from(p: Published) -> Self {
        let mut h = Self::default();
        if p.scheme == SCHEME {
            for (i, c) in p.counts {
                if let Some(slot) = usize::try_from(i).ok().and_then(|i| h.counts.get_mut(i)) {
                    *slot = slot.saturating_add(c);
                }
            }
        }
        h
    }
}

impl From<LatencyHistogram> for Published {
    fn from(h: LatencyHistogram) -> Self {
        let counts = h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (i as u64, *c)).collect();
        Self { scheme: SCHEME.to_owned(), counts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_hold_their_values() {
        assert_eq!(bucket_bounds_micros(0), (0, Some(1)));
        for i in 0..OVERFLOW {
            let (from, to) = bucket_bounds_micros(i);
            let to = to.unwrap();
            assert_eq!(bucket_bounds_micros(i + 1).0, to, "bucket {i} ends where {} starts", i + 1);
            assert_eq!(bucket_of_micros(from), i, "{from} µs");
            assert_eq!(bucket_of_micros(to - 1), i, "{} µs", to - 1);
            // at most 25% wider than the lower bound (beyond the exact buckets)
            assert!(i < 8 || (to - from) * 4 <= from, "bucket {i}: {from}..{to}");
        }
        assert_eq!(bucket_bounds_micros(OVERFLOW), (1 << 26, None));
        assert_eq!(bucket_of_micros((1 << 26) - 1), OVERFLOW - 1);
        assert_eq!(bucket_of_micros(1 << 26), OVERFLOW);
        assert_eq!(bucket_of_micros(u64::MAX), OVERFLOW);
        assert_eq!(bucket_of(Duration::MAX), OVERFLOW);
        // a few by hand: 10 µs, 1 ms, 50 ms, 60 s
        assert_eq!(bucket_bounds_micros(bucket_of(Duration::from_micros(10))), (10, Some(12)));
        assert_eq!(bucket_bounds_micros(bucket_of(Duration::from_millis(1))), (896, Some(1024)));
        assert_eq!(bucket_bounds_micros(bucket_of(Duration::from_millis(50))), (49_152, Some(57_344)));
        assert_eq!(bucket_of(Duration::from_secs(60)), OVERFLOW - 1);
        assert_eq!(bucket_of(Duration::from_nanos(999)), 0);
    }

    #[test]
    fn quantiles_fall_in_the_right_bucket() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.quantile(0.5), None);
        // 1..=1000 ms, one each: p50 is 500 ms, p99 990 ms, within one bucket's width
        for ms in 1..=1000 {
            h.record_n(Duration::from_millis(ms), 1);
        }
        assert_eq!(h.count(), 1000);
        for (q, want) in [(0.5, 500.0), (0.99, 990.0), (0.01, 10.0), (1.0, 1000.0)] {
            let got = h.quantile_ms(q).unwrap();
            let (from, to) = bucket_bounds_micros(bucket_of(Duration::from_millis(want as u64)));
            let width_ms = (to.unwrap() - from) as f64 / 1000.0;
            assert!((got - want).abs() <= width_ms, "q{q}: {got} ms, want {want} ± {width_ms}");
            assert_eq!(bucket_of(Duration::from_secs_f64(got / 1000.0)), bucket_of(Duration::from_millis(want as u64)));
        }
        // exact in the one-value buckets
        let mut small = LatencyHistogram::new();
        small.record_n(Duration::from_micros(3), 10);
        assert_eq!(small.quantile(0.5).unwrap().as_micros(), 3);
        // the overflow bucket answers its lower bound; out-of-range q is clamped
        let mut long = LatencyHistogram::new();
        long.record_n(Duration::from_secs(3600), 1);
        assert_eq!(long.quantile(0.99), Some(Duration::from_micros(1 << 26)));
        assert_eq!(long.quantile(7.0), long.quantile(1.0));
        assert_eq!(long.quantile(f64::NAN), None);
    }

    #[test]
    fn adds_and_subtracts_readings() {
        let (a, b) = (AtomicHistogram::default(), AtomicHistogram::default());
        for _ in 0..10 {
            a.record(Duration::from_millis(2));
        }
        let before = a.snapshot();
        for _ in 0..30 {
            a.record(Duration::from_millis(80));
        }
        b.record(Duration::from_millis(80));
        let window = a.snapshot().since(&before);
        assert_eq!(window.count(), 30);
        assert!(window.quantile_ms(0.5).unwrap() > 70.0);
        let mut total = a.snapshot();
        total.add(&b.snapshot());
        assert_eq!(total.count(), 41);
        // a restarted instance's smaller counts do not go negative
        assert_eq!(before.since(&a.snapshot()).count(), 0);
    }

    #[test]
    fn published_sparse_and_read_back() {
        let mut h = LatencyHistogram::new();
        h.record_n(Duration::from_micros(5), 2);
        h.record_n(Duration::from_millis(1), 3);
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json, serde_json::json!({ "scheme": "log2x4-us", "counts": [[5, 2], [35, 3]] }));
        assert_eq!(serde_json::from_value::<LatencyHistogram>(json).unwrap(), h);
        // another scheme, or buckets out of range: nothing counted, nothing refused
        let other = serde_json::json!({ "scheme": "hdr-ns", "counts": [[5, 2]] });
        assert!(serde_json::from_value::<LatencyHistogram>(other).unwrap().is_empty());
        let odd = serde_json::json!({ "scheme": "log2x4-us", "counts": [[5000, 2], [1, 1]] });
        assert_eq!(serde_json::from_value::<LatencyHistogram>(odd).unwrap().count(), 1);
    }
}
