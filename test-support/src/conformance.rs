//! The transport conformance suite: every behaviour that must be identical over any
//! transport, written once, generic over [`TestTransport`]. A transport's test file
//! implements the trait and calls [`conformance_suite!`](crate::conformance_suite) to get one
//! `#[tokio::test]` per scenario.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clamator::{
    CallOptions, Error, IntoServiceTable, ProtocolError, RpcClient, RpcError, RpcServer, ServerError, ServiceBuilder,
    ServiceTable, State, TransportError,
};
use serde_json::{json, Value};

use crate::contracts::*;

/// What the suite needs from a transport.
pub trait TestTransport: Sized + Send + Sync + 'static {
    /// A server handle. The suite drives it through [`RpcServer`], the trait every
    /// transport's server implements.
    type Server: RpcServer + Clone + Send + Sync + 'static;
    /// A client handle.
    type Client: RpcClient + Clone + Send + Sync + 'static;

    /// A fresh, isolated environment: a new bus, or a new key prefix on the test Redis.
    fn setup() -> impl Future<Output = Self> + Send;
    /// A new server in this environment.
    fn server(&self) -> Self::Server;
    fn register(server: &Self::Server, service: ServiceTable) -> Result<(), ServerError> {
        RpcServer::register_service(server, service)
    }
    fn start_server(server: &Self::Server) -> impl Future<Output = Result<(), ServerError>> + Send {
        RpcServer::start(server)
    }
    fn stop_server(server: &Self::Server) -> impl Future<Output = ()> + Send {
        RpcServer::stop(server)
    }
    /// A new client in this environment.
    fn client(&self, default_timeout: Duration) -> Self::Client;
    fn start_client(client: &Self::Client) -> impl Future<Output = Result<(), TransportError>> + Send;
    fn stop_client(client: &Self::Client) -> impl Future<Output = ()> + Send;
    /// Whether a call to a service nobody serves times out (queues) rather than getting
    /// `-32601` at once (memory bus).
    fn unknown_service_times_out() -> bool;
}

/// A started server hosting `arith` (and `extra`), a started client, and what the handler saw.
pub struct Fixture<T: TestTransport> {
    pub transport: T,
    pub server: T::Server,
    pub client: T::Client,
    pub arith: ArithClient<T::Client>,
    pub observed: Observed,
}

impl<T: TestTransport> Fixture<T> {
    pub async fn new() -> Self {
        Self::with_services(Vec::new()).await
    }

    pub async fn with_services(extra: Vec<ServiceTable>) -> Self {
        let transport = T::setup().await;
        let calculator = Calculator::default();
        let observed = calculator.observed.clone();
        let server = transport.server();
        T::register(&server, ArithServer::new(calculator).into_service_table()).expect("register arith");
        for service in extra {
            T::register(&server, service).expect("register extra service");
        }
        T::start_server(&server).await.expect("start server");
        let client = transport.client(Duration::from_secs(10));
        T::start_client(&client).await.expect("start client");
        let arith = ArithClient::new(client.clone());
        Self { transport, server, client, arith, observed }
    }

    pub async fn teardown(self) {
        T::stop_client(&self.client).await;
        T::stop_server(&self.server).await;
    }
}

fn rpc(err: Error) -> RpcError {
    match err {
        Error::Rpc(e) => e,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

pub async fn round_trip<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let r = f.arith.add(AddParams { a: 2.0, b: 3.0 }).await.unwrap();
    assert_eq!(r, AddResult { sum: 5.0 });
    let text = "héllo — 日本語 — 𝄞 😀👍🏽 — \u{0} \"q\" \\ \u{10FFFF}";
    let r = f.arith.echo_text(EchoParams { text: text.into() }).await.unwrap();
    assert_eq!(r.text, text);
    // The wire names are camelCase: a raw call with `sleepMs` works, `sleep_ms` does not.
    let raw = f.client.call_value("arith", "slowAdd", json!({"a": 1, "b": 2, "sleepMs": 1}), CallOptions::default());
    assert_eq!(raw.await.unwrap(), json!({"sum": 3.0}));
    let raw = f.client.call_value("arith", "slowAdd", json!({"a": 1, "b": 2, "sleep_ms": 1}), CallOptions::default());
    let err = rpc(raw.await.unwrap_err());
    assert_eq!(err.code, -32602);
    assert_eq!(err.validation_errors().unwrap()[0].path(), "sleepMs");
    f.teardown().await;
}

pub async fn notification_is_handled<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    for seq in 1..=5 {
        f.arith.record(RecordParams { seq }).await.unwrap();
    }
    let mut seen = f.observed.wait_for_records(5).await;
    seen.sort_unstable();
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    // Bad params on a notification: nothing comes back, nothing is recorded, and the
    // service keeps working.
    f.client.notify_value("arith", "record", json!({"seq": "x"})).await.unwrap();
    f.arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(f.observed.records().len(), 5);
    f.teardown().await;
}

pub async fn rpc_error_passes_through<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let err = rpc(f.arith.divide(DivideParams { a: 1.0, b: 0.0 }).await.unwrap_err());
    assert_eq!(err.code, -32000);
    assert_eq!(err.message, "division by zero");
    assert_eq!(err.data, Some(json!({"a": 1.0})));
    f.teardown().await;
}

pub async fn panic_becomes_internal_error<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let err = rpc(f.arith.explode(Empty {}).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str()), (-32603, "Internal error"));
    let data = err.data.unwrap();
    assert_eq!(data["name"], "panic");
    assert!(data["message"].as_str().unwrap().contains("kaboom"), "{data}");
    // The server is still serving.
    assert_eq!(f.arith.add(AddParams { a: 1.0, b: 2.0 }).await.unwrap().sum, 3.0);
    f.teardown().await;
}

pub async fn invalid_params_list_errors<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let call = |params: Value| f.client.call_value("arith", "add", params, CallOptions::default());

    let err = rpc(call(json!({"a": "not a number", "b": 1})).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str()), (-32602, "Invalid params"));
    let errors = err.validation_errors().expect("data.errors");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].path().as_str(), errors[0].kind.as_str()), ("a", "invalid_type"));
    assert!(!errors[0].msg.is_empty());

    let err = rpc(call(json!({"a": 1})).await.unwrap_err());
    let errors = err.validation_errors().unwrap();
    assert_eq!((errors[0].path().as_str(), errors[0].kind.as_str()), ("b", "missing"));

    let err = rpc(call(json!([1, 2])).await.unwrap_err());
    assert_eq!(err.code, -32602);

    // Validation rules, not only types: an empty text breaks `length(min = 1)`.
    let raw = f.client.call_value("arith", "echoText", json!({"text": ""}), CallOptions::default());
    let errors = rpc(raw.await.unwrap_err()).validation_errors().unwrap();
    assert_eq!((errors[0].path().as_str(), errors[0].kind.as_str()), ("text", "length"));

    // The typed client refuses to send invalid params at all.
    match f.arith.echo_text(EchoParams { text: String::new() }).await {
        Err(Error::Protocol(ProtocolError::InvalidParams(errors))) => assert_eq!(errors[0].path(), "text"),
        other => panic!("expected client-side validation to fail, got {other:?}"),
    }
    f.teardown().await;
}

pub async fn result_validation_failure<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let err = rpc(f.arith.bad_result(Empty {}).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str()), (-32603, "Result validation failed"));
    let errors = err.validation_errors().unwrap();
    assert_eq!((errors[0].path().as_str(), errors[0].kind.as_str()), ("value", "range"));
    f.teardown().await;
}

pub async fn unknown_method_and_service<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let err = rpc(f.client.call_value("arith", "nope", json!({}), CallOptions::default()).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str(), err.data), (-32601, "Method not found", None));

    let options = CallOptions::timeout(Duration::from_millis(300));
    let err = f.client.call_value("nosuch", "add", json!({}), options).await.unwrap_err();
    if T::unknown_service_times_out() {
        assert!(err.is_timeout(), "{err:?}");
    } else {
        assert_eq!(rpc(err).code, -32601);
    }
    // Names that break the wire rules never leave the client.
    let err = f.client.call_value("Bad", "add", json!({}), CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Protocol(ProtocolError::InvalidName(_))), "{err:?}");
    f.teardown().await;
}

pub async fn timeout_with_slow_handler<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let started = Instant::now();
    let err = f
        .arith
        .with_timeout(Duration::from_millis(200))
        .slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 1500 })
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.to_string(), "transport error: call timeout");
    assert!(started.elapsed() < Duration::from_millis(1400), "timed out late: {:?}", started.elapsed());
    // The late reply is dropped and the next call gets its own answer.
    let r = f.arith.slow_add(SlowAddParams { a: 2.0, b: 2.0, sleep_ms: 1 }).await.unwrap();
    assert_eq!(r.sum, 4.0);
    f.teardown().await;
}

pub async fn stop_fails_pending_calls<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let arith = f.arith.clone();
    let pending = tokio::spawn(async move { arith.slow_add(SlowAddParams { a: 1.0, b: 1.0, sleep_ms: 3000 }).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    T::stop_client(&f.client).await;
    let err = pending.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::Stopped)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // And every later call fails the same way.
    let err = f.arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::Stopped)), "{err:?}");
    f.teardown().await;
}

pub async fn lifecycle_rules<T: TestTransport>() {
    let transport = T::setup().await;

    // Client: calls before start fail; start is idempotent; stop too; no start after stop.
    let client = transport.client(Duration::from_secs(5));
    let arith = ArithClient::new(client.clone());
    let err = arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::NotStarted)), "{err:?}");
    let err = arith.record(RecordParams { seq: 1 }).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::NotStarted)), "{err:?}");
    T::start_client(&client).await.unwrap();
    T::start_client(&client).await.unwrap();

    // Server: duplicate names and late registrations are errors; start/stop idempotent.
    let server = transport.server();
    T::register(&server, ArithServer::new(Calculator::default()).into_service_table()).unwrap();
    let dup = T::register(&server, ArithServer::new(Calculator::default()).into_service_table());
    assert!(matches!(dup, Err(ServerError::DuplicateService(ref s)) if s == "arith"), "{dup:?}");
    T::start_server(&server).await.unwrap();
    T::start_server(&server).await.unwrap();
    let late = T::register(&server, echo_service("late"));
    assert!(matches!(late, Err(ServerError::RegisterAfterStart(ref s)) if s == "late"), "{late:?}");
    assert_eq!(arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap().sum, 2.0);
    // The same rules, through the object-safe trait.
    let erased: std::sync::Arc<dyn RpcServer> = std::sync::Arc::new(server.clone());
    assert_eq!(erased.state(), State::Started);
    let late = erased.register_service(echo_service("late"));
    assert!(matches!(late, Err(ServerError::RegisterAfterStart(ref s)) if s == "late"), "{late:?}");
    erased.start().await.unwrap();
    T::stop_server(&server).await;
    T::stop_server(&server).await;
    erased.stop().await;
    assert_eq!(erased.state(), State::Stopped);
    assert!(matches!(T::start_server(&server).await, Err(ServerError::Stopped)));
    assert!(matches!(erased.start().await, Err(ServerError::Stopped)));
    assert!(matches!(T::register(&server, echo_service("after")), Err(ServerError::Stopped)));

    T::stop_client(&client).await;
    T::stop_client(&client).await;
    assert!(matches!(T::start_client(&client).await, Err(TransportError::Stopped)));
    let err = arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::Stopped)), "{err:?}");
}

pub async fn concurrent_calls_are_correlated<T: TestTransport>() {
    let f = Fixture::<T>::new().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000u32 {
        let arith = f.arith.clone();
        tasks.spawn(async move {
            let text = format!("call-{i}");
            let (sum, echo) = tokio::join!(
                arith.add(AddParams { a: f64::from(i), b: 1000.0 }),
                arith.echo_text(EchoParams { text: text.clone() })
            );
            (i, sum.unwrap().sum, echo.unwrap().text == text)
        });
    }
    let mut seen = 0;
    while let Some(done) = tasks.join_next().await {
        let (i, sum, echo_ok) = done.unwrap();
        assert_eq!(sum, f64::from(i) + 1000.0);
        assert!(echo_ok);
        seen += 1;
    }
    assert_eq!(seen, 1000);
    f.teardown().await;
}

fn echo_service(name: &str) -> ServiceTable {
    ServiceBuilder::new(name).raw_method("echo", |p| async move { Ok(p) }).build().unwrap()
}

pub async fn runtime_service_beside_macro_service<T: TestTransport>() {
    #[derive(serde::Deserialize, serde::Serialize, validator::Validate)]
    struct Scale {
        #[validate(range(min = 1, max = 10))]
        factor: u32,
        value: f64,
    }
    let admin = ServiceBuilder::new("admin")
        .method("scale", |p: Scale| async move { Ok::<_, RpcError>(AddResult { sum: p.value * f64::from(p.factor) }) })
        .raw_method("version", |_| async move { Ok(json!({"version": "1.2.3"})) })
        .raw_method("fail", |_| async move { Err(RpcError::new(4001, "custom").with_data(json!([1, 2]))) })
        .build()
        .unwrap();
    let f = Fixture::<T>::with_services(vec![admin]).await;
    // One client backs the generated proxy and raw calls to the runtime service.
    assert_eq!(f.arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap().sum, 2.0);
    let scaled = f.client.call_value("admin", "scale", json!({"factor": 3, "value": 1.5}), CallOptions::default());
    assert_eq!(scaled.await.unwrap(), json!({"sum": 4.5}));
    let bad = f.client.call_value("admin", "scale", json!({"factor": 11, "value": 1}), CallOptions::default());
    assert_eq!(rpc(bad.await.unwrap_err()).validation_errors().unwrap()[0].kind, "range");
    let version = f.client.call_value("admin", "version", json!({}), CallOptions::default()).await.unwrap();
    assert_eq!(version["version"], "1.2.3");
    let err = rpc(f.client.call_value("admin", "fail", json!({}), CallOptions::default()).await.unwrap_err());
    assert_eq!((err.code, err.message.as_str(), err.data), (4001, "custom", Some(json!([1, 2]))));
    // A second proxy over the same client works side by side.
    let second = ArithClient::new(f.client.clone());
    assert_eq!(second.add(AddParams { a: 2.0, b: 2.0 }).await.unwrap().sum, 4.0);
    f.teardown().await;
}

/// How many `slowAdd` handlers ran at once at most, for concurrency tests.
pub fn max_in_flight(observed: &Observed) -> usize {
    observed.max_in_flight.load(Ordering::SeqCst)
}

/// One `#[tokio::test]` per conformance scenario for the transport type `$t`.
#[macro_export]
macro_rules! conformance_suite {
    ($t:ty) => {
        $crate::conformance_suite!(@list @tests $t);
    };
    (@list @$mode:ident $t:ty) => {
        $crate::conformance_suite! {@$mode $t;
            round_trip, notification_is_handled, rpc_error_passes_through, panic_becomes_internal_error,
            invalid_params_list_errors, result_validation_failure, unknown_method_and_service,
            timeout_with_slow_handler, stop_fails_pending_calls, lifecycle_rules,
            concurrent_calls_are_correlated, runtime_service_beside_macro_service
        }
    };
    (@tests $t:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name::<$t>().await;
            }
        )*
    };
    (@sequence $t:ty; $($name:ident),* $(,)?) => {
        $(
            eprintln!("conformance: {}", stringify!($name));
            $crate::conformance::$name::<$t>().await;
        )*
    };
}
