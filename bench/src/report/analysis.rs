//! The sections computed from several rows: CPU use, targets, context.

use std::fmt::Write as _;

use serde_json::Value;

use super::doc::Doc;
use super::format::{cpu_per_call, fmt_pct, fmt_rate, fmt_ratio, fmt_us, num, ratio, verdict};
use super::groups::python_peer;

/// CPU use per Redis scenario: shows what saturates (redis-server, the bench process, the
/// machine) when throughput stops growing.
pub(super) fn cpu_table(w: &mut String, rust: &Doc, python: &Doc, nproc: &str) {
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
pub(super) fn context(w: &mut String, rust: &Doc, python: &Doc, nproc: &str) {
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

pub(super) fn targets(w: &mut String, rust: &Doc, python: &Doc) {
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

    floor_targets(w, rust);

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

/// The targets against the overlapped raw redis-rs floor, each server in a process of its
/// own (`peer/clamator/cN` beside `peer/floor-overlapped/cN` of the same run).
fn floor_targets(w: &mut String, rust: &Doc) {
    let (ours, floor) = (rust.get("peer/clamator/c64"), rust.get("peer/floor-overlapped/c64"));
    let rate = |row| num(row, "calls_per_sec");
    let x = ratio(rate(ours), rate(floor));
    let _ = writeln!(
        w,
        "| Redis c64, own processes: calls/s ≥ overlapped raw floor | {} ({} vs {} calls/s) | {} |",
        fmt_ratio(x),
        fmt_rate(rate(ours)),
        fmt_rate(rate(floor)),
        verdict(x.map(|x| x >= 1.0))
    );
    for (what, role) in [("total CPU (client + server + redis-server)", "total"), ("client CPU", "client")] {
        let x = ratio(cpu_per_call(ours, role), cpu_per_call(floor, role));
        let _ = writeln!(
            w,
            "| Redis c64, own processes: {what} per call ≤ overlapped raw floor | {} ({} vs {} µs) | {} |",
            fmt_ratio(x),
            fmt_us(cpu_per_call(ours, role)),
            fmt_us(cpu_per_call(floor, role)),
            verdict(x.map(|x| x <= 1.0))
        );
    }
    let (ours, floor) = (rust.get("peer/clamator/c1"), rust.get("peer/floor-overlapped/c1"));
    let x = ratio(num(ours, "p50_us"), num(floor, "p50_us"));
    let rounds: Vec<String> = per_round(ours, "p50_us")
        .iter()
        .zip(per_round(floor, "p50_us"))
        .map(|(a, b)| fmt_ratio(ratio(*a, b)))
        .collect();
    let rounds = if rounds.len() > 1 { format!("; per round {}", rounds.join(", ")) } else { String::new() };
    let _ = writeln!(
        w,
        "| Redis c1, own processes: p50 ≤ 1.1× overlapped raw floor | {} ({} vs {} µs{rounds}) | {} |",
        fmt_ratio(x),
        fmt_us(num(ours, "p50_us")),
        fmt_us(num(floor, "p50_us")),
        verdict(x.map(|x| x <= 1.1))
    );
}

/// `field` of each round of a (median) row, in round order.
fn per_round(row: Option<&Value>, field: &str) -> Vec<Option<f64>> {
    row.and_then(|r| r["rounds"].as_array())
        .map_or_else(Vec::new, |rounds| rounds.iter().map(|r| r[field].as_f64()).collect())
}
