//! Redis footprint of the Redis transport, against a real redis-server: command streams hold
//! only the work in flight, entries acknowledged by peers that never delete them (0.1.9) are
//! trimmed without touching a pending one, and consumers of dead servers are swept while
//! live ones and ones holding entries are kept.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clamator::redis::redis::{self, aio::ConnectionManager, Value as RValue};
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator_test_support::jobs::*;
use clamator_test_support::raw_redis::{replies, xlen};
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;

async fn raw(redis: &RedisServer) -> ConnectionManager {
    ConnectionManager::new(redis::Client::open(redis.url()).unwrap()).await.unwrap()
}

async fn used_memory(conn: &mut ConnectionManager) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
}

/// Consumer names of the `jobs` group, with their pending counts.
async fn consumers(conn: &mut ConnectionManager, stream: &str) -> Vec<(String, i64)> {
    let Ok(v) = redis::cmd("XINFO").arg("CONSUMERS").arg(stream).arg("jobs").query_async::<RValue>(conn).await else {
        return Vec::new(); // no stream or group yet
    };
    let RValue::Array(rows) = v else { return Vec::new() };
    rows.into_iter()
        .filter_map(|row| {
            let fields = match row {
                RValue::Array(f) => f,
                RValue::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => return None,
            };
            let mut name = None;
            let mut pending = 0;
            for kv in fields.chunks(2) {
                match kv {
                    [RValue::BulkString(k), RValue::BulkString(v)] if k == b"name" => {
                        name = Some(String::from_utf8_lossy(v).into_owned());
                    }
                    [RValue::BulkString(k), RValue::Int(n)] if k == b"pending" => pending = *n,
                    _ => {}
                }
            }
            Some((name?, pending))
        })
        .collect()
}

async fn start_server(
    redis: &RedisServer,
    prefix: &str,
    builder: impl FnOnce(clamator::redis::RedisServerBuilder) -> clamator::redis::RedisServerBuilder,
) -> RedisRpcServer {
    let server = builder(RedisRpcServer::builder(prefix).url(redis.url())).build().unwrap();
    server.register_service(JobsServer::new(JobRunner::default())).unwrap();
    server.start().await.unwrap();
    server
}

/// Thousands of calls leave nothing behind in the command stream, and Redis's memory stays
/// flat between a small and a ten-times-larger run (0.1.9 keeps ~200 bytes per call ever made).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_streams_hold_only_the_work_in_flight() {
    let redis = RedisServer::start_private();
    let prefix = unique_prefix("bounded");
    let stream = format!("{prefix}:cmds:jobs");
    let server = start_server(&redis, &prefix, |b| b.concurrency(4)).await;
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    let mut conn = raw(&redis).await;
    let mut most_queued = 0;
    let mut memory = Vec::new();
    let mut done = 0;
    for target in [1_000, 10_000] {
        while done < target {
            let wave: Vec<_> = (0..64)
                .map(|i| {
                    let jobs = JobsClient::new(client.clone());
                    let key = format!("c-{}", done + i);
                    tokio::spawn(async move { jobs.run(JobParams { key, sleep_ms: 0, abort: false }).await })
                })
                .collect();
            most_queued = most_queued.max(xlen(&mut conn, &stream).await);
            for call in wave {
                call.await.unwrap().unwrap();
            }
            done += 64;
        }
        memory.push((done, used_memory(&mut conn).await, xlen(&mut conn, &stream).await));
    }
    eprintln!("calls, used_memory, XLEN: {memory:?}; most queued {most_queued}");
    assert!(most_queued <= 64, "the stream held {most_queued} entries with 64 calls in flight");
    assert_eq!(memory[1].2, 0, "nothing left in the stream once answered");
    let growth = memory[1].1 - memory[0].1;
    assert!(growth < 512 * 1024, "used_memory grew {growth} bytes over 9,000 more calls");
    client.stop().await;
    server.stop().await;
}

/// Entries a peer acknowledged but never deleted (as 0.1.9 servers do) are trimmed; pending
/// and undelivered ones never are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_entries_are_trimmed_pending_ones_kept() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("trim");
    let stream = format!("{prefix}:cmds:jobs");
    let mut conn = raw(&redis).await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("jobs")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        // Not envelopes a server could run: this test is about what stays in the stream.
        let id: String = redis::cmd("XADD")
            .arg(&stream)
            .arg("*")
            .arg("type")
            .arg("other")
            .arg("n")
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap();
        ids.push(id);
    }
    // A 0.1.9-like peer reads 8, acknowledges #0..#2 and #5, leaves #3, #4, #6, #7 pending;
    // #8 and #9 are never delivered.
    let _: RValue = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("jobs")
        .arg("py")
        .arg("COUNT")
        .arg(8)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("XACK")
        .arg(&stream)
        .arg("jobs")
        .arg(&ids[0])
        .arg(&ids[1])
        .arg(&ids[2])
        .arg(&ids[5])
        .query_async(&mut conn)
        .await
        .unwrap();
    let server = start_server(&redis, &prefix, |b| b.claim_idle(Duration::from_secs(60))).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    // #8 and #9 are taken by the server (no envelope: acknowledged and deleted at once).
    while xlen(&mut conn, &stream).await > 5 {
        assert!(Instant::now() < deadline, "never trimmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left: RValue = redis::cmd("XRANGE").arg(&stream).arg("-").arg("+").query_async(&mut conn).await.unwrap();
    let text = format!("{left:?}");
    for (i, id) in ids.iter().enumerate() {
        let kept = text.contains(id.as_str());
        assert_eq!(kept, (3..=7).contains(&i), "entry #{i} kept: {kept}");
    }
    server.stop().await;
}

/// The child-process server of the sweep test; runs only when spawned by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "spawned as a child process by dead_consumers_are_swept"]
async fn footprint_child_server() {
    let (Ok(url), Ok(prefix)) = (std::env::var("CHILD_URL"), std::env::var("CHILD_PREFIX")) else { return };
    let server = RedisRpcServer::builder(prefix).url(url).build().unwrap();
    server.register_service(JobsServer::new(JobRunner::default())).unwrap();
    server.start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// Servers SIGKILLed one after the other leave consumers behind; a live server sweeps those
/// once idle long enough, keeps its own and one holding a pending entry, and a graceful stop
/// deletes its own consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_consumers_are_swept_live_and_pending_ones_kept() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("sweep");
    let stream = format!("{prefix}:cmds:jobs");
    let mut conn = raw(&redis).await;
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    for round in 1..=3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "footprint_child_server", "--nocapture"])
            .env("CHILD_URL", redis.url())
            .env("CHILD_PREFIX", &prefix)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Only the newest child is alive: it serves this call and so joins the group.
        let jobs = JobsClient::new(client.clone());
        let served = jobs.run(JobParams { key: format!("r{round}"), sleep_ms: 0, abort: false }).await.unwrap();
        assert_ne!(served.pid, std::process::id());
        assert_eq!(consumers(&mut conn, &stream).await.len(), round);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    // A dead consumer that still holds an entry: it must stay until the entry is reclaimed.
    // (XCLAIM FORCE, not a read: a child killed while blocked in XREADGROUP may still be
    // handed the new entry before Redis notices it is gone.)
    let held: String =
        redis::cmd("XADD").arg(&stream).arg("*").arg("type").arg("other").query_async(&mut conn).await.unwrap();
    let _: RValue = redis::cmd("XCLAIM")
        .arg(&stream)
        .arg("jobs")
        .arg("jobs:holder")
        .arg(0)
        .arg(&held)
        .arg("FORCE")
        .query_async(&mut conn)
        .await
        .unwrap();
    // Delivered, as far as the group is concerned (FORCE does not move its last-delivered id).
    let _: () =
        redis::cmd("XGROUP").arg("SETID").arg(&stream).arg("jobs").arg("$").query_async(&mut conn).await.unwrap();
    assert_eq!(consumers(&mut conn, &stream).await.len(), 4);

    let live = start_server(&redis, &prefix, |b| {
        b.instance_id("live").claim_idle(Duration::from_secs(60)).dead_consumer_idle(Duration::from_secs(1))
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let expected = vec![("jobs:holder".to_owned(), 1), ("jobs:live".to_owned(), 0)];
    loop {
        let mut now = consumers(&mut conn, &stream).await;
        now.sort();
        if now == expected {
            break;
        }
        assert!(Instant::now() < deadline, "consumers left: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.stop().await;
    live.stop().await;
    assert_eq!(
        consumers(&mut conn, &stream).await,
        vec![("jobs:holder".to_owned(), 1)],
        "stop deletes its own consumer"
    );
}

/// The child-process client of the reply-stream test; runs only when spawned by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "spawned as a child process by a_killed_clients_reply_stream_expires"]
async fn footprint_child_client() {
    let (Ok(url), Ok(prefix)) = (std::env::var("CHILD_URL"), std::env::var("CHILD_PREFIX")) else { return };
    let client = RedisRpcClient::builder(prefix)
        .url(url)
        .instance_id("doomed")
        .reply_ttl(Duration::from_secs(3))
        .build()
        .unwrap();
    client.start().await.unwrap();
    let jobs = JobsClient::new(client.clone());
    jobs.run(JobParams { key: "first".into(), sleep_ms: 0, abort: false }).await.unwrap();
    // Slow calls still running on the server when this process is killed.
    let slow: Vec<_> = (0..3)
        .map(|i| {
            let jobs = jobs.clone();
            tokio::spawn(
                async move { jobs.run(JobParams { key: format!("late-{i}"), sleep_ms: 1000, abort: false }).await },
            )
        })
        .collect();
    println!("CALLED");
    for call in slow {
        let _ = call.await;
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// A client killed with SIGKILL while its calls run: the late replies still land, its reply
/// stream carries a TTL and expires, and the servers keep serving other clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_clients_reply_stream_expires() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("dead-client");
    let log = ExecutionLog::default();
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).concurrency(4).build().unwrap();
    server.register_service(JobsServer::new(JobRunner { log: log.clone() })).unwrap();
    server.start().await.unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "footprint_child_client", "--nocapture"])
        .env("CHILD_URL", redis.url())
        .env("CHILD_PREFIX", &prefix)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("CALLED") {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0, "the child client exited early");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.counts().len() < 4 {
        assert!(Instant::now() < deadline, "the slow calls never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL while its three slow calls run
    child.wait().unwrap();

    let reply_stream = format!("{prefix}:replies:doomed");
    let mut conn = raw(&redis).await;
    // The late replies are written (the handlers finish) and carry the TTL refresh.
    let deadline = Instant::now() + Duration::from_secs(10);
    while replies(&mut conn, &reply_stream).await.len() < 4 {
        assert!(Instant::now() < deadline, "late replies never written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ttl: i64 = redis::cmd("PTTL").arg(&reply_stream).query_async(&mut conn).await.unwrap();
    assert!(ttl > 0 && ttl <= 3000, "the reply stream has a TTL: {ttl}");
    // Other clients are served meanwhile.
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    let jobs = JobsClient::new(client.clone());
    assert_eq!(jobs.run(JobParams { key: "other".into(), sleep_ms: 0, abort: false }).await.unwrap().key, "other");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let exists: i64 = redis::cmd("EXISTS").arg(&reply_stream).query_async(&mut conn).await.unwrap();
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the dead client's reply stream never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.counts().len(), 5, "every call ran once: {:?}", log.counts());
    client.stop().await;
    server.stop().await;
}

/// A reply that arrives after its client stopped (and deleted its reply stream) re-creates the
/// stream with a TTL, although the server refreshed that stream's TTL moments before and so
/// writes the late reply without one first (`XADD NOMKSTREAM`, then `XADD` + `PEXPIRE`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_reply_after_stop_recreates_an_expiring_stream() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("late-reply");
    let log = ExecutionLog::default();
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).concurrency(4).build().unwrap();
    server.register_service(JobsServer::new(JobRunner { log: log.clone() })).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).reply_ttl(Duration::from_secs(60)).build().unwrap();
    client.start().await.unwrap();
    let jobs = JobsClient::new(client.clone());
    jobs.run(JobParams { key: "first".into(), sleep_ms: 0, abort: false }).await.unwrap();
    let late = {
        let jobs = jobs.clone();
        tokio::spawn(async move { jobs.run(JobParams { key: "late".into(), sleep_ms: 800, abort: false }).await })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while log.counts().len() < 2 {
        assert!(Instant::now() < deadline, "the slow call never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reply_stream = client.reply_stream().to_owned();
    client.stop().await;
    let _ = late.await;
    let mut conn = raw(&redis).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while xlen(&mut conn, &reply_stream).await < 1 {
        assert!(Instant::now() < deadline, "the late reply was never written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ttl: i64 = redis::cmd("PTTL").arg(&reply_stream).query_async(&mut conn).await.unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "the re-created reply stream has a TTL: {ttl}");
    server.stop().await;
}
