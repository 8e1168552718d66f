//! The CLI tests' harness: one private redis-server per test binary, Rust servers on
//! runtimes of their own (so a test can kill one without it saying goodbye), a Python
//! clamator 0.1.9 server as a child process (interop/py/driver.py), and the real `clamator`
//! binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clamator::redis::discovery::MethodSchemas;
use clamator::redis::redis;
use clamator::redis::RedisRpcServer;
use clamator::RpcError;
use clamator_test_support::redis_server::RedisServer;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

/// One test's world: a Redis of its own (stopped when the test ends) and a prefix.
pub struct Scene {
    pub redis: RedisServer,
    pub prefix: String,
}

impl Scene {
    pub fn new(test: &str) -> Self {
        Self { redis: RedisServer::start(), prefix: clamator_test_support::unique_prefix(&format!("cli-{test}")) }
    }

    pub fn url(&self) -> &str {
        self.redis.url()
    }

    /// Runs `clamator --url <redis> --prefix <prefix> <args>`, colors off.
    pub fn clamator(&self, args: &[&str]) -> Run {
        run_clamator(self.url(), &self.prefix, args)
    }

    /// A raw Redis command, to set the scene the way a third peer would.
    pub fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.connection()).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }
}

// ---- the Rust service: `billing` ----

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
pub struct ChargeParams {
    pub account: String,
    #[validate(range(min = 1))]
    pub cents: u64,
}

/// The same method with a changed params type (`cents` became a string): contract drift.
#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
pub struct ChargeParamsV2 {
    pub account: String,
    pub cents: String,
}

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Receipt {
    pub account: String,
    pub cents: u64,
}

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
pub struct AuditParams {
    pub note: String,
}

#[clamator::contract(service = "billing")]
pub trait Billing {
    async fn charge(&self, params: ChargeParams) -> Result<Receipt, RpcError>;
    #[clamator(notification)]
    async fn audit(&self, params: AuditParams);
}

/// `billing` as the next release declares it: `charge` takes `ChargeParamsV2`.
#[clamator::contract(service = "billing")]
pub trait BillingV2 {
    async fn charge(&self, params: ChargeParamsV2) -> Result<Receipt, RpcError>;
    #[clamator(notification)]
    async fn audit(&self, params: AuditParams);
}

/// Types that do not derive `JsonSchema`: the contract compiles, without schemas.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlainParams {
    pub text: String,
}

#[clamator::contract(service = "plain")]
pub trait Plain {
    async fn echo(&self, params: PlainParams) -> Result<PlainParams, RpcError>;
}

pub struct Biller;

impl Billing for Biller {
    async fn charge(&self, p: ChargeParams) -> Result<Receipt, RpcError> {
        if p.account == "frozen" {
            return Err(RpcError::new(-31001, "Account frozen"));
        }
        // A known processing time: account "slow" takes `cents` milliseconds.
        if p.account == "slow" {
            tokio::time::sleep(Duration::from_millis(p.cents)).await;
        }
        Ok(Receipt { account: p.account, cents: p.cents })
    }
    async fn audit(&self, _p: AuditParams) {}
}

/// A Rust server hosting `billing`, on a runtime of its own.
pub struct RustServer {
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<RedisRpcServer>,
}

impl RustServer {
    /// Started, heartbeat every 200 ms, schemas published (`v2`: the drifted params type).
    pub fn start(
        scene: &Scene,
        v2: bool,
        configure: impl FnOnce(clamator::redis::RedisServerBuilder) -> clamator::redis::RedisServerBuilder,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let builder = RedisRpcServer::builder(scene.prefix.clone())
            .url(scene.url())
            .discovery_interval(Some(Duration::from_millis(200)))
            .version("1.4.2")
            .shutdown_grace(Duration::from_millis(200));
        let server = configure(builder).build().unwrap();
        server.register_service(BillingServer::new(Biller)).unwrap();
        // The contract's own schemas (schemars derives); v2 swaps in the drifted params type.
        server.describe_contract::<BillingContract>();
        if v2 {
            server.describe_method("billing", "charge", MethodSchemas::of::<ChargeParamsV2, Receipt>());
        }
        runtime.block_on(server.start()).unwrap();
        // The first heartbeat is written right after start.
        std::thread::sleep(Duration::from_millis(300));
        Self { runtime: Some(runtime), server: Some(server) }
    }

    pub fn instance_id(&self) -> String {
        self.server.as_ref().unwrap().instance_id().to_owned()
    }

    /// A clean stop: the server removes its discovery entries.
    pub fn stop(mut self) {
        let (runtime, server) = (self.runtime.take().unwrap(), self.server.take().unwrap());
        runtime.block_on(server.stop());
    }

    /// As if the process were killed: its tasks vanish and nothing is cleaned up.
    pub fn kill(mut self) {
        let (runtime, server) = (self.runtime.take().unwrap(), self.server.take().unwrap());
        runtime.shutdown_background();
        std::mem::forget(server);
    }
}

impl Drop for RustServer {
    fn drop(&mut self) {
        if let (Some(runtime), Some(server)) = (self.runtime.take(), self.server.take()) {
            runtime.block_on(server.stop());
        }
    }
}

// ---- the Python 0.1.9 server: `arith`, `notifications`, `kv` ----

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `interop/.venv/bin/python`, created (with the pinned 0.1.9 packages) when missing.
fn python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = repo().join("interop").join(".venv");
        let py = venv.join("bin").join("python");
        if !py.exists() {
            let ok = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().map(|s| s.success());
            assert_eq!(ok.ok(), Some(true), "python3 -m venv {} failed", venv.display());
            let ok = Command::new(venv.join("bin").join("pip"))
                .args(["install", "-q", "-r"])
                .arg(repo().join("interop").join("requirements.txt"))
                .status()
                .map(|s| s.success());
            assert_eq!(ok.ok(), Some(true), "pip install -r interop/requirements.txt failed");
        }
        py
    })
    .clone()
}

/// A Python clamator 0.1.9 server (interop/py/driver.py serve); killed on drop.
pub struct PythonServer(Child);

impl PythonServer {
    pub fn start(scene: &Scene) -> Self {
        let mut child = Command::new(python())
            .arg(repo().join("interop").join("py").join("driver.py"))
            .args(["serve", "--redis-url", scene.url(), "--prefix", &scene.prefix])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Python 0.1.9 server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("READY"), "the Python server did not start: {line:?}");
        Self(child)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---- the binary ----

/// What one run of `clamator` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// Runs `clamator --url <url> --prefix <prefix> <args>`, colors off.
pub fn run_clamator(url: &str, prefix: &str, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_clamator"))
        .args(["--url", url, "--prefix", prefix])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("REDIS_URL")
        .output()
        .expect("run clamator");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Polls `check` every 100 ms until it holds or `within` passes.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Puts a `billing.charge` request with `account` on the stream and has a consumer that
/// never answers take it, in one transaction (so the live server cannot take it first):
/// with `max_deliveries(1)` the server sets it aside as a dead letter.
pub fn poison(s: &Scene, id: u64, account: &str) -> String {
    let stream = format!("{}:cmds:billing", s.prefix);
    let envelope = serde_json::json!({
        "jsonrpc": "2.0", "id": id.to_string(), "method": "billing.charge",
        "params": { "account": account, "cents": id },
    });
    let (added, _): (String, redis::Value) = redis::pipe()
        .atomic()
        .cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("type")
        .arg("rpc")
        .arg("envelope")
        .arg(envelope.to_string())
        .arg("reply-to")
        .arg(format!("{}:replies:operator", s.prefix))
        .cmd("XREADGROUP")
        .arg("GROUP")
        .arg("billing")
        .arg("billing:ghost")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query(&mut s.connection())
        .unwrap();
    added
}
