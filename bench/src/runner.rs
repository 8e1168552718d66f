//! The load generator's run: brokers, the scenarios one at a time (N rounds), JSON output.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cli::RunArgs;
use crate::cpu::CpuSnapshot;
use crate::machine::{loadavg, redis_pid, redis_server_available, redis_version, utc_now};
use crate::measure::{Outcome, Plan};
use crate::peers::{nats, PeerEnv};
use crate::scenarios::{Kind, Scenario, NOTIFY_BACKLOG_MEMORY, NOTIFY_BACKLOG_REDIS, NOTIFY_SENDERS};
use crate::{floor, memory, redis_rpc};

/// The tokio workers of the load generator and of every server process.
pub const WORKERS: usize = 2;

pub fn plan(args: &RunArgs) -> Plan {
    plan_of(args.duration_ms, args.warmup_ms, args.smoke)
}

/// The window (default 3000 ms, 200 with `smoke`) and warm-up (default a tenth of it, 20..500 ms).
pub fn plan_of(duration_ms: Option<u64>, warmup_ms: Option<u64>, smoke: bool) -> Plan {
    let duration = Duration::from_millis(duration_ms.unwrap_or(if smoke { 200 } else { 3000 }));
    let warmup = warmup_ms.map_or_else(
        || (duration / 10).clamp(Duration::from_millis(20), Duration::from_millis(500)),
        Duration::from_millis,
    );
    Plan { warmup, measure: duration }
}

/// Runs the scenarios one at a time; `Ok(false)` when some scenario failed or had errors.
pub async fn run(args: &RunArgs, plan: Plan, selected: &[Scenario]) -> Result<bool, String> {
    // Redis only when needed: a private server unless a URL was given.
    let mut _private = None;
    let mut env = PeerEnv { redis_url: args.redis_url.clone(), ..PeerEnv::default() };
    let mut redis_note = env.redis_url.as_ref().map(|u| format!("given: {u}"));
    if env.redis_url.is_none() && selected.iter().any(Scenario::needs_redis) {
        if redis_server_available() {
            let server = tokio::task::spawn_blocking(clamator_test_support::redis_server::RedisServer::start_private)
                .await
                .map_err(|e| format!("starting redis-server: {e}"))?;
            env.redis_url = Some(server.url().to_owned());
            redis_note = Some(format!("private redis-server on {}", server.url()));
            _private = Some(server);
        } else {
            eprintln!("warning: redis-server not found and no --redis-url: Redis and floor scenarios are skipped");
        }
    }
    let redis_version = match &env.redis_url {
        Some(url) => redis_version(url).await.ok(),
        None => None,
    };
    if let Some(url) = &env.redis_url {
        env.redis_pid = redis_pid(url).await;
    }
    let peers: Vec<_> =
        selected.iter().filter_map(|s| if let Kind::Peer { peer, .. } = s.kind { Some(peer) } else { None }).collect();
    let mut nats_version = None;
    if peers.iter().any(|p| p.needs_nats()) {
        match nats::nats_server_bin() {
            Some(bin) => {
                nats_version = std::process::Command::new(&bin)
                    .arg("--version")
                    .output()
                    .ok()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
                env.nats = Some(tokio::task::spawn_blocking(move || nats::NatsServer::start(&bin)).await.map_err(|e| e.to_string())??);
            }
            None => eprintln!(
                "warning: nats-server not found (Debian package nats-server, or NATS_SERVER_BIN): peer/nats-* scenarios are skipped"
            ),
        }
    }
    if peers.iter().any(|p| p.needs_python()) {
        env.python = crate::peers::python_venv();
        if env.python.is_none() {
            eprintln!("warning: no interop/.venv (Python 0.1.9): peer/python-* scenarios are skipped");
        }
    }

    eprintln!(
        "# clamator-bench: {} scenario(s) x {} round(s), warm-up {} ms + {} ms each, tokio multi-thread runtime with {WORKERS} workers (server processes too)",
        selected.len(),
        args.rounds,
        plan.warmup.as_millis(),
        plan.measure.as_millis()
    );
    println!(
        "{:<28} {:>12} {:>10} {:>10} {:>8} {:>10}",
        "scenario", "calls/s", "p50 µs", "p99 µs", "errors", "CPU µs/call"
    );
    let started_at = utc_now();
    let loadavg_start = loadavg();
    let wall = Instant::now();
    // rounds[i] = the records of scenario i, one per round.
    let mut rounds: Vec<Vec<Value>> = vec![Vec::new(); selected.len()];
    let mut all_ok = true;
    for round in 1..=args.rounds {
        if args.rounds > 1 {
            println!("# round {round}/{}", args.rounds);
        }
        for (scenario, records) in selected.iter().zip(&mut rounds) {
            if let Some(why) = skip_reason(scenario, &env) {
                println!("{:<28} skipped ({why})", scenario.name);
                continue;
            }
            let url = env.redis_url.as_deref().unwrap_or_default();
            let outcome = match scenario.kind {
                Kind::Peer { peer, concurrency } => {
                    crate::peers::run(&env, peer, concurrency, plan, &scenario.name).await
                }
                _ => {
                    let redis = scenario.needs_redis().then_some(url);
                    let before = CpuSnapshot::take(redis).await;
                    let outcome = run_one(scenario, plan, url).await;
                    let cpu = CpuSnapshot::take(redis).await.since(&before);
                    outcome.map(|o| (o, cpu))
                }
            };
            let mut record = json!({});
            match outcome {
                Ok((o, cpu)) => {
                    let per_call =
                        cpu["cpu_us_per_call"]["total"].as_f64().map_or(String::new(), |x| format!("{x:.1}"));
                    println!(
                        "{:<28} {:>12.0} {:>10.1} {:>10.1} {:>8} {:>10}",
                        scenario.name, o.calls_per_sec, o.p50_us, o.p99_us, o.errors, per_call
                    );
                    if let Some(e) = &o.first_error {
                        eprintln!("  first error: {e}");
                    }
                    all_ok &= o.errors == 0 && o.calls > 0;
                    merge(&mut record, outcome_json(&o));
                    merge(&mut record, cpu);
                }
                Err(e) => {
                    println!("{:<28} FAILED: {e}", scenario.name);
                    all_ok = false;
                    merge(&mut record, json!({ "failed": e }));
                }
            }
            records.push(record);
        }
    }
    let results: Vec<Value> = selected
        .iter()
        .zip(rounds)
        .filter(|(_, records)| !records.is_empty())
        .map(|(scenario, records)| {
            let (mode, servers, service_concurrency, concurrency) = scenario.shape();
            let mut record = json!({
                "scenario": scenario.name,
                "group": scenario.group,
                "mode": mode,
                "servers": servers,
                "service_concurrency": service_concurrency,
                "concurrency": concurrency,
            });
            merge(&mut record, aggregate(records));
            record
        })
        .collect();
    eprintln!("# total {:.1} s", wall.elapsed().as_secs_f64());

    if let Some(path) = &args.json {
        let doc = json!({
            "tool": "clamator-bench",
            "language": "rust",
            "implementation": format!("clamator-rs {}", env!("CARGO_PKG_VERSION")),
            "runtime": format!("tokio multi-thread, {WORKERS} workers"),
            "started_at": started_at,
            "loadavg_start": loadavg_start,
            "loadavg_end": loadavg(),
            "duration_ms": plan.measure.as_millis() as u64,
            "rounds": args.rounds,
            "warmup_ms": plan.warmup.as_millis() as u64,
            "smoke": args.smoke,
            "redis": redis_note,
            "redis_version": redis_version,
            "nats_version": nats_version,
            "notify_senders": NOTIFY_SENDERS,
            "notify_backlog": { "memory": NOTIFY_BACKLOG_MEMORY, "redis": NOTIFY_BACKLOG_REDIS },
            "results": results,
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("writing {path}: {e}"))?;
        eprintln!("# wrote {path}");
    }
    Ok(all_ok)
}

fn skip_reason(scenario: &Scenario, env: &PeerEnv) -> Option<&'static str> {
    match scenario.kind {
        Kind::Peer { peer, .. } => env.missing(peer),
        _ if scenario.needs_redis() && env.redis_url.is_none() => Some("no Redis"),
        _ => None,
    }
}

async fn run_one(scenario: &Scenario, plan: Plan, url: &str) -> Result<Outcome, String> {
    let name = scenario.name.as_str();
    match scenario.kind {
        Kind::Memory { concurrency } => memory::calls(plan, concurrency).await,
        Kind::MemoryNotify { concurrency } => memory::notify(plan, concurrency).await,
        Kind::Redis { servers, service_concurrency, strict, concurrency } => {
            redis_rpc::calls(plan, url, name, servers, service_concurrency, strict, concurrency).await
        }
        Kind::RedisNotify { concurrency } => redis_rpc::notify(plan, url, name, concurrency).await,
        Kind::RedisIo { servers } => redis_rpc::io_calls(plan, url, name, servers).await,
        Kind::FloorSequential => floor::sequential(plan, url, name).await,
        Kind::FloorPipelined { concurrency } => {
            floor::pipelined(plan, url, name, concurrency, floor::ServerMode::Batched).await
        }
        Kind::FloorPerEntry { concurrency } => {
            floor::pipelined(plan, url, name, concurrency, floor::ServerMode::PerEntry).await
        }
        Kind::Peer { .. } => Err("peer scenarios run through peers::run".into()),
    }
}

fn outcome_json(o: &Outcome) -> Value {
    let finite = |x: f64| if x.is_finite() { json!((x * 100.0).round() / 100.0) } else { Value::Null };
    json!({
        "calls": o.calls,
        "calls_sent": o.sent,
        "seconds": (o.seconds * 1e4).round() / 1e4,
        "calls_per_sec": finite(o.calls_per_sec),
        "p50_us": finite(o.p50_us),
        "p99_us": finite(o.p99_us),
        "samples": o.samples,
        "errors": o.errors,
        "first_error": o.first_error,
    })
}

/// One record from the per-round records of a scenario: each figure is the median over the
/// rounds (the upper median for an even count), counts are summed, and the rounds are kept.
fn aggregate(records: Vec<Value>) -> Value {
    if records.len() == 1 {
        return records.into_iter().next().unwrap_or(Value::Null);
    }
    if let Some(failed) = records.iter().find_map(|r| r["failed"].as_str()) {
        return json!({ "failed": failed, "rounds": records });
    }
    let median = |get: &dyn Fn(&Value) -> Option<f64>| {
        let mut xs: Vec<f64> = records.iter().filter_map(get).collect();
        xs.sort_by(f64::total_cmp);
        xs.get(xs.len() / 2).map_or(Value::Null, |x| json!(x))
    };
    let field = |name: &'static str| move |r: &Value| r[name].as_f64();
    let per_call = |role: &'static str| move |r: &Value| r["cpu_us_per_call"][role].as_f64();
    let sum = |name: &str| records.iter().filter_map(|r| r[name].as_u64()).sum::<u64>();
    let mut out = json!({
        "calls_per_sec": median(&field("calls_per_sec")),
        "p50_us": median(&field("p50_us")),
        "p99_us": median(&field("p99_us")),
        "process_cpu_cores": median(&field("process_cpu_cores")),
        "redis_cpu_cores": median(&field("redis_cpu_cores")),
        "calls": sum("calls"),
        "calls_sent": sum("calls_sent"),
        "samples": sum("samples"),
        "errors": sum("errors"),
        "first_error": records.iter().find_map(|r| r["first_error"].as_str()),
        "aggregate": "median over rounds",
    });
    if records.iter().any(|r| r.get("cpu_us_per_call").is_some()) {
        out["cpu_us_per_call"] = json!({
            "client": median(&per_call("client")),
            "server": median(&per_call("server")),
            "broker": median(&per_call("broker")),
            "total": median(&per_call("total")),
        });
    }
    out["rounds"] = Value::Array(records);
    out
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}
