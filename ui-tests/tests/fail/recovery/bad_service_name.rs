//! A bad contract option: one error; the client and server still exist.

use clamator::RpcError;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[clamator::contract(service = "Arith")]
pub trait Arith {
    async fn add(&self, params: AddParams) -> Result<f64, RpcError>;
}

struct Calc;

impl Arith for Calc {
    async fn add(&self, p: AddParams) -> Result<f64, RpcError> {
        Ok(p.a + p.b)
    }
}

fn main() {
    let local = clamator::LocalClient::new().with_service(ArithServer::new(Calc)).unwrap();
    let arith = ArithClient::new(local);
    let _ = arith.add(AddParams { a: 1.0, b: 2.0 });
}
