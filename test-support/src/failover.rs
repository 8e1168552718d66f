//! Calls under a failover: several callers call without pause while a Redis master is
//! killed, and every call is accounted for (its outcome client side, its executions server
//! side), with the window in which calls failed or timed out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clamator::{CallOptions, Error, RpcClient, TransportError};
use serde_json::json;

use crate::counting::Executions;

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// `NotSent` or `Connection`: certainly not written.
    NotSent,
    OutcomeUnknown,
    Timeout,
    Other,
}

/// One call: its key, service, when it started and ended (relative to the kill, in ms;
/// negative before it), how it ended.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub key: String,
    pub service: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub outcome: Outcome,
    pub error: Option<String>,
}

/// Every call made around a failover.
#[derive(Debug, Clone)]
pub struct FailoverReport {
    pub calls: Vec<CallRecord>,
}

impl FailoverReport {
    /// Calls that ended with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.calls.iter().filter(|c| c.outcome == outcome).count()
    }

    /// Calls that did not succeed.
    pub fn failed(&self) -> Vec<&CallRecord> {
        self.calls.iter().filter(|c| c.outcome != Outcome::Ok).collect()
    }

    /// From the kill to the end of the last call that did not succeed (zero when none failed).
    pub fn window(&self) -> Duration {
        let last = self.failed().iter().map(|c| c.ended_ms).max().unwrap_or(0);
        Duration::from_millis(u64::try_from(last).unwrap_or(0))
    }

    /// From the kill to the end of the first successful call started after it.
    pub fn resumed(&self) -> Option<Duration> {
        let first =
            self.calls.iter().filter(|c| c.outcome == Outcome::Ok && c.started_ms >= 0).map(|c| c.ended_ms).min();
        first.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
    }

    /// One line for the logs.
    pub fn summary(&self) -> String {
        format!(
            "{} calls: {} ok, {} not sent, {} outcome unknown, {} timed out, {} other; first success after the kill at {:?}, failures until {:?}",
            self.calls.len(),
            self.count(Outcome::Ok),
            self.count(Outcome::NotSent),
            self.count(Outcome::OutcomeUnknown),
            self.count(Outcome::Timeout),
            self.count(Outcome::Other),
            self.resumed(),
            self.window(),
        )
    }

    /// Checks every call against the executions: a succeeded call ran, a call reported
    /// not sent did not run. Returns the keys that ran more than once (possible when a
    /// master dies: replication is asynchronous, a pending entry's delivery may be lost).
    pub fn check(&self, executions: &Executions) -> Vec<String> {
        for call in &self.calls {
            let runs = executions.count(&call.key);
            match call.outcome {
                Outcome::Ok => assert!(runs >= 1, "{call:?} succeeded but never ran"),
                Outcome::NotSent => assert_eq!(runs, 0, "{call:?} was reported not sent but ran"),
                _ => {}
            }
        }
        self.calls.iter().filter(|c| executions.count(&c.key) > 1).map(|c| c.key.clone()).collect()
    }
}

/// The load run through a failover.
#[derive(Debug, Clone)]
pub struct FailoverLoad {
    /// Services called (method `hit`).
    pub services: Vec<String>,
    /// Callers per service, each calling without pause.
    pub callers: usize,
    /// Each call's timeout.
    pub timeout: Duration,
    /// Calls before the kill.
    pub warmup: Duration,
    /// Successful calls in a row, after the kill, each caller must make.
    pub resumed: usize,
    /// How long after the kill they may take.
    pub limit: Duration,
}

impl Default for FailoverLoad {
    fn default() -> Self {
        Self {
            services: vec!["tally".to_owned()],
            callers: 4,
            timeout: Duration::from_secs(3),
            warmup: Duration::from_secs(1),
            resumed: 20,
            limit: Duration::from_secs(60),
        }
    }
}

/// Runs `load` with `client`, calls `kill` after the warmup, and goes on until every caller
/// has resumed (panics if that takes longer than the limit).
pub async fn calls_through_failover<C>(client: C, load: FailoverLoad, kill: impl FnOnce()) -> FailoverReport
where
    C: RpcClient + Clone + Send + Sync + 'static,
{
    let FailoverLoad { services, callers, timeout, warmup, resumed, limit } = load;
    let records = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let kill_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let epoch = Instant::now();
    let mut tasks = Vec::new();
    for service in &services {
        for caller in 0..callers {
            let (client, records, stop, kill_at) =
                (client.clone(), Arc::clone(&records), Arc::clone(&stop), Arc::clone(&kill_at));
            let service = service.clone();
            tasks.push(tokio::spawn(async move {
                let mut in_a_row = 0;
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let key = format!("{service}-{caller}-{n}");
                    let started = Instant::now();
                    let result =
                        client.call_value(&service, "hit", json!({"key": key}), CallOptions::timeout(timeout)).await;
                    let ended = Instant::now();
                    let (outcome, error) = match result {
                        Ok(_) => (Outcome::Ok, None),
                        Err(e) => (classify(&e), Some(e.to_string())),
                    };
                    let killed = *kill_at.lock().unwrap();
                    let rel = |t: Instant| match killed {
                        Some(k) if t >= k => (t - k).as_millis() as i64,
                        Some(k) => -((k - t).as_millis() as i64),
                        None => -((ended - epoch).as_millis() as i64) - 1_000_000,
                    };
                    records.lock().unwrap().push(CallRecord {
                        key,
                        service: service.clone(),
                        started_ms: rel(started),
                        ended_ms: rel(ended),
                        outcome,
                        error,
                    });
                    if outcome != Outcome::Ok {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    in_a_row = match (killed, outcome) {
                        (Some(k), Outcome::Ok) if started > k => in_a_row + 1,
                        (Some(_), _) => 0,
                        (None, _) => 0,
                    };
                    if in_a_row >= resumed {
                        return true;
                    }
                }
                false
            }));
        }
    }
    tokio::time::sleep(warmup).await;
    *kill_at.lock().unwrap() = Some(Instant::now());
    kill();
    let all = futures_join(tasks, limit, &stop).await;
    let calls: Vec<CallRecord> = records.lock().unwrap().clone();
    let report = FailoverReport { calls };
    assert!(all, "calls did not resume within {limit:?} of the kill: {}", report.summary());
    report
}

/// Waits for every caller to have resumed, up to `limit`; then stops them. `true` when all
/// resumed.
async fn futures_join(tasks: Vec<tokio::task::JoinHandle<bool>>, limit: Duration, stop: &AtomicBool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let mut all = true;
    let mut pending = Vec::new();
    for task in tasks {
        match tokio::time::timeout_at(deadline, async { task.await.unwrap_or(false) }).await {
            Ok(resumed) => all &= resumed,
            Err(_) => {
                all = false;
                pending.push(());
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    all && pending.is_empty()
}

fn classify(e: &Error) -> Outcome {
    match e {
        Error::Transport(TransportError::NotSent { .. } | TransportError::Connection { .. }) => Outcome::NotSent,
        Error::Transport(TransportError::OutcomeUnknown { .. }) => Outcome::OutcomeUnknown,
        Error::Transport(TransportError::Timeout) => Outcome::Timeout,
        _ => Outcome::Other,
    }
}
