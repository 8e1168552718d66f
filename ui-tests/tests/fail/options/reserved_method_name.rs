use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Serialize, Deserialize, Validate)]
pub struct Empty {}

#[clamator::contract(service = "box")]
pub trait Boxed {
    async fn new(&self, params: Empty) -> Result<Empty, RpcError>;
}

fn main() {}
