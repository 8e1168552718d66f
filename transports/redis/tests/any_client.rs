//! One client type whatever the transport: `AnyClient` chosen from a run-time value, over
//! the memory bus or a real redis-server, behind a generated proxy.

use std::time::Duration;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{AnyClient, DynRpcClient, RpcClient};
use clamator_test_support::contracts::*;
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;

/// What an application would keep to shut its transport down; the calls go through the
/// [`AnyClient`] alone.
enum Running {
    Memory(MemoryRpcServer, MemoryRpcClient),
    Redis(RedisRpcServer, RedisRpcClient),
}

impl Running {
    async fn stop(self) {
        match self {
            Running::Memory(server, client) => {
                client.stop().await;
                server.stop().await;
            }
            Running::Redis(server, client) => {
                client.stop().await;
                server.stop().await;
            }
        }
    }
}

/// Picks the transport from `transport` (as read from configuration) and returns one type.
async fn connect(transport: &str, redis: &RedisServer) -> (AnyClient, Running) {
    match transport {
        "memory" => {
            let bus = MemoryBus::new();
            let server = MemoryRpcServer::new(&bus);
            server.register_service(ArithServer::new(Calculator::default())).unwrap();
            server.start().await.unwrap();
            let client = MemoryRpcClient::new(&bus);
            client.start().await.unwrap();
            (AnyClient::new(client.clone()), Running::Memory(server, client))
        }
        "redis" => {
            let prefix = unique_prefix("any-client");
            let server = RedisRpcServer::builder(&prefix).url(redis.url()).build().unwrap();
            server.register_service(ArithServer::new(Calculator::default())).unwrap();
            server.start().await.unwrap();
            let client = RedisRpcClient::builder(&prefix)
                .url(redis.url())
                .default_timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            client.start().await.unwrap();
            (AnyClient::new(client.clone()), Running::Redis(server, client))
        }
        other => panic!("unknown transport {other}"),
    }
}

/// Code that only knows the erased type.
async fn add_through(client: AnyClient) -> f64 {
    let arith: ArithClient<AnyClient> = ArithClient::new(client);
    arith.add(AddParams { a: 2.0, b: 3.0 }).await.unwrap().sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transport_is_chosen_at_run_time_behind_one_type() {
    let redis = RedisServer::start_private();
    let configured: Vec<String> = vec!["memory".into(), "redis".into()];
    for transport in &configured {
        let (client, running) = connect(transport, &redis).await;
        assert_eq!(add_through(client.clone()).await, 5.0, "{transport}");
        // Typed errors survive the erasure.
        let err = ArithClient::new(client.clone()).divide(DivideParams { a: 1.0, b: 0.0 }).await.unwrap_err();
        assert_eq!(err.as_rpc().map(|e| e.code), Some(-32000), "{transport}");
        // The object-safe trait is usable directly, too.
        let dynamic: &dyn DynRpcClient = client.as_dyn().as_ref();
        let raw = dynamic.call_value_boxed("arith", "add", serde_json::json!({"a": 1, "b": 1}), Default::default());
        assert_eq!(raw.await.unwrap(), serde_json::json!({"sum": 2.0}), "{transport}");
        client.notify_value("arith", "record", serde_json::json!({"seq": 1})).await.unwrap();
        running.stop().await;
    }
}
