//! The report's sections of in-process scenarios, and which row each is compared with.

use serde_json::Value;

/// The Python row a Rust row is compared with (`†`: Python has no per-service concurrency,
/// so a Rust k16 row is compared with Python's k1 row of the same shape).
pub(super) fn python_peer(name: &str) -> (String, bool) {
    if name.starts_with("redis/") && name.contains("/k16/") {
        (name.replace("/k16/", "/k1/"), true)
    } else {
        (name.to_owned(), false)
    }
}

/// The floor row a Rust Redis row is compared with.
pub(super) fn floor_peer(row: &Value) -> Option<&'static str> {
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

pub(super) const GROUPS: [(&str, &str, &str); 8] = [
    ("memory", "Memory bus", "Typed `arith.add` through the generated proxy and the generated server, one process."),
    (
        "redis-k1",
        "Redis, one server, per-service concurrency 1",
        "One client and one server in one process, per-service handler concurrency 1 (what 0.1.9 always does). \
         For Python this means client and server share one asyncio event loop, which understates its server: \
         the fair comparisons (each server in its own process, same load generator; clients against the same \
         server) are in *Peers* below.",
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
