use clamator::RpcError;

/// A bare `u64` is a JSON number on the wire; clamator 0.1.9 peers send and expect an object.
#[clamator::contract(service = "store")]
pub trait Store {
    async fn get(&self, params: u64) -> Result<String, RpcError>;
    async fn put(&self, params: (String, String)) -> Result<(), RpcError>;
}

fn main() {}
