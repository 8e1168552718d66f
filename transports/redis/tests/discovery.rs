//! Discovery and per-method stats, read back through `discovery::Inspector` from a real
//! redis-server: every call is accounted for in the published counters, two servers of one
//! service are two instances (their latency histograms add up), and a server with discovery off publishes nothing.

use std::time::Duration;

use clamator::redis::discovery::{InspectOptions, Inspector, LatencyHistogram};
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, Error, RpcClient};
use clamator_test_support::counting::Executions;
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_counted_once_across_a_pool() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("discovery-pool");
    let executions = Executions::default();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let server = RedisRpcServer::builder(&prefix)
            .url(redis.url())
            .concurrency(4)
            .discovery_interval(Some(Duration::from_millis(100)))
            .build()
            .unwrap();
        server.register_service(executions.service()).unwrap();
        server.start().await.unwrap();
        servers.push(server);
    }
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    let calls = (0..40).map(|i| {
        let client = client.clone();
        async move {
            // Every fifth call has params the server rejects (-32602).
            let params = if i % 5 == 0 { json!({"key": 7}) } else { json!({"key": format!("k{i}")}) };
            client.call_value("tally", "hit", params, CallOptions::default()).await
        }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    let rejected = outcomes.iter().filter(|o| matches!(o, Err(Error::Rpc(e)) if e.code == -32602)).count();
    assert_eq!(rejected, 8);
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 32);

    let inspector = Inspector::connect(redis.url(), prefix.clone()).await.unwrap();
    let mut totals = (0, 0);
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let instances = inspector.instances("tally").await.unwrap();
        let hit = instances.iter().filter_map(|i| i.method("hit")).map(|m| &m.stats);
        totals = hit.fold((0, 0), |(r, e), s| (r + s.requests, e + s.errors));
        if totals == (40, 8) && instances.len() == 2 {
            break;
        }
    }
    assert_eq!(totals, (40, 8), "requests and errors across both instances");
    let overview = inspector.service("tally", &InspectOptions::default()).await.unwrap();
    assert_eq!(overview.instances.len(), 2);
    assert_eq!((overview.requests(), overview.errors()), (40, 8));
    let by_code: u64 =
        overview.instances.iter().map(|i| i.methods[0].stats.errors_by_code.get("-32602").copied().unwrap_or(0)).sum();
    assert_eq!(by_code, 8);
    assert!(overview.instances.iter().all(|i| i.methods[0].kind == "method" && i.library == "clamator-rs"));
    // Both histograms count every handled call once; added up across the instances.
    let (mut processing, mut queue_wait) = (LatencyHistogram::new(), LatencyHistogram::new());
    for i in &overview.instances {
        processing.add(&i.methods[0].stats.processing);
        queue_wait.add(&i.methods[0].stats.queue_wait);
    }
    assert_eq!((processing.count(), queue_wait.count()), (40, 40));
    let (p50, p99) = (processing.quantile_ms(0.5).unwrap(), processing.quantile_ms(0.99).unwrap());
    assert!(p50 > 0.0 && p50 <= p99 && p99 < 5_000.0, "p50 {p50} ms, p99 {p99} ms");
    assert!(queue_wait.quantile_ms(0.99).unwrap() < 5_000.0);

    client.stop().await;
    for server in servers {
        server.stop().await;
    }
    assert!(inspector.instances("tally").await.unwrap().is_empty(), "stop removes the documents");
}

#[tokio::test]
async fn a_server_with_discovery_off_publishes_nothing() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("discovery-off");
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).discovery_interval(None).build().unwrap();
    server.register_service(Executions::default().service()).unwrap();
    server.start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let inspector = Inspector::connect(redis.url(), prefix.clone()).await.unwrap();
    let mut options = InspectOptions::default();
    options.scan = false;
    assert!(inspector.service_names(&options).await.unwrap().is_empty());
    // Its stream and group are still found the way a 0.1.9 server's are.
    options.scan = true;
    assert_eq!(inspector.service_names(&options).await.unwrap(), vec!["tally".to_owned()]);
    server.stop().await;
}
