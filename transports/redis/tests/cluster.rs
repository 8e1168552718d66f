//! Redis Cluster: one 3-master cluster with a replica per master, started once for this
//! test binary, runs the conformance suite (the scenarios memory and single-node Redis run)
//! with the services and the reply stream on different shards; then a hash-tag prefix on
//! one shard; then a master killed by pid under load, its replica promoted, calls resuming
//! without a restart and every call accounted for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator::redis::{command_stream, reply_stream, ConnectionOptions, RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, RpcClient, TransportError};
use clamator_test_support::conformance::TestTransport;
use clamator_test_support::counting::Executions;
use clamator_test_support::failover::{calls_through_failover, FailoverLoad, Outcome};
use clamator_test_support::redis_cluster::RedisCluster;
use clamator_test_support::unique_prefix;
use serde_json::json;

/// The cluster the conformance scenarios run on (set by the one test of this binary).
static CLUSTER: Mutex<Option<Arc<RedisCluster>>> = Mutex::new(None);

fn cluster() -> Arc<RedisCluster> {
    Arc::clone(CLUSTER.lock().unwrap().as_ref().expect("cluster started"))
}

struct Cluster {
    cluster: Arc<RedisCluster>,
    prefix: String,
}

impl TestTransport for Cluster {
    type Server = RedisRpcServer;
    type Client = RedisRpcClient;

    /// A prefix whose `arith` and `admin` command streams live on different masters.
    async fn setup() -> Self {
        let cluster = cluster();
        loop {
            let prefix = unique_prefix("cluster");
            let arith = cluster.master_of(&command_stream(&prefix, "arith"));
            if arith != cluster.master_of(&command_stream(&prefix, "admin")) {
                return Cluster { cluster, prefix };
            }
        }
    }

    fn server(&self) -> RedisRpcServer {
        RedisRpcServer::builder(&self.prefix)
            .options(ConnectionOptions::new().cluster(self.cluster.urls()))
            .build()
            .unwrap()
    }

    /// A client whose reply stream is on another master than `arith`'s stream, so every
    /// reply and its acknowledgement go to two shards.
    fn client(&self, default_timeout: Duration) -> RedisRpcClient {
        let arith = self.cluster.master_of(&command_stream(&self.prefix, "arith"));
        let id = loop {
            let id = uuid_like();
            if self.cluster.master_of(&reply_stream(&self.prefix, &id)) != arith {
                break id;
            }
        };
        RedisRpcClient::builder(&self.prefix)
            .options(ConnectionOptions::new().cluster(self.cluster.urls()).instance_id(id))
            .default_timeout(default_timeout)
            .build()
            .unwrap()
    }

    async fn start_client(client: &RedisRpcClient) -> Result<(), TransportError> {
        client.start().await
    }

    async fn stop_client(client: &RedisRpcClient) {
        client.stop().await;
    }

    fn unknown_service_times_out() -> bool {
        true
    }
}

fn uuid_like() -> String {
    unique_prefix("c").rsplit(':').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_master_cluster_runs_the_conformance_suite_and_follows_a_failover() {
    let started = std::time::Instant::now();
    *CLUSTER.lock().unwrap() = Some(Arc::new(RedisCluster::start(3, 1)));
    eprintln!("cluster of 6 nodes up in {:?}", started.elapsed());
    let cluster = cluster();

    clamator_test_support::conformance_suite!(@list @sequence Cluster);

    hash_tag_prefix_keeps_a_backend_on_one_shard(&cluster).await;
    a_killed_master_is_replaced_and_calls_resume(&cluster).await;

    CLUSTER.lock().unwrap().take();
}

async fn hash_tag_prefix_keeps_a_backend_on_one_shard(cluster: &RedisCluster) {
    let prefix = format!("{{tenant-42}}:{}", uuid_like());
    let options = ConnectionOptions::new().cluster(cluster.urls());
    let executions = Executions::default();
    let server = RedisRpcServer::builder(&prefix).options(options.clone()).build().unwrap();
    server.register_service(executions.service()).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).options(options).build().unwrap();
    client.start().await.unwrap();
    let r = client.call_value("tally", "hit", json!({"key": "k"}), CallOptions::default()).await.unwrap();
    assert_eq!(r, json!({"key": "k", "runs": 1}));
    let shard = cluster.master_of(&command_stream(&prefix, "tally"));
    assert_eq!(cluster.master_of(client.reply_stream()), shard);
    assert_eq!(cluster.master_of(&command_stream(&prefix, "any-other")), shard);
    client.stop().await;
    server.stop().await;
}

async fn a_killed_master_is_replaced_and_calls_resume(cluster: &RedisCluster) {
    // Three services, one per master, each served by one server. The master of the first
    // service is killed.
    let prefix = unique_prefix("cluster-failover");
    let mut services: Vec<(String, u16)> = Vec::new();
    for n in 0.. {
        let name = format!("svc{n}");
        let shard = cluster.master_of(&command_stream(&prefix, &name));
        if services.iter().all(|(_, s)| *s != shard) {
            services.push((name, shard));
        }
        if services.len() == 3 {
            break;
        }
    }
    let options = ConnectionOptions::new().cluster(cluster.urls());
    let executions = Executions::default();
    let mut servers = Vec::new();
    for (name, _) in &services {
        let server = RedisRpcServer::builder(&prefix)
            .options(options.clone())
            .concurrency(4)
            .claim_idle(Duration::from_secs(2))
            .build()
            .unwrap();
        server.register_service(executions.service_named(name)).unwrap();
        server.start().await.unwrap();
        servers.push(server);
    }
    // The client's reply stream on a surviving shard: calls to the services there should
    // not notice the failover at all.
    let id = loop {
        let id = uuid_like();
        if cluster.master_of(&reply_stream(&prefix, &id)) == services[1].1 {
            break id;
        }
    };
    let client = RedisRpcClient::builder(&prefix).options(options.instance_id(id)).build().unwrap();
    client.start().await.unwrap();

    let victim = command_stream(&prefix, &services[0].0);
    let load = FailoverLoad {
        services: services.iter().map(|(name, _)| name.clone()).collect(),
        callers: 2,
        ..FailoverLoad::default()
    };
    let old_port = services[0].1;
    let report = calls_through_failover(client.clone(), load, || {
        assert_eq!(cluster.kill_master_of(&victim), old_port);
    })
    .await;
    let promoted = cluster.wait_for_failover(&victim, old_port, Duration::from_secs(1));
    eprintln!("cluster failover: {} (promotion checked {promoted:?} after)", report.summary());
    for (name, _) in &services {
        let calls: Vec<_> = report.calls.iter().filter(|c| &c.service == name).collect();
        let failed = calls.iter().filter(|c| c.outcome != Outcome::Ok).count();
        eprintln!("  {name}: {} calls, {failed} failed or timed out", calls.len());
    }
    for call in report.failed() {
        eprintln!(
            "  {} {:?} {}..{} ms: {}",
            call.service,
            call.outcome,
            call.started_ms,
            call.ended_ms,
            call.error.as_deref().unwrap_or("")
        );
    }
    let twice = report.check(&executions);
    eprintln!("cluster failover: {} keys ran twice", twice.len());
    let elsewhere: Vec<_> = report.failed().into_iter().filter(|c| c.service != services[0].0).cloned().collect();
    assert!(elsewhere.is_empty(), "calls to services on surviving shards failed: {elsewhere:?}");
    client.stop().await;
    for server in servers {
        server.stop().await;
    }
}
