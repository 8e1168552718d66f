//! `spread`: the scaling argument for Redis Cluster in figures. The same N services (one
//! server and one client each, every client's reply stream on its service's shard) run on
//! one redis-server and on a 3-master cluster, side by side in one run, alternating, with
//! the CPU each redis-server used.
//!
//! The CPU figures come from `/proc/<pid>/stat` (user + system ticks at 100 Hz) over the
//! whole run of a scenario (warm-up included), as a share of one core.

use std::time::{Duration, Instant};

use clamator::redis::{command_stream, reply_stream, ConnectionOptions, RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, RpcClient};
use clamator_test_support::counting::Executions;
use clamator_test_support::redis_cluster::RedisCluster;
use clamator_test_support::redis_server::RedisServer;
use serde_json::json;

use crate::measure::{run_calls, Caller, Outcome, Plan};
use crate::rawredis::fresh_prefix;

/// Services per run, and callers per service.
const SERVICES: usize = 6;
const CALLERS_PER_SERVICE: usize = 8;

/// A caller of one service's `hit`.
struct HitCaller {
    client: RedisRpcClient,
    service: String,
}

impl Caller for HitCaller {
    async fn call(&mut self, _seq: u64) -> Result<(), String> {
        self.client
            .call_value(&self.service, "hit", json!({"key": "k"}), CallOptions::default())
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// CPU time (user + system) of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name; USER_HZ = 100.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Where a topology's keys go.
enum Topology<'a> {
    Node(&'a RedisServer),
    Cluster(&'a RedisCluster),
}

impl Topology<'_> {
    fn options(&self) -> ConnectionOptions {
        match self {
            Topology::Node(node) => ConnectionOptions::new().url(node.url()),
            Topology::Cluster(cluster) => ConnectionOptions::new().cluster(cluster.urls()),
        }
    }

    /// The redis-server processes, named by port.
    fn processes(&self) -> Vec<(u16, u32)> {
        match self {
            Topology::Node(node) => vec![(node.port(), node.pid().unwrap_or(0))],
            Topology::Cluster(cluster) => {
                cluster.masters().iter().map(|(port, _)| (*port, cluster.node(*port).pid().unwrap_or(0))).collect()
            }
        }
    }

    /// The shard serving `key` (0 on one node).
    fn shard(&self, key: &str) -> u16 {
        match self {
            Topology::Node(node) => node.port(),
            Topology::Cluster(cluster) => cluster.master_of(key),
        }
    }
}

/// One measured run: throughput and each redis-server's CPU share.
struct Run {
    outcome: Outcome,
    cpu: Vec<(u16, f64)>,
}

/// Service names spreading evenly over the cluster's masters (the same names on one node).
fn balanced_services(cluster: &RedisCluster, prefix: &str) -> Vec<String> {
    let masters: Vec<u16> = cluster.masters().iter().map(|(port, _)| *port).collect();
    let per_shard = SERVICES.div_ceil(masters.len());
    let mut chosen: Vec<(String, u16)> = Vec::new();
    for n in 0.. {
        let name = format!("svc{n}");
        let shard = cluster.master_of(&command_stream(prefix, &name));
        if chosen.iter().filter(|(_, s)| *s == shard).count() < per_shard {
            chosen.push((name, shard));
        }
        if chosen.len() == SERVICES {
            break;
        }
    }
    chosen.into_iter().map(|(name, _)| name).collect()
}

async fn run_once(plan: Plan, topology: &Topology<'_>, prefix: &str, services: &[String]) -> Result<Run, String> {
    let options = topology.options();
    let executions = Executions::default();
    let mut servers = Vec::new();
    let mut callers = Vec::new();
    let mut clients = Vec::new();
    for (i, service) in services.iter().enumerate() {
        let server = RedisRpcServer::builder(prefix).options(options.clone()).build().map_err(|e| e.to_string())?;
        server.register_service(executions.service_named(service)).map_err(|e| e.to_string())?;
        server.start().await.map_err(|e| e.to_string())?;
        servers.push(server);
        // The client's reply stream on its service's shard.
        let shard = topology.shard(&command_stream(prefix, service));
        let id = (0..)
            .map(|n| format!("client{i}-{n}"))
            .find(|id| topology.shard(&reply_stream(prefix, id)) == shard)
            .expect("an id on every shard");
        let client = RedisRpcClient::builder(prefix)
            .options(options.clone().instance_id(id))
            .build()
            .map_err(|e| e.to_string())?;
        client.start().await.map_err(|e| e.to_string())?;
        for _ in 0..CALLERS_PER_SERVICE {
            callers.push(HitCaller { client: client.clone(), service: service.clone() });
        }
        clients.push(client);
    }
    let processes = topology.processes();
    let before: Vec<Duration> = processes.iter().map(|(_, pid)| cpu_time(*pid)).collect();
    let started = Instant::now();
    let outcome = run_calls(plan, callers).await;
    let wall = started.elapsed().as_secs_f64();
    let cpu = processes
        .iter()
        .zip(before)
        .map(|((port, pid), before)| (*port, (cpu_time(*pid) - before).as_secs_f64() / wall))
        .collect();
    for client in clients {
        client.stop().await;
    }
    for server in servers {
        server.stop().await;
    }
    Ok(Run { outcome, cpu })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Runs both topologies `rounds` times, alternating, and returns the Markdown section.
pub async fn run(plan: Plan, rounds: usize) -> Result<String, String> {
    let load_before = crate::machine::loadavg().unwrap_or_default();
    let node = tokio::task::spawn_blocking(RedisServer::start_private).await.map_err(|e| e.to_string())?;
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 0)).await.map_err(|e| e.to_string())?;
    let prefix = fresh_prefix("spread");
    let services = balanced_services(&cluster, &prefix);
    let topologies = [("one node", Topology::Node(&node)), ("3-master cluster", Topology::Cluster(&cluster))];
    let mut results: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
    for round in 1..=rounds {
        for ((name, topology), runs) in topologies.iter().zip(&mut results) {
            let prefix = fresh_prefix(&format!("spread-{round}"));
            let run = run_once(plan, topology, &prefix, &services).await?;
            let cpu: Vec<String> =
                run.cpu.iter().map(|(port, share)| format!("{port}: {:.0}%", share * 100.0)).collect();
            eprintln!(
                "# spread round {round} {name}: {:.0} calls/s, p50 {:.0} µs, errors {}, redis CPU {}",
                run.outcome.calls_per_sec,
                run.outcome.p50_us,
                run.outcome.errors,
                cpu.join(", ")
            );
            runs.push(run);
        }
    }
    let load_after = crate::machine::loadavg().unwrap_or_default();
    let mut md = String::new();
    md.push_str("\n## Redis Cluster: services spread over shards (`clamator-bench spread`)\n\n");
    md.push_str(&format!(
        "{SERVICES} services, one server (concurrency 1) and one client per service, {CALLERS_PER_SERVICE} callers per \
         service, each client's reply stream on its service's shard; the same services on one redis-server and on a \
         3-master cluster (no replicas), alternating, {rounds} round(s), medians. Redis CPU: user + system time of \
         each redis-server over the run (warm-up included), as a share of one core. Load average before / \
         after: {load_before} / {load_after}.\n\n"
    ));
    md.push_str("| topology | calls/s | p50 µs | p99 µs | errors | CPU of each redis-server | sum |\n|---|---:|---:|---:|---:|---|---:|\n");
    for ((name, _), runs) in topologies.iter().zip(&results) {
        let shards = runs.first().map_or(0, |r| r.cpu.len());
        let per_shard: Vec<f64> = (0..shards).map(|i| median(runs.iter().map(|r| r.cpu[i].1).collect())).collect();
        md.push_str(&format!(
            "| {name} | {:.0} | {:.0} | {:.0} | {} | {} | {:.0}% |\n",
            median(runs.iter().map(|r| r.outcome.calls_per_sec).collect()),
            median(runs.iter().map(|r| r.outcome.p50_us).collect()),
            median(runs.iter().map(|r| r.outcome.p99_us).collect()),
            runs.iter().map(|r| r.outcome.errors).sum::<u64>(),
            per_shard.iter().map(|c| format!("{:.0}%", c * 100.0)).collect::<Vec<_>>().join(" / "),
            per_shard.iter().sum::<f64>() * 100.0,
        ));
    }
    md.push_str(
        "\nWhat this can show on this machine: how the Redis work divides over the shards (each master's CPU \
         against the single node's, for the same calls). What it cannot show: more throughput. The services, \
         clients and all redis-servers share the same 2 cores, and the clamator processes use most of them, so \
         the cluster's calls/s is bounded by the client side here (and pays the cluster connection's routing); \
         the gain appears when each shard has its own core or machine and one redis-server's core was the limit.\n",
    );
    drop(node);
    drop(cluster);
    Ok(md)
}
