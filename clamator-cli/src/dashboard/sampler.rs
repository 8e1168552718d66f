//! Reads every service each interval and turns the counters servers publish into rates:
//! calls/s and errors/s are differences between two readings of the cumulative counters
//! (per live instance, so a restarted instance does not count negative), kept for the
//! sparklines, with the overview sent to every open page. Percentiles come from
//! [`latency`](super::latency).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clamator_over_redis::discovery::{ConsumerState, InspectOptions, Inspector, ServiceOverview};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::latency::Window;
use crate::cli::DashboardArgs;

/// Readings in a row that must not shrink (and end higher than they began) for a backlog to
/// count as growing.
const GROWING_OVER: usize = 5;

/// One service's sparkline series.
struct History {
    calls: VecDeque<f64>,
    errors: VecDeque<f64>,
    backlog: VecDeque<u64>,
    /// Cumulative (requests, errors) per instance at the last reading.
    counters: HashMap<String, (u64, u64)>,
    /// The readings the latency percentiles need.
    latency: Window,
}

impl History {
    fn new(window: Duration) -> Self {
        Self {
            calls: VecDeque::new(),
            errors: VecDeque::new(),
            backlog: VecDeque::new(),
            counters: HashMap::new(),
            latency: Window::new(window),
        }
    }

    fn push(&mut self, cap: usize, calls: f64, errors: f64, backlog: u64) {
        for (series, v) in [(&mut self.calls, calls), (&mut self.errors, errors)] {
            series.push_back(v);
            if series.len() > cap {
                series.pop_front();
            }
        }
        self.backlog.push_back(backlog);
        if self.backlog.len() > cap {
            self.backlog.pop_front();
        }
    }

    fn backlog_growing(&self) -> bool {
        let n = self.backlog.len();
        if n < GROWING_OVER {
            return false;
        }
        let window: Vec<u64> = self.backlog.iter().skip(n - GROWING_OVER).copied().collect();
        window.windows(2).all(|w| w[1] >= w[0]) && window[GROWING_OVER - 1] > window[0]
    }
}

/// Entries waiting: the group's lag, else the stream's length less what is pending; plus
/// what is pending (delivered, not yet acknowledged).
pub fn backlog(s: &ServiceOverview) -> (u64, u64) {
    match &s.group {
        Some(g) => (g.lag.unwrap_or_else(|| s.stream_length.saturating_sub(g.pending)), g.pending),
        None => (s.stream_length, 0),
    }
}

/// Requests and errors handled since the last reading, by the instances seen both times.
fn deltas(s: &ServiceOverview, history: &mut History) -> (u64, u64) {
    let mut now = HashMap::new();
    let (mut requests, mut errors) = (0, 0);
    for i in &s.instances {
        let r: u64 = i.methods.iter().map(|m| m.stats.requests).sum();
        let e: u64 = i.methods.iter().map(|m| m.stats.errors).sum();
        if let Some((r0, e0)) = history.counters.get(&i.instance) {
            requests += r.saturating_sub(*r0);
            errors += e.saturating_sub(*e0);
        }
        now.insert(i.instance.clone(), (r, e));
    }
    history.counters = now;
    (requests, errors)
}

/// The slowest mean and recent processing time over the methods that ran (ms).
fn processing_ms(s: &ServiceOverview) -> (Option<f64>, Option<f64>) {
    let ran = || s.instances.iter().flat_map(|i| &i.methods).filter(|m| m.stats.requests > 0);
    let requests: u64 = ran().map(|m| m.stats.requests).sum();
    let mean =
        (requests > 0).then(|| ran().map(|m| m.stats.mean_ms * m.stats.requests as f64).sum::<f64>() / requests as f64);
    (mean, ran().map(|m| m.stats.recent_ms).reduce(f64::max))
}

/// One service's line of the overview; `latency` is its [`Window`]'s figures.
fn service_json(s: &ServiceOverview, h: &History, rates: Option<(f64, f64)>, latency: Value) -> Value {
    let (lag, pending) = backlog(s);
    let live = s.consumers_in(ConsumerState::Live);
    let growing = h.backlog_growing();
    let mut problems = Vec::new();
    if live == 0 {
        problems.push("no live consumer");
    }
    if growing {
        problems.push("backlog growing");
    }
    if s.dead_letters > 0 {
        problems.push("dead letters");
    }
    let (mean_ms, recent_ms) = processing_ms(s);
    json!({
        "name": s.name,
        "callsPerSecond": rates.map(|r| r.0),
        "errorsPerSecond": rates.map(|r| r.1),
        "errorRate": rates.and_then(|(c, e)| (c > 0.0).then(|| e / c)),
        "requests": s.requests(),
        "errors": s.errors(),
        "meanMs": mean_ms,
        "recentMs": recent_ms,
        "latency": latency,
        "oldestWaitingMs": s.oldest_waiting_ms,
        "backlog": lag + pending,
        "lag": lag,
        "pending": pending,
        "instances": s.instances.len(),
        "consumers": {
            "live": live,
            "idle": s.consumers_in(ConsumerState::Idle),
            "dead": s.consumers_in(ConsumerState::Dead),
        },
        "deadLetters": s.dead_letters,
        "problems": problems,
        "history": { "calls": h.calls, "errors": h.errors, "backlog": h.backlog },
    })
}

/// Starts the reading task; the receiver always holds the latest overview.
pub fn spawn(inspector: Inspector, options: InspectOptions, args: &DashboardArgs) -> watch::Receiver<Arc<Value>> {
    let interval = args.interval.max(Duration::from_millis(100));
    let cap = ((args.history.as_secs_f64() / interval.as_secs_f64()).ceil() as usize).clamp(2, 600);
    let window = args.window;
    let (tx, rx) = watch::channel(Arc::new(json!({ "services": [], "loading": true })));
    tokio::spawn(async move {
        let mut histories: HashMap<String, History> = HashMap::new();
        let mut last_at: Option<Instant> = None;
        let mut last_good: Vec<Value> = Vec::new();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let read = inspector.services(&options).await;
            let now_ms = inspector.now_ms().await.ok();
            let at = Instant::now();
            let error = match read {
                Ok(services) => {
                    let secs = last_at.map(|t| at.duration_since(t).as_secs_f64().max(1e-3));
                    histories.retain(|name, _| services.iter().any(|s| &s.name == name));
                    last_good = services
                        .iter()
                        .map(|s| {
                            let h = histories.entry(s.name.clone()).or_insert_with(|| History::new(window));
                            let (requests, errors) = deltas(s, h);
                            // Only published (clamator-rs) instances count calls; a 0.1.9
                            // server's rate is unknown, not zero.
                            let rates = secs
                                .filter(|_| !s.instances.is_empty())
                                .map(|secs| (requests as f64 / secs, errors as f64 / secs));
                            let (lag, pending) = backlog(s);
                            if secs.is_some() {
                                let (c, e) = rates.unwrap_or((0.0, 0.0));
                                h.push(cap, c, e, lag + pending);
                            }
                            let latency = h.latency.update(&s.instances, at);
                            service_json(s, h, rates, latency)
                        })
                        .collect();
                    last_at = Some(at);
                    None
                }
                Err(e) => Some(crate::fail::one_line(&e)),
            };
            let overview = json!({
                "services": last_good,
                "error": error,
                "nowMs": now_ms,
                "intervalMs": interval.as_millis() as u64,
                "historySeconds": (cap as f64 * interval.as_secs_f64()).round(),
                "windowSeconds": window.as_secs_f64(),
            });
            if tx.send(Arc::new(overview)).is_err() {
                return;
            }
        }
    });
    rx
}
