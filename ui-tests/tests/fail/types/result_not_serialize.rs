use clamator::RpcError;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct GetParams {
    pub id: u64,
}

/// Deserialize only: the server cannot send it.
#[derive(Deserialize)]
pub struct Item {
    pub name: String,
}

#[clamator::contract(service = "store")]
pub trait Store {
    async fn get(&self, params: GetParams) -> Result<Item, RpcError>;
}

fn main() {}
