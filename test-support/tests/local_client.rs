//! `LocalClient`: calls service tables directly, with the transports' validation and codes.

use std::time::Duration;

use clamator::{
    CallOptions, Error, IntoServiceTable, LocalClient, ProtocolError, RpcClient, ServerError, ServiceBuilder,
    TransportError,
};
use clamator_test_support::contracts::*;
use serde_json::json;

fn arith() -> (LocalClient, Observed) {
    let calculator = Calculator::default();
    let observed = calculator.observed.clone();
    let echo = ServiceBuilder::new("echo").raw_method("echo", |p| async move { Ok(p) }).build().unwrap();
    let client = LocalClient::new().with_service(ArithServer::new(calculator)).unwrap().with_service(echo).unwrap();
    (client, observed)
}

#[tokio::test]
async fn typed_calls_through_a_generated_proxy_and_several_services() {
    let (client, _) = arith();
    assert_eq!(client.services(), ["arith", "echo"]);
    let proxy = ArithClient::new(client.clone());
    assert_eq!(proxy.add(AddParams { a: 2.0, b: 3.0 }).await.unwrap(), AddResult { sum: 5.0 });
    let echoed = client.call_value("echo", "echo", json!({"x": [1, 2]}), CallOptions::default()).await.unwrap();
    assert_eq!(echoed, json!({"x": [1, 2]}));
}

#[tokio::test]
async fn server_side_validation_and_errors_are_the_transports() {
    let (client, _) = arith();
    let proxy = ArithClient::new(client.clone());
    // Client-side validation: nothing reaches the table.
    let err = proxy.echo_text(EchoParams { text: String::new() }).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(ProtocolError::InvalidParams(_))), "{err:?}");
    // Server-side: raw params that do not decode are -32602 with the field named.
    let err = client.call_value("arith", "slowAdd", json!({"a": 1, "b": 2}), CallOptions::default()).await;
    let err = err.unwrap_err().as_rpc().cloned().unwrap();
    assert_eq!(err.code, -32602);
    assert_eq!(err.validation_errors().unwrap()[0].path(), "sleepMs");
    // An application error passes through unchanged; a panic is -32603; a bad result too.
    let err = proxy.divide(DivideParams { a: 1.0, b: 0.0 }).await.unwrap_err();
    assert_eq!((err.as_rpc().unwrap().code, err.as_rpc().unwrap().data.clone()), (-32000, Some(json!({"a": 1.0}))));
    let err = proxy.explode(Empty {}).await.unwrap_err();
    assert_eq!(err.as_rpc().unwrap().code, -32603);
    let err = proxy.bad_result(Empty {}).await.unwrap_err();
    assert_eq!(err.as_rpc().unwrap().message, "Result validation failed");
    // Unknown service and unknown method: -32601. Bad names: refused before dispatch.
    for (service, method) in [("nobody", "add"), ("arith", "nope")] {
        let err = client.call_value(service, method, json!({}), CallOptions::default()).await.unwrap_err();
        assert_eq!(err.as_rpc().map(|e| e.code), Some(-32601), "{service}.{method}: {err:?}");
    }
    let err = client.call_value("Bad Name", "add", json!({}), CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(ProtocolError::InvalidName(_))), "{err:?}");
}

#[tokio::test]
async fn notifications_have_run_when_notify_returns() {
    let (client, observed) = arith();
    let proxy = ArithClient::new(client.clone());
    proxy.record(RecordParams { seq: 7 }).await.unwrap();
    assert_eq!(observed.records(), [7]);
    // Unknown service: dropped, as on the memory bus.
    client.notify_value("nobody", "record", json!({"seq": 1})).await.unwrap();
}

#[tokio::test]
async fn timeouts_default_and_per_call() {
    let (client, observed) = arith();
    let slow = SlowAddParams { a: 1.0, b: 1.0, sleep_ms: 5_000 };
    let short = client.clone().with_default_timeout(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let err = ArithClient::new(short.clone()).slow_add(slow.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::Timeout)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = ArithClient::new(client).with_timeout(Duration::from_millis(50)).slow_add(slow).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // The handler was dropped with the call: it never completed.
    assert_eq!(observed.completed.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The shorter client kept its services.
    assert_eq!(short.services(), ["arith", "echo"]);
}

#[test]
fn a_service_name_twice_is_refused() {
    let err = LocalClient::new()
        .with_service(ArithServer::new(Calculator::default()))
        .unwrap()
        .with_service(ArithServer::new(Calculator::default()).into_service_table())
        .unwrap_err();
    assert!(matches!(err, ServerError::DuplicateService(ref name) if name == "arith"), "{err:?}");
}
