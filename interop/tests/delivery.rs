//! The Rust server's delivery machinery (dead letters, deadlines, trimming, consumer
//! cleanup) as Python clamator 0.1.9 peers see it, over one private redis-server per test.
//! The test itself plays a third, raw peer where a situation has to be set up exactly: a
//! dead consumer, entries with the clamator-rs extension fields.
//!
//! - `python_call_dead_lettered_by_rust_server`: a 0.1.9 caller whose request is dead-lettered
//!   gets the `-32010` error reply; the handler never runs;
//! - `python_calls_have_no_deadline_on_rust_server`: 0.1.9 entries carry no `call-options`, so
//!   they run however late, even once their caller gave up;
//! - `python_server_ignores_extension_fields`: `call-options` (timeout, reply TTL, batched
//!   replies) changes nothing for a 0.1.9 server;
//! - `mixed_pool_rust_upkeep_trims_what_python_acked`: the Rust server trims what the 0.1.9
//!   server acknowledged, never what it holds, and sweeps its idle consumer harmlessly.

mod common;

use std::time::{Duration, Instant};

use clamator::redis::{dead_letter_stream, redis};
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use common::*;
use serde_json::{json, Value};

/// One test's Redis, prefix, scratch directory and raw connection.
struct Env {
    redis: RedisServer,
    prefix: String,
    scratch: Scratch,
    raw: Raw,
    started: Instant,
    test: &'static str,
}

impl Env {
    fn new(test: &'static str) -> Self {
        let redis = RedisServer::start();
        let raw = Raw::connect(redis.url());
        Env { prefix: unique_prefix(test), scratch: Scratch::new(test), raw, redis, started: Instant::now(), test }
    }

    fn url(&self) -> &str {
        self.redis.url()
    }

    fn stream(&self, service: &str) -> String {
        command_stream(&self.prefix, service)
    }

    fn server(&self, lang: Lang, name: &str, extra: &[&str]) -> Server {
        Server::start(lang, self.url(), &self.prefix, &self.scratch, name, extra)
    }

    fn client(&self, scenario: &str) -> Client {
        spawn_client(Lang::Python, self.url(), &self.prefix, scenario, &self.scratch)
    }

    fn run(&self, scenario: &str) -> Value {
        let out = self.client(scenario).finish(Duration::from_secs(60));
        self.log(&format!("{scenario}: {}", truncate(&out)));
        out
    }

    fn log(&self, what: &str) {
        eprintln!("# {} +{:>5} ms  {what}", self.test, self.started.elapsed().as_millis());
    }
}

fn counter(stats: &Value, name: &str) -> u64 {
    stats[name].as_u64().unwrap_or_else(|| panic!("no {name} in {stats}"))
}

/// The 0.1.9 stream fields: a 0.1.9 client writes these and nothing else.
fn assert_plain_0_1_9_entry(entry: &Entry) {
    let names: Vec<&str> = entry.fields.keys().map(String::as_str).collect();
    assert_eq!(names, ["envelope", "reply-to", "type"], "a 0.1.9 client wrote other fields: {entry:?}");
}

/// A Python 0.1.9 client's call is queued; a dead consumer (the test) takes it and has it
/// redelivered, so it already counts two deliveries; a Rust server with `max_deliveries` 2
/// then finds it idle and dead-letters it instead of running it. The 0.1.9 caller must get
/// the `-32010` error reply (not a timeout), the handler must never run, and the entry must
/// be in `P:dead:arith` with its original fields.
#[test]
fn python_call_dead_lettered_by_rust_server() {
    let mut env = Env::new("dead-letter");
    let stream = env.stream("arith");
    let dead = dead_letter_stream(&env.prefix, "arith");
    let marker = env.scratch.path("marker");

    env.raw.cmd::<()>(&["XGROUP", "CREATE", &stream, "arith", "0", "MKSTREAM"]);
    let caller = env.client("patient");
    {
        let raw = &mut env.raw;
        wait_until(
            Duration::from_secs(20),
            || raw.xlen(&stream) == 1,
            || format!("no call queued\n{}", caller.stderr()),
        );
    }
    let entry = env.raw.entries(&stream).remove(0);
    assert_plain_0_1_9_entry(&entry);
    // The dead consumer: takes the entry, then claims it again (not JUSTID: a delivery).
    let _: redis::Value =
        env.raw.cmd(&["XREADGROUP", "GROUP", "arith", "ghost", "COUNT", "10", "STREAMS", &stream, ">"]);
    let _: redis::Value = env.raw.cmd(&["XCLAIM", &stream, "arith", "ghost", "0", &entry.id]);
    let pending = env.raw.pending(&stream, "arith");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].id.as_str(), pending[0].consumer.as_str(), pending[0].deliveries),
        (entry.id.as_str(), "ghost", 2)
    );
    env.log(&format!("entry {} pending on ghost, 2 deliveries", entry.id));

    let marker_arg = marker.to_str().expect("utf-8 temp path");
    let server = env.server(
        Lang::Rust,
        "rust",
        &["--claim-idle-ms", "100", "--max-deliveries", "2", "--marker-file", marker_arg],
    );
    let out = caller.finish(Duration::from_secs(30));
    env.log(&format!("patient: {out}"));

    let error = rpc_error(&out, "dead-lettered call");
    assert_eq!(error["code"], -32010, "{out}");
    assert_eq!(error["message"], "Request dead-lettered", "{out}");
    let letters = env.raw.entries(&dead);
    assert_eq!(letters.len(), 1, "dead letters: {letters:?}");
    let letter = &letters[0];
    assert_eq!(
        error["data"],
        json!({ "reason": "max-deliveries", "deliveries": 2, "deadLetterStream": dead, "deadLetterId": letter.id }),
        "{out}"
    );
    for name in ["type", "envelope", "reply-to"] {
        assert_eq!(letter.fields.get(name), entry.fields.get(name), "dead letter field {name}: {letter:?}");
    }
    let field = |name: &str| letter.fields.get(name).map(String::as_str);
    assert_eq!(field("dead-reason"), Some("max-deliveries"), "{letter:?}");
    assert_eq!(field("dead-deliveries"), Some("2"), "{letter:?}");
    assert_eq!(field("dead-consumer"), Some("ghost"), "{letter:?}");
    assert_eq!(field("dead-entry"), Some(entry.id.as_str()), "{letter:?}");
    assert!(!marker_written(&marker), "the handler ran for a dead-lettered request");
    // Acknowledged and deleted from the command stream.
    assert_eq!(env.raw.xlen(&stream), 0, "{:?}", env.raw.entries(&stream));
    assert!(env.raw.pending(&stream, "arith").is_empty());

    // The server goes on serving.
    let out = env.run("whoami");
    assert_eq!(out["result"]["language"], "rust", "{out}");
    assert_eq!(out["result"]["processId"], server.pid(), "{out}");
    assert!(!marker_written(&marker));
    let stats = server.terminate().expect("rust stats");
    env.log(&format!("server stats {stats}"));
    assert_eq!(counter(&stats, "deadLettered"), 1, "{stats}");
    assert_eq!(counter(&stats, "completed"), 1, "only whoami ran: {stats}");
    assert_eq!(counter(&stats, "reclaimed"), 0, "{stats}");
    assert_eq!(counter(&stats, "expired"), 0, "{stats}");
}

/// Python 0.1.9 clients write no `call-options`, so their entries have no deadline on a Rust
/// server: calls queued before it starts run when it comes, more than a second after they
/// were sent, and so does a call whose caller already gave up (as 0.1.9 servers do).
#[test]
fn python_calls_have_no_deadline_on_rust_server() {
    let mut env = Env::new("no-deadline");
    let arith = env.stream("arith");
    let kv = env.stream("kv");
    let run_id = uuid::Uuid::new_v4().to_string();

    // No server yet: this caller gives up after 200 ms.
    let out = spawn_client_with_run_id(Lang::Python, env.url(), &env.prefix, "late_put", &run_id, &env.scratch)
        .finish(Duration::from_secs(30));
    env.log(&format!("late_put: {out}"));
    assert_eq!(out["error"], json!({ "kind": "transport", "message": "call timeout" }), "{out}");
    let backlog = env.client("backlog");
    {
        let raw = &mut env.raw;
        wait_until(
            Duration::from_secs(20),
            || raw.xlen(&arith) == 10,
            || format!("backlog not queued\n{}", backlog.stderr()),
        );
    }
    let mut queued = env.raw.entries(&arith);
    queued.extend(env.raw.entries(&kv));
    assert_eq!(queued.len(), 11, "{queued:?}");
    queued.iter().for_each(assert_plain_0_1_9_entry);
    let newest = queued.iter().map(|e| id_ms(&e.id)).max().expect("entries");
    let oldest = queued.iter().map(|e| id_ms(&e.id)).min().expect("entries");
    let abandoned_reply_stream = env.raw.entries(&kv)[0].fields["reply-to"].clone();
    assert!(!env.raw.exists(&abandoned_reply_stream), "a stopped 0.1.9 client deletes its reply stream");
    // Served well over a second after they were sent, on Redis's clock.
    {
        let raw = &mut env.raw;
        wait_until(
            Duration::from_secs(10),
            || raw.time_ms() >= newest + 1500,
            || "Redis's clock did not advance".into(),
        );
    }

    let age = env.raw.time_ms() - oldest;
    let server = env.server(Lang::Rust, "rust", &[]);
    let out = backlog.finish(Duration::from_secs(30));
    env.log(&format!("backlog: {out} (the oldest call was {age} ms old when the server started)"));
    assert_eq!(out["errors"], json!([]), "{out}");
    let expected: Vec<f64> = (1..=10).map(f64::from).collect();
    let sums: Vec<f64> = out["sums"].as_array().expect("sums").iter().filter_map(Value::as_f64).collect();
    assert_eq!(sums, expected, "{out}");
    assert_eq!(process_ids(&out), vec![u64::from(server.pid()); 10], "{out}");
    // The abandoned put ran: a later get sees it.
    let out = spawn_client_with_run_id(Lang::Python, env.url(), &env.prefix, "get", &run_id, &env.scratch)
        .finish(Duration::from_secs(30));
    env.log(&format!("get: {out}"));
    assert_eq!(out["result"]["value"], "late", "{out}");
    // Its reply went to the stream the caller had deleted: recreated, one entry. A 0.1.9
    // caller declares no TTL, so the Rust server gives it its default (24 h), renewed by every
    // reply: the key does not stay for ever (a 0.1.9 server leaves it without a TTL).
    assert_eq!(env.raw.xlen(&abandoned_reply_stream), 1);
    let ttl = env.raw.cmd::<i64>(&["PTTL", &abandoned_reply_stream]);
    assert!(ttl > 23 * 3600 * 1000 && ttl <= 24 * 3600 * 1000, "PTTL {ttl}");
    // Every entry acknowledged and deleted.
    for stream in [&arith, &kv] {
        assert_eq!(env.raw.xlen(stream), 0, "{stream}: {:?}", env.raw.entries(stream));
    }
    let stats = server.terminate().expect("rust stats");
    env.log(&format!("server stats {stats}"));
    assert_eq!(counter(&stats, "completed"), 12, "10 backlog + put + get: {stats}");
    assert_eq!(counter(&stats, "expired"), 0, "{stats}");
    assert_eq!(counter(&stats, "deadLettered"), 0, "{stats}");
}

/// A raw request entry the way the Rust client writes it, with the extension fields.
fn xadd_request(raw: &mut Raw, stream: &str, reply_to: &str, envelope: &Value, timeout_ms: &str) -> String {
    let envelope = envelope.to_string();
    raw.cmd(&[
        "XADD",
        stream,
        "*",
        "type",
        "rpc",
        "envelope",
        &envelope,
        "reply-to",
        reply_to,
        "call-options",
        &format!("timeout-ms={timeout_ms};reply-ttl-ms=60000;reply-batch=1"),
    ])
}

/// Entries carrying `call-options` (`timeout-ms`, `reply-ttl-ms`, `reply-batch`) are served by
/// a Python 0.1.9 server as if the field were not there: a request already past its deadline
/// still runs, the reply stream's TTL is not refreshed, and each reply is an entry of its own.
#[test]
fn python_server_ignores_extension_fields() {
    let mut env = Env::new("py-extension-fields");
    let stream = env.stream("arith");
    let reply_to = format!("{}:replies:raw-{}", env.prefix, uuid::Uuid::new_v4().simple());
    // A 0.1.9 server creates its group at `$`: start it before anything is queued.
    let server = env.server(Lang::Python, "python", &[]);

    let slow =
        json!({"jsonrpc": "2.0", "id": "ext-1", "method": "arith.slowAdd", "params": {"a": 1, "b": 2, "sleepMs": 300}});
    let late = json!({"jsonrpc": "2.0", "id": "ext-2", "method": "arith.add", "params": {"a": 2, "b": 3}});
    let slow_id = xadd_request(&mut env.raw, &stream, &reply_to, &slow, "30000");
    // Deadline: its id's ms + 1; it waits behind the 300 ms call, so it is served well past it.
    let late_id = xadd_request(&mut env.raw, &stream, &reply_to, &late, "1");
    {
        let raw = &mut env.raw;
        wait_until(Duration::from_secs(20), || raw.xlen(&reply_to) >= 2, || "no replies".into());
    }
    let replies = env.raw.entries(&reply_to);
    env.log(&format!("replies: {replies:?}"));
    assert_eq!(replies.len(), 2, "{replies:?}");
    let envelopes: Vec<Value> =
        replies.iter().map(|r| serde_json::from_str(&r.fields["envelope"]).expect("json")).collect();
    assert_eq!(envelopes[0]["id"], "ext-1", "{envelopes:?}");
    assert_eq!(envelopes[0]["result"]["sum"].as_f64(), Some(3.0), "{envelopes:?}");
    assert_eq!(envelopes[1]["id"], "ext-2", "{envelopes:?}");
    assert_eq!(envelopes[1]["result"]["sum"].as_f64(), Some(5.0), "{envelopes:?}");
    assert!(
        id_ms(&replies[1].id) > id_ms(&late_id) + 1,
        "the late request was answered before its deadline ({} vs {late_id})",
        replies[1].id
    );
    // reply-ttl-ms is not honoured: the reply stream has no TTL.
    assert_eq!(env.raw.cmd::<i64>(&["PTTL", &reply_to]), -1);
    // Both acknowledged, and (0.1.9) never deleted.
    assert!(env.raw.pending(&stream, "arith").is_empty());
    assert_eq!(env.raw.entry_ids(&stream), [slow_id, late_id]);
    server.terminate();
}

/// One Rust and one Python 0.1.9 server on one prefix. The Rust server's upkeep trims the
/// entries the Python server acknowledged (0.1.9 never deletes them), never one the Python
/// server still holds, and deletes the Python server's consumer once it is idle and holds
/// nothing, which the Python server survives.
#[test]
fn mixed_pool_rust_upkeep_trims_what_python_acked() {
    let mut env = Env::new("mixed-trim");
    let stream = env.stream("arith");
    let marker = env.scratch.path("marker");
    let marker_arg = marker.to_str().expect("utf-8 temp path").to_owned();
    // A short dead-consumer idle makes the upkeep run every second (and sweep after 3 s).
    let rust_flags = ["--dead-consumer-idle-ms", "3000"];
    let rust = env.server(Lang::Rust, "rust", &rust_flags);
    let python = env.server(Lang::Python, "python", &["--marker-file", &marker_arg]);

    // 1. Calls through the pool: afterwards the stream empties (with nothing pending, the
    //    trim floor is just past the group's last-delivered id).
    let pool = |env: &Env, rust: &Server, python: &Server| {
        let out = env.run("pool");
        assert_eq!(out["errors"], json!([]), "{out}");
        let pids = process_ids(&out);
        assert_eq!(pids.len(), 40, "{out}");
        for server in [rust, python] {
            assert!(
                pids.contains(&u64::from(server.pid())),
                "no call served by the {} server: {out}",
                server.lang.name()
            );
        }
    };
    pool(&env, &rust, &python);
    let left = env.raw.xlen(&stream);
    let took = {
        let raw = &mut env.raw;
        wait_until(
            Duration::from_secs(10),
            || {
                let (ids, pending) = raw.snapshot(&stream, "arith");
                pending.is_empty() && ids.is_empty()
            },
            || "the stream was not trimmed".into(),
        )
    };
    let last = env.raw.last_delivered(&stream, "arith");
    let rest = env.raw.entry_ids(&stream);
    env.log(&format!(
        "{left} entries after the pool, trimmed to {rest:?} in {} ms (last delivered {last})",
        took.as_millis()
    ));
    assert!(rest.is_empty(), "{rest:?} kept (last delivered {last})");

    // 2. The Rust server stops: its consumer is deleted (it holds nothing), the Python
    //    server's stays (0.1.9 never deletes its consumers).
    let python_consumer = python.consumer("arith");
    let consumers = env.raw.consumers(&stream, "arith");
    assert!(consumers.contains_key(&rust.consumer("arith")), "{consumers:?}");
    let stats = rust.terminate().expect("rust stats");
    env.log(&format!("rust stats {stats}"));
    let consumers: Vec<String> = env.raw.consumers(&stream, "arith").into_keys().collect();
    // The Python consumer stays unless the Rust upkeep swept it as dead: on a loaded machine
    // it can sit idle, holding nothing, past the 3 s dead-consumer idle (harmless: 0.1.9
    // re-creates it at its next read, under the same name).
    assert!(
        consumers.is_empty() || consumers == std::slice::from_ref(&python_consumer),
        "the stopped Rust server's consumer is still there: {consumers:?}"
    );

    // 3. The Python server alone: 5 quick calls (acknowledged, kept), then a 4 s call it holds.
    //    (The pool's slowAdds wrote the marker too.)
    std::fs::remove_file(&marker).expect("the pool's slowAdds on the Python server wrote the marker");
    let caller = env.client("quick_then_slow");
    wait_until(
        Duration::from_secs(20),
        || marker_written(&marker),
        || format!("slowAdd never started\n{}", caller.stderr()),
    );
    let (ids, pending) = env.raw.snapshot(&stream, "arith");
    assert_eq!(pending.len(), 1, "{pending:?}");
    let slow_id = pending[0].id.clone();
    assert_eq!(pending[0].consumer, python_consumer);
    assert_eq!(ids.last(), Some(&slow_id));
    assert!(ids.len() >= 6, "the Python server's acknowledged entries are kept: {ids:?}");
    env.log(&format!("python holds {slow_id}; stream {ids:?}"));

    // 4. A Rust server again: its upkeep trims the quick ones, keeps the held one.
    let rust = env.server(Lang::Rust, "rust-2", &rust_flags);
    {
        let raw = &mut env.raw;
        wait_until(
            Duration::from_secs(10),
            || {
                let (ids, pending) = raw.snapshot(&stream, "arith");
                assert!(ids.contains(&slow_id), "the held entry {slow_id} was trimmed: {ids:?}");
                assert!(
                    pending.iter().any(|p| p.id == slow_id && p.consumer == python_consumer),
                    "the slow call completed before a trim round: {pending:?}"
                );
                ids == [slow_id.clone()]
            },
            || "the acknowledged entries were not trimmed".into(),
        );
    }
    env.log(&format!("trimmed to the held {slow_id}"));
    let out = caller.finish(Duration::from_secs(30));
    env.log(&format!("quick_then_slow: {out}"));
    assert_eq!(out["quick"], json!([0.0, 2.0, 4.0, 6.0, 8.0]), "{out}");
    assert_eq!(out["slow"]["result"]["sum"].as_f64(), Some(3.0), "{out}");
    assert_eq!(out["slow"]["result"]["processId"], python.pid(), "{out}");
    assert!(env.raw.pending(&stream, "arith").is_empty());

    // 5. The Python consumer, idle and holding nothing, is swept (Redis 7.0 does not count a
    //    blocked read as activity; later versions do, so there it stays). Either way the
    //    Python server keeps serving: Redis recreates its consumer at its next delivery.
    let version = env.raw.version();
    if version < (7, 2) {
        let raw = &mut env.raw;
        let took = wait_until(
            Duration::from_secs(10),
            || !raw.consumers(&stream, "arith").contains_key(&python_consumer),
            || "the idle Python consumer was not swept".into(),
        );
        env.log(&format!("python consumer swept after {} ms", took.as_millis()));
    } else {
        env.log(&format!("redis {version:?}: the python consumer {python_consumer} is not expected to be swept"));
    }
    pool(&env, &rust, &python);
    assert!(env.raw.consumers(&stream, "arith").contains_key(&python_consumer));
    let stats = rust.terminate().expect("rust stats");
    env.log(&format!("rust-2 stats {stats}"));
    assert_eq!(counter(&stats, "reclaimed"), 0, "{stats}");
    python.terminate();
}
