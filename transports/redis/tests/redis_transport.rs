//! Behaviour specific to the Redis Streams transport, checked against a real redis-server.

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clamator::redis::redis::{self, aio::ConnectionManager, Value as RValue};
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, Error, RpcClient, TransportError};
use clamator_test_support::contracts::*;
use clamator_test_support::raw_redis::stream_envelopes;
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use serde_json::{json, Value};

struct Env {
    redis: RedisServer,
    prefix: String,
}

impl Env {
    fn new(test: &str) -> Self {
        Env { redis: RedisServer::start(), prefix: unique_prefix(test) }
    }

    fn private(test: &str) -> Self {
        Env { redis: RedisServer::start_private(), prefix: unique_prefix(test) }
    }

    fn server(&self) -> clamator::redis::RedisServerBuilder {
        RedisRpcServer::builder(&self.prefix).url(self.redis.url())
    }

    async fn start_server(&self, calculator: Calculator, concurrency: usize) -> RedisRpcServer {
        let server = self.server().concurrency(concurrency).claim_idle(Duration::from_secs(1)).build().unwrap();
        server.register_service(ArithServer::new(calculator)).unwrap();
        server.start().await.unwrap();
        server
    }

    async fn client(&self) -> RedisRpcClient {
        let client = RedisRpcClient::builder(&self.prefix)
            .url(self.redis.url())
            .default_timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        client.start().await.unwrap();
        client
    }

    async fn raw(&self) -> ConnectionManager {
        let client = redis::Client::open(self.redis.url()).unwrap();
        ConnectionManager::new(client).await.unwrap()
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }
}

async fn raw_cmd<T: redis::FromRedisValue>(conn: &mut ConnectionManager, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(conn).await.unwrap()
}

async fn pending_count(conn: &mut ConnectionManager, stream: &str, group: &str) -> i64 {
    let v: RValue = raw_cmd(conn, &["XPENDING", stream, group]).await;
    match v {
        RValue::Array(items) => match items.first() {
            Some(RValue::Int(n)) => *n,
            _ => 0,
        },
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_keeps_arrival_order() {
    let env = Env::new("order");
    let calc = Calculator::default();
    let observed = calc.observed.clone();
    let server = env.start_server(calc, 1).await;
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    for seq in 0..100 {
        arith.record(RecordParams { seq }).await.unwrap();
    }
    assert_eq!(observed.wait_for_records(100).await, (0..100).collect::<Vec<_>>());
    // Concurrent requests to one service on one server never overlap.
    let calls = (0..6).map(|_| {
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: 1.0, b: 1.0, sleep_ms: 40 }).await }
    });
    for r in futures_join_all(calls).await {
        assert_eq!(r.unwrap().sum, 2.0);
    }
    assert_eq!(observed.max_in_flight.load(Ordering::SeqCst), 1);
    client.stop().await;
    server.stop().await;
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_n_runs_handlers_in_parallel() {
    let env = Env::new("parallel");
    let calc = Calculator::default();
    let observed = calc.observed.clone();
    let server = env.start_server(calc, 4).await;
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    let started = Instant::now();
    let calls = (0..8).map(|i| {
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: f64::from(i), b: 0.0, sleep_ms: 300 }).await }
    });
    let results = futures_join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap().sum, i as f64);
    }
    assert_eq!(observed.max_in_flight.load(Ordering::SeqCst), 4);
    // Eight 300 ms handlers four at a time: about 600 ms, far below the 2.4 s of one at a time.
    assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_pool_shares_the_work() {
    let env = Env::new("pool");
    let mut servers = Vec::new();
    let mut observed = Vec::new();
    for _ in 0..3 {
        let calc = Calculator::default();
        observed.push(calc.observed.clone());
        servers.push(env.start_server(calc, 1).await);
    }
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    let calls = (0..60).map(|i| {
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: f64::from(i), b: 1.0, sleep_ms: 20 }).await }
    });
    for (i, r) in futures_join_all(calls).await.into_iter().enumerate() {
        assert_eq!(r.unwrap().sum, i as f64 + 1.0);
    }
    let shares: Vec<usize> = observed.iter().map(|o| o.completed.load(Ordering::SeqCst)).collect();
    assert_eq!(shares.iter().sum::<usize>(), 60, "each request handled exactly once: {shares:?}");
    assert!(shares.iter().all(|&n| n > 0), "every server got a share: {shares:?}");
    client.stop().await;
    for s in servers {
        s.stop().await;
    }
}

/// Child-process side of the crash test; runs only when spawned by `crash_recovery`.
#[tokio::test]
#[ignore = "spawned as a child process by crash_recovery_after_sigkill"]
async fn crash_child_server() {
    let (Ok(url), Ok(prefix), Ok(marker)) =
        (std::env::var("CRASH_URL"), std::env::var("CRASH_PREFIX"), std::env::var("CRASH_MARKER"))
    else {
        return;
    };
    struct Marking(String);
    impl Arith for Marking {
        async fn add(&self, p: AddParams) -> Result<AddResult, clamator::RpcError> {
            Calculator::default().add(p).await
        }
        async fn slow_add(&self, p: SlowAddParams) -> Result<AddResult, clamator::RpcError> {
            std::fs::write(&self.0, std::process::id().to_string()).unwrap();
            Calculator::default().slow_add(p).await
        }
        async fn divide(&self, p: DivideParams) -> Result<DivideResult, clamator::RpcError> {
            Calculator::default().divide(p).await
        }
        async fn echo_text(&self, p: EchoParams) -> Result<EchoResult, clamator::RpcError> {
            Calculator::default().echo_text(p).await
        }
        async fn explode(&self, p: Empty) -> Result<AddResult, clamator::RpcError> {
            Calculator::default().explode(p).await
        }
        async fn bad_result(&self, p: Empty) -> Result<Percentage, clamator::RpcError> {
            Calculator::default().bad_result(p).await
        }
        async fn record(&self, p: RecordParams) {
            Calculator::default().record(p).await;
        }
    }
    let server = RedisRpcServer::builder(prefix).url(url).claim_idle(Duration::from_secs(1)).build().unwrap();
    server.register_service(ArithServer::new(Marking(marker))).unwrap();
    server.start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_recovery_after_sigkill() {
    let env = Env::new("crash");
    let marker = std::env::temp_dir().join(format!("clamator-crash-{}", uuid_like()));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "crash_child_server", "--nocapture"])
        .env("CRASH_URL", env.redis.url())
        .env("CRASH_PREFIX", &env.prefix)
        .env("CRASH_MARKER", &marker)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    let call = tokio::spawn(async move { arith.slow_add(SlowAddParams { a: 20.0, b: 22.0, sleep_ms: 1500 }).await });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the child server never took the request");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL, mid-handler
    child.wait().unwrap();
    let _ = std::fs::remove_file(&marker);

    let calc = Calculator::default();
    let observed = calc.observed.clone();
    let survivor = env.start_server(calc, 1).await;
    let result = call.await.unwrap().unwrap();
    assert_eq!(result.sum, 42.0);
    assert_eq!(observed.completed.load(Ordering::SeqCst), 1, "the survivor completed the reclaimed request");
    client.stop().await;
    survivor.stop().await;
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), Instant::now().elapsed().as_nanos())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_redis_restarts_empty() {
    let env = Env::private("restart");
    let server = env.start_server(Calculator::default(), 1).await;
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    assert_eq!(arith.add(AddParams { a: 1.0, b: 1.0 }).await.unwrap().sum, 2.0);

    let in_flight = tokio::spawn({
        let arith = arith.clone();
        async move { arith.slow_add(SlowAddParams { a: 1.0, b: 1.0, sleep_ms: 2000 }).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    env.redis.restart(); // killed with SIGKILL and started again, empty

    // Its reply reaches the new Redis and the client's reader, which resumed: it completes;
    // or, if the entry died with the old Redis, it times out. It is never reported "not sent".
    match in_flight.await.unwrap() {
        Ok(r) => assert_eq!(r.sum, 2.0),
        Err(e) => assert!(e.is_timeout(), "in-flight call completes or times out: {e:?}"),
    }

    // Without restarting anything, new calls succeed again once the loops have reconnected
    // and the server has recreated its group.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match arith.with_timeout(Duration::from_secs(2)).add(AddParams { a: 2.0, b: 3.0 }).await {
            Ok(r) => {
                assert_eq!(r.sum, 5.0);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "never recovered: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut raw = env.raw().await;
    let groups: RValue = raw_cmd(&mut raw, &["XINFO", "GROUPS", &env.key("cmds:arith")]).await;
    assert!(format!("{groups:?}").contains("arith"), "group recreated: {groups:?}");
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_entries_are_acked_answered_when_possible_and_never_block() {
    let env = Env::new("bad");
    let calc = Calculator::default();
    let observed = calc.observed.clone();
    let server = env.start_server(calc, 1).await;
    let mut raw = env.raw().await;
    let stream = env.key("cmds:arith");
    let reply_to = env.key("replies:raw-test");
    let add = |id: &str, method: &str| {
        json!({"jsonrpc": "2.0", "method": method, "params": {"a": 1, "b": 2}, "id": id}).to_string()
    };
    // 1. no envelope field at all
    let _: String = raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "reply-to", &reply_to]).await;
    // 2. bytes that are not UTF-8 (neither the envelope nor the reply-to)
    let mut cmd = redis::cmd("XADD");
    cmd.arg(&stream)
        .arg("*")
        .arg("type")
        .arg("rpc")
        .arg("envelope")
        .arg(&b"\xff\xfe{"[..])
        .arg("reply-to")
        .arg(&b"\xc3\x28"[..]);
    let _: String = cmd.query_async(&mut raw).await.unwrap();
    // 3. not JSON, with a reply-to: no id to answer with
    let _: String =
        raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "envelope", "{not json", "reply-to", &reply_to]).await;
    // 4. a number JSON cannot hold: answered with -32700 (0.1.9 would answer `Infinity`,
    //    which is not JSON)
    let huge = r#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1e400,"b":1},"id":"huge"}"#;
    let _: String =
        raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "envelope", huge, "reply-to", &reply_to]).await;
    // 5. JSON but an invalid request, with an id: answered with -32600
    let v1 = json!({"jsonrpc": "1.0", "method": "arith.add", "id": "bad-version"}).to_string();
    let _: String =
        raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "envelope", &v1, "reply-to", &reply_to]).await;
    // 6. another service's method on this stream: answered with -32601, not run
    let other = add("other-service", "other.add");
    let _: String =
        raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "envelope", &other, "reply-to", &reply_to]).await;
    // 7. a valid request behind all of that
    let good = add("good", "arith.add");
    let _: String =
        raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "envelope", &good, "reply-to", &reply_to]).await;

    let mut replies: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while replies.len() < 4 && Instant::now() < deadline {
        let v: RValue = raw_cmd(&mut raw, &["XRANGE", &reply_to, "-", "+"]).await;
        replies = stream_envelopes(v);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let by_id = |id: &str| replies.iter().find(|r| r["id"] == id).cloned().unwrap_or(Value::Null);
    assert_eq!(by_id("bad-version")["error"]["code"], -32600);
    assert_eq!(by_id("bad-version")["error"]["message"], "Invalid Request");
    assert_eq!(by_id("other-service")["error"]["code"], -32601);
    assert_eq!(by_id("huge")["error"]["code"], -32700);
    assert_eq!(by_id("good")["result"], json!({"sum": 3.0}));
    assert_eq!(replies.len(), 4, "nothing else was answered: {replies:?}");
    // Everything was acknowledged: nothing stays pending to block or be retried.
    assert_eq!(pending_count(&mut raw, &stream, "arith").await, 0);
    assert_eq!(observed.completed.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_reply_to_never_reruns_the_handler() {
    let env = Env::new("wrongtype");
    let calc = Calculator::default();
    let observed = calc.observed.clone();
    let server = env.start_server(calc, 1).await;
    let mut raw = env.raw().await;
    let stream = env.key("cmds:arith");
    let not_a_stream = env.key("a-string");
    let _: () = raw_cmd(&mut raw, &["SET", &not_a_stream, "x"]).await;
    let env_json =
        json!({"jsonrpc": "2.0", "method": "arith.slowAdd", "params": {"a": 1, "b": 1, "sleepMs": 1}, "id": "w"});
    let env_json = env_json.to_string();
    let _: String =
        raw_cmd(&mut raw, &["XADD", &stream, "*", "type", "rpc", "envelope", &env_json, "reply-to", &not_a_stream])
            .await;
    // Longer than two reclaim rounds (claim idle 1 s, reclaimer every 1 s).
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(observed.completed.load(Ordering::SeqCst), 1);
    assert_eq!(pending_count(&mut raw, &stream, "arith").await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_before_any_server_started_are_served() {
    let env = Env::new("early");
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    let early = tokio::spawn(async move { arith.add(AddParams { a: 4.0, b: 5.0 }).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = env.start_server(Calculator::default(), 1).await;
    assert_eq!(early.await.unwrap().unwrap().sum, 9.0);
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_lets_in_flight_handlers_finish() {
    let env = Env::new("grace");
    let server = env.start_server(Calculator::default(), 1).await;
    let client = env.client().await;
    let arith = ArithClient::new(client.clone());
    let pending = tokio::spawn(async move { arith.slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 500 }).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    server.stop().await;
    assert_eq!(pending.await.unwrap().unwrap().sum, 3.0);
    client.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_layout_matches_the_wire() {
    let env = Env::new("keys");
    let client = RedisRpcClient::builder(&env.prefix).url(env.redis.url()).instance_id("cli-1").build().unwrap();
    client.start().await.unwrap();
    // Queued before any server runs, so the request entry can be read as it was written.
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call_value("arith", "add", json!({"a": 1, "b": 2}), CallOptions::default()).await }
    });
    let mut raw = env.raw().await;
    let stream = format!("{}:cmds:arith", env.prefix);
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let entries: RValue = raw_cmd(&mut raw, &["XRANGE", &stream, "-", "+"]).await;
        let text = format!("{entries:?}");
        if text.contains("envelope") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The request entry carries the 0.1.9 fields.
    for field in ["type", "rpc", "envelope", "reply-to", "arith.add"] {
        assert!(text.contains(field), "{field} missing in {text}");
    }
    let server = env.server().instance_id("srv-1").build().unwrap();
    server.register_service(ArithServer::new(Calculator::default())).unwrap();
    server.start().await.unwrap();
    assert_eq!(call.await.unwrap().unwrap(), json!({"sum": 3.0}));

    let groups: RValue = raw_cmd(&mut raw, &["XINFO", "GROUPS", &stream]).await;
    assert!(format!("{groups:?}").contains("arith"), "{groups:?}");
    let consumers: RValue = raw_cmd(&mut raw, &["XINFO", "CONSUMERS", &stream, "arith"]).await;
    assert!(format!("{consumers:?}").contains("arith:srv-1"), "{consumers:?}");
    // Answered entries are acknowledged and deleted: the stream holds only work in flight.
    let len: i64 = raw_cmd(&mut raw, &["XLEN", &stream]).await;
    assert_eq!(len, 0);
    let reply_stream = format!("{}:replies:cli-1", env.prefix);
    assert_eq!(client.reply_stream(), reply_stream);
    let t: String = raw_cmd(&mut raw, &["TYPE", &reply_stream]).await;
    assert_eq!(t, "stream");
    client.stop().await;
    let exists: i64 = raw_cmd(&mut raw, &["EXISTS", &reply_stream]).await;
    assert_eq!(exists, 0, "the reply stream is deleted on stop");
    server.stop().await;
    let consumers: RValue = raw_cmd(&mut raw, &["XINFO", "CONSUMERS", &stream, "arith"]).await;
    assert!(!format!("{consumers:?}").contains("arith:srv-1"), "a stopped server deletes its idle consumer");
}

#[tokio::test]
async fn oversized_payload_is_refused_before_sending() {
    let env = Env::new("big");
    let client = RedisRpcClient::builder(&env.prefix).url(env.redis.url()).max_payload_bytes(1024).build().unwrap();
    client.start().await.unwrap();
    let err = client
        .call_value("arith", "echoText", json!({"text": "x".repeat(2000)}), CallOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::PayloadTooLarge { limit: 1024, .. })), "{err:?}");
    client.stop().await;
}

#[tokio::test]
async fn unreachable_redis_is_a_clear_connection_error() {
    let port = clamator_test_support::redis_server::free_port();
    let client = RedisRpcClient::builder("p").url(format!("redis://127.0.0.1:{port}")).build().unwrap();
    let err = client.start().await.unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
    let server = RedisRpcServer::builder("p").url(format!("redis://127.0.0.1:{port}")).build().unwrap();
    assert!(server.start().await.is_err());
    assert!(RedisRpcClient::builder("p").url("not a url").build().is_err());
}
