//! The client half of the two-process Redis example: start `redis_server` first.
//!
//! Run: `REDIS_URL=redis://127.0.0.1:6379 cargo run -p clamator-examples --bin redis_client`
//! (option: `--prefix P`, the same as the server's).

use std::time::Duration;

use clamator::redis::RedisRpcClient;
use clamator_examples::{AddParams, ArithClient, PingParams};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let prefix = args
        .iter()
        .position(|a| a == "--prefix")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "clamator-example".into());

    let client = RedisRpcClient::builder(&prefix).default_timeout(Duration::from_secs(5)).build()?;
    client.start().await?;
    let arith = ArithClient::new(client.clone());

    let r = arith.add(AddParams { a: 2.0, b: 3.0, sleep_ms: 0 }).await?;
    println!("arith.add(2, 3) = {}", r.sum);
    let r = arith.slow_add(AddParams { a: 40.0, b: 2.0, sleep_ms: 200 }).await?;
    println!("arith.slowAdd(40, 2) = {}", r.sum);
    arith.ping(PingParams { note: "from redis_client".into() }).await?;
    println!("arith.ping sent");

    client.stop().await;
    Ok(())
}
