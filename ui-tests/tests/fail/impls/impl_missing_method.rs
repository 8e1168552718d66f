use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Serialize, Deserialize, Validate)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Serialize, Deserialize, Validate)]
pub struct AddResult {
    pub sum: f64,
}

#[clamator::contract(service = "arith")]
pub trait Arith {
    async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
    /// Added to the contract after `Calc` was written.
    async fn sub(&self, params: AddParams) -> Result<AddResult, RpcError>;
}

struct Calc;

impl Arith for Calc {
    async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
        Ok(AddResult { sum: p.a + p.b })
    }
}

fn main() {}
