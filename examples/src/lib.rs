//! The contract the examples share: an `arith` service with a method, a slow method and a
//! notification. Server and client binaries both depend on it, which is how contract drift
//! is caught at compile time.

pub mod auth;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

/// Params of `add` and `slowAdd`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddParams {
    /// Left operand.
    pub a: f64,
    /// Right operand.
    pub b: f64,
    /// How long `slowAdd` sleeps, in milliseconds (wire name `sleepMs`).
    #[serde(default)]
    #[validate(range(max = 10_000))]
    pub sleep_ms: u64,
}

/// Result of `add` and `slowAdd`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, schemars::JsonSchema)]
pub struct AddResult {
    /// `a + b`.
    pub sum: f64,
}

/// Params of the `ping` notification.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, schemars::JsonSchema)]
pub struct PingParams {
    /// Free text, at most 64 characters.
    #[validate(length(max = 64))]
    pub note: String,
}

/// The `arith` contract.
#[clamator::contract(service = "arith")]
pub trait Arith {
    /// Adds two numbers.
    async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
    /// Adds two numbers after sleeping `sleepMs`.
    async fn slow_add(&self, params: AddParams) -> Result<AddResult, RpcError>;
    /// Fire and forget.
    #[clamator(notification)]
    async fn ping(&self, params: PingParams);
}

/// The handler: implements the contract with plain `async fn`s.
#[derive(Debug, Default)]
pub struct Calculator {
    pings: AtomicU64,
}

impl Calculator {
    /// How many pings arrived.
    pub fn pings(&self) -> u64 {
        self.pings.load(Ordering::Relaxed)
    }
}

/// The application error code for a sum that overflows: outside -32768..-32000, which
/// JSON-RPC and clamator's transports reserve (-32000..-32099 is the transports' range).
pub const OVERFLOW: i64 = -31002;

impl Arith for Calculator {
    async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
        if !(p.a + p.b).is_finite() {
            return Err(RpcError::new(OVERFLOW, "overflow").with_data(serde_json::json!({ "a": p.a, "b": p.b })));
        }
        Ok(AddResult { sum: p.a + p.b })
    }

    async fn slow_add(&self, p: AddParams) -> Result<AddResult, RpcError> {
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        self.add(p).await
    }

    async fn ping(&self, p: PingParams) {
        self.pings.fetch_add(1, Ordering::Relaxed);
        tracing::info!(note = %p.note, "ping");
    }
}

#[cfg(test)]
mod tests {
    /// The wire names of every params and result struct are camelCase, as 0.1.9 peers expect.
    #[test]
    fn wire_names_are_camel_case() {
        super::ArithContract::assert_camel_case();
    }
}
