//! Delivery under crashes, with real processes: a server SIGKILLed mid-handler, and a poison
//! request that aborts every server that runs it, with servers restarted as a supervisor
//! would. Executions are counted per call key in a file the child servers append to (it
//! survives their death); every call's outcome is checked on the client side.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clamator::redis::{DeadLetters, RedisRpcClient, RedisRpcServer, DEAD_LETTERED};
use clamator::Error;
use clamator_test_support::jobs::*;
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;

/// The child-process server; runs only when spawned by the tests below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "spawned as a child process by the crash tests"]
async fn delivery_child_server() {
    let var = |name: &str| std::env::var(name).ok();
    let (Some(url), Some(prefix), Some(log)) = (var("CHILD_URL"), var("CHILD_PREFIX"), var("CHILD_LOG")) else {
        return;
    };
    let number = |name: &str, default: u64| var(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let server = RedisRpcServer::builder(prefix)
        .url(url)
        .concurrency(number("CHILD_CONCURRENCY", 1) as usize)
        .claim_idle(Duration::from_millis(number("CHILD_CLAIM_IDLE_MS", 1000)))
        .max_deliveries(Some(number("CHILD_MAX_DELIVERIES", 5) as u32))
        .build()
        .unwrap();
    server.register_service(JobsServer::new(JobRunner { log: ExecutionLog::with_file(log) })).unwrap();
    server.start().await.unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// How to start one child server.
#[derive(Clone)]
struct ChildSpec {
    url: String,
    prefix: String,
    log: PathBuf,
    concurrency: usize,
    max_deliveries: u32,
}

impl ChildSpec {
    fn spawn(&self) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "delivery_child_server", "--nocapture"])
            .env("CHILD_URL", &self.url)
            .env("CHILD_PREFIX", &self.prefix)
            .env("CHILD_LOG", &self.log)
            .env("CHILD_CONCURRENCY", self.concurrency.to_string())
            .env("CHILD_CLAIM_IDLE_MS", "1000")
            .env("CHILD_MAX_DELIVERIES", self.max_deliveries.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

fn temp_log(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("clamator-{test}-{}.log", uuid_like()));
    let _ = std::fs::remove_file(&path);
    path
}

fn uuid_like() -> String {
    format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
}

fn job(key: impl Into<String>, sleep_ms: u64, abort: bool) -> JobParams {
    JobParams { key: key.into(), sleep_ms, abort }
}

async fn client(redis: &RedisServer, prefix: &str) -> RedisRpcClient {
    let client =
        RedisRpcClient::builder(prefix).url(redis.url()).default_timeout(Duration::from_secs(60)).build().unwrap();
    client.start().await.unwrap();
    client
}

fn spawn_calls(
    client: &RedisRpcClient,
    calls: Vec<JobParams>,
) -> Vec<tokio::task::JoinHandle<(String, Result<JobResult, Error>)>> {
    calls
        .into_iter()
        .map(|params| {
            let jobs = JobsClient::new(client.clone());
            tokio::spawn(async move { (params.key.clone(), jobs.run(params).await) })
        })
        .collect()
}

fn add_counts(into: &mut HashMap<String, usize>, from: HashMap<String, usize>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

/// A server SIGKILLed while running two calls: every call completes on the survivor, each
/// executed at most twice, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_handler_loses_nothing() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("sigkill");
    let log = temp_log("sigkill");
    let spec = ChildSpec {
        url: redis.url().to_owned(),
        prefix: prefix.clone(),
        log: log.clone(),
        concurrency: 2,
        max_deliveries: 5,
    };
    let mut child = spec.spawn();
    let client = client(&redis, &prefix).await;
    let calls = spawn_calls(&client, (0..6).map(|i| job(format!("k-{i}"), 1500, false)).collect());
    let deadline = Instant::now() + Duration::from_secs(20);
    while read_execution_file(&log).len() < 2 {
        assert!(Instant::now() < deadline, "the child never started two calls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL, mid-handler
    child.wait().unwrap();
    let killed_mid_run: Vec<String> = read_execution_file(&log).into_keys().collect();

    let survivor_log = ExecutionLog::default();
    let survivor = RedisRpcServer::builder(&prefix)
        .url(redis.url())
        .concurrency(2)
        .claim_idle(Duration::from_secs(1))
        .build()
        .unwrap();
    survivor.register_service(JobsServer::new(JobRunner { log: survivor_log.clone() })).unwrap();
    survivor.start().await.unwrap();
    for call in calls {
        let (key, outcome) = call.await.unwrap();
        let result = outcome.unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(result.pid, std::process::id(), "{key} was answered by the survivor");
    }
    let mut executions = read_execution_file(&log);
    add_counts(&mut executions, survivor_log.counts());
    assert_eq!(executions.len(), 6, "{executions:?}");
    for (key, n) in &executions {
        let expected = if killed_mid_run.contains(key) { 2 } else { 1 };
        assert_eq!(*n, expected, "{key}: {executions:?}");
    }
    eprintln!("sigkill: {} calls, killed mid-run {killed_mid_run:?}, executions {executions:?}", 6);
    assert_eq!(survivor.stats().reclaimed, killed_mid_run.len() as u64);
    client.stop().await;
    survivor.stop().await;
    let _ = std::fs::remove_file(&log);
}

/// A poison request that aborts its process, beside innocent calls, with two servers
/// restarted whenever they die: it is dead-lettered after `max_deliveries`, its caller gets
/// the error reply, every other call is answered, and nothing else is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_request_is_dead_lettered_and_harms_no_other_call() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("poison");
    let log = temp_log("poison");
    const MAX_DELIVERIES: u32 = 3;
    let stop = Arc::new(AtomicBool::new(false));
    let restarts = Arc::new(AtomicUsize::new(0));
    let supervisor = {
        let (stop, restarts) = (Arc::clone(&stop), Arc::clone(&restarts));
        let spec = ChildSpec {
            url: redis.url().to_owned(),
            prefix: prefix.clone(),
            log: log.clone(),
            concurrency: 4,
            max_deliveries: MAX_DELIVERIES,
        };
        std::thread::spawn(move || {
            // What a process supervisor does: two servers, each restarted when it dies.
            let mut children = vec![spec.spawn(), spec.spawn()];
            while !stop.load(Ordering::SeqCst) {
                for child in &mut children {
                    if child.try_wait().unwrap().is_some() {
                        restarts.fetch_add(1, Ordering::SeqCst);
                        *child = spec.spawn();
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            for mut child in children {
                let _ = child.kill();
                let _ = child.wait();
            }
        })
    };
    let client = client(&redis, &prefix).await;
    let mut calls = vec![job("poison", 0, true)];
    calls.extend((0..12).map(|i| job(format!("ok-{i}"), 300, false)));
    let handles = spawn_calls(&client, calls);
    let mut outcomes = HashMap::new();
    for h in handles {
        let (key, outcome) = h.await.unwrap();
        outcomes.insert(key, outcome);
    }
    stop.store(true, Ordering::SeqCst);
    supervisor.join().unwrap();

    match &outcomes["poison"] {
        Err(Error::Rpc(e)) => {
            assert_eq!(e.code, DEAD_LETTERED, "{e:?}");
            assert_eq!(e.data.as_ref().unwrap()["deliveries"], MAX_DELIVERIES);
        }
        other => panic!("the poison call must get the dead-letter error: {other:?}"),
    }
    for i in 0..12 {
        let key = format!("ok-{i}");
        assert!(outcomes[&key].is_ok(), "{key}: {:?}", outcomes[&key]);
    }
    let executions = read_execution_file(&log);
    assert_eq!(executions["poison"], MAX_DELIVERIES as usize, "{executions:?}");
    for i in 0..12 {
        let n = executions.get(&format!("ok-{i}")).copied().unwrap_or(0);
        assert!((1..=2).contains(&n), "ok-{i} ran {n} times: {executions:?}");
    }
    let dead = DeadLetters::connect(redis.url(), &prefix).await.unwrap();
    let letters = dead.list("jobs", 10).await.unwrap();
    assert_eq!(letters.len(), 1, "only the poison request was dead-lettered: {letters:?}");
    assert!(letters[0].envelope.as_deref().unwrap().contains("\"poison\""));
    eprintln!(
        "poison: restarts {}, executions {executions:?}, dead letters {}",
        restarts.load(Ordering::SeqCst),
        letters.len()
    );
    client.stop().await;
    let _ = std::fs::remove_file(&log);
}
