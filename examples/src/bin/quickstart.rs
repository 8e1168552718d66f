//! Quickstart: a server and a client on the in-process memory bus.
//!
//! Run: `cargo run -p clamator-examples --bin quickstart`

use std::time::Duration;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::Error;
use clamator_examples::{AddParams, ArithClient, ArithServer, Calculator, PingParams};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bus = MemoryBus::new();

    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default()))?;
    server.start().await?;

    let client = MemoryRpcClient::new(&bus);
    client.start().await?;
    let arith = ArithClient::new(client.clone());

    let r = arith.add(AddParams { a: 2.0, b: 3.0, sleep_ms: 0 }).await?;
    println!("arith.add(2, 3) = {}", r.sum);

    arith.ping(PingParams { note: "hello".into() }).await?;
    println!("arith.ping sent (notifications get no reply)");

    // Params are validated before anything is sent...
    match arith.slow_add(AddParams { a: 1.0, b: 1.0, sleep_ms: 60_000 }).await {
        Err(Error::Protocol(e)) => println!("refused client-side: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    // ...and a per-call timeout overrides the client's default.
    match arith.with_timeout(Duration::from_millis(50)).slow_add(AddParams { a: 1.0, b: 1.0, sleep_ms: 500 }).await {
        Err(e) if e.is_timeout() => println!("slowAdd with a 50 ms timeout: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    // Application errors arrive exactly as the handler built them.
    match arith.add(AddParams { a: f64::MAX, b: f64::MAX, sleep_ms: 0 }).await {
        Err(Error::Rpc(e)) => {
            println!("server answered {} {:?} with data {}", e.code, e.message, e.data.unwrap_or_default())
        }
        other => println!("unexpected: {other:?}"),
    }

    client.stop().await;
    server.stop().await;
    Ok(())
}
