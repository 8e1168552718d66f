//! A private Redis Cluster for tests: `masters` masters with `replicas` replicas each, all
//! `redis-server --cluster-enabled yes` processes on free loopback ports, joined with
//! `redis-cli --cluster create`. Nodes can be killed by pid (a master, to see its replica
//! promoted). Only processes this harness started are killed; all of them on drop.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::{RedisOptions, RedisServer};

/// A running cluster.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters * (1 + replicas)` nodes (node timeout 1 s) and creates the cluster;
    /// returns once every node reports `cluster_state:ok` and every master has its replicas.
    pub fn start(masters: usize, replicas: usize) -> Self {
        let options = RedisOptions {
            args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"]
                .into_iter()
                .chain(["--cluster-replica-validity-factor", "0"])
                .map(str::to_owned)
                .collect(),
            ..RedisOptions::default()
        };
        let nodes: Vec<RedisServer> =
            (0..masters * (1 + replicas)).map(|_| RedisServer::start_with(options.clone())).collect();
        let mut create = Command::new(std::env::var("REDIS_CLI_BIN").unwrap_or_else(|_| "redis-cli".to_owned()));
        create.arg("--cluster").arg("create");
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        let output = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli ({e}): install it (Debian: apt-get install redis-tools)"));
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { nodes };
        cluster.wait_until_ok(masters, Duration::from_secs(30));
        cluster
    }

    /// `redis://127.0.0.1:PORT` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url().to_owned()).collect()
    }

    /// The node listening on `port`.
    pub fn node(&self, port: u16) -> &RedisServer {
        self.nodes.iter().find(|n| n.port() == port).expect("a node of this cluster")
    }

    /// A live node, for cluster-wide questions.
    fn any_live_node(&self) -> &RedisServer {
        self.nodes.iter().find(|n| n.pid().is_some()).expect("a live node")
    }

    /// The port of the master serving `key`'s slot now.
    pub fn master_of(&self, key: &str) -> u16 {
        let node = self.any_live_node();
        let slot: u16 = node
            .raw_command(&format!("CLUSTER KEYSLOT \"{key}\""))
            .trim()
            .trim_start_matches(':')
            .parse()
            .expect("a slot");
        self.masters()
            .into_iter()
            .find(|(_, ranges)| ranges.iter().any(|&(from, to)| (from..=to).contains(&slot)))
            .map(|(port, _)| port)
            .expect("a master for every slot")
    }

    /// Live masters and their slot ranges, from `CLUSTER NODES`.
    pub fn masters(&self) -> Vec<(u16, Vec<(u16, u16)>)> {
        let nodes = self.any_live_node().raw_command("CLUSTER NODES");
        nodes
            .lines()
            .filter(|line| line.contains("master") && !line.contains("fail"))
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let port = fields.get(1)?.split(['@', ':']).nth(1)?.parse().ok()?;
                let ranges = fields
                    .iter()
                    .skip(8)
                    .filter_map(|r| match r.split_once('-') {
                        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
                        None => r.parse().ok().map(|s| (s, s)),
                    })
                    .collect();
                Some((port, ranges))
            })
            .collect()
    }

    /// Kills the master serving `key` (SIGKILL, by pid); returns its port.
    pub fn kill_master_of(&self, key: &str) -> u16 {
        let port = self.master_of(key);
        self.node(port).kill();
        port
    }

    /// Waits until `key`'s slot is served by a master other than `old_port` and the cluster
    /// is ok again; returns how long that took.
    pub fn wait_for_failover(&self, key: &str, old_port: u16, limit: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < limit {
            let ok = self.any_live_node().raw_command("CLUSTER INFO").contains("cluster_state:ok");
            if ok && self.master_of(key) != old_port {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no replica took over {key}'s slot within {limit:?}");
    }

    fn wait_until_ok(&self, masters: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let all_ok = self.nodes.iter().all(|n| n.raw_command("CLUSTER INFO").contains("cluster_state:ok"));
            if all_ok && self.masters().len() == masters {
                let replicas_linked = self
                    .nodes
                    .iter()
                    .map(|n| n.raw_command("ROLE"))
                    .filter(|role| role.contains("slave"))
                    .all(|role| role.contains("connected"));
                if replicas_linked {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the cluster did not become ok within {limit:?}");
    }
}
