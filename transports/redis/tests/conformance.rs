//! The shared transport conformance suite, over Redis Streams (a private redis-server per
//! test, or `REDIS_URL`, with a unique key prefix per test).

use std::sync::Arc;
use std::time::Duration;

use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::TransportError;
use clamator_test_support::conformance::TestTransport;
use clamator_test_support::redis_server::RedisServer;

struct Redis {
    redis: Arc<RedisServer>,
    prefix: String,
}

impl TestTransport for Redis {
    type Server = RedisRpcServer;
    type Client = RedisRpcClient;

    async fn setup() -> Self {
        Redis { redis: Arc::new(RedisServer::start()), prefix: clamator_test_support::unique_prefix("conformance") }
    }

    fn server(&self) -> RedisRpcServer {
        RedisRpcServer::builder(&self.prefix).url(self.redis.url()).build().unwrap()
    }

    fn client(&self, default_timeout: Duration) -> RedisRpcClient {
        RedisRpcClient::builder(&self.prefix).url(self.redis.url()).default_timeout(default_timeout).build().unwrap()
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

clamator_test_support::conformance_suite!(Redis);
