//! Dropping the last handle of a `RedisRpcServer` stops it, as `stop` would: readers at
//! once, in-flight handlers within the grace period, then the consumer is retired.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clamator::redis::redis::Value as RValue;
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{RpcServer, State};
use clamator_test_support::contracts::*;
use clamator_test_support::raw_redis::{cmd, connect, xlen};
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;

fn pending_count(v: &RValue) -> i64 {
    match v {
        RValue::Array(items) => match items.first() {
            Some(RValue::Int(n)) => *n,
            _ => -1,
        },
        _ => -1,
    }
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_stops_reading_and_lets_in_flight_handlers_finish() {
    let redis = RedisServer::start_private();
    let prefix = unique_prefix("drop-stops");
    let stream = format!("{prefix}:cmds:arith");
    let mut raw = connect(redis.url()).await;

    let calculator = Calculator::default();
    let observed = calculator.observed.clone();
    // Two handler slots: a live reader would take a second request at once.
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).instance_id("srv-1").concurrency(2).build().unwrap();
    server.register_service(ArithServer::new(calculator)).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    let arith = ArithClient::new(client.clone());

    // A handler in flight when the last handle goes.
    let in_flight = tokio::spawn({
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 1_500 }).await }
    });
    wait_until("the handler to start", || std::future::ready(observed.in_flight.load(Ordering::SeqCst) == 1)).await;
    let another_handle: Box<dyn RpcServer> = Box::new(server.clone());
    drop(server);
    assert_eq!(another_handle.state(), State::Started, "a clone still holds it: nothing stopped yet");
    drop(another_handle);
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Sent after the drop: nobody reads it.
    let impatient = arith.with_timeout(Duration::from_millis(500));
    let late = impatient.slow_add(SlowAddParams { a: 1.0, b: 1.0, sleep_ms: 0 }).await;
    assert!(late.unwrap_err().is_timeout());

    // The in-flight handler had its grace period, and its caller its reply.
    assert_eq!(in_flight.await.unwrap().unwrap(), AddResult { sum: 3.0 });
    // Then the stop finished: the consumer, holding nothing, was deleted.
    wait_until("the consumer to be retired", || {
        let (mut raw, stream) = (raw.clone(), stream.clone());
        async move {
            let consumers: RValue = cmd(&mut raw, &["XINFO", "CONSUMERS", &stream, "arith"]).await;
            !format!("{consumers:?}").contains("arith:srv-1")
        }
    })
    .await;

    // The late request is still in the stream, unread (nothing pending), and never ran.
    assert_eq!(xlen(&mut raw, &stream).await, 1, "only the late request is left");
    let pending: RValue = cmd(&mut raw, &["XPENDING", &stream, "arith"]).await;
    assert_eq!(pending_count(&pending), 0, "nobody read it: {pending:?}");
    assert_eq!(observed.completed.load(Ordering::SeqCst), 1, "only the in-flight handler ran");
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_an_idle_server_needs_no_stop() {
    let redis = RedisServer::start_private();
    let server = RedisRpcServer::builder(unique_prefix("drop-idle")).url(redis.url()).build().unwrap();
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    drop(server);
}
