//! The harness shared by the interop test binaries: the two drivers as child processes
//! (`serve` / `client`), a scratch directory per test, a raw Redis connection to look at and
//! poke the streams the way a third peer would, and polling with deadlines.
//!
//! Each test binary uses a different subset.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clamator::redis::redis;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }

    fn command(self) -> Command {
        match self {
            Lang::Rust => Command::new(env!("CARGO_BIN_EXE_clamator-interop")),
            Lang::Python => {
                let mut c = Command::new(python());
                c.arg(interop_dir().join("py").join("driver.py"));
                c
            }
        }
    }
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `interop/.venv/bin/python`, creating the venv (once per test binary) when it is missing.
fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = interop_dir().join(".venv");
        let py = venv.join("bin").join("python");
        if !py.exists() {
            eprintln!("# creating {}", venv.display());
            let status = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().unwrap_or_else(|e| {
                panic!("python3 is required for the interop suite and could not be run ({e}): install Python 3.11+ with the venv module")
            });
            assert!(status.success(), "python3 -m venv {} failed: {status}", venv.display());
            let status = Command::new(venv.join("bin").join("pip"))
                .args(["install", "-q", "-r"])
                .arg(interop_dir().join("requirements.txt"))
                .status()
                .expect("run pip");
            assert!(status.success(), "pip install -r interop/requirements.txt failed: {status}");
        }
        py
    })
    .clone()
}

/// A scratch directory for one test's logs and markers; removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("clamator-interop-{test}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            eprintln!("# logs kept in {}", self.0.display());
        }
    }
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `ready` every 20 ms until it returns `true`; panics with `what()` (evaluated then,
/// so it can describe the state that was never reached) after `limit`. Returns how long it
/// took.
pub fn wait_until(limit: Duration, mut ready: impl FnMut() -> bool, what: impl FnOnce() -> String) -> Duration {
    let started = Instant::now();
    while !ready() {
        if started.elapsed() >= limit {
            panic!("not within {limit:?}: {}", what());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// A child process that is SIGKILLed and reaped on drop (so a failed assertion leaks nothing).
pub struct Proc {
    pub name: String,
    child: Child,
    stderr: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A `serve` process that printed `READY <pid>`.
pub struct Server {
    pub lang: Lang,
    pub proc: Proc,
    /// Its instance id (`--instance-id`): its consumer of service `s` is `s:<id>`.
    pub instance_id: String,
    /// The lines it prints after `READY`.
    stdout: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(lang: Lang, url: &str, prefix: &str, scratch: &Scratch, name: &str, extra: &[&str]) -> Self {
        let stderr = scratch.path(&format!("{name}.err"));
        let instance_id = format!("{name}-{}", uuid::Uuid::new_v4().simple());
        let mut child = lang
            .command()
            .args(["serve", "--redis-url", url, "--prefix", prefix, "--instance-id", &instance_id])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("server stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} server {name}: {e}", lang.name()));
        let stdout = child.stdout.take().expect("piped stdout");
        let proc = Proc { name: format!("{} server {name}", lang.name()), child, stderr };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Keep draining so the server never blocks on a full pipe.
                    continue;
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line == format!("READY {}", proc.pid()) => {}
            Ok(line) => {
                panic!("{}: expected `READY {}`, got {line:?}\nstderr:\n{}", proc.name, proc.pid(), proc.stderr())
            }
            Err(_) => panic!("{} did not print READY within 20 s\nstderr:\n{}", proc.name, proc.stderr()),
        }
        Self { lang, proc, instance_id, stdout: rx }
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Its consumer in `service`'s group.
    pub fn consumer(&self, service: &str) -> String {
        clamator::redis::consumer_name(service, &self.instance_id)
    }

    /// SIGTERM, then the server must stop cleanly (exit 0) within 15 s. Returns what a Rust
    /// server printed as `STATS <json>` (its delivery counters); `None` for Python.
    pub fn terminate(mut self) -> Option<Value> {
        signal(self.pid(), "TERM");
        let status = wait_timeout(&mut self.proc.child, Duration::from_secs(15));
        match status {
            Some(s) if s.success() => {}
            Some(s) => panic!("{} exited with {s} on SIGTERM\nstderr:\n{}", self.proc.name, self.proc.stderr()),
            None => panic!("{} did not stop within 15 s of SIGTERM\nstderr:\n{}", self.proc.name, self.proc.stderr()),
        }
        // The reader thread ends at EOF, so this sees every line the server printed.
        let stats = self.stdout.iter().find_map(|line| line.strip_prefix("STATS ").map(str::to_owned));
        let stats = stats
            .map(|s| serde_json::from_str(&s).unwrap_or_else(|e| panic!("{}: bad STATS ({e}): {s}", self.proc.name)));
        if self.lang == Lang::Rust {
            assert!(stats.is_some(), "{} printed no STATS line", self.proc.name);
        }
        stats
    }
}

/// A started `client` process and the file its one JSON line goes to.
pub struct Client {
    proc: Proc,
    stdout: PathBuf,
}

impl Client {
    /// Waits for the client and parses its one JSON line.
    pub fn finish(self, timeout: Duration) -> Value {
        finish_client(self.proc, &self.stdout, timeout)
    }

    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }
}

/// Starts a `client` process with run id `run_id` (stdout and stderr to files).
pub fn spawn_client_with_run_id(
    lang: Lang,
    url: &str,
    prefix: &str,
    scenario: &str,
    run_id: &str,
    scratch: &Scratch,
) -> Client {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let tag = format!("client-{}-{scenario}-{}", lang.name(), SEQ.fetch_add(1, Ordering::Relaxed));
    let stdout = scratch.path(&format!("{tag}.out"));
    let stderr = scratch.path(&format!("{tag}.err"));
    let child = lang
        .command()
        .args(["client", "--redis-url", url, "--prefix", prefix, "--scenario", scenario, "--run-id", run_id])
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).expect("client stdout file"))
        .stderr(File::create(&stderr).expect("client stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} client: {e}", lang.name()));
    Client { proc: Proc { name: format!("{} client ({scenario})", lang.name()), child, stderr }, stdout }
}

/// Starts a `client` process with a fresh run id.
pub fn spawn_client(lang: Lang, url: &str, prefix: &str, scenario: &str, scratch: &Scratch) -> Client {
    spawn_client_with_run_id(lang, url, prefix, scenario, &uuid::Uuid::new_v4().to_string(), scratch)
}

fn finish_client(mut proc: Proc, stdout: &Path, timeout: Duration) -> Value {
    let status = wait_timeout(&mut proc.child, timeout)
        .unwrap_or_else(|| panic!("{} did not finish within {timeout:?}\nstderr:\n{}", proc.name, proc.stderr()));
    let out = std::fs::read_to_string(stdout).unwrap_or_default();
    assert!(status.success(), "{} exited with {status}\nstdout:\n{out}\nstderr:\n{}", proc.name, proc.stderr());
    let line = out.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_else(|| {
        panic!("{} printed nothing\nstderr:\n{}", proc.name, proc.stderr());
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{} printed invalid JSON ({e}): {line}", proc.name))
}

/// Runs one scenario to completion (60 s at most) and returns its outcome.
pub fn run_client(lang: Lang, url: &str, prefix: &str, scenario: &str, scratch: &Scratch) -> Value {
    spawn_client(lang, url, prefix, scenario, scratch).finish(Duration::from_secs(60))
}

pub fn rpc_error<'a>(out: &'a Value, ctx: &str) -> &'a Value {
    let e = &out["error"];
    assert_eq!(e["kind"], "rpc", "{ctx}: expected an RPC error, got {out}");
    e
}

pub fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

/// The process ids a `pool`/`backlog` outcome lists.
pub fn process_ids(out: &Value) -> Vec<u64> {
    out["processIds"]
        .as_array()
        .unwrap_or_else(|| panic!("no processIds: {out}"))
        .iter()
        .filter_map(Value::as_u64)
        .collect()
}

/// One stream entry: its id and its fields (lossy UTF-8), in order.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub fields: BTreeMap<String, String>,
}

/// One row of `XPENDING <stream> <group> - + N`.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub consumer: String,
    pub idle_ms: u64,
    pub deliveries: u64,
}

/// `XRANGE`'s reply: `[id, [field, value, ...]]` per entry.
type XrangeReply = Vec<(String, Vec<Vec<u8>>)>;
/// `XPENDING <stream> <group> - + N`'s reply: `[id, consumer, idle ms, deliveries]` per entry.
type XpendingReply = Vec<(String, String, u64, u64)>;

fn entries_of(rows: XrangeReply) -> Vec<Entry> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    rows.into_iter()
        .map(|(id, flat)| {
            let fields =
                flat.chunks(2).map(|kv| (text(&kv[0]), kv.get(1).map(|v| text(v)).unwrap_or_default())).collect();
            Entry { id, fields }
        })
        .collect()
}

fn pending_of(rows: XpendingReply) -> Vec<Pending> {
    rows.into_iter().map(|(id, consumer, idle_ms, deliveries)| Pending { id, consumer, idle_ms, deliveries }).collect()
}

/// A raw, synchronous Redis connection: what the test sees and does as a third peer.
pub struct Raw(redis::Connection);

impl Raw {
    pub fn connect(url: &str) -> Self {
        let client = redis::Client::open(url).expect("redis url");
        Self(client.get_connection().expect("connect to redis"))
    }

    /// Runs one command; panics (with the command) when Redis refuses it.
    pub fn cmd<T: redis::FromRedisValue>(&mut self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.0).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    pub fn xlen(&mut self, key: &str) -> usize {
        self.cmd(&["XLEN", key])
    }

    pub fn exists(&mut self, key: &str) -> bool {
        self.cmd::<i64>(&["EXISTS", key]) == 1
    }

    /// Every entry of a stream, oldest first.
    pub fn entries(&mut self, key: &str) -> Vec<Entry> {
        entries_of(self.cmd(&["XRANGE", key, "-", "+"]))
    }

    pub fn entry_ids(&mut self, key: &str) -> Vec<String> {
        self.entries(key).into_iter().map(|e| e.id).collect()
    }

    /// The group's pending entries (up to 1000), oldest first.
    pub fn pending(&mut self, stream: &str, group: &str) -> Vec<Pending> {
        pending_of(self.cmd(&["XPENDING", stream, group, "-", "+", "1000"]))
    }

    /// The group's consumers: name -> pending count.
    pub fn consumers(&mut self, stream: &str, group: &str) -> BTreeMap<String, u64> {
        let rows: Vec<BTreeMap<String, redis::Value>> = self.cmd(&["XINFO", "CONSUMERS", stream, group]);
        rows.into_iter()
            .map(|row| {
                let name: String = redis::from_redis_value_ref(&row["name"]).expect("consumer name");
                let pending: u64 = redis::from_redis_value_ref(&row["pending"]).expect("consumer pending");
                (name, pending)
            })
            .collect()
    }

    /// Redis's clock (`TIME`), Unix ms.
    pub fn time_ms(&mut self) -> u64 {
        let (secs, micros): (u64, u64) = self.cmd(&["TIME"]);
        secs * 1000 + micros / 1000
    }
}

/// The millisecond part of a stream id.
pub fn id_ms(id: &str) -> u64 {
    id.split('-').next().and_then(|ms| ms.parse().ok()).unwrap_or_else(|| panic!("not a stream id: {id}"))
}

/// `P:cmds:<service>`.
pub fn command_stream(prefix: &str, service: &str) -> String {
    clamator::redis::command_stream(prefix, service)
}

/// Whether a driver's `--marker-file` was written (by a `slowAdd` that started).
pub fn marker_written(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| !s.trim().is_empty())
}

impl Raw {
    /// The group's `last-delivered-id`.
    pub fn last_delivered(&mut self, stream: &str, group: &str) -> String {
        let groups: Vec<BTreeMap<String, redis::Value>> = self.cmd(&["XINFO", "GROUPS", stream]);
        let g = groups
            .iter()
            .find(|g| redis::from_redis_value_ref::<String>(&g["name"]).is_ok_and(|n| n == group))
            .unwrap_or_else(|| panic!("no group {group} on {stream}"));
        redis::from_redis_value_ref(&g["last-delivered-id"]).expect("last-delivered-id")
    }

    /// The stream's entry ids and the group's pending entries, read atomically (one
    /// `MULTI`/`EXEC`), so no entry can be acknowledged between the two reads.
    pub fn snapshot(&mut self, stream: &str, group: &str) -> (Vec<String>, Vec<Pending>) {
        let (rows, pending): (XrangeReply, XpendingReply) = redis::pipe()
            .atomic()
            .cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .cmd("XPENDING")
            .arg(stream)
            .arg(group)
            .arg("-")
            .arg("+")
            .arg(1000)
            .query(&mut self.0)
            .unwrap_or_else(|e| panic!("snapshot of {stream}: {e}"));
        (rows.into_iter().map(|(id, _)| id).collect(), pending_of(pending))
    }

    /// `major.minor` of the Redis server.
    pub fn version(&mut self) -> (u32, u32) {
        let info: String = self.cmd(&["INFO", "server"]);
        let v = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or_else(|| panic!("no redis_version in INFO: {info}"));
        let mut parts = v.trim().split('.').map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }
}
