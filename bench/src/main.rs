//! `clamator-bench`: end-to-end load generator for clamator-rs.
//!
//! ```text
//! clamator-bench [--smoke] [--duration-ms N] [--warmup-ms N] [--rounds N] [--diag] [--scenario SUBSTRING]...
//!                [--json PATH] [--redis-url URL] [--list]
//! clamator-bench --report OUT.md --rust-json PATH... [--python-json PATH] [--changes FILE.md]
//! ```
//!
//! Every scenario reports calls/s, p50 and p99 latency (µs). Concurrency is the number of
//! in-flight callers: tokio tasks, each looping calls on one shared client. Without
//! `--redis-url`, a private `redis-server` is started on a free port (never 6379) when a
//! selected scenario needs Redis.

mod floor;
mod measure;
mod memory;
mod rawredis;
mod redis_rpc;
mod report;
mod spread;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::measure::{Outcome, Plan};

/// Senders of the memory notification scenario pause while more than this many notifications
/// are sent but not yet handled (about 10 ms of work), so the measure is the sustained handling
/// rate rather than how fast an unbounded queue fills.
pub const NOTIFY_BACKLOG_MEMORY: u64 = 16_384;
/// The same bound for Redis (about 0.1-0.2 s of work): small enough that in-process senders
/// soon stop competing with the server for the CPU, large enough that it never runs dry.
pub const NOTIFY_BACKLOG_REDIS: u64 = 1_024;
/// In-flight senders in the notification scenarios.
const NOTIFY_SENDERS: usize = 16;
const CALL_CONCURRENCY: [usize; 4] = [1, 16, 64, 256];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Memory {
        concurrency: usize,
    },
    MemoryNotify {
        concurrency: usize,
    },
    Redis {
        servers: usize,
        service_concurrency: usize,
        /// `prefetch_budget(ZERO)`: never more entries than free handler slots.
        strict: bool,
        concurrency: usize,
    },
    RedisNotify {
        concurrency: usize,
    },
    /// `slowAdd` with a 2 ms handler (I/O-bound work), 64 callers, per-service concurrency 1.
    RedisIo {
        servers: usize,
    },
    FloorSequential,
    FloorPipelined {
        concurrency: usize,
    },
    /// Diagnostic, run only with `--diag`: the pipelined floor with one awaited reply+ack
    /// round trip per entry.
    FloorPerEntry {
        concurrency: usize,
    },
}

#[derive(Debug, Clone)]
struct Scenario {
    name: String,
    group: &'static str,
    kind: Kind,
}

impl Scenario {
    fn needs_redis(&self) -> bool {
        !matches!(self.kind, Kind::Memory { .. } | Kind::MemoryNotify { .. })
    }

    /// (mode, servers, per-service concurrency, in-flight callers) for the JSON record.
    fn shape(&self) -> (&'static str, usize, usize, usize) {
        match self.kind {
            Kind::Memory { concurrency } => ("call", 1, 0, concurrency),
            Kind::MemoryNotify { concurrency } => ("notify", 1, 0, concurrency),
            Kind::Redis { servers, service_concurrency, concurrency, .. } => {
                ("call", servers, service_concurrency, concurrency)
            }
            Kind::RedisNotify { concurrency } => ("notify", 1, 1, concurrency),
            Kind::RedisIo { servers } => ("call", servers, 1, 64),
            Kind::FloorSequential => ("call", 1, 1, 1),
            Kind::FloorPipelined { concurrency } | Kind::FloorPerEntry { concurrency } => ("call", 1, 1, concurrency),
        }
    }
}

/// Every scenario, in run order: the floor scenarios run right before the Redis scenarios of
/// the same concurrency, so that drift in machine load affects both alike.
fn all_scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut push = |name: String, group, kind| out.push(Scenario { name, group, kind });
    for c in CALL_CONCURRENCY {
        push(format!("memory/c{c}"), "memory", Kind::Memory { concurrency: c });
    }
    push("memory/notify".into(), "notify", Kind::MemoryNotify { concurrency: NOTIFY_SENDERS });
    for c in CALL_CONCURRENCY {
        match c {
            1 => push("floor/sequential".into(), "floor", Kind::FloorSequential),
            16 | 64 => push(format!("floor/pipelined/c{c}"), "floor", Kind::FloorPipelined { concurrency: c }),
            _ => {}
        }
        if c == 64 {
            push("diag/floor-per-entry/c64".into(), "diag", Kind::FloorPerEntry { concurrency: c });
        }
        for k in [1, 16] {
            let kind = Kind::Redis { servers: 1, service_concurrency: k, strict: false, concurrency: c };
            push(format!("redis/s1/k{k}/c{c}"), if k == 1 { "redis-k1" } else { "redis-k16" }, kind);
        }
        if c >= 64 {
            let kind = Kind::Redis { servers: 1, service_concurrency: 1, strict: true, concurrency: c };
            push(format!("redis/s1/k1-strict/c{c}"), "redis-k1", kind);
        }
        if c == 64 {
            for k in [1, 16] {
                for s in [2, 4] {
                    let kind = Kind::Redis { servers: s, service_concurrency: k, strict: false, concurrency: 64 };
                    push(format!("redis/s{s}/k{k}/c64"), "redis-pool", kind);
                }
            }
        }
    }
    for s in [1, 2, 4] {
        push(format!("redis-io/s{s}/k1/c64"), "redis-io", Kind::RedisIo { servers: s });
    }
    push("redis/notify".into(), "notify", Kind::RedisNotify { concurrency: NOTIFY_SENDERS });
    out
}

#[derive(Debug)]
struct Args {
    smoke: bool,
    duration_ms: Option<u64>,
    warmup_ms: Option<u64>,
    scenarios: Vec<String>,
    json: Option<String>,
    redis_url: Option<String>,
    list: bool,
    report: Option<String>,
    rust_json: Vec<String>,
    python_json: Option<String>,
    changes: Option<String>,
    rounds: usize,
    diag: bool,
    spread: Option<String>,
}

const USAGE: &str = "\
usage: clamator-bench [--smoke] [--duration-ms N] [--warmup-ms N] [--rounds N] [--diag] [--scenario SUBSTRING]...
                      [--json PATH] [--redis-url URL] [--list]
       clamator-bench --report OUT.md --rust-json PATH... [--python-json PATH] [--changes FILE.md]

  --smoke            each scenario ~0.2 s (for CI)
  --duration-ms N    measured window per scenario (default 3000; 200 with --smoke)
  --warmup-ms N      warm-up before each window (default duration/10, 20..500 ms)
  --rounds N         run the whole selection N times in turn; report per-figure medians (default 1)
  --scenario S       only scenarios whose name contains S (repeatable)
  --diag             also run the diagnostic scenarios (diag/...; also selected by --scenario diag...)
  --json PATH        write the results as JSON
  --redis-url URL    use this Redis instead of starting a private redis-server
  --list             print the scenario names and exit
  --report OUT.md    write the Markdown report from result files, run nothing
  --rust-json PATH   (with --report, repeatable) Rust results; later files add rows
  --python-json PATH (with --report) results of bench/py/bench.py
  --spread OUT.md    run only the Redis Cluster spread comparison (one node vs 3 masters) and write its section";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        smoke: false,
        duration_ms: None,
        warmup_ms: None,
        scenarios: Vec::new(),
        json: None,
        redis_url: None,
        list: false,
        report: None,
        rust_json: Vec::new(),
        python_json: None,
        changes: None,
        rounds: 1,
        diag: false,
        spread: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--smoke" => args.smoke = true,
            "--diag" => args.diag = true,
            "--duration-ms" => {
                args.duration_ms = Some(value("--duration-ms")?.parse().map_err(|e| format!("--duration-ms: {e}"))?)
            }
            "--warmup-ms" => {
                args.warmup_ms = Some(value("--warmup-ms")?.parse().map_err(|e| format!("--warmup-ms: {e}"))?)
            }
            "--scenario" => args.scenarios.push(value("--scenario")?),
            "--rounds" => {
                args.rounds = value("--rounds")?.parse().map_err(|e| format!("--rounds: {e}"))?;
                if args.rounds == 0 {
                    return Err("--rounds must be at least 1".into());
                }
            }
            "--json" => args.json = Some(value("--json")?),
            "--redis-url" => args.redis_url = Some(value("--redis-url")?),
            "--list" => args.list = true,
            "--report" => args.report = Some(value("--report")?),
            "--rust-json" => args.rust_json.push(value("--rust-json")?),
            "--python-json" => args.python_json = Some(value("--python-json")?),
            "--changes" => args.changes = Some(value("--changes")?),
            "--spread" => args.spread = Some(value("--spread")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    if let Some(out) = &args.report {
        if args.rust_json.is_empty() {
            eprintln!("error: --report needs --rust-json");
            return ExitCode::from(2);
        }
        return match report::write(out, &args.rust_json, args.python_json.as_deref(), args.changes.as_deref()) {
            Ok(()) => {
                eprintln!("wrote {out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }

    let selected: Vec<Scenario> = all_scenarios()
        .into_iter()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|f| s.name.contains(f.as_str())))
        .filter(|s| !s.name.starts_with("diag/") || args.diag || args.scenarios.iter().any(|f| f.starts_with("diag")))
        .collect();
    if args.list {
        for s in &selected {
            println!("{}", s.name);
        }
        return ExitCode::SUCCESS;
    }
    if selected.is_empty() {
        eprintln!("error: no scenario matches {:?}", args.scenarios);
        return ExitCode::from(2);
    }
    let duration = Duration::from_millis(args.duration_ms.unwrap_or(if args.smoke { 200 } else { 3000 }));
    let warmup = args.warmup_ms.map_or_else(
        || (duration / 10).clamp(Duration::from_millis(20), Duration::from_millis(500)),
        Duration::from_millis,
    );
    let plan = Plan { warmup, measure: duration };

    if let Some(out) = &args.spread {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
        return match runtime.block_on(spread::run(plan, args.rounds)) {
            Ok(section) => match std::fs::write(out, section) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: writing {out}: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let workers = runtime.metrics().num_workers();
    match runtime.block_on(run(&args, plan, &selected, workers)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the scenarios one at a time; `Ok(false)` when some scenario failed or had errors.
async fn run(args: &Args, plan: Plan, selected: &[Scenario], workers: usize) -> Result<bool, String> {
    // Redis only when needed: a private server unless a URL was given.
    let mut _private = None;
    let mut redis_url = args.redis_url.clone();
    let mut redis_note = redis_url.as_ref().map(|u| format!("given: {u}"));
    if redis_url.is_none() && selected.iter().any(Scenario::needs_redis) {
        if redis_server_available() {
            let server = tokio::task::spawn_blocking(clamator_test_support::redis_server::RedisServer::start_private)
                .await
                .map_err(|e| format!("starting redis-server: {e}"))?;
            redis_url = Some(server.url().to_owned());
            redis_note = Some(format!("private redis-server on {}", server.url()));
            _private = Some(server);
        } else {
            eprintln!("warning: redis-server not found and no --redis-url: Redis and floor scenarios are skipped");
        }
    }
    let redis_version = match &redis_url {
        Some(url) => redis_version(url).await.ok(),
        None => None,
    };

    eprintln!(
        "# clamator-bench: {} scenario(s) x {} round(s), warm-up {} ms + {} ms each, tokio multi-thread runtime with {workers} workers",
        selected.len(),
        args.rounds,
        plan.warmup.as_millis(),
        plan.measure.as_millis()
    );
    println!("{:<24} {:>12} {:>10} {:>10} {:>8}", "scenario", "calls/s", "p50 µs", "p99 µs", "errors");
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
            let outcome = match (&redis_url, scenario.needs_redis()) {
                (None, true) => {
                    println!("{:<24} skipped (no Redis)", scenario.name);
                    continue;
                }
                (url, _) => {
                    let url = url.as_deref().unwrap_or_default();
                    let before = CpuSnapshot::take(scenario.needs_redis().then_some(url)).await;
                    let outcome = run_one(scenario, plan, url).await;
                    let cpu = CpuSnapshot::take(scenario.needs_redis().then_some(url)).await.since(&before);
                    outcome.map(|o| (o, cpu))
                }
            };
            let mut record = json!({});
            match outcome {
                Ok((o, cpu)) => {
                    println!(
                        "{:<24} {:>12.0} {:>10.1} {:>10.1} {:>8}",
                        scenario.name, o.calls_per_sec, o.p50_us, o.p99_us, o.errors
                    );
                    if let Some(e) = &o.first_error {
                        eprintln!("  first error: {e}");
                    }
                    all_ok &= o.errors == 0 && o.calls > 0;
                    merge(&mut record, outcome_json(&o));
                    merge(&mut record, cpu);
                }
                Err(e) => {
                    println!("{:<24} FAILED: {e}", scenario.name);
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
            "runtime": format!("tokio multi-thread, {workers} workers"),
            "started_at": started_at,
            "loadavg_start": loadavg_start,
            "loadavg_end": loadavg(),
            "duration_ms": plan.measure.as_millis() as u64,
            "rounds": args.rounds,
            "warmup_ms": plan.warmup.as_millis() as u64,
            "smoke": args.smoke,
            "redis": redis_note,
            "redis_version": redis_version,
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
    }
}

/// CPU time used so far by this process and (when a URL is given) by redis-server.
struct CpuSnapshot {
    at: Instant,
    process_secs: Option<f64>,
    redis_secs: Option<f64>,
}

impl CpuSnapshot {
    async fn take(redis_url: Option<&str>) -> Self {
        let redis_secs = match redis_url {
            Some(url) => redis_cpu_secs(url).await.ok(),
            None => None,
        };
        Self { at: Instant::now(), process_secs: process_cpu_secs(), redis_secs }
    }

    /// CPU use between `earlier` and `self`, in cores (1.0 = one core busy all the time),
    /// over the whole scenario (setup, warm-up, window, teardown).
    fn since(&self, earlier: &Self) -> Value {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        let cores = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if wall > 0.0 => json!(((a - b) / wall * 100.0).round() / 100.0),
            _ => Value::Null,
        };
        json!({
            "process_cpu_cores": cores(self.process_secs, earlier.process_secs),
            "redis_cpu_cores": cores(self.redis_secs, earlier.redis_secs),
        })
    }
}

/// utime + stime of this process from /proc/self/stat (clock ticks of 1/100 s on Linux).
fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces: count fields after its closing paren.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// `used_cpu_user + used_cpu_sys` of redis-server, in seconds.
async fn redis_cpu_secs(url: &str) -> Result<f64, String> {
    let mut conn = rawredis::connect(url).await?;
    let info: String = redis::cmd("INFO").arg("cpu").query_async(&mut conn).await.map_err(|e| format!("INFO: {e}"))?;
    let field =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<f64>().ok());
    Ok(field("used_cpu_user").unwrap_or(0.0) + field("used_cpu_sys").unwrap_or(0.0))
}

fn outcome_json(o: &Outcome) -> Value {
    let finite = |x: f64| if x.is_finite() { json!((x * 100.0).round() / 100.0) } else { Value::Null };
    json!({
        "calls": o.calls,
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
    let median = |field: &str| {
        let mut xs: Vec<f64> = records.iter().filter_map(|r| r[field].as_f64()).collect();
        xs.sort_by(f64::total_cmp);
        xs.get(xs.len() / 2).map_or(Value::Null, |x| json!(x))
    };
    let sum = |field: &str| records.iter().filter_map(|r| r[field].as_u64()).sum::<u64>();
    json!({
        "calls_per_sec": median("calls_per_sec"),
        "p50_us": median("p50_us"),
        "p99_us": median("p99_us"),
        "process_cpu_cores": median("process_cpu_cores"),
        "redis_cpu_cores": median("redis_cpu_cores"),
        "calls": sum("calls"),
        "samples": sum("samples"),
        "errors": sum("errors"),
        "first_error": records.iter().find_map(|r| r["first_error"].as_str()),
        "aggregate": "median over rounds",
        "rounds": records,
    })
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// The first three fields of /proc/loadavg (1, 5, 15 minutes), to show how busy the machine was.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

fn redis_server_available() -> bool {
    let bin = std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned());
    std::process::Command::new(bin)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn redis_version(url: &str) -> Result<String, String> {
    let mut conn = rawredis::connect(url).await?;
    let info: String =
        redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(|e| format!("INFO: {e}"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| "no redis_version in INFO".to_owned())
}

/// `YYYY-MM-DDTHH:MM:SSZ` without a date crate.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant), valid for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
