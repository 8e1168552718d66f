//! The normal shapes: methods, a notification, a name override, doc comments; implemented
//! with plain `async fn`s and exercised over the memory bus.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{Contract, MethodKind, RpcError};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct SlowAddParams {
    pub a: f64,
    pub b: f64,
    #[validate(range(max = 1000))]
    pub delay_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct AddResult {
    pub sum: f64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct DivParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct DivResult {
    pub quotient: f64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct PingParams {
    #[validate(length(min = 1))]
    pub from: String,
}

/// Arithmetic.
#[clamator::contract(service = "arith")]
pub trait Arith {
    /// Adds.
    async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
    /// Adds, slowly.
    async fn slow_add(&self, params: SlowAddParams) -> Result<AddResult, RpcError>;
    /// Divides; `b == 0` is an application error.
    #[clamator(name = "div")]
    async fn divide(&self, params: DivParams) -> Result<DivResult, RpcError>;
    /// Counts pings.
    #[clamator(notification)]
    async fn ping(&self, params: PingParams);
}

#[derive(Default)]
struct Calc {
    pings: AtomicU32,
}

impl Arith for Calc {
    async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
        Ok(AddResult { sum: p.a + p.b })
    }

    async fn slow_add(&self, p: SlowAddParams) -> Result<AddResult, RpcError> {
        tokio::time::sleep(Duration::from_millis(p.delay_ms)).await;
        Ok(AddResult { sum: p.a + p.b })
    }

    async fn divide(&self, p: DivParams) -> Result<DivResult, RpcError> {
        if p.b == 0.0 {
            return Err(RpcError::new(-32000, "division by zero"));
        }
        Ok(DivResult { quotient: p.a / p.b })
    }

    async fn ping(&self, _params: PingParams) {
        self.pings.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::main]
async fn main() {
    // The descriptor.
    assert_eq!(ArithContract::SERVICE, "arith");
    let descriptor = ArithContract::descriptor();
    assert_eq!(descriptor.name, "arith");
    let names: Vec<(&str, &str, MethodKind)> =
        descriptor.methods.iter().map(|m| (&*m.name, &*m.rust_name, m.kind)).collect();
    assert_eq!(
        names,
        [
            ("add", "add", MethodKind::Method),
            ("slowAdd", "slow_add", MethodKind::Method),
            ("div", "divide", MethodKind::Method),
            ("ping", "ping", MethodKind::Notification),
        ]
    );

    // A round trip.
    let calc = Arc::new(Calc::default());
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    let hosted = ArithServer::from_arc(Arc::clone(&calc));
    let _ = format!("{hosted:?}");
    server.register_service(hosted.clone()).unwrap();
    server.start().await.unwrap();

    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let arith = ArithClient::new(client.clone());
    let _: &MemoryRpcClient = arith.inner();

    assert_eq!(arith.add(AddParams { a: 2.0, b: 3.0 }).await.unwrap().sum, 5.0);
    assert_eq!(arith.slow_add(SlowAddParams { a: 1.0, b: 1.0, delay_ms: 5 }).await.unwrap().sum, 2.0);
    assert_eq!(arith.divide(DivParams { a: 6.0, b: 3.0 }).await.unwrap().quotient, 2.0);
    match arith.divide(DivParams { a: 1.0, b: 0.0 }).await {
        Err(clamator::Error::Rpc(e)) => assert_eq!((e.code, e.message.as_str()), (-32000, "division by zero")),
        other => panic!("expected an RPC error, got {other:?}"),
    }

    // Client-side validation: nothing is sent.
    assert!(arith.slow_add(SlowAddParams { a: 1.0, b: 1.0, delay_ms: 5000 }).await.is_err());
    assert!(arith.ping(PingParams { from: String::new() }).await.is_err());

    // The per-proxy timeout.
    let hasty = arith.with_timeout(Duration::from_millis(20));
    match hasty.slow_add(SlowAddParams { a: 1.0, b: 1.0, delay_ms: 500 }).await {
        Err(clamator::Error::Transport(clamator::TransportError::Timeout)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }

    // A notification.
    arith.ping(PingParams { from: "main".into() }).await.unwrap();
    for _ in 0..100 {
        if calc.pings.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(calc.pings.load(Ordering::SeqCst), 1);

    client.stop().await;
    server.stop().await;
}
