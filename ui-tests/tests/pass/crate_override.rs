//! `crate = "..."`: the expansion names clamator through the given path, for crates that
//! reach it through a re-export.

mod reexport {
    pub use ::clamator as inner;
}

use reexport::inner::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use reexport::inner::{Contract, RpcError};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Name {
    #[validate(length(min = 1))]
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Greeting {
    pub text: String,
}

#[reexport::inner::contract(service = "greeter", crate = "crate::reexport::inner")]
pub trait Greeter {
    async fn greet(&self, params: Name) -> Result<Greeting, RpcError>;
}

struct Polite;

impl Greeter for Polite {
    async fn greet(&self, p: Name) -> Result<Greeting, RpcError> {
        Ok(Greeting { text: format!("hello, {}", p.name) })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(GreeterContract::SERVICE, "greeter");
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(GreeterServer::new(Polite)).unwrap();
    server.start().await.unwrap();
    let client = MemoryRpcClient::new(&bus);
    client.start().await.unwrap();

    let greeter = GreeterClient::new(client.clone());
    assert_eq!(greeter.greet(Name { name: "Ada".into() }).await.unwrap().text, "hello, Ada");

    client.stop().await;
    server.stop().await;
}
