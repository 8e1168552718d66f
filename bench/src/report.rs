//! `--report`: turns the Rust and Python result files of one run into BENCHMARKS.md.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::Command;

use serde_json::Value;

struct Doc {
    meta: Value,
    /// Metadata of the files merged in by [`Doc::extend`].
    more_meta: Vec<Value>,
    rows: Vec<Value>,
    by_name: HashMap<String, Value>,
}

impl Doc {
    fn load(path: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
        let meta: Value = serde_json::from_str(&text).map_err(|e| format!("parsing {path}: {e}"))?;
        let rows = meta["results"].as_array().cloned().unwrap_or_default();
        let by_name = rows.iter().filter_map(|r| Some((r["scenario"].as_str()?.to_owned(), r.clone()))).collect();
        Ok(Self { meta, more_meta: Vec::new(), rows, by_name })
    }

    fn empty() -> Self {
        Self { meta: Value::Null, more_meta: Vec::new(), rows: Vec::new(), by_name: HashMap::new() }
    }

    /// Adds the rows of `other` (a later run of other scenarios); `self`'s metadata stays.
    fn extend(&mut self, other: Doc) {
        self.more_meta.push(other.meta);
        for row in other.rows {
            if let Some(name) = row["scenario"].as_str() {
                self.by_name.insert(name.to_owned(), row.clone());
            }
            self.rows.retain(|r| r["scenario"] != row["scenario"]);
            self.rows.push(row);
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.by_name.get(name).filter(|r| r["failed"].is_null() && r["calls_per_sec"].is_number())
    }
}

fn num(row: Option<&Value>, field: &str) -> Option<f64> {
    row.and_then(|r| r[field].as_f64())
}

fn fmt_rate(x: Option<f64>) -> String {
    let Some(x) = x else { return "–".into() };
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_us(x: Option<f64>) -> String {
    match x {
        Some(x) if x >= 1000.0 => format!("{x:.0}"),
        Some(x) if x >= 100.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn fmt_ratio(x: Option<f64>) -> String {
    match x {
        Some(x) if x >= 10.0 => format!("{x:.0}×"),
        Some(x) => format!("{x:.2}×"),
        None => "–".into(),
    }
}

/// The Python row a Rust row is compared with (`†`: Python has no per-service concurrency,
/// so a Rust k16 row is compared with Python's k1 row of the same shape).
fn python_peer(name: &str) -> (String, bool) {
    if name.starts_with("redis/") && name.contains("/k16/") {
        (name.replace("/k16/", "/k1/"), true)
    } else {
        (name.to_owned(), false)
    }
}

/// The floor row a Rust Redis row is compared with.
fn floor_peer(row: &Value) -> Option<&'static str> {
    let name = row["scenario"].as_str()?;
    if !name.starts_with("redis/s") {
        return None;
    }
    match row["concurrency"].as_u64()? {
        1 => Some("floor/sequential"),
        16 => Some("floor/pipelined/c16"),
        64 => Some("floor/pipelined/c64"),
        _ => None,
    }
}

const GROUPS: [(&str, &str, &str); 8] = [
    ("memory", "Memory bus", "Typed `arith.add` through the generated proxy and the generated server, one process."),
    (
        "redis-k1",
        "Redis, one server, per-service concurrency 1",
        "One client and one server in one process, per-service handler concurrency 1 (what 0.1.9 always does).",
    ),
    (
        "redis-k16",
        "Redis, one server, per-service concurrency 16",
        "As above with `concurrency(16)` on the Rust server. † Python 0.1.9 has no such option: compared with its k1 row.",
    ),
    (
        "redis-pool",
        "Redis, server pools (64 callers)",
        "Several servers on the same prefix compete in one consumer group, each with its own connection. \
         Rust: all server instances in the bench process. Python: one server in the client's process and \
         the others as separate `bench.py serve` processes. † as above.",
    ),
    (
        "redis-io",
        "Redis, I/O-bound handlers, server pools (64 callers)",
        "Rust only: `slowAdd` whose handler sleeps 2 ms (standing for a database or service call), \
         per-service concurrency 1, so one server handles at most 500 calls/s; 1, 2 and 4 servers on \
         one prefix. This is the work a pool exists for: the CPU-bound pool rows above are capped by \
         the two cores that the client, every server and redis-server share.",
    ),
    (
        "notify",
        "Notifications",
        "16 senders; calls/s is notifications *handled* by the server per second (counted server-side), \
         latency is the time `notify` takes to hand one to the transport. Senders pause while more than \
         16 384 (memory) or 1 024 (Redis) are sent but not yet handled, so that the figure is the \
         sustained handling rate, not the speed at which an unbounded queue fills.",
    ),
    (
        "floor",
        "Raw Redis floor (no framework)",
        "redis-rs by hand with the WIRE.md key shape: XADD request, one server task doing XREADGROUP \
         COUNT 16 BLOCK 1000 then one pipelined round trip of XADD reply(ies) + XACK, client XREAD BLOCK \
         on its reply stream (own connection). The envelope is echoed unparsed. Sequential: one caller, \
         XADD and XREAD issued together. Pipelined: N callers on one multiplexed connection, a reply \
         loop wakes them. The floor server is one consumer handling batches one after the other, so it is \
         the floor of what one round trip costs, not a ceiling on throughput: servers that overlap \
         batches (k16, pools) can exceed its calls/s.",
    ),
    (
        "diag",
        "Diagnostic: raw floor with one reply round trip per entry",
        "The pipelined floor above, except that its server sends each entry's reply + XACK in its own \
         awaited round trip, one entry after the other: the structural ceiling of any server that keeps \
         its single handler slot busy until the reply is acknowledged (no framework cost at all).",
    ),
];

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Writes the report to `out`.
pub fn write(out: &str, rust_paths: &[String], python_path: Option<&str>, changes: Option<&str>) -> Result<(), String> {
    let mut rust = Doc::empty();
    for (i, path) in rust_paths.iter().enumerate() {
        let doc = Doc::load(path)?;
        if i == 0 {
            rust = doc;
        } else {
            rust.extend(doc);
        }
    }
    let python = match python_path {
        Some(p) => Doc::load(p)?,
        None => Doc::empty(),
    };
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# clamator-rs benchmarks\n");
    let _ = writeln!(
        w,
        "Generated by `bench/run.sh` from `{}` and `{}`: do not edit by hand, rerun the script. \
         All figures below come from one run of that script on one machine, one scenario at a time, \
         every Redis scenario of both languages against the same private redis-server.\n",
        rust_paths.iter().map(|p| file_name(p)).collect::<Vec<_>>().join("`, `"),
        python_path.map_or("(no Python results)".into(), file_name)
    );

    let _ = writeln!(w, "## Machine and run\n");
    let nproc = command_line("nproc", &[]).unwrap_or_else(|| "?".into());
    let _ = writeln!(w, "- CPU: {} — `nproc` = {nproc}", cpu_model());
    let _ = writeln!(w, "- report written: {}", crate::utc_now());
    let metas = std::iter::once(("Rust run", &rust.meta))
        .chain(std::iter::once(("Python run", &python.meta)))
        .chain(rust.more_meta.iter().map(|m| ("Rust run (continued)", m)));
    for (label, meta) in metas {
        if let Some(t) = meta["started_at"].as_str() {
            let load = match (meta["loadavg_start"].as_str(), meta["loadavg_end"].as_str()) {
                (Some(a), Some(b)) => format!(" (load average 1/5/15 min: {a} at start, {b} at end)"),
                _ => String::new(),
            };
            let _ = writeln!(w, "- {label} started {t}{load}");
        }
    }
    let rustc = std::env::var("BENCH_RUSTC_VERSION").ok().or_else(|| command_line("rustc", &["--version"]));
    let _ = writeln!(w, "- rustc: {}", rustc.unwrap_or_else(|| "unknown".into()));
    let redis_bin = command_line("redis-server", &["--version"]);
    let _ = writeln!(
        w,
        "- redis-server: {} ({})",
        rust.meta["redis_version"].as_str().unwrap_or("?"),
        redis_bin.unwrap_or_else(|| "redis-server --version unavailable".into())
    );
    let _ = writeln!(
        w,
        "- Rust: {}, {}; Python: {}",
        rust.meta["implementation"].as_str().unwrap_or("?"),
        rust.meta["runtime"].as_str().unwrap_or("?"),
        python.meta["implementation"].as_str().unwrap_or("not run")
    );
    let rounds = |d: &Doc| d.meta["rounds"].as_u64().unwrap_or(1);
    let _ = writeln!(
        w,
        "- each scenario: {} ms warm-up, then a {} ms measured window; the whole list ran {} time(s) in turn \
         and every figure is the median over those rounds (Python: {} ms + {} ms, {} round(s)). The raw \
         Redis floor scenarios ran interleaved with the Rust ones, each right before the Redis scenarios \
         of the same concurrency; then the Python list ran.",
        rust.meta["warmup_ms"],
        rust.meta["duration_ms"],
        rounds(&rust),
        python.meta["warmup_ms"],
        python.meta["duration_ms"],
        rounds(&python),
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Concurrency `cN` is the number of in-flight callers: tasks (Rust: tokio tasks; Python: asyncio \
         tasks) each looping calls on one shared client. calls/s counts calls completed inside the \
         measured window; p50/p99 are nearest-rank percentiles of the per-call latency (µs) of those \
         calls, measured by the caller around the typed call. The floor column gives the raw-Redis \
         floor scenario of the same concurrency as `calls/s (p50 µs)`.\n"
    );

    for (group, title, note) in GROUPS {
        let rows: Vec<&Value> = rust.rows.iter().filter(|r| r["group"] == group).collect();
        let py_only: Vec<&Value> = python
            .rows
            .iter()
            .filter(|r| r["group"] == group && !rust.by_name.contains_key(r["scenario"].as_str().unwrap_or("")))
            .collect();
        if rows.is_empty() && py_only.is_empty() {
            continue;
        }
        let _ = writeln!(w, "## {title}\n\n{note}\n");
        let _ = writeln!(
            w,
            "| scenario | Rust calls/s | Rust p50 µs | Rust p99 µs | Python calls/s | Python p50 | Python p99 | floor | ratio Rust/Python | ratio Rust p50 / floor p50 |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in rows.iter().chain(py_only.iter()) {
            let name = row["scenario"].as_str().unwrap_or("?");
            let r = rust.get(name);
            let (peer, substituted) = python_peer(name);
            let p = python.get(&peer);
            let floor = floor_peer(row).and_then(|f| rust.get(f));
            let floor_cell = match floor {
                Some(f) => {
                    format!("{} ({})", fmt_rate(num(Some(f), "calls_per_sec")), fmt_us(num(Some(f), "p50_us")))
                }
                None => "–".into(),
            };
            let failed = |doc: &Doc, n: &str| doc.by_name.get(n).and_then(|r| r["failed"].as_str()).map(str::to_owned);
            let mut label = format!("`{name}`");
            if substituted && p.is_some() {
                label.push_str(" †");
            }
            if let Some(e) = failed(&rust, name) {
                label.push_str(&format!(" (Rust failed: {e})"));
            }
            let errors =
                r.and_then(|r| r["errors"].as_u64()).unwrap_or(0) + p.and_then(|p| p["errors"].as_u64()).unwrap_or(0);
            if errors > 0 {
                label.push_str(&format!(" ({errors} errors)"));
            }
            let _ = writeln!(
                w,
                "| {label} | {} | {} | {} | {} | {} | {} | {floor_cell} | {} | {} |",
                fmt_rate(num(r, "calls_per_sec")),
                fmt_us(num(r, "p50_us")),
                fmt_us(num(r, "p99_us")),
                fmt_rate(num(p, "calls_per_sec")),
                fmt_us(num(p, "p50_us")),
                fmt_us(num(p, "p99_us")),
                fmt_ratio(ratio(num(r, "calls_per_sec"), num(p, "calls_per_sec"))),
                fmt_ratio(ratio(num(r, "p50_us"), num(floor, "p50_us"))),
            );
        }
        let _ = writeln!(w);
    }

    cpu_table(w, &rust, &python, &nproc);
    targets(w, &rust, &python);
    context(w, &rust, &python, &nproc);
    if let Some(path) = changes {
        // Hand-kept: before/after figures of changes, each measured side by side in one run.
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
        let _ = writeln!(w, "{}", text.trim_end());
    }
    std::fs::write(out, md).map_err(|e| format!("writing {out}: {e}"))
}

/// CPU use per Redis scenario: shows what saturates (redis-server, the bench process, the
/// machine) when throughput stops growing.
fn cpu_table(w: &mut String, rust: &Doc, python: &Doc, nproc: &str) {
    let cores = |row: Option<&Value>, field: &str| match row.and_then(|r| r[field].as_f64()) {
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    };
    let rows: Vec<&Value> = rust
        .rows
        .iter()
        .filter(|r| r["scenario"].as_str().is_some_and(|n| n.starts_with("redis/") || n.starts_with("floor/")))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "## CPU use during the Redis scenarios
"
    );
    let _ = writeln!(
        w,
        "Cores busy on average over each scenario (setup, warm-up, window, teardown); the machine has {nproc}. \
         redis-server from `INFO cpu`, processes from /proc. Python pools: the client's process (which also \
         hosts one server) + the extra server processes.\n"
    );
    let _ = writeln!(
        w,
        "| scenario | Rust process | Rust: redis-server | Python process (+ pool processes) | Python: redis-server |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|");
    for row in rows {
        let name = row["scenario"].as_str().unwrap_or("?");
        let (peer, _) = python_peer(name);
        let p = python.by_name.get(&peer).filter(|_| !name.starts_with("floor/"));
        let py_process = match p.and_then(|p| p["pool_processes_cpu_cores"].as_f64()) {
            Some(pool) => format!("{} (+ {pool:.2})", cores(p, "process_cpu_cores")),
            None => cores(p, "process_cpu_cores"),
        };
        let _ = writeln!(
            w,
            "| `{name}` | {} | {} | {py_process} | {} |",
            cores(Some(row), "process_cpu_cores"),
            cores(Some(row), "redis_cpu_cores"),
            cores(p, "redis_cpu_cores")
        );
    }
    let _ = writeln!(w);
}

/// Figures that explain the targets, computed from the same run.
fn context(w: &mut String, rust: &Doc, python: &Doc, nproc: &str) {
    let rate = |d: &Doc, n: &str| num(d.get(n), "calls_per_sec");
    let mut lines = Vec::new();
    let (k1, k16) = (rate(rust, "redis/s1/k1/c64"), rate(rust, "redis/s1/k16/c64"));
    let (per_entry, floor64) = (rate(rust, "diag/floor-per-entry/c64"), rate(rust, "floor/pipelined/c64"));
    if let (Some(k1), Some(per_entry), Some(floor64)) = (k1, per_entry, floor64) {
        let reading = if k1 > 1.2 * per_entry {
            "so the Rust server does not keep its single handler slot busy while a reply is written: the \
             reply + XACK of one entry overlap the next handler, and throughput is set by the batched floor"
        } else {
            "so throughput is what a server gets when it keeps its single handler slot busy until the reply \
             is acknowledged: about one Redis round trip per call, whatever the framework costs"
        };
        lines.push(format!(
            "Per-service concurrency 1, 64 callers: the Rust server does {} calls/s, {} of a raw redis-rs \
             server that awaits one reply+ack round trip per entry (`diag/floor-per-entry/c64`, {} calls/s) \
             and {} of the batched raw floor ({} calls/s), {reading}.",
            fmt_rate(Some(k1)),
            fmt_pct(k1 / per_entry),
            fmt_rate(Some(per_entry)),
            fmt_pct(k1 / floor64),
            fmt_rate(Some(floor64)),
        ));
    }
    if let (Some(k16), Some(floor64)) = (k16, floor64) {
        let cpu =
            |n: &str| rust.get(n).and_then(|r| Some(r["process_cpu_cores"].as_f64()? + r["redis_cpu_cores"].as_f64()?));
        let cpu_note = match (cpu("redis/s1/k16/c64"), cpu("redis/s4/k16/c64")) {
            (Some(a), Some(b)) => format!(
                " The bench process and redis-server together keep {a:.2} (s1) and {b:.2} (s4) of the {nproc} \
                 cores busy, and every server of a pool runs in the bench process, on those same cores."
            ),
            _ => String::new(),
        };
        let saturated = if k16 >= 0.9 * floor64 {
            " One server already reaches the raw floor here, so extra servers on the same machine have \
             nothing left to add; pool scaling needs servers with cores (or machines) of their own."
        } else {
            ""
        };
        lines.push(format!(
            "Per-service concurrency 16, one server, 64 callers: {} calls/s, {} of the batched raw floor \
             ({} calls/s).{cpu_note}{saturated}",
            fmt_rate(Some(k16)),
            fmt_pct(k16 / floor64),
            fmt_rate(Some(floor64))
        ));
    }
    if let (Some(py), Some(py_rt)) = (rate(python, "redis/s1/k1/c64"), num(python.get("redis/s1/k1/c1"), "p50_us")) {
        lines.push(format!(
            "Python 0.1.9, one server, 64 callers: {} calls/s; its sequential p50 is {} µs.",
            fmt_rate(Some(py)),
            fmt_us(Some(py_rt))
        ));
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(w, "## Context for the targets\n");
    for line in lines {
        let _ = writeln!(w, "- {line}");
    }
    let _ = writeln!(w);
}

fn fmt_pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

fn targets(w: &mut String, rust: &Doc, python: &Doc) {
    let rate = |d: &Doc, n: &str| num(d.get(n), "calls_per_sec");
    let p50 = |d: &Doc, n: &str| num(d.get(n), "p50_us");
    let _ = writeln!(w, "## Targets\n");
    let _ = writeln!(w, "| target | measured | verdict |\n|---|---|---|");

    for c in [1, 16, 64, 256] {
        let name = format!("memory/c{c}");
        let x = ratio(rate(rust, &name), rate(python, &name));
        let _ = writeln!(
            w,
            "| memory ≥ 20× Python calls/s, c{c} | {} ({} vs {} calls/s) | {} |",
            fmt_ratio(x),
            fmt_rate(rate(rust, &name)),
            fmt_rate(rate(python, &name)),
            verdict(x.map(|x| x >= 20.0))
        );
    }
    let seq = p50(rust, "memory/c1");
    let _ =
        writeln!(w, "| memory sequential (c1) p50 < 10 µs | {} µs | {} |", fmt_us(seq), verdict(seq.map(|x| x < 10.0)));

    let py64 = rate(python, "redis/s1/k1/c64");
    for k in [1, 16] {
        let name = format!("redis/s1/k{k}/c64");
        let x = ratio(rate(rust, &name), py64);
        let _ = writeln!(
            w,
            "| Redis ≥ 10× Python throughput, c64, one server (Rust k{k} vs Python) | {} ({} vs {} calls/s) | {} |",
            fmt_ratio(x),
            fmt_rate(rate(rust, &name)),
            fmt_rate(py64),
            verdict(x.map(|x| x >= 10.0))
        );
    }

    let floor = p50(rust, "floor/sequential");
    for k in [1, 16] {
        let name = format!("redis/s1/k{k}/c1");
        let x = ratio(p50(rust, &name), floor);
        let _ = writeln!(
            w,
            "| sequential Redis p50 ≤ 1.3× raw floor (k{k}) | {} ({} µs vs {} µs) | {} |",
            fmt_ratio(x),
            fmt_us(p50(rust, &name)),
            fmt_us(floor),
            verdict(x.map(|x| x <= 1.3))
        );
    }

    // (what, results, scenario name with `{s}` for 1, 2 and 4 servers)
    let pools: [(&str, &Doc, &str); 4] = [
        ("Rust k1, s1 → s2 → s4, c64", rust, "redis/s{s}/k1/c64"),
        ("Rust k16, s1 → s2 → s4, c64", rust, "redis/s{s}/k16/c64"),
        ("Rust, I/O-bound 2 ms handler, k1, s1 → s2 → s4, c64", rust, "redis-io/s{s}/k1/c64"),
        ("Python k1, s1 → s2 → s4, c64 — reference only, not a target", python, "redis/s{s}/k1/c64"),
    ];
    for (what, doc, name) in pools {
        let series: Vec<Option<f64>> =
            [1, 2, 4].iter().map(|s| rate(doc, &name.replace("{s}", &s.to_string()))).collect();
        let shown = series.iter().map(|x| fmt_rate(*x)).collect::<Vec<_>>().join(" → ");
        let grows = if series.iter().all(Option::is_some) {
            let v: Vec<f64> = series.iter().flatten().copied().collect();
            Some(v.windows(2).all(|p| p[1] > p[0]))
        } else {
            None
        };
        let _ = writeln!(
            w,
            "| throughput grows with servers in the pool ({what}) | {shown} calls/s | {} |",
            verdict(grows)
        );
    }
    let _ = writeln!(w);
}
