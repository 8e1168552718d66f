//! The example authentication layer over the memory bus and over a real redis-server: a call
//! without a token is refused with the documented code and its handler never runs; a call
//! with one is served, and the handler sees the caller, the request id, the attempt and the
//! call's metadata.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{Context, Error, IntoServiceTable, RpcClient, RpcError, ServiceTable};
use clamator_examples::auth::{AuthLayer, Caller, UNAUTHORIZED};
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Empty {}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Seen {
    pub caller: String,
    pub id: String,
    pub attempt: u32,
    pub tenant: Option<String>,
}

#[clamator::contract(service = "vault")]
pub trait Vault {
    async fn open(&self, ctx: &Context, params: Empty) -> Result<Seen, RpcError>;
}

#[derive(Default)]
struct Safe {
    opened: Arc<AtomicUsize>,
}

impl Vault for Safe {
    async fn open(&self, ctx: &Context, _: Empty) -> Result<Seen, RpcError> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(Seen {
            caller: ctx.extensions().get::<Caller>().expect("set by the auth layer").0.clone(),
            id: ctx.id().map(ToString::to_string).unwrap_or_default(),
            attempt: ctx.attempt(),
            tenant: ctx.metadata().get("tenant").cloned(),
        })
    }
}

fn guarded(opened: &Arc<AtomicUsize>) -> ServiceTable {
    VaultServer::new(Safe { opened: Arc::clone(opened) })
        .into_service_table()
        .layer(AuthLayer::new("s3cret", "ada").token("other", "bob"))
}

async fn check<C: RpcClient + Clone>(client: C, opened: &Arc<AtomicUsize>) {
    let vault = VaultClient::new(client).with_timeout(Duration::from_secs(10));
    match vault.open(Empty {}).await {
        Err(Error::Rpc(e)) => assert_eq!((e.code, e.message.as_str()), (UNAUTHORIZED, "Unauthorized")),
        other => panic!("a call without a token must be refused: {other:?}"),
    }
    match vault.with_metadata("authorization", "Bearer wrong").open(Empty {}).await {
        Err(Error::Rpc(e)) => assert_eq!(e.code, UNAUTHORIZED),
        other => panic!("a wrong token must be refused: {other:?}"),
    }
    assert_eq!(opened.load(Ordering::SeqCst), 0, "a refused call never reaches its handler");
    let signed = vault.with_metadata("authorization", "Bearer s3cret").with_metadata("tenant", "t-42");
    let seen = signed.open(Empty {}).await.unwrap();
    assert_eq!(seen.caller, "ada");
    assert_eq!(seen.tenant.as_deref(), Some("t-42"));
    assert_eq!(seen.attempt, 1);
    assert!(!seen.id.is_empty());
    assert_eq!(opened.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_layer_over_memory() {
    let opened = Arc::new(AtomicUsize::new(0));
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(guarded(&opened)).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();
    check(client.clone(), &opened).await;
    client.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_layer_over_redis() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("auth");
    let opened = Arc::new(AtomicUsize::new(0));
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).build().unwrap();
    server.register_service(guarded(&opened)).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    check(client.clone(), &opened).await;
    client.stop().await;
    server.stop().await;
}
