//! The processes of a peer scenario: the server (`clamator-bench serve ...` or
//! `bench.py serve`) and, for the Python client, `bench.py load`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::cli::ServerPeer;
use crate::cpu::{per_call, RoleCpu, Roles};
use crate::measure::{Outcome, Plan};

const STARTUP: Duration = Duration::from_secs(30);

fn bench_py() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("py").join("bench.py")
}

/// A server process, stopped by [`ServerProcess::stop`] or killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Closed by `stop`: the Rust servers exit when their standard input closes.
    stdin: Option<ChildStdin>,
    /// How long `stop` waits for the process to exit once stdin is closed before killing it.
    grace: Duration,
    pid: u32,
    /// What the server printed after `READY` (the gRPC server's address).
    address: Option<String>,
}

impl ServerProcess {
    /// `clamator-bench serve <kind>`: this binary, so the server is built exactly like the client.
    /// With `BENCH_SERVER_WRAPPER` set (e.g. `valgrind --tool=callgrind`, for
    /// bench/profile.sh), the server runs under that command, and `stop` waits up to 60 s for
    /// it to exit so that the tool can write its output.
    pub async fn rust(kind: ServerPeer, prefix: &str, redis_url: &str, nats_url: &str) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let kind = clap::ValueEnum::to_possible_value(&kind).map(|v| v.get_name().to_owned()).unwrap_or_default();
        let wrapper = std::env::var("BENCH_SERVER_WRAPPER").unwrap_or_default();
        let mut words = wrapper.split_whitespace();
        let mut cmd = match words.next() {
            Some(tool) => {
                let mut cmd = Command::new(tool);
                cmd.args(words).arg(exe);
                cmd
            }
            None => Command::new(exe),
        };
        cmd.arg("serve").arg(&kind).arg("--prefix").arg(prefix);
        if !redis_url.is_empty() {
            cmd.arg("--redis-url").arg(redis_url);
        }
        if !nats_url.is_empty() {
            cmd.arg("--nats-url").arg(nats_url);
        }
        let grace = Duration::from_secs(if wrapper.trim().is_empty() { 5 } else { 60 });
        Self::spawn(cmd, &format!("clamator-bench serve {kind}"), grace).await
    }

    /// `bench.py serve`: a clamator 0.1.9 `RedisRpcServer` in a process of its own.
    pub async fn python(python: Option<&Path>, prefix: &str, redis_url: &str) -> Result<Self, String> {
        let python = python.ok_or("no Python venv")?;
        let mut cmd = Command::new(python);
        cmd.arg(bench_py()).args(["serve", "--redis-url", redis_url, "--prefix", prefix]);
        // It stops on SIGTERM, not on stdin: `stop` kills it.
        Self::spawn(cmd, "bench.py serve", Duration::ZERO).await
    }

    async fn spawn(mut cmd: Command, what: &str, grace: Duration) -> Result<Self, String> {
        // Standard input stays open while the server should run: the Rust servers exit when it
        // closes, so that none outlives the bench even if the bench is killed.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {what}: {e}"))?;
        let pid = child.id().ok_or_else(|| format!("{what} exited at once"))?;
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let first = tokio::time::timeout(STARTUP, lines.next_line())
            .await
            .map_err(|_| format!("{what} not ready within {} s", STARTUP.as_secs()))?
            .map_err(|e| format!("{what}: {e}"))?;
        let Some(rest) = first.as_deref().and_then(|l| l.strip_prefix("READY")) else {
            let _ = child.kill().await;
            return Err(format!("{what} did not start (first line {first:?})"));
        };
        let address = Some(rest.trim().to_owned()).filter(|a| !a.is_empty());
        Ok(Self { stdin: child.stdin.take(), child, grace, pid, address })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    pub async fn stop(&mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(self.grace, self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

/// `bench.py load`: a Python 0.1.9 client process driving the server on `prefix`; the CPU of
/// every role is read when it prints `WINDOW START` and `WINDOW END`.
pub async fn python_load(
    python: &Path,
    redis_url: &str,
    prefix: &str,
    concurrency: usize,
    plan: Plan,
    mut roles: Roles,
) -> Result<(Outcome, Value), String> {
    let mut child = Command::new(python)
        .arg(bench_py())
        .args(["load", "--redis-url", redis_url, "--prefix", prefix])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--duration-ms", &plan.measure.as_millis().to_string()])
        .args(["--warmup-ms", &plan.warmup.as_millis().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting bench.py load: {e}"))?;
    roles.client = child.id();
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let limit = plan.warmup + plan.measure + Duration::from_secs(60);
    let read = tokio::time::timeout(limit, read_load_output(&mut lines, &roles)).await;
    let _ = child.kill().await;
    let (outcome, start, end) = read.map_err(|_| "bench.py load did not finish in time".to_owned())??;
    let cpu = per_call(start, end, outcome.calls);
    Ok((outcome, cpu))
}

async fn read_load_output(
    lines: &mut Lines<BufReader<ChildStdout>>,
    roles: &Roles,
) -> Result<(Outcome, RoleCpu, RoleCpu), String> {
    let (mut start, mut end) = (RoleCpu::default(), RoleCpu::default());
    while let Some(line) = lines.next_line().await.map_err(|e| format!("bench.py load: {e}"))? {
        match line.as_str() {
            "WINDOW START" => start = roles.sample(),
            "WINDOW END" => end = roles.sample(),
            _ => {
                if let Some(json) = line.strip_prefix("RESULT ") {
                    let v: Value = serde_json::from_str(json).map_err(|e| format!("bench.py load result: {e}"))?;
                    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
                    let outcome = Outcome {
                        calls: v["calls"].as_u64().unwrap_or(0),
                        errors: v["errors"].as_u64().unwrap_or(0),
                        first_error: v["first_error"].as_str().map(str::to_owned),
                        seconds: f("seconds"),
                        calls_per_sec: f("calls_per_sec"),
                        p50_us: f("p50_us"),
                        p99_us: f("p99_us"),
                        samples: v["samples"].as_u64().unwrap_or(0),
                        sent: v["sent"].as_u64().unwrap_or(0),
                    };
                    return Ok((outcome, start, end));
                }
            }
        }
    }
    Err("bench.py load exited without a result".into())
}
