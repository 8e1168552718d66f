//! One mistake in one method: the error is the only one. The trait, its implementation, the
//! client with `new` and the other methods, and the server all still resolve.

use clamator::RpcError;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[clamator::contract(service = "arith")]
pub trait Arith {
    async fn add(&self, params: AddParams) -> Result<f64, RpcError>;
    #[clamator(nam = "sub")]
    async fn subtract(&self, params: AddParams) -> Result<f64, RpcError>;
}

struct Calc;

impl Arith for Calc {
    async fn add(&self, p: AddParams) -> Result<f64, RpcError> {
        Ok(p.a + p.b)
    }
    async fn subtract(&self, p: AddParams) -> Result<f64, RpcError> {
        Ok(p.a - p.b)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let local = clamator::LocalClient::new().with_service(ArithServer::new(Calc)).unwrap();
    let arith = ArithClient::new(local).with_timeout(std::time::Duration::from_secs(1));
    let _ = arith.add(AddParams { a: 1.0, b: 2.0 }).await;
}
