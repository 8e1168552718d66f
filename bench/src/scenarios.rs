//! The scenario list, in run order.

use crate::peers::Peer;

/// Senders of the memory notification scenario pause while more than this many notifications
/// are sent but not yet handled (about 10 ms of work), so the measure is the sustained handling
/// rate rather than how fast an unbounded queue fills.
pub const NOTIFY_BACKLOG_MEMORY: u64 = 16_384;
/// The same bound for Redis (about 0.1-0.2 s of work): small enough that in-process senders
/// soon stop competing with the server for the CPU, large enough that it never runs dry.
pub const NOTIFY_BACKLOG_REDIS: u64 = 1_024;
/// In-flight senders in the notification scenarios.
pub const NOTIFY_SENDERS: usize = 16;
const CALL_CONCURRENCY: [usize; 4] = [1, 16, 64, 256];
/// In-flight callers of the peer scenarios (server and load generator in separate processes).
pub const PEER_CONCURRENCY: [usize; 3] = [1, 64, 256];

#[derive(Debug, Clone, Copy)]
pub enum Kind {
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
    /// A server process and a load generator (this process, or a Python one).
    Peer {
        peer: Peer,
        concurrency: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub group: &'static str,
    pub kind: Kind,
}

impl Scenario {
    pub fn needs_redis(&self) -> bool {
        match self.kind {
            Kind::Memory { .. } | Kind::MemoryNotify { .. } => false,
            Kind::Peer { peer, .. } => peer.needs_redis(),
            _ => true,
        }
    }

    /// (mode, servers, per-service concurrency, in-flight callers) for the JSON record.
    pub fn shape(&self) -> (&'static str, usize, usize, usize) {
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
            Kind::Peer { concurrency, .. } => ("call", 1, 1, concurrency),
        }
    }
}

/// Every scenario, in run order: the floor scenarios run right before the Redis scenarios of
/// the same concurrency, and the peers of one concurrency one after the other, so that drift
/// in machine load affects them alike.
pub fn all_scenarios() -> Vec<Scenario> {
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
    for c in PEER_CONCURRENCY {
        for peer in Peer::ALL {
            push(format!("peer/{}/c{c}", peer.name()), "peers", Kind::Peer { peer, concurrency: c });
        }
    }
    out
}
