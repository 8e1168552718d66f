//! Rules specific to the memory bus.

use std::time::{Duration, Instant};

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{CallOptions, Error, RpcClient, ServerError, ServiceBuilder, TransportError};
use clamator_test_support::contracts::*;
use serde_json::json;

#[tokio::test]
async fn one_server_per_service_per_bus() {
    let bus = MemoryBus::new();
    let first = MemoryRpcServer::new(&bus);
    let second = MemoryRpcServer::new(&bus);
    first.register_service(ArithServer::new(Calculator::default())).unwrap();
    let err = second.register_service(ArithServer::new(Calculator::default())).unwrap_err();
    assert!(matches!(err, ServerError::DuplicateService(ref s) if s == "arith"), "{err:?}");
    assert_eq!(err.to_string(), "service \"arith\" is already registered");
    // Once the first server stops, the name is free again.
    first.stop().await;
    second.register_service(ArithServer::new(Calculator::default())).unwrap();
    assert_eq!(bus.services(), ["arith"]);
}

#[tokio::test]
async fn registered_but_not_started_is_not_served() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let err = client.call_value("arith", "add", json!({"a": 1, "b": 2}), CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::NotSent { .. })), "{err:?}");
    assert!(err.is_retry_safe());
    assert_eq!(
        err.to_string(),
        "transport error: request not sent: service \"arith\" is registered on the memory bus but its server has not been started"
    );
    let err = client.notify_value("arith", "record", json!({"seq": 1})).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::NotSent { .. })), "{err:?}");
    server.start().await.unwrap();
    let ok = client.call_value("arith", "add", json!({"a": 1, "b": 2}), CallOptions::default()).await.unwrap();
    assert_eq!(ok, json!({"sum": 3.0}));
}

#[tokio::test]
async fn server_stop_waits_for_in_flight_handlers_within_grace() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::with_shutdown_grace(&bus, Duration::from_secs(5));
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let arith = ArithClient::new(client.clone());
    let pending = tokio::spawn({
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 200 }).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop().await;
    // The handler finished inside the grace period, so its caller got the answer.
    assert_eq!(pending.await.unwrap().unwrap().sum, 3.0);
    // New calls find nobody serving.
    let err = arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap_err();
    assert_eq!(err.as_rpc().map(|e| e.code), Some(-32601));
}

#[tokio::test]
async fn server_stop_past_grace_fails_the_caller_with_transport_stopped() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::with_shutdown_grace(&bus, Duration::from_millis(100));
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let arith = ArithClient::new(client.clone());
    let pending = tokio::spawn(async move { arith.slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 10_000 }).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = pending.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::Stopped)), "{err:?}");
}

#[tokio::test]
async fn many_services_on_one_server() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    for name in ["alpha", "beta", "gamma"] {
        let service = ServiceBuilder::new(name)
            .raw_method("whoami", move |_| async move { Ok(json!({ "service": name })) })
            .build()
            .unwrap();
        server.register_service(service).unwrap();
    }
    server.start().await.unwrap();
    assert_eq!(bus.services(), ["alpha", "arith", "beta", "gamma"]);
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    for name in ["alpha", "beta", "gamma"] {
        let r = client.call_value(name, "whoami", json!({}), CallOptions::default()).await.unwrap();
        assert_eq!(r["service"], name);
    }
}

#[tokio::test]
async fn default_timeout_applies_and_per_call_override_wins() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::with_default_timeout(&bus, Duration::from_millis(100));
    client.start().await.unwrap();
    let params = json!({"a": 1, "b": 1, "sleepMs": 400});
    let err = client.call_value("arith", "slowAdd", params.clone(), CallOptions::default()).await.unwrap_err();
    assert!(err.is_timeout());
    let ok = client.call_value("arith", "slowAdd", params, CallOptions::timeout(Duration::from_secs(5))).await;
    assert_eq!(ok.unwrap(), json!({"sum": 2.0}));
}

#[tokio::test]
async fn an_overflowing_result_is_an_error_never_null() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let arith = ArithClient::new(client.clone());
    let err = arith.add(AddParams { a: f64::MAX, b: f64::MAX }).await.unwrap_err();
    let rpc = err.as_rpc().expect("an RPC error");
    assert_eq!((rpc.code, rpc.message.as_str()), (-32603, "Result validation failed"));
    let errors = rpc.validation_errors().unwrap();
    assert_eq!((errors[0].path(), errors[0].kind.as_str()), ("sum".to_owned(), "finite_number"));
    // The raw view agrees: no `{"sum": null}` ever reaches the caller.
    let raw = client.call_value("arith", "add", json!({"a": f64::MAX, "b": f64::MAX}), CallOptions::default()).await;
    assert_eq!(raw.unwrap_err().as_rpc().map(|e| e.code), Some(-32603));
    // Params with a non-finite float never leave the client.
    let err = arith.add(AddParams { a: f64::INFINITY, b: 1.0 }).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(clamator::ProtocolError::ParamsNotSerializable(_))), "{err:?}");
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_server_handle_stops_it_after_the_grace_period() {
    use std::sync::atomic::Ordering;
    let bus = MemoryBus::new();
    let calculator = Calculator::default();
    let observed = calculator.observed.clone();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(calculator)).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    let arith = ArithClient::new(client.clone());
    let in_flight = tokio::spawn({
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 300 }).await }
    });
    while observed.in_flight.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let clone = server.clone();
    drop(server);
    assert_eq!(bus.services(), ["arith"], "a clone still holds the server");
    drop(clone);
    // The service leaves the bus at once: a new call finds nobody.
    assert!(bus.services().is_empty());
    let err = arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap_err();
    assert_eq!(err.as_rpc().map(|e| e.code), Some(-32601), "{err:?}");
    // The handler in flight had its grace period and answered.
    assert_eq!(in_flight.await.unwrap().unwrap(), AddResult { sum: 3.0 });
    client.stop().await;
}
