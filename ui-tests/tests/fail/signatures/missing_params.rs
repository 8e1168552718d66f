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
    async fn add(&self) -> Result<AddResult, RpcError>;
}

fn main() {}
