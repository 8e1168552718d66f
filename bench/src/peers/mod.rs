//! Peer scenarios (`peer/<name>/cN`): a server in a process of its own and a load generator
//! driving it, measured side by side in one run: clamator-rs, the raw redis-rs floors, core
//! NATS, a JetStream work queue, gRPC, and Python 0.1.9 as server or as client. Besides
//! calls/s and latency, each reports CPU µs per call of the client, server and broker
//! processes over the measured window, from `/proc/<pid>/stat`.

pub mod grpc;
mod jsonrpc;
pub mod nats;
mod process;
pub mod serve;

use std::path::PathBuf;
use std::time::Duration;

use clamator::redis::RedisRpcClient;
use clamator_test_support::contracts::ArithClient;
use serde_json::Value;

use crate::cli::ServerPeer;
use crate::cpu::{per_call, RoleCpu, Roles};
use crate::measure::{run_calls_probed, Caller, Edge, Outcome, Plan};
use crate::memory::AddCaller;
use crate::rawredis::{delete_prefix, fresh_prefix};

/// The peers, in run order (the order of the table in BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// clamator-rs server (per-service concurrency 1), clamator-rs client.
    Clamator,
    /// Raw redis-rs server reading and answering (reply + XACK) alternately on one connection.
    FloorAlternating,
    /// Raw redis-rs server answering on a second connection without waiting.
    FloorOverlapped,
    NatsJetstream,
    Grpc,
    NatsCore,
    /// Python 0.1.9 server process, clamator-rs client (compares servers with `Clamator`).
    PythonServer,
    /// Python 0.1.9 client process, clamator-rs server (compares clients with `Clamator`).
    PythonClient,
}

impl Peer {
    pub const ALL: [Peer; 8] = [
        Peer::Clamator,
        Peer::FloorAlternating,
        Peer::FloorOverlapped,
        Peer::NatsJetstream,
        Peer::Grpc,
        Peer::NatsCore,
        Peer::PythonServer,
        Peer::PythonClient,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Peer::Clamator => "clamator",
            Peer::FloorAlternating => "floor-alternating",
            Peer::FloorOverlapped => "floor-overlapped",
            Peer::NatsJetstream => "nats-jetstream",
            Peer::Grpc => "grpc",
            Peer::NatsCore => "nats-core",
            Peer::PythonServer => "python-server",
            Peer::PythonClient => "python-client",
        }
    }

    pub fn needs_redis(self) -> bool {
        !matches!(self, Peer::NatsJetstream | Peer::Grpc | Peer::NatsCore)
    }

    pub fn needs_nats(self) -> bool {
        matches!(self, Peer::NatsJetstream | Peer::NatsCore)
    }

    pub fn needs_python(self) -> bool {
        matches!(self, Peer::PythonServer | Peer::PythonClient)
    }

    /// The Rust server this peer runs (`None`: the Python 0.1.9 server).
    fn rust_server(self) -> Option<ServerPeer> {
        match self {
            Peer::Clamator | Peer::PythonClient => Some(ServerPeer::Clamator),
            Peer::FloorAlternating => Some(ServerPeer::FloorAlternating),
            Peer::FloorOverlapped => Some(ServerPeer::FloorOverlapped),
            Peer::NatsJetstream => Some(ServerPeer::NatsJetstream),
            Peer::Grpc => Some(ServerPeer::Grpc),
            Peer::NatsCore => Some(ServerPeer::NatsCore),
            Peer::PythonServer => None,
        }
    }
}

/// What the peer scenarios share: the brokers and the Python reference, when present.
#[derive(Default)]
pub struct PeerEnv {
    pub redis_url: Option<String>,
    pub redis_pid: Option<u32>,
    pub nats: Option<nats::NatsServer>,
    /// The Python interpreter of the 0.1.9 reference venv.
    pub python: Option<PathBuf>,
}

impl PeerEnv {
    /// Why `peer` cannot run here, if it cannot.
    pub fn missing(&self, peer: Peer) -> Option<&'static str> {
        if peer.needs_redis() && self.redis_url.is_none() {
            Some("no Redis")
        } else if peer.needs_nats() && self.nats.is_none() {
            Some("no nats-server: install it (Debian: nats-server) or set NATS_SERVER_BIN")
        } else if peer.needs_python() && self.python.is_none() {
            Some("no Python 0.1.9 venv: interop/.venv, made by .ci/run or bench/run.sh")
        } else {
            None
        }
    }
}

/// The interpreter of interop/.venv (or `BENCH_PYTHON`), if it exists.
pub fn python_venv() -> Option<PathBuf> {
    let path = std::env::var_os("BENCH_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("interop").join(".venv").join("bin").join("python")
    });
    path.exists().then_some(path)
}

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one peer scenario: starts its server process, drives it, stops it. The record has
/// the outcome's figures plus `cpu_us_per_call` (client, server, broker, total).
pub async fn run(
    env: &PeerEnv,
    peer: Peer,
    concurrency: usize,
    plan: Plan,
    name: &str,
) -> Result<(Outcome, Value), String> {
    let redis = env.redis_url.as_deref().unwrap_or_default();
    let nats_url = env.nats.as_ref().map(|n| n.url().to_owned()).unwrap_or_default();
    let prefix =
        if peer.needs_nats() { format!("bench-{}", uuid::Uuid::new_v4().simple()) } else { fresh_prefix(name) };
    let mut server = match peer.rust_server() {
        Some(kind) => process::ServerProcess::rust(kind, &prefix, redis, &nats_url).await?,
        None => process::ServerProcess::python(env.python.as_deref(), &prefix, redis).await?,
    };
    let broker = match peer {
        Peer::Grpc => None,
        _ if peer.needs_nats() => env.nats.as_ref().map(nats::NatsServer::pid),
        _ => env.redis_pid,
    };
    let roles = Roles { client: None, server: Some(server.pid()), broker };
    let result = match peer {
        Peer::Clamator | Peer::PythonServer => {
            let client = RedisRpcClient::builder(&prefix)
                .url(redis)
                .default_timeout(CALL_TIMEOUT)
                .build()
                .map_err(|e| format!("client build: {e}"))?;
            client.start().await.map_err(|e| format!("client start: {e}"))?;
            let arith = ArithClient::new(client.clone());
            let callers = (0..concurrency).map(|_| AddCaller(arith.clone())).collect();
            let measured = measure(plan, callers, &roles).await;
            client.stop().await;
            Ok(measured)
        }
        Peer::FloorAlternating | Peer::FloorOverlapped => {
            let (callers, reply_loop) = crate::floor::pipelined_callers(redis, &prefix, concurrency).await?;
            let measured = measure(plan, callers, &roles).await;
            reply_loop.abort();
            Ok(measured)
        }
        Peer::NatsCore => Ok(measure(plan, nats::core_callers(&nats_url, &prefix, concurrency).await?, &roles).await),
        Peer::NatsJetstream => {
            let (callers, reply_loop) = nats::jetstream_callers(&nats_url, &prefix, concurrency).await?;
            let measured = measure(plan, callers, &roles).await;
            reply_loop.abort();
            Ok(measured)
        }
        Peer::Grpc => {
            let addr = server.address().ok_or("the gRPC server printed no address")?.to_owned();
            Ok(measure(plan, grpc::callers(&addr, concurrency).await?, &roles).await)
        }
        Peer::PythonClient => {
            let python = env.python.as_deref().ok_or("no Python venv")?;
            process::python_load(python, redis, &prefix, concurrency, plan, roles).await
        }
    };
    server.stop().await;
    if peer.needs_redis() {
        if let Err(e) = delete_prefix(redis, &prefix).await {
            eprintln!("warning: cleanup of {prefix}: {e}");
        }
    }
    result
}

/// Runs `callers` in this process, reading the CPU of every role at the window's edges.
async fn measure<C: Caller>(plan: Plan, callers: Vec<C>, roles: &Roles) -> (Outcome, Value) {
    let (mut start, mut end) = (RoleCpu::default(), RoleCpu::default());
    let outcome = run_calls_probed(plan, callers, |edge| match edge {
        Edge::Start => start = roles.sample(),
        Edge::End => end = roles.sample(),
    })
    .await;
    let cpu = per_call(start, end, outcome.calls);
    (outcome, cpu)
}
