//! `ConnectionOptions`: one set of connection settings for the client and server builders.

use clamator::redis::{ConnectionOptions, RedisRpcClient, RedisRpcServer};
use clamator::{CallOptions, Error, RpcClient, TransportError};
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_options_value_configures_client_and_server() {
    let redis = RedisServer::start_private();
    let prefix = unique_prefix("options");
    let options = ConnectionOptions::new().url(redis.url()).instance_id("app-1").max_payload_bytes(64);
    let server = RedisRpcServer::builder(&prefix).options(options.clone()).build().unwrap();
    let client = RedisRpcClient::builder(&prefix).options(options.clone()).build().unwrap();
    assert_eq!(server.instance_id(), "app-1");
    assert_eq!(client.instance_id(), "app-1");
    assert_eq!(client.reply_stream(), format!("{prefix}:replies:app-1"));

    // The URL and the payload limit took effect: the client connects, and refuses a large call.
    client.start().await.unwrap();
    let big = json!({ "text": "x".repeat(100) });
    let err = client.call_value("arith", "echoText", big, CallOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(TransportError::PayloadTooLarge { limit: 64, .. })), "{err:?}");
    client.stop().await;

    // A setter after `options` changes that one setting; `options` after setters replaces them.
    let later = RedisRpcServer::builder(&prefix).options(options.clone()).instance_id("app-2").build().unwrap();
    assert_eq!(later.instance_id(), "app-2");
    let replaced = RedisRpcClient::builder(&prefix).instance_id("lost").options(options).build().unwrap();
    assert_eq!(replaced.instance_id(), "app-1");
}

#[test]
fn a_bad_url_in_the_options_fails_at_build() {
    let options = ConnectionOptions::new().url("not a url");
    let err = RedisRpcClient::builder("p").options(options.clone()).build().unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
    let err = RedisRpcServer::builder("p").options(options).build().unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
    assert!(!format!("{:?}", ConnectionOptions::new().url("redis://:secret@h")).contains("secret"));
}
