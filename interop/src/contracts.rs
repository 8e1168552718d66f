//! The three interop contracts, mirroring the Pydantic models of `interop/py/driver.py`.
//! Numbers the Python side declares as `float` are `f64`; `int` fields are integers.

use clamator::RpcError;
use serde::{Deserialize, Serialize};
use validator::Validate;

/// The same text as `UNICODE_TEXT` in `driver.py`.
pub const UNICODE_TEXT: &str =
    "héllo wörld — 日本語 — עברית — 𝄞 😀👍🏽 — e\u{0301} — \u{0000} tab\t nl\n quote\" backslash\\ — \u{10FFFF}";

/// `"0123456789abcdef" * 16384`: exactly 262144 bytes of UTF-8.
pub fn large_text() -> String {
    "0123456789abcdef".repeat(16384)
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct AddResult {
    pub sum: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SlowAddParams {
    pub a: f64,
    pub b: f64,
    pub sleep_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct SlowAddResult {
    pub sum: f64,
    pub process_id: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct DivideParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct DivideResult {
    pub quotient: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct EchoTextParams {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct EchoTextResult {
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate)]
pub struct WhoamiParams {}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct WhoamiResult {
    pub process_id: u32,
    pub language: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct PingParams {
    pub run_id: String,
    pub seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedParams {
    pub run_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct ReceivedResult {
    pub seqs: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct PutParams {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct PutResult {
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct GetParams {
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct GetResult {
    /// `null` when the key is absent (and accepted when omitted, like the Python default).
    #[serde(default)]
    pub value: Option<String>,
}

#[clamator::contract(service = "arith")]
pub trait Arith {
    async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
    async fn slow_add(&self, params: SlowAddParams) -> Result<SlowAddResult, RpcError>;
    async fn divide(&self, params: DivideParams) -> Result<DivideResult, RpcError>;
    async fn echo_text(&self, params: EchoTextParams) -> Result<EchoTextResult, RpcError>;
    async fn whoami(&self, params: WhoamiParams) -> Result<WhoamiResult, RpcError>;
}

#[clamator::contract(service = "notifications")]
pub trait Notifications {
    #[clamator(notification)]
    async fn ping(&self, params: PingParams);
    async fn received(&self, params: ReceivedParams) -> Result<ReceivedResult, RpcError>;
}

#[clamator::contract(service = "kv")]
pub trait Kv {
    async fn put(&self, params: PutParams) -> Result<PutResult, RpcError>;
    async fn get(&self, params: GetParams) -> Result<GetResult, RpcError>;
}
