//! The load harness shared by every scenario: N caller tasks loop calls on one shared client
//! for a warm-up period, then for the measured window; each call's latency is recorded, and
//! throughput is the number of calls completed inside the window divided by its length.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// How long to warm up and how long to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: Duration,
    pub measure: Duration,
}

/// One in-flight caller: owns whatever it needs (a client handle, a proxy) and makes one call
/// per `call`. One value per task, so no per-call cloning.
pub trait Caller: Send + 'static {
    fn call(&mut self, seq: u64) -> impl Future<Output = Result<(), String>> + Send + '_;
}

/// An edge of the measured window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

/// What a scenario measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Calls (or notifications handled) completed inside the window.
    pub calls: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub calls_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Latency samples behind the percentiles.
    pub samples: u64,
    /// Calls (or notifications) sent over the whole run, warm-up and the calls still in
    /// flight when the window closed included: one request each, for per-call counts of the
    /// whole run such as Redis commands.
    pub sent: u64,
}

struct TaskResult {
    latencies_ns: Vec<u32>,
    completed: u64,
    sent: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `callers` (one task each) in request/reply mode.
pub async fn run_calls<C: Caller>(plan: Plan, callers: Vec<C>) -> Outcome {
    run_calls_probed(plan, callers, |_| {}).await
}

/// [`run_calls`], calling `at_edge(Edge::Start)` as the measured window opens and
/// `at_edge(Edge::End)` as it closes (to read CPU counters over exactly the window).
pub async fn run_calls_probed<C: Caller>(plan: Plan, callers: Vec<C>, mut at_edge: impl FnMut(Edge)) -> Outcome {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let handles: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            let phase = Arc::clone(&phase);
            tokio::spawn(async move {
                let mut out = TaskResult::new();
                let mut seq = 0u64;
                while phase.load(Ordering::Relaxed) != STOP {
                    let started = Instant::now();
                    let result = caller.call(seq).await;
                    let elapsed = started.elapsed();
                    seq += 1;
                    out.sent = seq;
                    if phase.load(Ordering::Relaxed) != MEASURE {
                        continue;
                    }
                    out.record(result, elapsed);
                }
                out
            })
        })
        .collect();

    tokio::time::sleep(plan.warmup).await;
    at_edge(Edge::Start);
    phase.store(MEASURE, Ordering::Relaxed);
    let window_start = Instant::now();
    tokio::time::sleep(plan.measure).await;
    phase.store(STOP, Ordering::Relaxed);
    let seconds = window_start.elapsed().as_secs_f64();
    at_edge(Edge::End);

    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        match tokio::time::timeout(Duration::from_secs(30), handle).await {
            Ok(Ok(r)) => results.push(r),
            Ok(Err(e)) => results.push(failed_task(format!("caller task failed: {e}"))),
            Err(_) => results.push(failed_task("caller task did not finish within 30 s".into())),
        }
    }
    let completed = results.iter().map(|r| r.completed).sum::<u64>();
    summarize(results, completed, seconds)
}

/// Runs `callers` in notification mode: each call hands one notification to the transport;
/// throughput is what the server side counted in `handled` during the window. Senders pause
/// while more than `max_backlog` notifications are sent but not yet handled, so the measure
/// is the sustained handling rate, not how fast an unbounded queue fills.
pub async fn run_notify<C: Caller>(plan: Plan, callers: Vec<C>, handled: Arc<AtomicU64>, max_backlog: u64) -> Outcome {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let sent = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            let (phase, sent, handled) = (Arc::clone(&phase), Arc::clone(&sent), Arc::clone(&handled));
            tokio::spawn(async move {
                let mut out = TaskResult::new();
                let mut seq = 0u64;
                while phase.load(Ordering::Relaxed) != STOP {
                    if sent.load(Ordering::Relaxed).saturating_sub(handled.load(Ordering::Relaxed)) > max_backlog {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                    let started = Instant::now();
                    let result = caller.call(seq).await;
                    let elapsed = started.elapsed();
                    seq += 1;
                    sent.fetch_add(1, Ordering::Relaxed);
                    if phase.load(Ordering::Relaxed) != MEASURE {
                        continue;
                    }
                    out.record(result, elapsed);
                }
                out
            })
        })
        .collect();

    tokio::time::sleep(plan.warmup).await;
    phase.store(MEASURE, Ordering::Relaxed);
    let handled_start = handled.load(Ordering::Relaxed);
    let window_start = Instant::now();
    tokio::time::sleep(plan.measure).await;
    let handled_end = handled.load(Ordering::Relaxed);
    phase.store(STOP, Ordering::Relaxed);
    let seconds = window_start.elapsed().as_secs_f64();

    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        match tokio::time::timeout(Duration::from_secs(30), handle).await {
            Ok(Ok(r)) => results.push(r),
            Ok(Err(e)) => results.push(failed_task(format!("sender task failed: {e}"))),
            Err(_) => results.push(failed_task("sender task did not finish within 30 s".into())),
        }
    }
    summarize(results, handled_end - handled_start, seconds)
}

impl TaskResult {
    fn new() -> Self {
        TaskResult { latencies_ns: Vec::with_capacity(4096), completed: 0, sent: 0, errors: 0, first_error: None }
    }

    /// Counts one call made inside the measured window.
    fn record(&mut self, result: Result<(), String>, elapsed: Duration) {
        match result {
            Ok(()) => {
                self.completed += 1;
                self.latencies_ns.push(saturating_ns(elapsed));
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

fn failed_task(message: String) -> TaskResult {
    TaskResult { latencies_ns: Vec::new(), completed: 0, sent: 0, errors: 1, first_error: Some(message) }
}

fn saturating_ns(d: Duration) -> u32 {
    u32::try_from(d.as_nanos()).unwrap_or(u32::MAX)
}

fn summarize(results: Vec<TaskResult>, counted: u64, seconds: f64) -> Outcome {
    let errors = results.iter().map(|r| r.errors).sum();
    let sent = results.iter().map(|r| r.sent).sum();
    let first_error = results.iter().find_map(|r| r.first_error.clone());
    let mut all: Vec<u32> = Vec::with_capacity(results.iter().map(|r| r.latencies_ns.len()).sum());
    for r in results {
        all.extend_from_slice(&r.latencies_ns);
    }
    let samples = all.len() as u64;
    let p50_us = percentile(&mut all, 0.50) / 1000.0;
    let p99_us = percentile(&mut all, 0.99) / 1000.0;
    Outcome {
        calls: counted,
        errors,
        first_error,
        seconds,
        calls_per_sec: if seconds > 0.0 { counted as f64 / seconds } else { 0.0 },
        p50_us,
        p99_us,
        sent,
        samples,
    }
}

/// Nearest-rank percentile (the value at rank ceil(q * n)), in the samples' unit; NaN when
/// there are none. The Python reference uses the same definition.
pub fn percentile(samples: &mut [u32], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
    let (_, value, _) = samples.select_nth_unstable(rank - 1);
    f64::from(*value)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 0.5), 50.0);
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        assert_eq!(percentile(&mut [7], 0.99), 7.0);
        assert!(percentile(&mut [], 0.5).is_nan());
    }
}
