//! Scenarios over the clamator Redis Streams transport: one client, one or more servers on
//! the same key prefix (each with its own connection), in this process.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{IntoServiceTable, ServiceTable};
use clamator_test_support::contracts::{ArithClient, ArithServer, Calculator, SlowAddParams};

use crate::measure::{run_calls, run_notify, Caller, Outcome, Plan};
use crate::memory::{counting_record_service, AddCaller, RecordCaller};
use crate::rawredis::{delete_prefix, fresh_prefix};

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

async fn start_servers(
    url: &str,
    prefix: &str,
    servers: usize,
    concurrency: usize,
    strict: bool,
    service: impl Fn() -> ServiceTable,
) -> Result<Vec<RedisRpcServer>, String> {
    let mut started = Vec::with_capacity(servers);
    for _ in 0..servers {
        let server = RedisRpcServer::builder(prefix)
            .url(url)
            .concurrency(concurrency)
            .prefetch_budget(if strict { Duration::ZERO } else { clamator::redis::DEFAULT_PREFETCH_BUDGET })
            .shutdown_grace(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("server build: {e}"))?;
        server.register_service(service()).map_err(|e| format!("register: {e}"))?;
        server.start().await.map_err(|e| format!("server start: {e}"))?;
        started.push(server);
    }
    Ok(started)
}

async fn start_client(url: &str, prefix: &str) -> Result<RedisRpcClient, String> {
    let client = RedisRpcClient::builder(prefix)
        .url(url)
        .default_timeout(CALL_TIMEOUT)
        .build()
        .map_err(|e| format!("client build: {e}"))?;
    client.start().await.map_err(|e| format!("client start: {e}"))?;
    Ok(client)
}

async fn teardown(url: &str, prefix: &str, client: RedisRpcClient, servers: Vec<RedisRpcServer>) {
    client.stop().await;
    for server in servers {
        server.stop().await;
    }
    if let Err(e) = delete_prefix(url, prefix).await {
        eprintln!("warning: cleanup of {prefix}: {e}");
    }
}

/// `redis/sS/kK[-strict]/cN`: typed `add` through `servers` servers with per-service
/// concurrency `service_concurrency` (`strict`: no prefetch at all), `concurrency` callers.
pub async fn calls(
    plan: Plan,
    url: &str,
    scenario: &str,
    servers: usize,
    service_concurrency: usize,
    strict: bool,
    concurrency: usize,
) -> Result<Outcome, String> {
    let prefix = fresh_prefix(scenario);
    let running = start_servers(url, &prefix, servers, service_concurrency, strict, || {
        ArithServer::new(Calculator::default()).into_service_table()
    })
    .await?;
    let client = start_client(url, &prefix).await?;
    let arith = ArithClient::new(client.clone());
    let outcome = run_calls(plan, (0..concurrency).map(|_| AddCaller(arith.clone())).collect()).await;
    teardown(url, &prefix, client, running).await;
    Ok(outcome)
}

/// `redis/notify`: notifications handled per second by one server (per-service
/// concurrency 1, as in 0.1.9), `concurrency` senders.
pub async fn notify(plan: Plan, url: &str, scenario: &str, concurrency: usize) -> Result<Outcome, String> {
    let prefix = fresh_prefix(scenario);
    let handled = Arc::new(AtomicU64::new(0));
    let running = start_servers(url, &prefix, 1, 1, false, || counting_record_service(Arc::clone(&handled))).await?;
    let client = start_client(url, &prefix).await?;
    let arith = ArithClient::new(client.clone());
    let callers = (0..concurrency).map(|_| RecordCaller(arith.clone())).collect();
    let outcome = run_notify(plan, callers, handled, crate::scenarios::NOTIFY_BACKLOG_REDIS).await;
    teardown(url, &prefix, client, running).await;
    Ok(outcome)
}

/// A caller making typed `arith.slowAdd` calls whose handler sleeps 2 ms: the shape of a
/// handler that waits on I/O (a database, another service), where a pool adds capacity.
pub struct SlowAddCaller(pub ArithClient<RedisRpcClient>);

impl Caller for SlowAddCaller {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        let a = (seq % 1024) as f64;
        let r = self.0.slow_add(SlowAddParams { a, b: 1.0, sleep_ms: 2 }).await.map_err(|e| e.to_string())?;
        if r.sum == a + 1.0 {
            Ok(())
        } else {
            Err(format!("wrong sum {} for {a} + 1", r.sum))
        }
    }
}

/// `redis-io/sS/k1/c64`: 64 callers of a 2 ms handler through `servers` servers, each with
/// per-service concurrency 1 (at most 500 calls/s per server).
pub async fn io_calls(plan: Plan, url: &str, scenario: &str, servers: usize) -> Result<Outcome, String> {
    let prefix = fresh_prefix(scenario);
    let running =
        start_servers(url, &prefix, servers, 1, false, || ArithServer::new(Calculator::default()).into_service_table())
            .await?;
    let client = start_client(url, &prefix).await?;
    let arith = ArithClient::new(client.clone());
    let outcome = run_calls(plan, (0..64).map(|_| SlowAddCaller(arith.clone())).collect()).await;
    teardown(url, &prefix, client, running).await;
    Ok(outcome)
}
