//! Params and results without `validator` rules (no `Validate` impl at all): plain serde
//! types, primitives, `()`, `Option`, `Vec`, maps and enums.

use std::collections::HashMap;

use clamator::RpcError;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Serialize, Deserialize)]
pub enum Sign {
    Positive,
    Negative,
}

#[clamator::contract(service = "arith")]
pub trait Arith {
    async fn add(&self, params: AddParams) -> Result<f64, RpcError>;
    async fn sign(&self, params: AddParams) -> Result<Sign, RpcError>;
    async fn nothing(&self, params: AddParams) -> Result<(), RpcError>;
    async fn maybe(&self, params: AddParams) -> Result<Option<u64>, RpcError>;
    async fn all(&self, params: HashMap<String, f64>) -> Result<Vec<f64>, RpcError>;
}

struct Calc;

impl Arith for Calc {
    async fn add(&self, p: AddParams) -> Result<f64, RpcError> {
        Ok(p.a + p.b)
    }
    async fn sign(&self, p: AddParams) -> Result<Sign, RpcError> {
        Ok(if p.a + p.b < 0.0 { Sign::Negative } else { Sign::Positive })
    }
    async fn nothing(&self, _: AddParams) -> Result<(), RpcError> {
        Ok(())
    }
    async fn maybe(&self, _: AddParams) -> Result<Option<u64>, RpcError> {
        Ok(None)
    }
    async fn all(&self, p: HashMap<String, f64>) -> Result<Vec<f64>, RpcError> {
        Ok(p.into_values().collect())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let arith = ArithClient::new(clamator::LocalClient::new().with_service(ArithServer::new(Calc)).unwrap());
    assert_eq!(arith.add(AddParams { a: 2.0, b: 3.0 }).await.unwrap(), 5.0);
    assert!(matches!(arith.sign(AddParams { a: -2.0, b: 1.0 }).await.unwrap(), Sign::Negative));
    arith.nothing(AddParams { a: 0.0, b: 0.0 }).await.unwrap();
    assert_eq!(arith.maybe(AddParams { a: 0.0, b: 0.0 }).await.unwrap(), None);
    let all = arith.all(HashMap::from([("x".to_owned(), 1.5)])).await.unwrap();
    assert_eq!(all, [1.5]);
}
