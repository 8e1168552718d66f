//! `serve`: hosts arith, notifications, kv and typed until SIGTERM/SIGINT.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use clamator::redis::RedisRpcServer;
use clamator::RpcError;
use tokio::signal::unix::{signal, SignalKind};

use crate::contracts::*;

pub const LANGUAGE: &str = "rust";

pub struct ServeArgs {
    pub redis_url: String,
    pub prefix: String,
    pub claim_idle_ms: u64,
    pub marker_file: Option<PathBuf>,
    pub instance_id: Option<String>,
    pub max_deliveries: Option<u32>,
    pub dead_consumer_idle_ms: Option<u64>,
}

fn write_marker(path: &PathBuf) -> std::io::Result<()> {
    let pid = std::process::id();
    let tmp = PathBuf::from(format!("{}.tmp.{pid}", path.display()));
    std::fs::write(&tmp, format!("{pid}\n"))?;
    std::fs::rename(&tmp, path)
}

struct ArithImpl {
    marker_file: Option<PathBuf>,
}

impl Arith for ArithImpl {
    async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
        Ok(AddResult { sum: p.a + p.b })
    }

    async fn slow_add(&self, p: SlowAddParams) -> Result<SlowAddResult, RpcError> {
        if let Some(path) = &self.marker_file {
            write_marker(path).map_err(|e| RpcError::internal("OSError", e.to_string()))?;
            eprintln!("rs-serve[{}] slowAdd started (marker written to {})", std::process::id(), path.display());
        }
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        Ok(SlowAddResult { sum: p.a + p.b, process_id: std::process::id() })
    }

    async fn divide(&self, p: DivideParams) -> Result<DivideResult, RpcError> {
        if p.b == 0.0 {
            return Err(RpcError::new(-32000, "division by zero").with_data(serde_json::json!({ "a": p.a })));
        }
        Ok(DivideResult { quotient: p.a / p.b })
    }

    async fn echo_text(&self, p: EchoTextParams) -> Result<EchoTextResult, RpcError> {
        Ok(EchoTextResult { text: p.text })
    }

    async fn whoami(&self, _: WhoamiParams) -> Result<WhoamiResult, RpcError> {
        Ok(WhoamiResult { process_id: std::process::id(), language: LANGUAGE.to_owned() })
    }
}

#[derive(Default)]
struct NotificationsImpl {
    seen: Mutex<HashMap<String, Vec<i64>>>,
}

impl Notifications for NotificationsImpl {
    async fn ping(&self, p: PingParams) {
        self.seen.lock().unwrap().entry(p.run_id).or_default().push(p.seq);
    }

    async fn received(&self, p: ReceivedParams) -> Result<ReceivedResult, RpcError> {
        let seqs = self.seen.lock().unwrap().get(&p.run_id).cloned().unwrap_or_default();
        Ok(ReceivedResult { seqs })
    }
}

#[derive(Default)]
struct KvImpl {
    data: Mutex<HashMap<String, String>>,
}

impl Kv for KvImpl {
    async fn put(&self, p: PutParams) -> Result<PutResult, RpcError> {
        self.data.lock().unwrap().insert(p.key, p.value);
        Ok(PutResult { ok: true })
    }

    async fn get(&self, p: GetParams) -> Result<GetResult, RpcError> {
        Ok(GetResult { value: self.data.lock().unwrap().get(&p.key).cloned() })
    }
}

pub async fn serve(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = RedisRpcServer::builder(args.prefix.clone())
        .url(args.redis_url.clone())
        .claim_idle(Duration::from_millis(args.claim_idle_ms))
        .max_deliveries(args.max_deliveries);
    if let Some(id) = &args.instance_id {
        builder = builder.instance_id(id.clone());
    }
    if let Some(ms) = args.dead_consumer_idle_ms {
        builder = builder.dead_consumer_idle(Duration::from_millis(ms));
    }
    let server = builder.build()?;
    server.register_service(ArithServer::new(ArithImpl { marker_file: args.marker_file.clone() }))?;
    server.register_service(NotificationsServer::new(NotificationsImpl::default()))?;
    server.register_service(KvServer::new(KvImpl::default()))?;
    server.register_service(crate::typed::TypedServer::new(crate::typed::TypedImpl))?;

    // Install the handlers before READY so an early SIGTERM is never lost.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    server.start().await?;
    let pid = std::process::id();
    eprintln!(
        "rs-serve[{pid}] serving prefix={:?} claim_idle_ms={} max_deliveries={:?} dead_consumer_idle_ms={:?}",
        args.prefix, args.claim_idle_ms, args.max_deliveries, args.dead_consumer_idle_ms
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "READY {pid}")?;
        out.flush()?;
    }

    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    eprintln!("rs-serve[{pid}] signal received, stopping");
    server.stop().await;
    let stats = server.stats();
    eprintln!("rs-serve[{pid}] stopped: {stats:?}");
    // What the runner accounts calls with: every entry this server completed, expired,
    // dead-lettered or reclaimed.
    let stats = serde_json::json!({
        "completed": stats.completed,
        "expired": stats.expired,
        "deadLettered": stats.dead_lettered,
        "reclaimed": stats.reclaimed,
        "leasesLost": stats.leases_lost,
    });
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "STATS {stats}")?;
        out.flush()?;
    }
    Ok(())
}
