//! Live per-method statistics of one service on one server: what the discovery heartbeat
//! publishes. The hot path (one call to [`MethodStats::record`] per request) is a hash
//! lookup done by the caller and a few relaxed atomic additions (two of them into the
//! latency histograms, each after one bucket index); only errors take a lock.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use clamator_core::ServiceDescriptor;

use super::histogram::{AtomicHistogram, LatencyHistogram};

/// The weight of the newest duration in the "recent" mean: 1/8 (an exponential moving
/// average over roughly the last 8-16 requests).
const RECENT_SHIFT: u32 = 3;

/// Counters of one method; built once per method when the service starts.
#[derive(Debug, Default)]
pub(crate) struct MethodStats {
    requests: AtomicU64,
    errors: AtomicU64,
    total_ns: AtomicU64,
    recent_ns: AtomicU64,
    /// Processing times.
    processing: AtomicHistogram,
    /// Queue waits (when the server knew Redis's clock).
    queue_wait: AtomicHistogram,
    /// Errors by code and the last error: touched only when a request failed.
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    by_code: BTreeMap<i64, u64>,
    last: Option<LastError>,
}

impl MethodStats {
    /// Counts one handled request that took `took` after waiting `queue_wait` in the stream
    /// (when known); `error` is its error reply, if any.
    pub(crate) fn record(
        &self,
        took: Duration,
        queue_wait: Option<Duration>,
        error: Option<(i64, &str)>,
        now_ms: impl FnOnce() -> Option<i64>,
    ) {
        let ns = took.as_nanos().min(u64::MAX as u128) as u64;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.processing.record(took);
        if let Some(wait) = queue_wait {
            self.queue_wait.record(wait);
        }
        self.total_ns.fetch_add(ns, Ordering::Relaxed);
        let _ = self.recent_ns.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
            Some(if old == 0 { ns } else { old - (old >> RECENT_SHIFT) + (ns >> RECENT_SHIFT) })
        });
        if let Some((code, message)) = error {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            *failures.by_code.entry(code).or_insert(0) += 1;
            failures.last = Some(LastError { code, message: message.to_owned(), at_ms: now_ms() });
        }
    }

    fn snapshot(&self) -> MethodStatsSnapshot {
        let requests = self.requests.load(Ordering::Relaxed);
        let total_ns = self.total_ns.load(Ordering::Relaxed);
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        MethodStatsSnapshot {
            requests,
            errors: self.errors.load(Ordering::Relaxed),
            errors_by_code: failures.by_code.iter().map(|(code, n)| (code.to_string(), *n)).collect(),
            mean_ms: if requests == 0 { 0.0 } else { total_ns as f64 / requests as f64 / 1e6 },
            recent_ms: self.recent_ns.load(Ordering::Relaxed) as f64 / 1e6,
            last_error: failures.last.clone(),
            processing: self.processing.snapshot(),
            queue_wait: self.queue_wait.snapshot(),
        }
    }
}

/// The counters of every method of one service, keyed by wire name.
#[derive(Debug)]
pub(crate) struct ServiceStats {
    methods: HashMap<Box<str>, MethodStats>,
}

impl ServiceStats {
    /// One set of counters per method of `descriptor`.
    pub(crate) fn new(descriptor: &ServiceDescriptor) -> Self {
        let methods = descriptor.methods.iter().map(|m| (Box::from(&*m.name), MethodStats::default())).collect();
        Self { methods }
    }

    /// The counters of method `name` (`None` for a method the service does not have).
    pub(crate) fn method(&self, name: &str) -> Option<&MethodStats> {
        self.methods.get(name)
    }

    /// A snapshot of method `name`'s counters.
    pub(crate) fn snapshot(&self, name: &str) -> MethodStatsSnapshot {
        self.methods.get(name).map(MethodStats::snapshot).unwrap_or_default()
    }
}

/// The last error a method answered with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LastError {
    /// The JSON-RPC error code.
    pub code: i64,
    /// Its message.
    pub message: String,
    /// When, Redis Unix time in ms (when the server knew Redis's clock).
    #[serde(default)]
    pub at_ms: Option<i64>,
}

/// A method's statistics since its server started, as published.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MethodStatsSnapshot {
    /// Requests and notifications handled (run to the end, whatever the outcome).
    pub requests: u64,
    /// Of those, the ones answered with an error.
    pub errors: u64,
    /// Errors by JSON-RPC code (as a string, a JSON object key).
    #[serde(default)]
    pub errors_by_code: BTreeMap<String, u64>,
    /// Mean processing time (dispatch: validation and handler), ms.
    pub mean_ms: f64,
    /// Recent processing time: a moving average weighted 1/8 to the newest request, ms.
    pub recent_ms: f64,
    /// The last error answered, if any.
    #[serde(default)]
    pub last_error: Option<LastError>,
    /// Processing times (as `mean_ms`) since the server started, bucketed: for percentiles.
    /// Absent from documents of servers before it (read as empty).
    #[serde(default, rename = "processingHistogram", skip_serializing_if = "LatencyHistogram::is_empty")]
    pub processing: LatencyHistogram,
    /// Queue waits since the server started, bucketed: from when the entry was added (its id,
    /// Redis's clock) to when the server started handling it (Redis's clock as the server
    /// tracks it), whole milliseconds. Requests handled while the server did not know
    /// Redis's clock are not in it.
    #[serde(default, rename = "queueWaitHistogram", skip_serializing_if = "LatencyHistogram::is_empty")]
    pub queue_wait: LatencyHistogram,
}

impl MethodStatsSnapshot {
    /// What happened between `earlier`, an older reading of the same method on the same
    /// instance, and this one: requests, errors (also by code) and histograms subtracted,
    /// `mean_ms` the mean over the window (0 when nothing ran); `recent_ms` and `last_error`
    /// are this reading's. With [`LatencyHistogram::quantile`] this gives percentiles over
    /// any window a reader has two readings for.
    pub fn since(&self, earlier: &Self) -> Self {
        let requests = self.requests.saturating_sub(earlier.requests);
        let total_ms = self.mean_ms * self.requests as f64 - earlier.mean_ms * earlier.requests as f64;
        let errors_by_code = self
            .errors_by_code
            .iter()
            .map(|(code, n)| (code.clone(), n.saturating_sub(earlier.errors_by_code.get(code).copied().unwrap_or(0))))
            .filter(|(_, n)| *n > 0)
            .collect();
        Self {
            requests,
            errors: self.errors.saturating_sub(earlier.errors),
            errors_by_code,
            mean_ms: if requests == 0 { 0.0 } else { (total_ms / requests as f64).max(0.0) },
            recent_ms: self.recent_ms,
            last_error: self.last_error.clone(),
            processing: self.processing.since(&earlier.processing),
            queue_wait: self.queue_wait.since(&earlier.queue_wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_errors_and_times() {
        let stats = MethodStats::default();
        stats.record(Duration::from_millis(2), Some(Duration::from_millis(1)), None, || None);
        stats.record(Duration::from_millis(4), None, Some((-32602, "Invalid params")), || Some(7));
        stats.record(Duration::from_millis(6), Some(Duration::ZERO), Some((-32602, "Invalid params")), || Some(9));
        let s = stats.snapshot();
        assert_eq!((s.requests, s.errors), (3, 2));
        assert_eq!(s.errors_by_code.get("-32602"), Some(&2));
        assert!((s.mean_ms - 4.0).abs() < 1e-9);
        assert!(s.recent_ms > 2.0 && s.recent_ms < 6.0, "{}", s.recent_ms);
        assert_eq!(s.last_error, Some(LastError { code: -32602, message: "Invalid params".into(), at_ms: Some(9) }));
        // every request's processing time; the queue waits that were known
        assert_eq!((s.processing.count(), s.queue_wait.count()), (3, 2));
        let p50 = s.processing.quantile_ms(0.5).unwrap();
        assert!((3.5..=4.5).contains(&p50), "{p50}");
        assert!(s.queue_wait.quantile_ms(0.99).unwrap() >= 0.896, "{:?}", s.queue_wait.quantile_ms(0.99));
    }

    #[test]
    fn a_window_between_two_readings() {
        let stats = MethodStats::default();
        stats.record(Duration::from_millis(1), None, Some((-1, "x")), || None);
        let before = stats.snapshot();
        for _ in 0..4 {
            stats.record(Duration::from_millis(10), Some(Duration::from_millis(3)), None, || None);
        }
        stats.record(Duration::from_millis(10), None, Some((-2, "y")), || None);
        let w = stats.snapshot().since(&before);
        assert_eq!((w.requests, w.errors), (5, 1));
        assert_eq!(w.errors_by_code, BTreeMap::from([("-2".to_owned(), 1)]));
        assert!((w.mean_ms - 10.0).abs() < 1e-6, "{}", w.mean_ms);
        assert_eq!((w.processing.count(), w.queue_wait.count()), (5, 4));
        let p50 = w.processing.quantile_ms(0.5).unwrap();
        assert!((8.0..=12.0).contains(&p50), "{p50}");
    }

    #[test]
    fn documents_without_histograms_still_parse() {
        let old = r#"{"requests":3,"errors":0,"meanMs":1.5,"recentMs":1.0}"#;
        let s: MethodStatsSnapshot = serde_json::from_str(old).unwrap();
        assert_eq!(s.requests, 3);
        assert!(s.processing.is_empty() && s.queue_wait.is_empty());
        let stats = MethodStats::default();
        stats.record(Duration::from_micros(120), Some(Duration::from_millis(2)), None, || None);
        let json = serde_json::to_value(stats.snapshot()).unwrap();
        assert_eq!(json["processingHistogram"]["scheme"], "log2x4-us");
        assert_eq!(json["queueWaitHistogram"]["counts"].as_array().unwrap().len(), 1);
        assert_eq!(serde_json::from_value::<MethodStatsSnapshot>(json).unwrap(), stats.snapshot());
    }

    /// The hot path's cost, for callgrind (bench/changes.md): `RECORD_N` calls of
    /// [`MethodStats::record`] in [`record_loop`], durations spread over a few buckets.
    #[test]
    #[ignore = "a measurement harness, run by hand under callgrind"]
    fn record_cost() {
        let n = std::env::var("RECORD_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
        record_loop(&MethodStats::default(), n);
    }

    #[inline(never)]
    fn record_loop(stats: &MethodStats, n: u64) {
        for i in 0..n {
            let took = std::hint::black_box(Duration::from_nanos(20_000 + (i % 64) * 7_919));
            stats.record(took, Some(took), None, || None);
        }
    }
}
