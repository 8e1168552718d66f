//! Middleware over the memory bus: the metrics layer reports through the `metrics` facade,
//! the deadline layer cancels a handler whose caller has gone, and `?` works in handlers on
//! io, serde_json and anyhow errors while an `RpcError` passes through unchanged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clamator::layers::{DeadlineLayer, MetricsLayer};
use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{Error, HandlerError, IntoServiceTable, RpcError, ServiceTable};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Job {
    pub kind: String,
    pub sleep_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Done {
    pub ok: bool,
}

#[clamator::contract(service = "work")]
pub trait Work {
    async fn run(&self, params: Job) -> Result<Done, HandlerError>;
    async fn run_anyhow(&self, params: Job) -> anyhow::Result<Done>;
}

#[derive(Default)]
struct Worker {
    finished: Arc<AtomicUsize>,
}

impl Work for Worker {
    async fn run(&self, p: Job) -> Result<Done, HandlerError> {
        match p.kind.as_str() {
            "io" => {
                std::fs::read("/no/such/file/anywhere")?;
            }
            "json" => {
                serde_json::from_str::<serde_json::Value>("{")?;
            }
            "rpc" => Err(RpcError::new(-31000, "refused").with_data(serde_json::json!({"why": "test"})))?,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(Done { ok: true })
    }

    async fn run_anyhow(&self, p: Job) -> anyhow::Result<Done> {
        if p.kind == "rpc" {
            return Err(RpcError::new(-31000, "refused").into());
        }
        anyhow::ensure!(p.kind != "fail", "kind {} is not allowed", p.kind);
        Ok(Done { ok: true })
    }
}

async fn serve(table: ServiceTable) -> (MemoryRpcServer, MemoryRpcClient) {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(table).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    (server, client)
}

fn job(kind: &str, sleep_ms: u64) -> Job {
    Job { kind: kind.into(), sleep_ms }
}

fn rpc(result: Result<Done, Error>) -> RpcError {
    match result {
        Err(Error::Rpc(e)) => e,
        other => panic!("expected an RPC error: {other:?}"),
    }
}

#[tokio::test]
async fn question_mark_on_any_error() {
    let (server, client) = serve(WorkServer::new(Worker::default()).into_service_table()).await;
    let work = WorkClient::new(client.clone());
    let io = rpc(work.run(job("io", 0)).await);
    assert_eq!((io.code, io.message.as_str()), (-32603, "Internal error"));
    assert_eq!(io.data.as_ref().unwrap()["name"], "std::io::error::Error");
    assert!(io.data.as_ref().unwrap()["message"].as_str().unwrap().contains("No such file"));
    let json = rpc(work.run(job("json", 0)).await);
    assert_eq!(json.data.as_ref().unwrap()["name"], "serde_json::error::Error");
    let passed = rpc(work.run(job("rpc", 0)).await);
    assert_eq!((passed.code, passed.data.unwrap()["why"].clone()), (-31000, serde_json::json!("test")));
    let anyhow = rpc(work.run_anyhow(job("fail", 0)).await);
    assert_eq!(anyhow.code, -32603);
    assert_eq!(anyhow.data.as_ref().unwrap()["message"], "kind fail is not allowed");
    assert_eq!(rpc(work.run_anyhow(job("rpc", 0)).await).code, -31000, "an RpcError inside anyhow passes through");
    assert!(work.run_anyhow(job("ok", 0)).await.unwrap().ok);
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_layer_cancels_handlers_whose_caller_is_gone() {
    let finished = Arc::new(AtomicUsize::new(0));
    let plain = WorkServer::new(Worker { finished: Arc::clone(&finished) }).into_service_table();
    let (server, client) = serve(plain.layer(DeadlineLayer::new())).await;
    let work = WorkClient::new(client.clone());
    // The layer's answer and the caller's own timeout fire together: either may win.
    let err = work.with_timeout(Duration::from_millis(200)).run(job("slow", 1500)).await.unwrap_err();
    let deadline_exceeded = err.as_rpc().is_some_and(|e| e.code == clamator::codes::DEADLINE_EXCEEDED);
    assert!(err.is_timeout() || deadline_exceeded, "{err:?}");
    assert!(work.run(job("quick", 10)).await.unwrap().ok, "a call within its deadline runs");
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 1, "the slow handler was cancelled at its deadline");
    client.stop().await;
    server.stop().await;
}

#[test]
fn metrics_layer_reports_requests_errors_and_latency() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let table = WorkServer::new(Worker::default()).into_service_table().layer(MetricsLayer::new());
            let (server, client) = serve(table).await;
            let work = WorkClient::new(client.clone());
            work.run(job("ok", 0)).await.unwrap();
            work.run(job("ok", 0)).await.unwrap();
            rpc(work.run(job("rpc", 0)).await);
            client.stop().await;
            server.stop().await;
        });
    });
    let mut counters = std::collections::HashMap::new();
    let mut histogram_samples = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let name = key.key().name().to_owned();
        let labels: Vec<String> = key.key().labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        match value {
            DebugValue::Counter(n) => {
                counters.insert(format!("{name}{{{}}}", labels.join(",")), n);
            }
            DebugValue::Histogram(samples) if name == "clamator_handler_seconds" => histogram_samples += samples.len(),
            _ => {}
        }
    }
    assert_eq!(counters.get("clamator_requests_total{service=work,method=run}"), Some(&3), "{counters:?}");
    assert_eq!(counters.get("clamator_errors_total{service=work,method=run,code=-31000}"), Some(&1), "{counters:?}");
    assert_eq!(histogram_samples, 3);
}
