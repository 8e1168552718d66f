//! Contracts and handlers used by the test suites.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct AddResult {
    pub sum: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SlowAddParams {
    pub a: f64,
    pub b: f64,
    #[validate(range(max = 60_000))]
    pub sleep_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct DivideParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct DivideResult {
    pub quotient: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct EchoParams {
    #[validate(length(min = 1))]
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct EchoResult {
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate)]
pub struct Empty {}

/// A result with a rule the `badResult` handler breaks on purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Percentage {
    #[validate(range(min = 0, max = 100))]
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct RecordParams {
    pub seq: u64,
}

#[clamator::contract(service = "arith")]
pub trait Arith {
    /// `a + b`.
    async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
    /// `a + b` after sleeping `sleepMs`.
    async fn slow_add(&self, params: SlowAddParams) -> Result<AddResult, RpcError>;
    /// `a / b`; `-32000 division by zero` with `data {a}` when `b == 0`.
    async fn divide(&self, params: DivideParams) -> Result<DivideResult, RpcError>;
    /// Echoes `text`.
    async fn echo_text(&self, params: EchoParams) -> Result<EchoResult, RpcError>;
    /// Panics.
    async fn explode(&self, params: Empty) -> Result<AddResult, RpcError>;
    /// Returns a result that fails its own validation.
    async fn bad_result(&self, params: Empty) -> Result<Percentage, RpcError>;
    /// Records `seq`.
    #[clamator(notification)]
    async fn record(&self, params: RecordParams);
}

/// The `arith` handler; shares what it observed through [`Observed`].
#[derive(Debug, Clone, Default)]
pub struct Calculator {
    pub observed: Observed,
}

/// What a [`Calculator`] saw.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub records: Arc<Mutex<Vec<u64>>>,
    pub in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
    pub completed: Arc<AtomicUsize>,
}

impl Observed {
    pub fn records(&self) -> Vec<u64> {
        self.records.lock().unwrap().clone()
    }

    /// Waits until `n` records have arrived (or a few seconds have passed).
    pub async fn wait_for_records(&self, n: usize) -> Vec<u64> {
        for _ in 0..500 {
            if self.records.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.records()
    }
}

impl Arith for Calculator {
    async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
        Ok(AddResult { sum: p.a + p.b })
    }

    async fn slow_add(&self, p: SlowAddParams) -> Result<AddResult, RpcError> {
        let now = self.observed.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.observed.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
        self.observed.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.observed.completed.fetch_add(1, Ordering::SeqCst);
        Ok(AddResult { sum: p.a + p.b })
    }

    async fn divide(&self, p: DivideParams) -> Result<DivideResult, RpcError> {
        if p.b == 0.0 {
            return Err(RpcError::new(-32000, "division by zero").with_data(serde_json::json!({ "a": p.a })));
        }
        Ok(DivideResult { quotient: p.a / p.b })
    }

    async fn echo_text(&self, p: EchoParams) -> Result<EchoResult, RpcError> {
        Ok(EchoResult { text: p.text })
    }

    async fn explode(&self, _: Empty) -> Result<AddResult, RpcError> {
        panic!("kaboom");
    }

    async fn bad_result(&self, _: Empty) -> Result<Percentage, RpcError> {
        Ok(Percentage { value: 250 })
    }

    async fn record(&self, p: RecordParams) {
        self.observed.records.lock().unwrap().push(p.seq);
    }
}
