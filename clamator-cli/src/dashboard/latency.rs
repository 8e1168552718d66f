//! p50 and p99 of processing time and queue wait, per service and per method, over a recent
//! window: servers publish cumulative histograms (one bucket scheme for all), so the window
//! is this reading's histograms less those of a reading at least `--window` old, added up
//! across the instances. Until the dashboard has watched for a whole window (or for an
//! instance that started within it) the counts since the instance started stand in.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use clamator_over_redis::discovery::{InstanceInfo, LatencyHistogram};
use serde_json::{json, Value};

use crate::format::percentiles_json;

/// Processing time and queue wait of one method on one instance, or added up.
#[derive(Clone, Default)]
struct Pair {
    processing: LatencyHistogram,
    queue_wait: LatencyHistogram,
}

impl Pair {
    fn add(&mut self, other: &Pair) {
        self.processing.add(&other.processing);
        self.queue_wait.add(&other.queue_wait);
    }

    fn since(&self, earlier: &Pair) -> Pair {
        Pair {
            processing: self.processing.since(&earlier.processing),
            queue_wait: self.queue_wait.since(&earlier.queue_wait),
        }
    }

    fn json(&self) -> Value {
        json!({ "processing": percentiles_json(&self.processing), "queueWait": percentiles_json(&self.queue_wait) })
    }
}

/// One reading: the cumulative histograms by (instance, method).
struct Reading {
    at: Instant,
    methods: HashMap<(String, String), Pair>,
}

/// The readings of one service that the window needs.
pub struct Window {
    span: Duration,
    readings: VecDeque<Reading>,
}

impl Window {
    /// A window of `span`.
    pub fn new(span: Duration) -> Self {
        Self { span, readings: VecDeque::new() }
    }

    /// Takes the reading of `instances` made at `at` and returns the window's figures:
    /// `windowSeconds` (`null`: since the instances started), the service's `processing`
    /// and `queueWait` (each `count`, `p50Ms`, `p99Ms`; all methods together), and the same
    /// per method in `methods`.
    pub fn update(&mut self, instances: &[InstanceInfo], at: Instant) -> Value {
        let mut order: Vec<&str> = Vec::new();
        let mut now = HashMap::new();
        for i in instances {
            for m in &i.methods {
                if !order.contains(&m.name.as_str()) {
                    order.push(&m.name);
                }
                let pair = Pair { processing: m.stats.processing.clone(), queue_wait: m.stats.queue_wait.clone() };
                now.insert((i.instance.clone(), m.name.clone()), pair);
            }
        }
        // The newest reading at least a window old is the baseline; older ones are dropped.
        while self.readings.len() >= 2 && at.duration_since(self.readings[1].at) >= self.span {
            self.readings.pop_front();
        }
        let base = self.readings.front().filter(|r| at.duration_since(r.at) >= self.span);
        let mut by_method: HashMap<&str, Pair> = HashMap::new();
        for ((instance, method), pair) in &now {
            let window = match base.and_then(|b| b.methods.get(&(instance.clone(), method.clone()))) {
                Some(earlier) => pair.since(earlier),
                None => pair.clone(),
            };
            by_method.entry(method.as_str()).or_default().add(&window);
        }
        let mut total = Pair::default();
        let methods: Vec<Value> = order
            .iter()
            .map(|name| {
                let pair = by_method.get(name).cloned().unwrap_or_default();
                total.add(&pair);
                let mut line = pair.json();
                line["name"] = json!(name);
                line
            })
            .collect();
        let seconds = base.map(|b| at.duration_since(b.at).as_secs_f64());
        self.readings.push_back(Reading { at, methods: now });
        let mut out = total.json();
        out["windowSeconds"] = json!(seconds);
        out["methods"] = json!(methods);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A published document of `instance` whose method `m` handled `n` requests of `ms`
    /// each, after waiting `wait_ms`.
    fn instance(instance: &str, counts: &[(u64, u64, u64)]) -> InstanceInfo {
        let mut processing = LatencyHistogram::new();
        let mut queue_wait = LatencyHistogram::new();
        for &(n, ms, wait_ms) in counts {
            processing.record_n(Duration::from_millis(ms), n);
            queue_wait.record_n(Duration::from_millis(wait_ms), n);
        }
        let stats = json!({
            "requests": processing.count(), "errors": 0, "meanMs": 0.0, "recentMs": 0.0,
            "processingHistogram": processing, "queueWaitHistogram": queue_wait,
        });
        serde_json::from_value(json!({
            "service": "s", "instance": instance, "consumer": format!("s:{instance}"), "library": "clamator-rs",
            "libraryVersion": "0", "startedAtMs": 0, "heartbeatAtMs": 0, "heartbeatIntervalMs": 5000,
            "concurrency": 1, "methods": [{ "name": "m", "kind": "method", "stats": stats }],
        }))
        .unwrap()
    }

    fn p50(v: &Value, what: &str) -> f64 {
        v[what]["p50Ms"].as_f64().unwrap()
    }

    #[test]
    fn since_start_then_over_the_window_across_instances() {
        let t0 = Instant::now();
        let mut w = Window::new(Duration::from_secs(10));
        // first reading: no baseline, the counts since start
        let first = w.update(&[instance("a", &[(10, 100, 5)])], t0);
        assert_eq!(first["windowSeconds"], Value::Null);
        assert_eq!(first["processing"]["count"], 10);
        assert!((87.0..=113.0).contains(&p50(&first, "processing")), "{first}");
        // within the window: still since start
        let mid = w.update(&[instance("a", &[(10, 100, 5), (5, 2, 1)])], t0 + Duration::from_secs(5));
        assert_eq!(mid["windowSeconds"], Value::Null);
        assert_eq!(mid["processing"]["count"], 15);
        // a window later: only what ran since the first reading, plus all of a new instance
        let later = [instance("a", &[(10, 100, 5), (30, 2, 1)]), instance("b", &[(20, 2, 1)])];
        let v = w.update(&later, t0 + Duration::from_secs(11));
        assert_eq!(v["windowSeconds"], 11.0);
        assert_eq!(v["processing"]["count"], 50);
        assert!(p50(&v, "processing") < 3.0 && p50(&v, "queueWait") < 2.0, "{v}");
        assert_eq!(v["methods"][0]["name"], "m");
        assert_eq!(v["methods"][0]["queueWait"]["count"], 50);
        // nothing ran in the window: no percentiles, counted 0
        let quiet = w.update(&later, t0 + Duration::from_secs(30));
        assert_eq!(quiet["processing"]["count"], 0);
        assert_eq!(quiet["processing"]["p99Ms"], Value::Null);
        assert!(w.readings.len() <= 2, "old readings are dropped");
    }
}
