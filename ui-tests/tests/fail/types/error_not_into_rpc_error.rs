use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct GetParams {
    pub id: u64,
}

/// An application error with no `From<StoreError> for RpcError`.
#[derive(Debug)]
pub enum StoreError {
    NotFound,
}

#[clamator::contract(service = "store")]
pub trait Store {
    async fn get(&self, params: GetParams) -> Result<String, StoreError>;
}

struct Memory;

impl Store for Memory {
    async fn get(&self, _: GetParams) -> Result<String, StoreError> {
        Err(StoreError::NotFound)
    }
}

fn main() {
    let _ = StoreServer::new(Memory);
}
