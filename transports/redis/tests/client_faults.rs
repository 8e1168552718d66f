//! The client under faults, against a real redis-server (private, on a free port; never
//! 6379): every call's outcome is checked against what the server actually ran.
//!
//! Figures (recovery times, outcome counts) are printed with `--nocapture`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clamator::redis::redis::{self, aio::ConnectionManager, Value as RValue};
use clamator::redis::{RedisRpcClient, RedisRpcServer, DEFAULT_REPLY_TTL};
use clamator::{CallOptions, Error, ProtocolError, RpcClient, TransportError};
use clamator_test_support::counting::Executions;
use clamator_test_support::redis_server::{RedisOptions, RedisServer};
use clamator_test_support::unique_prefix;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Ok,
    NotSent,
    OutcomeUnknown,
    Timeout,
    Other,
}

#[derive(Debug)]
struct Record {
    key: String,
    started: Instant,
    finished: Instant,
    outcome: Told,
    error: Option<String>,
}

fn classify(result: &Result<serde_json::Value, Error>) -> Told {
    match result {
        Ok(_) => Told::Ok,
        Err(Error::Transport(TransportError::NotSent { .. })) => Told::NotSent,
        Err(Error::Transport(TransportError::OutcomeUnknown { .. })) => Told::OutcomeUnknown,
        Err(Error::Transport(TransportError::Timeout)) => Told::Timeout,
        Err(_) => Told::Other,
    }
}

async fn raw(url: &str) -> ConnectionManager {
    ConnectionManager::new(redis::Client::open(url).unwrap()).await.unwrap()
}

async fn raw_cmd<T: redis::FromRedisValue>(conn: &mut ConnectionManager, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(conn).await.unwrap()
}

/// Field/value pairs of the stream's last entry.
async fn last_entry_fields(conn: &mut ConnectionManager, stream: &str) -> Vec<(String, String)> {
    let v: RValue = raw_cmd(conn, &["XREVRANGE", stream, "+", "-", "COUNT", "1"]).await;
    let RValue::Array(mut entries) = v else { panic!("no entries in {stream}: {v:?}") };
    let RValue::Array(mut entry) = entries.remove(0) else { panic!("bad entry") };
    let RValue::Array(fields) = entry.remove(1) else { panic!("bad fields") };
    fields
        .chunks(2)
        .map(|kv| match kv {
            [RValue::BulkString(k), RValue::BulkString(v)] => {
                (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned())
            }
            other => panic!("unexpected field pair {other:?}"),
        })
        .collect()
}

/// Calls `tally.hit` every 20 ms (each call in its own task, unique key, 200 ms handler)
/// while Redis is killed, kept down for `down`, and started again; then accounts for every
/// call: what the client was told against how many times the server ran it.
async fn outage_under_load(name: &str, options: RedisOptions, down: Duration) {
    const CALL_TIMEOUT: Duration = Duration::from_secs(15);
    let redis = Arc::new(RedisServer::start_with(options));
    let prefix = unique_prefix(name);
    let executions = Executions::default();
    let server = RedisRpcServer::builder(&prefix)
        .url(redis.url())
        // 16 handlers of 200 ms: 80 calls/s, ahead of the 50/s load, so no backlog builds.
        .concurrency(16)
        .claim_idle(Duration::from_secs(1))
        .build()
        .unwrap();
    server.register_service(executions.service()).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).default_timeout(CALL_TIMEOUT).build().unwrap();
    client.start().await.unwrap();

    let records = Arc::new(Mutex::new(Vec::<Record>::new()));
    let running = Arc::new(AtomicBool::new(true));
    let load = tokio::spawn({
        let (client, records, running) = (client.clone(), Arc::clone(&records), Arc::clone(&running));
        async move {
            let mut calls = Vec::new();
            let mut i = 0u64;
            while running.load(Ordering::SeqCst) {
                i += 1;
                let (client, records) = (client.clone(), Arc::clone(&records));
                calls.push(tokio::spawn(async move {
                    let key = format!("call-{i}");
                    let started = Instant::now();
                    // 200 ms handlers: about ten calls are running when Redis dies.
                    let params = json!({"key": key, "sleepMs": 200});
                    let result = client.call_value("tally", "hit", params, CallOptions::default()).await;
                    let outcome = classify(&result);
                    let error = result.err().map(|e| e.to_string());
                    let finished = Instant::now();
                    records.lock().unwrap().push(Record { key, started, finished, outcome, error });
                }));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for call in calls {
                call.await.unwrap();
            }
        }
    });

    tokio::time::sleep(Duration::from_secs(1)).await;
    let killed = Instant::now();
    redis.kill();
    tokio::time::sleep(down).await;
    let accepting = tokio::task::spawn_blocking({
        let redis = Arc::clone(&redis);
        move || redis.start_again()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    running.store(false, Ordering::SeqCst);
    load.await.unwrap();
    // Reclaims (claim idle 1 s) of entries restored from the AOF get a moment to run.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let records = std::mem::take(&mut *records.lock().unwrap());
    let count = |o: Told| records.iter().filter(|r| r.outcome == o).count();
    let others: Vec<&Record> = records.iter().filter(|r| r.outcome == Told::Other).collect();
    assert!(others.is_empty(), "only Ok / NotSent / OutcomeUnknown / Timeout are honest here: {others:#?}");
    for r in &records {
        let runs = executions.count(&r.key);
        match r.outcome {
            Told::NotSent => {
                assert_eq!(runs, 0, "{} reported as not sent but ran {runs} time(s): {:?}", r.key, r.error)
            }
            Told::Ok => assert!(runs >= 1, "{} succeeded without running", r.key),
            _ => {}
        }
    }
    // Only calls caught by the outage end without an answer: nothing issued after Redis came
    // back times out.
    for r in records.iter().filter(|r| matches!(r.outcome, Told::Timeout | Told::OutcomeUnknown)) {
        assert!(r.started < accepting, "{} started after the restart and got {:?}", r.key, r.error);
    }
    // Calls during the outage fail fast, and say what failed.
    let not_sent: Vec<&Record> = records.iter().filter(|r| r.outcome == Told::NotSent).collect();
    assert!(not_sent.len() > 10, "the outage was exercised: {} not sent", not_sent.len());
    let slowest = not_sent.iter().map(|r| r.finished - r.started).max().unwrap();
    assert!(slowest < Duration::from_secs(3), "not-sent calls fail fast: slowest {slowest:?}");
    let message = not_sent[0].error.as_deref().unwrap();
    assert!(message.contains("request not sent: XADD to") && message.contains(":cmds:tally"), "{message}");
    // Recovery, timed from the moment the port accepted connections again.
    let first_success = records
        .iter()
        .filter(|r| r.outcome == Told::Ok && r.finished > accepting)
        .map(|r| r.finished - accepting)
        .min()
        .expect("a success after Redis came back");
    let first_after =
        records.iter().filter(|r| r.started >= accepting).min_by_key(|r| r.started).expect("a call after restart");
    let ran_twice = executions.snapshot().values().filter(|&&n| n > 1).count();
    eprintln!(
        "{name}: down {:?}; {} calls: ok {}, not sent {}, outcome unknown {}, timeout {}; ran twice {ran_twice}; \
         slowest not-sent {slowest:?}; first success {first_success:?} after Redis accepted connections; \
         first call started after it: {:?} in {:?}",
        accepting - killed,
        records.len(),
        count(Told::Ok),
        count(Told::NotSent),
        count(Told::OutcomeUnknown),
        count(Told::Timeout),
        first_after.outcome,
        first_after.finished - first_after.started,
    );
    assert!(first_success < Duration::from_secs(2), "first success {first_success:?} after Redis came back");
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_of_10s_without_persistence_is_reported_honestly() {
    outage_under_load("outage-10s-empty", RedisOptions::default(), Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_of_10s_with_aof_is_reported_honestly() {
    outage_under_load("outage-10s-aof", RedisOptions::aof(), Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_of_60s_with_aof_is_reported_honestly() {
    outage_under_load("outage-60s-aof", RedisOptions::aof(), Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_command_after_an_outage_succeeds() {
    let redis = RedisServer::start_private();
    let client = RedisRpcClient::builder(unique_prefix("first-command")).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    client.notify_value("tally", "hit", json!({"key": "before"})).await.unwrap();
    redis.kill();
    // A command racing the kill may find the dead connection before the client does; redis-rs
    // then cannot say whether the bytes left, so the honest answer is "unknown" (or "not
    // sent"), never success.
    let first = client.notify_value("tally", "hit", json!({"key": "racing"})).await.unwrap_err();
    assert!(first.is_retry_safe() || first.is_outcome_unknown(), "{first:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..10 {
        let started = Instant::now();
        let err = client.notify_value("tally", "hit", json!({"key": "during"})).await.unwrap_err();
        assert!(err.is_retry_safe(), "{err:?}");
        assert!(started.elapsed() < Duration::from_millis(500), "fails fast: {:?}", started.elapsed());
        assert!(err.to_string().contains("refused"), "the cause is in the message: {err}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let accepting = redis.start_again();
    // No stale failure from the attempts made during the outage: the very first command works.
    client.notify_value("tally", "hit", json!({"key": "after"})).await.unwrap();
    eprintln!("first command after the outage done {:?} after Redis accepted connections", accepting.elapsed());
    assert!(accepting.elapsed() < Duration::from_secs(2));
    client.stop().await;
}

#[tokio::test]
async fn requirepass_is_checked_at_start() {
    let redis = RedisServer::start_with(RedisOptions::password("s3cret"));
    let prefix = unique_prefix("auth");
    let bare = RedisRpcClient::builder(&prefix).url(redis.url_without_password()).build().unwrap();
    let err = bare.start().await.unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
    assert!(err.to_string().contains("NOAUTH"), "{err}");
    let server = RedisRpcServer::builder(&prefix).url(redis.url_without_password()).build().unwrap();
    assert!(server.start().await.unwrap_err().to_string().contains("NOAUTH"));
    let wrong = format!("redis://:nope@127.0.0.1:{}", redis.port());
    let err = RedisRpcClient::builder(&prefix).url(wrong).build().unwrap().start().await.unwrap_err();
    assert!(err.to_string().contains("WRONGPASS"), "{err}");

    let executions = Executions::default();
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).build().unwrap();
    server.register_service(executions.service()).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    let r = client.call_value("tally", "hit", json!({"key": "k"}), CallOptions::default()).await.unwrap();
    assert_eq!(r, json!({"key": "k", "runs": 1}));
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_fields_malformed_reply_and_reply_ttl() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("fields");
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    assert_eq!(client.reply_ttl(), DEFAULT_REPLY_TTL);
    client.start().await.unwrap();
    let mut raw = raw(redis.url()).await;
    let stream = format!("{prefix}:cmds:arith");

    // No server: the request waits in the stream. Its entry carries the deadline and TTL.
    let started = Instant::now();
    let call = tokio::spawn({
        let client = client.clone();
        async move {
            let options = CallOptions::timeout(Duration::from_millis(7500));
            client.call_value("arith", "add", json!({"a": 1e308, "b": 1e308}), options).await
        }
    });
    let mut fields = Vec::new();
    while fields.is_empty() {
        let len: i64 = raw_cmd(&mut raw, &["XLEN", &stream]).await;
        if len > 0 {
            fields = last_entry_fields(&mut raw, &stream).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["type", "envelope", "reply-to", "call-options"]);
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(field("call-options"), "timeout-ms=7500;reply-ttl-ms=600000;reply-batch=1");
    assert_eq!(field("reply-to"), client.reply_stream());
    let envelope: serde_json::Value = serde_json::from_str(&field("envelope")).unwrap();

    // What a 0.1.9 server answers for an overflowing sum: not JSON, but the id is readable.
    let reply =
        format!(r#"{{"jsonrpc":"2.0","id":"{}","result":{{"sum":Infinity}}}}"#, envelope["id"].as_str().unwrap());
    let _: String =
        raw_cmd(&mut raw, &["XADD", client.reply_stream(), "*", "type", "rpc", "envelope", reply.as_str()]).await;
    let err = call.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Protocol(ProtocolError::InvalidReply(_))), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "failed at once, not at the timeout: {:?}", started.elapsed());

    // The reply stream got its TTL once replies started arriving.
    let mut ttl = -1i64;
    for _ in 0..100 {
        ttl = raw_cmd(&mut raw, &["PTTL", client.reply_stream()]).await;
        if ttl > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ttl > 590_000 && ttl <= 600_000, "PTTL {ttl}");

    // A notification carries neither field (nor a reply-to).
    client.notify_value("arith", "record", json!({"seq": 1})).await.unwrap();
    let fields = last_entry_fields(&mut raw, &stream).await;
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["type", "envelope"]);

    client.stop().await;
    let exists: i64 = raw_cmd(&mut raw, &["EXISTS", client.reply_stream()]).await;
    assert_eq!(exists, 0, "stop still deletes the reply stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reply_ttl_is_renewed_while_the_client_runs() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("ttl");
    let executions = Executions::default();
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).build().unwrap();
    server.register_service(executions.service()).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).reply_ttl(Duration::from_secs(3)).build().unwrap();
    client.start().await.unwrap();
    client.call_value("tally", "hit", json!({"key": "a"}), CallOptions::default()).await.unwrap();
    let mut raw = raw(redis.url()).await;
    // Twice the TTL later, with no traffic, the stream is still there: the client renewed it.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let ttl: i64 = raw_cmd(&mut raw, &["PTTL", client.reply_stream()]).await;
    assert!(ttl > 0 && ttl <= 3000, "PTTL {ttl}");
    client.stop().await;
    server.stop().await;
}
