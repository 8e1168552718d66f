//! The expansion names everything by full path: it compiles in a `#![no_implicit_prelude]`
//! module.

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct EchoParams {
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct EchoResult {
    pub text: String,
}

mod bare {
    #![no_implicit_prelude]

    use super::{EchoParams, EchoResult};

    /// Echoes.
    #[::clamator::contract(service = "echo")]
    pub trait Echo {
        /// Echoes its params.
        async fn echo(&self, params: EchoParams) -> ::core::result::Result<EchoResult, ::clamator::RpcError>;
        #[clamator(notification, name = "hello")]
        async fn say_hello(&self, params: EchoParams);
    }
}

use bare::{Echo, EchoClient, EchoServer};

struct Parrot;

impl Echo for Parrot {
    async fn echo(&self, p: EchoParams) -> Result<EchoResult, RpcError> {
        Ok(EchoResult { text: p.text })
    }

    async fn say_hello(&self, _params: EchoParams) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(EchoServer::new(Parrot)).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();

    let echo = EchoClient::new(client.clone());
    assert_eq!(echo.echo(EchoParams { text: "hi".into() }).await.unwrap().text, "hi");
    echo.say_hello(EchoParams { text: "hi".into() }).await.unwrap();

    client.stop().await;
    server.stop().await;
}
