//! A master, a replica and three sentinels, all private processes on free loopback ports,
//! for failover tests: [`SentinelSetup::kill_master`] kills the master (SIGKILL, by pid)
//! and the sentinels promote the replica. Only processes this harness started are killed.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::{free_port, raw_command, wait_until_ready, RedisOptions, RedisServer};

/// The master name the sentinels monitor.
pub const MASTER_NAME: &str = "clamator-test-master";

/// One `redis-server --sentinel` process.
struct SentinelProcess {
    port: u16,
    child: Child,
    dir: PathBuf,
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A master, one replica and three sentinels (quorum 2, `down-after-milliseconds` 1000).
pub struct SentinelSetup {
    /// The master at start.
    pub master: RedisServer,
    /// Its replica, promoted after the master is killed.
    pub replica: RedisServer,
    sentinels: Vec<SentinelProcess>,
}

impl SentinelSetup {
    /// Starts everything and waits until the sentinels know the replica and each other.
    pub fn start() -> Self {
        let master = RedisServer::start_private();
        let replica = RedisServer::start_with(RedisOptions {
            args: vec!["--replicaof".into(), "127.0.0.1".into(), master.port().to_string()],
            ..RedisOptions::default()
        });
        let sentinels = (0..3).map(|_| start_sentinel(master.port())).collect();
        let setup = Self { master, replica, sentinels };
        setup.wait_until_settled(Duration::from_secs(30));
        setup
    }

    /// `redis://127.0.0.1:PORT` of each sentinel.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels.iter().map(|s| format!("redis://127.0.0.1:{}", s.port)).collect()
    }

    /// Kills the master (SIGKILL, by the pid this harness holds).
    pub fn kill_master(&self) {
        self.master.kill();
    }

    /// The port of the master the first sentinel names now.
    pub fn master_port(&self) -> Option<u16> {
        let reply = raw_command(self.sentinels[0].port, &format!("SENTINEL get-master-addr-by-name {MASTER_NAME}"));
        // *2 $9 127.0.0.1 $5 PORT
        reply.lines().nth(4).and_then(|port| port.trim().parse().ok())
    }

    /// Waits until the sentinels name the replica as master (after [`kill_master`](Self::kill_master)).
    pub fn wait_for_promotion(&self, limit: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.master_port() == Some(self.replica.port()) && self.replica.raw_command("ROLE").contains("master") {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the sentinels did not promote the replica within {limit:?}");
    }

    fn wait_until_settled(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let settled = self.sentinels.iter().all(|s| {
                raw_command(s.port, &format!("SENTINEL replicas {MASTER_NAME}")).starts_with("*1")
                    && raw_command(s.port, &format!("SENTINEL sentinels {MASTER_NAME}")).starts_with("*2")
            }) && self.replica.raw_command("ROLE").contains("connected");
            if settled {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the sentinels did not discover the replica and each other within {limit:?}");
    }
}

fn start_sentinel(master_port: u16) -> SentinelProcess {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("clamator-sentinel-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("sentinel dir");
    let config = dir.join("sentinel.conf");
    std::fs::write(
        &config,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 5000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir = dir.display()
        ),
    )
    .expect("sentinel config");
    let child = Command::new(std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned()))
        .arg(&config)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start redis-server --sentinel ({e})"));
    let process = SentinelProcess { port, child, dir };
    wait_until_ready(port, Duration::from_secs(10));
    process
}
