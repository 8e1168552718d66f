//! The interoperability matrix: the Rust driver (`clamator-interop`) against the Python
//! clamator 0.1.9 driver (`interop/py/driver.py`), over one private redis-server per test.
//!
//! - `rust_server_python_client` / `python_server_rust_client`: every scenario, cross-language;
//! - `mixed_pool`: one Rust and one Python server compete on one prefix;
//! - `crash_rust_server_python_reclaims` / `crash_python_server_rust_reclaims`: server A is
//!   SIGKILLed mid-call, server B (the other language) reclaims the entry via XAUTOCLAIM.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use serde_json::Value;

/// The same text as `UNICODE_TEXT` in `driver.py` and `src/contracts.rs`.
const UNICODE_TEXT: &str =
    "héllo wörld — 日本語 — עברית — 𝄞 😀👍🏽 — e\u{0301} — \u{0000} tab\t nl\n quote\" backslash\\ — \u{10FFFF}";

const SCENARIOS: &[&str] = &[
    "basic",
    "unicode",
    "large",
    "rpc_error",
    "unknown_method",
    "invalid_params",
    "snake_case_rejected",
    "camel_case",
    "notification",
    "timeout",
    "concurrent",
    "ordering",
    "whoami",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Rust,
    Python,
}

impl Lang {
    fn name(self) -> &'static str {
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
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("clamator-interop-{test}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
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

fn signal(pid: u32, sig: &str) {
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

/// A child process that is SIGKILLed and reaped on drop (so a failed assertion leaks nothing).
struct Proc {
    name: String,
    child: Child,
    stderr: PathBuf,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr(&self) -> String {
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
struct Server {
    lang: Lang,
    proc: Proc,
}

impl Server {
    fn start(lang: Lang, url: &str, prefix: &str, scratch: &Scratch, name: &str, extra: &[&str]) -> Self {
        let stderr = scratch.path(&format!("{name}.err"));
        let mut child = lang
            .command()
            .args(["serve", "--redis-url", url, "--prefix", prefix])
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
        Self { lang, proc }
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// SIGTERM, then the server must stop cleanly (exit 0) within 15 s.
    fn terminate(mut self) {
        signal(self.pid(), "TERM");
        let status = wait_timeout(&mut self.proc.child, Duration::from_secs(15));
        match status {
            Some(s) if s.success() => {}
            Some(s) => panic!("{} exited with {s} on SIGTERM\nstderr:\n{}", self.proc.name, self.proc.stderr()),
            None => panic!("{} did not stop within 15 s of SIGTERM\nstderr:\n{}", self.proc.name, self.proc.stderr()),
        }
    }
}

/// Starts a `client` process (stdout and stderr to files).
fn spawn_client(lang: Lang, url: &str, prefix: &str, scenario: &str, scratch: &Scratch) -> (Proc, PathBuf) {
    let tag = format!("client-{}-{scenario}", lang.name());
    let stdout = scratch.path(&format!("{tag}.out"));
    let stderr = scratch.path(&format!("{tag}.err"));
    let run_id = uuid::Uuid::new_v4().to_string();
    let child = lang
        .command()
        .args(["client", "--redis-url", url, "--prefix", prefix, "--scenario", scenario, "--run-id", &run_id])
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).expect("client stdout file"))
        .stderr(File::create(&stderr).expect("client stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} client: {e}", lang.name()));
    (Proc { name: format!("{} client ({scenario})", lang.name()), child, stderr }, stdout)
}

/// Waits for a client and parses its one JSON line.
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

fn run_client(lang: Lang, url: &str, prefix: &str, scenario: &str, scratch: &Scratch) -> Value {
    let (proc, stdout) = spawn_client(lang, url, prefix, scenario, scratch);
    finish_client(proc, &stdout, Duration::from_secs(60))
}

fn rpc_error<'a>(out: &'a Value, ctx: &str) -> &'a Value {
    let e = &out["error"];
    assert_eq!(e["kind"], "rpc", "{ctx}: expected an RPC error, got {out}");
    e
}

fn assert_validation_errors(errors: &Value, first_loc: Option<&str>, ctx: &str) {
    let list = errors.as_array().unwrap_or_else(|| panic!("{ctx}: errors is not a list: {errors}"));
    assert!(!list.is_empty(), "{ctx}: errors is empty");
    for entry in list {
        for key in ["loc", "msg", "type"] {
            assert!(entry.get(key).is_some(), "{ctx}: entry without `{key}`: {entry}");
        }
        assert!(entry["loc"].is_array(), "{ctx}: loc is not a list: {entry}");
    }
    if let Some(loc) = first_loc {
        assert!(list.iter().any(|e| e["loc"][0] == loc), "{ctx}: no entry with loc[0] == {loc:?}: {errors}");
    }
}

/// Checks one scenario's outcome against what the server's language must produce.
fn check(scenario: &str, out: &Value, client: Lang, server: Lang) {
    let ctx = format!("{scenario} ({} client -> {} server)", client.name(), server.name());
    assert!(out.get("error").is_none() || scenario_expects_error(scenario), "{ctx}: unexpected error: {out}");
    match scenario {
        "basic" => assert_eq!(out["result"]["sum"].as_f64(), Some(5.0), "{ctx}: {out}"),
        "unicode" => {
            assert_eq!(out["sent"], UNICODE_TEXT, "{ctx}: sent");
            assert_eq!(out["received"], UNICODE_TEXT, "{ctx}: received");
        }
        "large" => {
            assert_eq!(out["equal"], true, "{ctx}: {out}");
            assert_eq!(out["bytes"], 262_144, "{ctx}: {out}");
        }
        "rpc_error" => {
            let e = rpc_error(out, &ctx);
            assert_eq!(e["code"], -32000, "{ctx}: {out}");
            assert_eq!(e["message"], "division by zero", "{ctx}: {out}");
            assert_eq!(e["data"]["a"].as_f64(), Some(1.0), "{ctx}: {out}");
        }
        "unknown_method" => assert_eq!(rpc_error(out, &ctx)["code"], -32601, "{ctx}: {out}"),
        "invalid_params" | "snake_case_rejected" => {
            let e = rpc_error(out, &ctx);
            assert_eq!(e["code"], -32602, "{ctx}: {out}");
            assert_eq!(e["message"], "Invalid params", "{ctx}: {out}");
            let first = if scenario == "invalid_params" { Some("a") } else { Some("sleepMs") };
            assert_validation_errors(&e["data"]["errors"], first, &ctx);
            if client == Lang::Rust {
                // What RpcError::validation_errors() gives a Rust caller, whoever the server is.
                assert_validation_errors(&out["validationErrors"], first, &format!("{ctx} validation_errors()"));
            }
        }
        "camel_case" => {
            let r = &out["result"];
            assert!(r.get("sum").is_some() && r.get("processId").is_some(), "{ctx}: {out}");
            assert_eq!(r["sum"].as_f64(), Some(3.0), "{ctx}: {out}");
        }
        "notification" => {
            let expected: Vec<Value> = (1..=25).map(Value::from).collect();
            assert_eq!(out["seqs"], Value::Array(expected), "{ctx}: {out}");
        }
        "timeout" => {
            let e = &out["error"];
            assert_eq!(e["kind"], "transport", "{ctx}: {out}");
            assert_eq!(e["message"], "call timeout", "{ctx}: {out}");
        }
        "concurrent" => {
            assert_eq!(out["correct"], 100, "{ctx}: {out}");
            assert_eq!(out["errors"], Value::Array(vec![]), "{ctx}: {out}");
        }
        "ordering" => assert_eq!(out["value"], "99", "{ctx}: {out}"),
        "whoami" => assert_eq!(out["result"]["language"], server.name(), "{ctx}: {out}"),
        other => panic!("no check for {other}"),
    }
}

fn scenario_expects_error(scenario: &str) -> bool {
    matches!(scenario, "rpc_error" | "unknown_method" | "invalid_params" | "snake_case_rejected" | "timeout")
}

fn matrix(server_lang: Lang, client_lang: Lang, test: &str) {
    let redis = RedisServer::start();
    let scratch = Scratch::new(test);
    let prefix = unique_prefix(test);
    let server = Server::start(server_lang, redis.url(), &prefix, &scratch, "main", &[]);
    for scenario in SCENARIOS {
        let started = Instant::now();
        let out = run_client(client_lang, redis.url(), &prefix, scenario, &scratch);
        eprintln!("# {test} {scenario:<20} {:>6} ms  {}", started.elapsed().as_millis(), truncate(&out));
        check(scenario, &out, client_lang, server_lang);
        if scenario == &"whoami" {
            assert_eq!(out["result"]["processId"], server.pid(), "whoami processId");
        }
    }
    assert_eq!(server.lang, server_lang);
    server.terminate();
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

#[test]
fn rust_server_python_client() {
    matrix(Lang::Rust, Lang::Python, "rs-server-py-client");
}

#[test]
fn python_server_rust_client() {
    matrix(Lang::Python, Lang::Rust, "py-server-rs-client");
}

#[test]
fn mixed_pool() {
    let redis = RedisServer::start();
    let scratch = Scratch::new("mixed-pool");
    let prefix = unique_prefix("mixed-pool");
    let rs = Server::start(Lang::Rust, redis.url(), &prefix, &scratch, "rust", &[]);
    let py = Server::start(Lang::Python, redis.url(), &prefix, &scratch, "python", &[]);
    for client in [Lang::Rust, Lang::Python] {
        let out = run_client(client, redis.url(), &prefix, "pool", &scratch);
        let ctx = format!("pool ({} client)", client.name());
        eprintln!("# {ctx}: {out}");
        assert_eq!(out["errors"], Value::Array(vec![]), "{ctx}: {out}");
        let pids: Vec<u64> =
            out["processIds"].as_array().expect("processIds").iter().filter_map(Value::as_u64).collect();
        assert_eq!(pids.len(), 40, "{ctx}: {out}");
        for server in [&rs, &py] {
            assert!(
                pids.contains(&u64::from(server.pid())),
                "{ctx}: no call served by the {} server (pid {}): {out}",
                server.lang.name(),
                server.pid()
            );
        }
    }
    rs.terminate();
    py.terminate();
}

/// Server A (`a`, with a marker file) takes a 3 s `slowAdd` from `client` and is SIGKILLed
/// mid-call; server B (`b`) must reclaim the entry and answer it.
fn crash(a: Lang, b: Lang, client: Lang, test: &str) {
    let redis = RedisServer::start();
    let scratch = Scratch::new(test);
    let prefix = unique_prefix(test);
    let marker = scratch.path("marker");
    let marker_arg = marker.to_str().expect("utf-8 temp path");
    let server_a = Server::start(
        a,
        redis.url(),
        &prefix,
        &scratch,
        "A",
        &["--claim-idle-ms", "1000", "--marker-file", marker_arg],
    );
    let (client_proc, stdout) = spawn_client(client, redis.url(), &prefix, "crash", &scratch);

    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&marker).is_ok_and(|s| !s.trim().is_empty()) {
        assert!(
            Instant::now() < deadline,
            "marker file never appeared\nserver A stderr:\n{}\nclient stderr:\n{}",
            server_a.proc.stderr(),
            client_proc.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let a_pid = server_a.pid();
    signal(a_pid, "KILL");
    drop(server_a); // reaps it

    let server_b = Server::start(b, redis.url(), &prefix, &scratch, "B", &["--claim-idle-ms", "1000"]);
    let out = finish_client(client_proc, &stdout, Duration::from_secs(40));
    let ctx = format!("crash ({} A killed, {} B reclaims, {} client)", a.name(), b.name(), client.name());
    eprintln!("# {ctx}: A pid {a_pid}, B pid {}: {out}", server_b.pid());
    assert_eq!(out["result"]["sum"].as_f64(), Some(3.0), "{ctx}: {out}");
    assert_eq!(out["result"]["processId"], server_b.pid(), "{ctx}: not answered by B: {out}");
    server_b.terminate();
}

#[test]
fn crash_rust_server_python_reclaims() {
    crash(Lang::Rust, Lang::Python, Lang::Rust, "crash-rs-a-py-b");
}

#[test]
fn crash_python_server_rust_reclaims() {
    crash(Lang::Python, Lang::Rust, Lang::Python, "crash-py-a-rs-b");
}
