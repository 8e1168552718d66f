//! `clamator` renamed to `rpc` in Cargo.toml: the macro finds it under its new name.

use rpc::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use rpc::{Contract, RpcError};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Twice {
    #[validate(range(max = 1000))]
    pub n: i64,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Doubled {
    pub n: i64,
}

/// Doubles numbers.
#[rpc::contract(service = "renamed")]
pub trait Doubler {
    /// Doubles `n`.
    async fn double(&self, params: Twice) -> Result<Doubled, RpcError>;
    /// Does nothing, remotely.
    #[clamator(notification)]
    async fn poke(&self, params: Twice);
}

struct Two;

impl Doubler for Two {
    async fn double(&self, p: Twice) -> Result<Doubled, RpcError> {
        Ok(Doubled { n: p.n * 2 })
    }

    async fn poke(&self, _params: Twice) {}
}

#[tokio::test]
async fn round_trip_through_the_renamed_crate() {
    assert_eq!(DoublerContract::SERVICE, "renamed");
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(DoublerServer::new(Two)).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();

    let doubler = DoublerClient::new(client.clone());
    assert_eq!(doubler.double(Twice { n: 21 }).await.unwrap().n, 42);
    assert!(doubler.double(Twice { n: 5000 }).await.is_err(), "client-side validation");
    doubler.poke(Twice { n: 1 }).await.unwrap();

    client.stop().await;
    server.stop().await;
}
