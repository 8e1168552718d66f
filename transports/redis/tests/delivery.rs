//! Delivery guarantees of the Redis transport, in one process against a real redis-server:
//! slow handlers are never duplicated by live peers, a busy server never hoards work,
//! replies and acknowledgements leave in handling order, expired requests are not run, and
//! dead letters can be listed, replayed and purged. Every call is accounted for: executions
//! per call key on the server side, an outcome per call on the client side.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clamator::redis::redis::{self, aio::ConnectionManager, Value as RValue};
use clamator::redis::{DeadLetters, RedisRpcClient, RedisRpcServer, DEAD_LETTERED};
use clamator::{CallOptions, Error, RpcClient};
use clamator_test_support::jobs::*;
use clamator_test_support::raw_redis::{entry_ids, envelopes, xlen};
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use futures_util::StreamExt;
use serde_json::json;

struct Env {
    redis: RedisServer,
    prefix: String,
}

impl Env {
    fn new(test: &str) -> Self {
        Env { redis: RedisServer::start(), prefix: unique_prefix(test) }
    }

    async fn server(&self, log: &ExecutionLog, concurrency: usize, claim_idle: Duration) -> RedisRpcServer {
        let server = RedisRpcServer::builder(&self.prefix)
            .url(self.redis.url())
            .concurrency(concurrency)
            .claim_idle(claim_idle)
            .build()
            .unwrap();
        server.register_service(JobsServer::new(JobRunner { log: log.clone() })).unwrap();
        server.start().await.unwrap();
        server
    }

    async fn client(&self) -> RedisRpcClient {
        let client = RedisRpcClient::builder(&self.prefix)
            .url(self.redis.url())
            .default_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        client.start().await.unwrap();
        client
    }

    async fn raw(&self) -> ConnectionManager {
        ConnectionManager::new(redis::Client::open(self.redis.url()).unwrap()).await.unwrap()
    }

    fn stream(&self) -> String {
        format!("{}:cmds:jobs", self.prefix)
    }
}

fn job(key: impl Into<String>, sleep_ms: u64) -> JobParams {
    JobParams { key: key.into(), sleep_ms, abort: false }
}

/// Runs `calls` concurrently; returns each call's outcome by key.
async fn run_all(
    client: &RedisRpcClient,
    calls: Vec<(JobParams, Duration)>,
) -> HashMap<String, Result<JobResult, Error>> {
    let handles: Vec<_> = calls
        .into_iter()
        .map(|(params, timeout)| {
            let jobs = JobsClient::new(client.clone()).with_timeout(timeout);
            tokio::spawn(async move { (params.key.clone(), jobs.run(params).await) })
        })
        .collect();
    let mut outcomes = HashMap::new();
    for h in handles {
        let (key, outcome) = h.await.unwrap();
        outcomes.insert(key, outcome);
    }
    outcomes
}

fn merged(logs: &[ExecutionLog]) -> HashMap<String, usize> {
    let mut all = HashMap::new();
    for log in logs {
        for (k, n) in log.counts() {
            *all.entry(k).or_default() += n;
        }
    }
    all
}

async fn pending_per_consumer(conn: &mut ConnectionManager, stream: &str) -> HashMap<String, i64> {
    let v: RValue = redis::cmd("XPENDING").arg(stream).arg("jobs").query_async(conn).await.unwrap_or(RValue::Nil);
    let mut out = HashMap::new();
    if let RValue::Array(parts) = v {
        if let Some(RValue::Array(consumers)) = parts.get(3) {
            for c in consumers {
                if let RValue::Array(pair) = c {
                    if let [RValue::BulkString(name), RValue::BulkString(n)] = pair.as_slice() {
                        let n = String::from_utf8_lossy(n).parse().unwrap_or(0);
                        out.insert(String::from_utf8_lossy(name).into_owned(), n);
                    }
                }
            }
        }
    }
    out
}

/// 3 live servers x concurrency 2, handlers of 1.5 s with a claim idle of 1 s, 30 calls at
/// once: the backlog waits in the stream, held entries are leased, nothing runs twice, and
/// no server ever holds more entries than it has handler slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_handlers_under_a_backlog_run_exactly_once() {
    let env = Env::new("slow-backlog");
    let logs: Vec<ExecutionLog> = (0..3).map(|_| ExecutionLog::default()).collect();
    let mut servers = Vec::new();
    for log in &logs {
        servers.push(env.server(log, 2, Duration::from_secs(1)).await);
    }
    let client = env.client().await;
    let mut raw = env.raw().await;
    let calls: Vec<_> = (0..30).map(|i| (job(format!("slow-{i}"), 1500), Duration::from_secs(60))).collect();
    let run = tokio::spawn({
        let client = client.clone();
        async move { run_all(&client, calls).await }
    });
    // Sample what each consumer holds while the backlog drains.
    let mut most_held = 0;
    while !run.is_finished() {
        for (_, n) in pending_per_consumer(&mut raw, &env.stream()).await {
            most_held = most_held.max(n);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outcomes = run.await.unwrap();
    assert_eq!(outcomes.len(), 30);
    for (key, outcome) in &outcomes {
        let result = outcome.as_ref().unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(result.attempt, 1, "{key} was delivered once");
    }
    let executions = merged(&logs);
    assert_eq!(executions.len(), 30);
    assert!(executions.values().all(|&n| n == 1), "every call executed exactly once: {executions:?}");
    // A finished entry stays pending until its reply and acknowledgement are written, which
    // happens while the next entry already runs: at most the 2 running plus the 2 being
    // acknowledged (the old reader took 16 at a time).
    assert!(most_held <= 4, "a server held {most_held} entries with 2 handler slots");
    assert!(logs.iter().all(|l| l.max_in_flight() <= 2));
    let reclaimed: u64 = servers.iter().map(|s| s.stats().reclaimed).sum();
    assert_eq!(reclaimed, 0, "nothing was reclaimed from a live server");
    client.stop().await;
    for s in servers {
        s.stop().await;
    }
}

/// A server busy with a long handler leaves the rest of the backlog to an idle peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_leaves_work_to_its_peers() {
    let env = Env::new("no-hoarding");
    let busy_log = ExecutionLog::default();
    let busy = env.server(&busy_log, 1, Duration::from_secs(60)).await;
    let client = env.client().await;
    let long = tokio::spawn({
        let jobs = JobsClient::new(client.clone());
        async move { jobs.run(job("long", 3000)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Queued while the only server is busy: they must stay in the stream, not in the server.
    let queued = tokio::spawn({
        let client = client.clone();
        async move { run_all(&client, (0..5).map(|i| (job(format!("q-{i}"), 10), Duration::from_secs(30))).collect()).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut raw = env.raw().await;
    let held = pending_per_consumer(&mut raw, &env.stream()).await;
    assert_eq!(held.values().sum::<i64>(), 1, "only the running entry is held: {held:?}");
    let idle_log = ExecutionLog::default();
    let idle = env.server(&idle_log, 1, Duration::from_secs(60)).await;
    let outcomes = queued.await.unwrap();
    assert!(outcomes.values().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(idle_log.counts().len(), 5, "the idle peer took the whole backlog");
    assert!(!long.is_finished(), "...while the busy one was still running its long call");
    long.await.unwrap().unwrap();
    assert_eq!(busy_log.counts().len(), 1);
    client.stop().await;
    busy.stop().await;
    idle.stop().await;
}

/// Calls queued with a short timeout while no server runs are never executed once a server
/// starts; calls with a long timeout all are, and their handlers see the time left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_requests_are_acknowledged_without_running() {
    let env = Env::new("deadlines");
    let client = env.client().await;
    let mut calls: Vec<_> = (0..5).map(|i| (job(format!("short-{i}"), 0), Duration::from_millis(300))).collect();
    calls.extend((0..5).map(|i| (job(format!("long-{i}"), 0), Duration::from_secs(30))));
    let run = tokio::spawn({
        let client = client.clone();
        async move { run_all(&client, calls).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let log = ExecutionLog::default();
    let server = env.server(&log, 1, Duration::from_secs(60)).await;
    let outcomes = run.await.unwrap();
    for i in 0..5 {
        assert!(outcomes[&format!("short-{i}")].as_ref().unwrap_err().is_timeout());
        let long = outcomes[&format!("long-{i}")].as_ref().unwrap();
        let left = long.remaining_ms.expect("the handler sees the caller's deadline");
        assert!(left > 25_000 && left <= 30_000, "time left {left} ms");
    }
    // The last long call may be answered before the server reached the short entries queued
    // behind it: wait until all ten entries are accounted for.
    let mut raw = env.raw().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.stats().expired < 5 || xlen(&mut raw, &env.stream()).await > 0 {
        assert!(
            Instant::now() < deadline,
            "expired {}, left {}",
            server.stats().expired,
            xlen(&mut raw, &env.stream()).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let executions = log.counts();
    assert!(executions.keys().all(|k| k.starts_with("long-")), "no expired call ran: {executions:?}");
    assert_eq!(executions.len(), 5);
    assert_eq!(server.stats().expired, 5, "expired entries are acknowledged and deleted, not run");
    client.stop().await;
    server.stop().await;
}

/// At concurrency 1, replies and acknowledgements leave in arrival order (seen with MONITOR).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_replies_and_acks_in_arrival_order() {
    let env = Env::new("ack-order");
    let client = env.client().await;
    let keys: Vec<String> = (0..200).map(|i| format!("o-{i}")).collect();
    // Queue everything first, so the arrival order is the order of the XADDs.
    let mut run = Vec::new();
    for key in &keys {
        let jobs = JobsClient::new(client.clone());
        let params = job(key.clone(), 0);
        run.push(tokio::spawn(async move { jobs.run(params).await }));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut raw = env.raw().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let len: usize = redis::cmd("XLEN").arg(env.stream()).query_async(&mut raw).await.unwrap();
        if len == keys.len() {
            break;
        }
        assert!(Instant::now() < deadline, "only {len} requests queued");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let entries: RValue = redis::cmd("XRANGE").arg(env.stream()).arg("-").arg("+").query_async(&mut raw).await.unwrap();
    // Entry ids, and the key each entry carries, in stream (arrival) order: the spawned
    // callers may have sent their XADDs in another order than they were spawned.
    let (arrival, arrival_keys): (Vec<String>, Vec<String>) = match entries {
        RValue::Array(items) => items
            .into_iter()
            .filter_map(|e| match e {
                RValue::Array(parts) => {
                    let id = match &parts[0] {
                        RValue::BulkString(id) => String::from_utf8(id.clone()).unwrap(),
                        _ => return None,
                    };
                    let RValue::Array(fields) = &parts[1] else { return None };
                    let envelope = fields.iter().find_map(|f| match f {
                        RValue::BulkString(b) => {
                            serde_json::from_slice::<serde_json::Value>(b).ok().filter(|v| v.get("params").is_some())
                        }
                        _ => None,
                    })?;
                    Some((id, envelope["params"]["key"].as_str()?.to_owned()))
                }
                _ => None,
            })
            .unzip(),
        other => panic!("{other:?}"),
    };
    assert_eq!(arrival_keys.len(), keys.len(), "every entry's key found");
    let monitor_client = redis::Client::open(env.redis.url()).unwrap();
    let monitor = monitor_client.get_async_monitor().await.unwrap();
    let mut lines = monitor.into_on_message::<String>();
    let log = ExecutionLog::default();
    let server = env.server(&log, 1, Duration::from_secs(60)).await;
    for h in run {
        h.await.unwrap().unwrap();
    }
    let stream = env.stream();
    let mut acked = Vec::new();
    let mut replied_keys = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked.len() < arrival.len() && Instant::now() < deadline {
        let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(2), lines.next()).await else { break };
        if line.contains("\"XACK\"") && line.contains(&stream) {
            acked.extend(
                line.split('"')
                    .filter(|p| p.contains('-') && p.chars().all(|c| c.is_ascii_digit() || c == '-'))
                    .map(str::to_owned),
            );
        }
        if line.contains("\"XADD\"") && line.contains(":replies:") {
            // One reply, or several to the same caller combined in one entry, in order.
            let mut found: Vec<(usize, &String)> =
                keys.iter().filter_map(|k| line.find(&format!("\\\"key\\\":\\\"{k}\\\"")).map(|at| (at, k))).collect();
            found.sort();
            replied_keys.extend(found.into_iter().map(|(_, k)| k.clone()));
        }
    }
    assert_eq!(acked, arrival, "acknowledgements in arrival order");
    assert_eq!(replied_keys, arrival_keys, "replies in arrival order");
    assert!(log.counts().values().all(|&n| n == 1));
    client.stop().await;
    server.stop().await;
}

/// Dead letters: an entry delivered `max_deliveries` times to a consumer that never finished
/// it is set aside, its caller answered; it can be listed, replayed (then served) and purged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_replayed_and_purged() {
    let env = Env::new("dead-api");
    let mut raw = env.raw().await;
    let stream = env.stream();
    let reply_to = format!("{}:replies:raw", env.prefix);
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("jobs")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut raw)
        .await
        .unwrap();
    for key in ["dl-1", "dl-2"] {
        let envelope = json!({"jsonrpc": "2.0", "method": "jobs.run", "params": {"key": key, "sleepMs": 0}, "id": key});
        let _: String = redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("type")
            .arg("rpc")
            .arg("envelope")
            .arg(envelope.to_string())
            .arg("reply-to")
            .arg(&reply_to)
            .query_async(&mut raw)
            .await
            .unwrap();
    }
    // A consumer that takes both and never finishes them: delivered once by `>`, once more
    // by an XCLAIM (not JUSTID), then left idle.
    let _: RValue = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("jobs")
        .arg("ghost")
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut raw)
        .await
        .unwrap();
    for id in entry_ids(&mut raw, &stream).await {
        let _: RValue = redis::cmd("XCLAIM")
            .arg(&stream)
            .arg("jobs")
            .arg("ghost")
            .arg(0)
            .arg(&id)
            .query_async(&mut raw)
            .await
            .unwrap();
    }
    let log = ExecutionLog::default();
    let server = RedisRpcServer::builder(&env.prefix)
        .url(env.redis.url())
        .claim_idle(Duration::from_millis(300))
        .max_deliveries(Some(2))
        .build()
        .unwrap();
    server.register_service(JobsServer::new(JobRunner { log: log.clone() })).unwrap();
    server.start().await.unwrap();

    let dead = DeadLetters::connect(env.redis.url(), &env.prefix).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // Each dead letter is written first, then acknowledged and answered: wait for all of it.
    while dead.count("jobs").await.unwrap() < 2
        || server.stats().dead_lettered < 2
        || envelopes(&mut raw, &reply_to).await.len() < 2
    {
        assert!(Instant::now() < deadline, "never dead-lettered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.stats().dead_lettered, 2);
    assert!(log.counts().is_empty(), "a dead-lettered request is not run");
    let letters = dead.list("jobs", 10).await.unwrap();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].reason, "max-deliveries");
    assert_eq!(letters[0].deliveries, 2);
    assert_eq!(letters[0].last_consumer, "ghost");
    assert!(letters[0].envelope.as_deref().unwrap().contains("dl-1"));
    assert_eq!(letters[0].reply_to.as_deref(), Some(reply_to.as_str()));
    // The callers were told, with the documented code.
    let replies = envelopes(&mut raw, &reply_to).await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    for reply in &replies {
        assert_eq!(reply["error"]["code"], DEAD_LETTERED);
        assert_eq!(reply["error"]["data"]["reason"], "max-deliveries");
    }
    let pending: RValue = redis::cmd("XPENDING").arg(&stream).arg("jobs").query_async(&mut raw).await.unwrap();
    assert!(matches!(&pending, RValue::Array(p) if p.first() == Some(&RValue::Int(0))), "{pending:?}");

    // Replay the first: it runs and its caller gets the result; purge the second.
    let new_id = dead.replay("jobs", &letters[0].id).await.unwrap();
    assert!(new_id.is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    while envelopes(&mut raw, &reply_to).await.len() < 3 {
        assert!(Instant::now() < deadline, "the replayed request was never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(envelopes(&mut raw, &reply_to).await[2]["result"]["key"], "dl-1");
    assert_eq!(log.counts().get("dl-1"), Some(&1));
    assert!(dead.purge("jobs", &letters[1].id).await.unwrap());
    assert!(!dead.purge("jobs", &letters[1].id).await.unwrap());
    assert_eq!(dead.count("jobs").await.unwrap(), 0);
    assert_eq!(dead.replay("jobs", "1-1").await.unwrap(), None);
    server.stop().await;
}

/// The raw client API still works for a call with options (keeps `CallOptions` in use here).
#[tokio::test]
async fn a_call_with_explicit_options_round_trips() {
    let env = Env::new("options");
    let log = ExecutionLog::default();
    let server = env.server(&log, 1, Duration::from_secs(60)).await;
    let client = env.client().await;
    let v = client
        .call_value("jobs", "run", json!({"key": "k", "sleepMs": 0}), CallOptions::timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(v["attempt"], 1);
    client.stop().await;
    server.stop().await;
}
