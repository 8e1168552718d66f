//! The server half of the two-process Redis example. Stops cleanly on SIGTERM or Ctrl-C:
//! reading stops at once, in-flight handlers get the grace period to answer.
//!
//! Run: `REDIS_URL=redis://127.0.0.1:6379 cargo run -p clamator-examples --bin redis_server`
//! (options: `--prefix P`, `--concurrency N`).

use clamator::redis::RedisRpcServer;
use clamator_examples::{ArithContract, ArithServer, Calculator};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let prefix = arg("--prefix").unwrap_or_else(|| "clamator-example".into());
    let concurrency = arg("--concurrency").map(|c| c.parse()).transpose()?.unwrap_or(1);

    let server = RedisRpcServer::builder(&prefix).concurrency(concurrency).version("1.0.0").build()?;
    server.register_service(ArithServer::new(Calculator::default()))?;
    // The contract's JSON Schemas (schemars derives, feature `schemas`): what
    // `clamator describe arith` shows and `clamator call` checks params against.
    server.describe_contract::<ArithContract>();
    server.start().await?;
    tracing::info!(%prefix, instance = server.instance_id(), "serving arith; Ctrl-C or SIGTERM to stop");

    shutdown_signal().await;
    tracing::info!("stopping");
    server.stop().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
