//! clamator 0.1.9 (Python) on a Redis Cluster. 0.1.9 connects to one node by URL, so it
//! can only take part when every key of the prefix is on that node: a hash-tag prefix
//! (`{tag}...`) pointed at its shard's master. Then it mixes with Rust peers that use the
//! cluster connection, both ways: a 0.1.9 server answers a Rust cluster client, and a 0.1.9
//! client is answered by a Rust cluster server. With a plain prefix, or after its slot
//! moves or its master fails over, 0.1.9 gets `MOVED` (not tested: it is not expected to
//! work).

mod common;

use std::time::Duration;

use clamator::redis::{command_stream, ConnectionOptions, RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, IntoServiceTable, RpcClient};
use clamator_test_support::contracts::{ArithServer, Calculator};
use clamator_test_support::redis_cluster::RedisCluster;
use common::*;
use serde_json::json;

#[test]
fn python_0_1_9_on_a_hash_tag_prefix_mixes_with_rust_cluster_peers() {
    let cluster = RedisCluster::start(3, 0);
    let scratch = Scratch::new("cluster-mixed");
    let prefix = format!("{{mixed-{}}}", uuid::Uuid::new_v4().simple());
    let shard = cluster.master_of(&command_stream(&prefix, "arith"));
    let shard_url = cluster.node(shard).url().to_owned();
    let options = ConnectionOptions::new().cluster(cluster.urls());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    // A 0.1.9 server on the shard's master answers a Rust client on the cluster connection.
    let python = Server::start(Lang::Python, &shard_url, &prefix, &scratch, "python", &[]);
    runtime.block_on(async {
        let client = RedisRpcClient::builder(&prefix).options(options.clone()).build().unwrap();
        client.start().await.unwrap();
        let options = CallOptions::timeout(Duration::from_secs(10));
        let r = client.call_value("arith", "add", json!({"a": 2, "b": 3}), options).await.unwrap();
        assert_eq!(r["sum"].as_f64(), Some(5.0), "{r}");
        client.stop().await;
    });
    python.terminate();

    // A Rust server on the cluster connection answers a 0.1.9 client on the shard's master.
    let server = runtime.block_on(async {
        let server = RedisRpcServer::builder(&prefix).options(options).build().unwrap();
        server.register_service(ArithServer::new(Calculator::default()).into_service_table()).unwrap();
        server.start().await.unwrap();
        server
    });
    let out = run_client(Lang::Python, &shard_url, &prefix, "basic", &scratch);
    assert_eq!(out["result"]["sum"].as_f64(), Some(5.0), "{out}");
    runtime.block_on(server.stop());
}
