//! `clamator-bench serve <peer>`: the server side of a peer scenario, in a process of its own
//! with a tokio runtime of 2 workers (as the load generator). Prints `READY [address]` once
//! serving, then serves until standard input closes (or the process is killed).

use std::time::Duration;

use clamator::redis::RedisRpcServer;
use clamator::IntoServiceTable;
use clamator_test_support::contracts::{ArithServer, Calculator};
use tokio::io::AsyncReadExt;

use crate::cli::{ServeArgs, ServerPeer};
use crate::floor::ServerMode;

pub fn main(args: &ServeArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(serve(args))
}

async fn serve(args: &ServeArgs) -> Result<(), String> {
    let redis = || args.redis_url.as_deref().ok_or("this peer needs --redis-url");
    let nats = || args.nats_url.as_deref().ok_or("this peer needs --nats-url");
    let prefix = args.prefix.as_str();
    // Whatever must stay alive while serving.
    let mut _server = None;
    let mut _task = None;
    let mut address = String::new();
    match args.peer {
        ServerPeer::Clamator => {
            let server = RedisRpcServer::builder(prefix)
                .url(redis()?)
                .concurrency(1)
                .shutdown_grace(Duration::from_secs(2))
                .build()
                .map_err(|e| format!("server build: {e}"))?;
            server
                .register_service(ArithServer::new(Calculator::default()).into_service_table())
                .map_err(|e| format!("register: {e}"))?;
            server.start().await.map_err(|e| format!("server start: {e}"))?;
            _server = Some(server);
        }
        ServerPeer::FloorAlternating => {
            _task = Some(crate::floor::serve_prefix(redis()?, prefix, ServerMode::Batched).await?);
        }
        ServerPeer::FloorOverlapped => {
            _task = Some(crate::floor::serve_prefix(redis()?, prefix, ServerMode::Overlapped).await?);
        }
        ServerPeer::NatsCore => _task = Some(super::nats::serve_core(nats()?, prefix).await?),
        ServerPeer::NatsJetstream => _task = Some(super::nats::serve_jetstream(nats()?, prefix).await?),
        ServerPeer::Grpc => address = super::grpc::serve().await?.to_string(),
    }
    println!("READY {address}");
    // Serve until standard input closes.
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while stdin.read(&mut buf).await.map_err(|e| e.to_string())? > 0 {}
    if let Some(server) = _server {
        server.stop().await;
    }
    Ok(())
}
