//! The peer tables: clamator-rs beside the raw redis-rs floors, NATS, JetStream, gRPC and
//! Python 0.1.9, each server in a process of its own, with CPU µs per call per process.

use std::fmt::Write as _;

use serde_json::Value;

use super::doc::Doc;
use super::format::{cpu_per_call, fmt_rate, fmt_ratio, fmt_us, num, ratio};

/// (name, what, durable?)
const PEERS: [(&str, &str, &str); 8] = [
    ("clamator", "clamator-rs server (per-service concurrency 1), clamator-rs client", "yes (Redis Streams)"),
    (
        "floor-alternating",
        "raw redis-rs floor: read a batch, then its replies + XACK in one awaited round trip, on one connection",
        "yes (Redis Streams)",
    ),
    (
        "floor-overlapped",
        "raw redis-rs floor: replies + XACK on a second connection without waiting (reads overlap answers)",
        "yes (Redis Streams)",
    ),
    (
        "nats-jetstream",
        "NATS JetStream work queue (file storage), durable pull consumer, reply over core NATS; the client waits for the PubAck",
        "yes (JetStream)",
    ),
    ("grpc", "gRPC unary (tonic, HTTP/2), JSON-RPC envelope in a bytes field", "no"),
    ("nats-core", "core NATS request/reply, queue subscription", "no"),
    (
        "python-server",
        "Python 0.1.9 server process, clamator-rs client: compare with `clamator` for the **servers**",
        "yes (Redis Streams)",
    ),
    (
        "python-client",
        "Python 0.1.9 client process, clamator-rs server: compare with `clamator` for the **clients**",
        "yes (Redis Streams)",
    ),
];

pub(super) fn write(w: &mut String, rust: &Doc, meta: &Value) {
    let concurrencies: Vec<u64> = {
        let mut cs: Vec<u64> =
            rust.rows.iter().filter(|r| r["group"] == "peers").filter_map(|r| r["concurrency"].as_u64()).collect();
        cs.sort_unstable();
        cs.dedup();
        cs
    };
    if concurrencies.is_empty() {
        return;
    }
    let _ = writeln!(w, "## Peers: each server in its own process\n");
    let _ = writeln!(
        w,
        "`arith.add` calls `peer/<peer>/cN`: the server runs in a process of its own (`clamator-bench serve <peer>`, \
         or `bench.py serve` for Python), the load generator in another (the bench process, or `bench.py load` \
         for the Python client), each with a tokio runtime of 2 workers; every peer against the same broker \
         processes ({}, and a nats-server{} that the bench starts on a free loopback port), the peers of one \
         concurrency right after one another. CPU µs per call = CPU time (utime + stime from /proc/<pid>/stat, \
         10 ms ticks) each process used during the measured window, divided by the calls completed in it \
         (each figure is the median over the rounds, so the parts need not add up to the total exactly). \
         The NATS and gRPC peers do the same JSON-RPC work per call as clamator (a UUID id, serde_json encode \
         and decode of the envelopes on both sides); the raw floors echo the envelope unparsed.\n",
        meta["redis_version"].as_str().map_or("redis-server".to_owned(), |v| format!("redis-server {v}")),
        meta["nats_version"].as_str().map_or(String::new(), |v| format!(" ({v})")),
    );
    let _ = writeln!(w, "| peer | what | durable |\n|---|---|---|");
    for (name, what, durable) in PEERS {
        let _ = writeln!(w, "| `{name}` | {what} | {durable} |");
    }
    let _ = writeln!(
        w,
        "\nDurable: a request that was accepted survives its server process dying (it waits in the broker \
         for the next server). The bench's redis-server runs without RDB or AOF and JetStream flushes to disk \
         on its own schedule, so neither figure includes fsync per call.\n"
    );
    for c in concurrencies {
        let _ = writeln!(w, "### {c} in flight\n");
        let _ = writeln!(
            w,
            "| peer | calls/s | p50 µs | p99 µs | CPU µs/call: client | server | broker | total | calls/s vs clamator | CPU/call vs clamator |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let base = rust.get(&format!("peer/clamator/c{c}"));
        for (name, _, _) in PEERS {
            let scenario = format!("peer/{name}/c{c}");
            let Some(row) = rust.by_name.get(&scenario) else { continue };
            if let Some(e) = row["failed"].as_str() {
                let _ = writeln!(w, "| `{name}` | failed: {e} | | | | | | | | |");
                continue;
            }
            let r = Some(row);
            // gRPC has no broker (results of older runs read redis-server's idle CPU there).
            let cpu = |role: &str| cpu_per_call(Some(row), role).filter(|_| !(name == "grpc" && role == "broker"));
            let cell = |x: Option<f64>| x.map_or("–".to_owned(), |x| format!("{x:.1}"));
            let base_cpu = cpu_per_call(base, "total");
            let errors = row["errors"].as_u64().unwrap_or(0);
            let label = if errors > 0 { format!("`{name}` ({errors} errors)") } else { format!("`{name}`") };
            let _ = writeln!(
                w,
                "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                fmt_rate(num(r, "calls_per_sec")),
                fmt_us(num(r, "p50_us")),
                fmt_us(num(r, "p99_us")),
                cell(cpu("client")),
                cell(cpu("server")),
                cell(cpu("broker")),
                cell(cpu("total")),
                fmt_ratio(ratio(num(r, "calls_per_sec"), num(base, "calls_per_sec"))),
                fmt_ratio(ratio(cpu("total"), base_cpu)),
            );
        }
        let _ = writeln!(w);
    }
    python_fair(w, rust);
}

/// Python 0.1.9 against clamator-rs, servers and clients each compared on their own.
fn python_fair(w: &mut String, rust: &Doc) {
    let mut lines = Vec::new();
    for c in [1u64, 64, 256] {
        let rate = |peer: &str| num(rust.get(&format!("peer/{peer}/c{c}")), "calls_per_sec");
        let cpu = |peer: &str, role: &str| cpu_per_call(rust.get(&format!("peer/{peer}/c{c}")), role);
        let (rs, py_server, py_client) = (rate("clamator"), rate("python-server"), rate("python-client"));
        if rs.is_none() || (py_server.is_none() && py_client.is_none()) {
            continue;
        }
        lines.push(format!(
            "| c{c} | {} | {} | {} ({} vs {} µs) | {} | {} ({} vs {} µs) |",
            fmt_rate(rs),
            fmt_rate(py_server),
            fmt_ratio(ratio(rs, py_server)),
            fmt_cpu(cpu("clamator", "server")),
            fmt_cpu(cpu("python-server", "server")),
            fmt_rate(py_client),
            fmt_ratio(ratio(rs, py_client)),
            fmt_cpu(cpu("clamator", "client")),
            fmt_cpu(cpu("python-client", "client")),
        ));
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(w, "### Python 0.1.9, compared fairly\n");
    let _ = writeln!(
        w,
        "Servers: the same clamator-rs load generator against a clamator-rs server process and against a \
         Python 0.1.9 server process (`python-server`). Clients: a clamator-rs client and a Python 0.1.9 \
         client process (`bench.py load`, `python-client`) against the same clamator-rs server process. \
         Ratios are calls/s of clamator-rs over Python; CPU is µs per call of the process compared. (The \
         `redis/...` tables above run Python's client and server in one asyncio process, which understates \
         the Python server.)\n"
    );
    let _ = writeln!(
        w,
        "| in flight | clamator-rs (Rust client, Rust server) | Python server, Rust client | servers: Rust / Python (server CPU µs/call) | Python client, Rust server | clients: Rust / Python (client CPU µs/call) |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
    for line in lines {
        let _ = writeln!(w, "{line}");
    }
    let _ = writeln!(w);
}

fn fmt_cpu(x: Option<f64>) -> String {
    x.map_or("–".to_owned(), |x| format!("{x:.1}"))
}
