//! Scenarios over the in-process memory bus.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{RpcClient, ServiceBuilder, ServiceTable};
use clamator_test_support::contracts::{AddParams, ArithClient, ArithServer, Calculator, RecordParams};

use crate::measure::{run_calls, run_notify, Caller, Outcome, Plan};

/// A caller making typed `arith.add` calls through the generated proxy.
pub struct AddCaller<C>(pub ArithClient<C>);

impl<C: RpcClient + Send + Sync + 'static> Caller for AddCaller<C> {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        let a = (seq % 1024) as f64;
        let r = self.0.add(AddParams { a, b: 1.0 }).await.map_err(|e| e.to_string())?;
        if r.sum == a + 1.0 {
            Ok(())
        } else {
            Err(format!("wrong sum {} for {a} + 1", r.sum))
        }
    }
}

/// A caller sending typed `arith.record` notifications through the generated proxy.
pub struct RecordCaller<C>(pub ArithClient<C>);

impl<C: RpcClient + Send + Sync + 'static> Caller for RecordCaller<C> {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        self.0.record(RecordParams { seq }).await.map_err(|e| e.to_string())
    }
}

/// An `arith` service whose `record` notification only counts (the same typed decode and
/// validation path as generated code), so the handled rate can be read without a lock.
pub fn counting_record_service(handled: Arc<AtomicU64>) -> ServiceTable {
    ServiceBuilder::new("arith")
        .notification("record", move |_: RecordParams| {
            handled.fetch_add(1, Ordering::Relaxed);
            std::future::ready(())
        })
        .build()
        .expect("valid service")
}

/// `memory/cN`: typed `add` with `concurrency` callers.
pub async fn calls(plan: Plan, concurrency: usize) -> Result<Outcome, String> {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default())).map_err(|e| e.to_string())?;
    server.start().await.map_err(|e| e.to_string())?;
    let client = MemoryRpcClient::new(&bus);
    client.start().await.map_err(|e| e.to_string())?;
    let arith = ArithClient::new(client.clone());
    let outcome = run_calls(plan, (0..concurrency).map(|_| AddCaller(arith.clone())).collect()).await;
    client.stop().await;
    server.stop().await;
    Ok(outcome)
}

/// `memory/notify`: notifications handled per second.
pub async fn notify(plan: Plan, concurrency: usize) -> Result<Outcome, String> {
    let handled = Arc::new(AtomicU64::new(0));
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(counting_record_service(Arc::clone(&handled))).map_err(|e| e.to_string())?;
    server.start().await.map_err(|e| e.to_string())?;
    let client = MemoryRpcClient::new(&bus);
    client.start().await.map_err(|e| e.to_string())?;
    let arith = ArithClient::new(client.clone());
    let callers = (0..concurrency).map(|_| RecordCaller(arith.clone())).collect();
    let outcome = run_notify(plan, callers, handled, crate::scenarios::NOTIFY_BACKLOG_MEMORY).await;
    client.stop().await;
    server.stop().await;
    Ok(outcome)
}
