//! Sentinel: servers and clients configured with sentinel addresses and a master name find
//! the master, and follow a failover (the master killed by pid, the replica promoted by
//! the sentinels) without a restart, recreating a group the promoted replica lacks; every
//! call made meanwhile is accounted for.

use std::time::Duration;

use clamator::redis::redis::{self, aio::ConnectionManager};
use clamator::redis::{command_stream, ConnectionOptions, RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, RpcClient, TransportError};
use clamator_test_support::counting::Executions;
use clamator_test_support::failover::{calls_through_failover, FailoverLoad, Outcome};
use clamator_test_support::redis_sentinel::{SentinelSetup, MASTER_NAME};
use clamator_test_support::unique_prefix;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_resume_after_a_sentinel_failover() {
    let setup = SentinelSetup::start();
    let prefix = unique_prefix("sentinel");
    let options = ConnectionOptions::new().sentinel(MASTER_NAME, setup.sentinel_urls());
    let executions = Executions::default();
    let server = RedisRpcServer::builder(&prefix)
        .options(options.clone())
        .concurrency(4)
        .claim_idle(Duration::from_secs(2))
        .build()
        .unwrap();
    server.register_service(executions.service()).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).options(options).build().unwrap();
    client.start().await.unwrap();
    let r = client.call_value("tally", "hit", json!({"key": "first"}), CallOptions::default()).await.unwrap();
    assert_eq!(r, json!({"key": "first", "runs": 1}));

    let report = calls_through_failover(client.clone(), FailoverLoad::default(), || setup.kill_master()).await;
    let promoted_after = setup.wait_for_promotion(Duration::from_secs(1));
    eprintln!("sentinel failover: {} (promotion seen {promoted_after:?} after the check)", report.summary());
    for call in report.failed() {
        eprintln!(
            "  {:?} {}..{} ms: {}",
            call.outcome,
            call.started_ms,
            call.ended_ms,
            call.error.as_deref().unwrap_or("")
        );
    }
    let twice = report.check(&executions);
    eprintln!("sentinel failover: {} keys ran twice", twice.len());
    assert!(report.count(Outcome::Ok) > 20);
    assert_eq!(setup.master_port(), Some(setup.replica.port()), "the replica is the master now");

    // A promoted replica that lacks the group (it had not received it yet): the server
    // recreates it and serves on.
    let mut promoted = ConnectionManager::new(redis::Client::open(setup.replica.url()).unwrap()).await.unwrap();
    let destroyed: i64 = redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(command_stream(&prefix, "tally"))
        .arg("tally")
        .query_async(&mut promoted)
        .await
        .unwrap();
    assert_eq!(destroyed, 1);
    let r = client.call_value("tally", "hit", json!({"key": "after-regroup"}), CallOptions::default()).await.unwrap();
    assert_eq!(r, json!({"key": "after-regroup", "runs": 1}));

    client.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn sentinel_configuration_errors_are_clear() {
    let err = RedisRpcClient::builder("p")
        .options(ConnectionOptions::new().sentinel(MASTER_NAME, Vec::<String>::new()))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no sentinel address"), "{err}");
    // Nothing listens there: start fails with a connection error naming Sentinel, no hang.
    let port = clamator_test_support::redis_server::free_port();
    let client = RedisRpcClient::builder("p")
        .options(ConnectionOptions::new().sentinel(MASTER_NAME, [format!("redis://127.0.0.1:{port}")]))
        .build()
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), client.start()).await.expect("no hang").unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
    assert!(err.to_string().contains("Sentinel"), "{err}");
}
