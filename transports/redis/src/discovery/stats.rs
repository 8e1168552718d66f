//! Live per-method statistics of one service on one server: what the discovery heartbeat
//! publishes. The hot path (one call to [`MethodStats::record`] per request) is a hash
//! lookup done by the caller and a few relaxed atomic additions; only errors take a lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use clamator_core::ServiceDescriptor;

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
    /// Errors by code and the last error: touched only when a request failed.
    failures: Mutex<Failures>,
}

#[derive(Debug, Default)]
struct Failures {
    by_code: BTreeMap<i64, u64>,
    last: Option<LastError>,
}

impl MethodStats {
    /// Counts one handled request that took `took`; `error` is its error reply, if any.
    pub(crate) fn record(&self, took: Duration, error: Option<(i64, &str)>, now_ms: impl FnOnce() -> Option<i64>) {
        let ns = took.as_nanos().min(u64::MAX as u128) as u64;
        self.requests.fetch_add(1, Ordering::Relaxed);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_errors_and_times() {
        let stats = MethodStats::default();
        stats.record(Duration::from_millis(2), None, || None);
        stats.record(Duration::from_millis(4), Some((-32602, "Invalid params")), || Some(7));
        stats.record(Duration::from_millis(6), Some((-32602, "Invalid params")), || Some(9));
        let s = stats.snapshot();
        assert_eq!((s.requests, s.errors), (3, 2));
        assert_eq!(s.errors_by_code.get("-32602"), Some(&2));
        assert!((s.mean_ms - 4.0).abs() < 1e-9);
        assert!(s.recent_ms > 2.0 && s.recent_ms < 6.0, "{}", s.recent_ms);
        assert_eq!(s.last_error, Some(LastError { code: -32602, message: "Invalid params".into(), at_ms: Some(9) }));
    }
}
