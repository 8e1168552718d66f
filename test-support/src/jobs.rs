//! A `jobs` contract for delivery tests: every execution is counted per job key, in memory
//! and, when a log file is given, appended to that file (so executions in a child process
//! that gets SIGKILLed are still counted).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator::{Context, RpcError};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct JobParams {
    /// Unique per call: executions are counted by it.
    pub key: String,
    pub sleep_ms: u64,
    /// Abort the whole process (a poison request).
    #[serde(default)]
    pub abort: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    pub key: String,
    pub pid: u32,
    /// The delivery attempt the handler saw.
    pub attempt: u32,
    /// The time the caller had left when the handler started, if it sent a deadline.
    pub remaining_ms: Option<u64>,
}

#[clamator::contract(service = "jobs")]
pub trait Jobs {
    /// Records the execution, sleeps `sleepMs` (or aborts the process), returns what the
    /// context said.
    async fn run(&self, ctx: &Context, params: JobParams) -> Result<JobResult, RpcError>;
}

/// Counts executions per key.
#[derive(Debug, Clone, Default)]
pub struct ExecutionLog {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    file: Option<PathBuf>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl ExecutionLog {
    /// A log that also appends `<key>\n` to `file` for every execution.
    pub fn with_file(file: impl Into<PathBuf>) -> Self {
        Self { file: Some(file.into()), ..Self::default() }
    }

    fn record(&self, key: &str) {
        *self.counts.lock().unwrap().entry(key.to_owned()).or_default() += 1;
        if let Some(path) = &self.file {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open execution log");
            f.write_all(format!("{key}\n").as_bytes()).expect("write execution log");
            f.sync_data().ok();
        }
    }

    /// Executions per key, in this process.
    pub fn counts(&self) -> HashMap<String, usize> {
        self.counts.lock().unwrap().clone()
    }

    /// The most handlers that ran at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Executions per key read back from a log file (missing file: none).
pub fn read_execution_file(path: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for key in std::fs::read_to_string(path).unwrap_or_default().lines() {
        *counts.entry(key.to_owned()).or_default() += 1;
    }
    counts
}

/// The `jobs` handler.
#[derive(Debug, Clone, Default)]
pub struct JobRunner {
    pub log: ExecutionLog,
}

impl Jobs for JobRunner {
    async fn run(&self, ctx: &Context, p: JobParams) -> Result<JobResult, RpcError> {
        let remaining_ms = ctx.remaining().map(|d| d.as_millis() as u64);
        self.log.record(&p.key);
        if p.abort {
            std::process::abort();
        }
        let now = self.log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.log.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        self.log.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(JobResult { key: p.key, pid: std::process::id(), attempt: ctx.attempt(), remaining_ms })
    }
}
