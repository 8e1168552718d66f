//! The `typed` contract: failure as data (`Outcome`) and the wire-type table (dates, UUIDs,
//! decimals, bytes, string-literal enums, optional and nullable fields, ints vs floats),
//! mirroring `interop/py/typed_contract.py`. Served by `serve`, driven by the `outcomes`,
//! `types` and `int_vs_float` scenarios.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clamator::redis::RedisRpcClient;
use clamator::{CallOptions, Error, Outcome, RpcError, Rules};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Serialize, Deserialize, Validate)]
pub struct StartParams {
    #[validate(length(min = 1))]
    pub job: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Refused {
    pub reason: String,
}

/// A string-literal enum: Python `Literal["red", "dark-blue"]`, Zod `z.enum([...])`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Color {
    Red,
    DarkBlue,
}

/// One field per row of the wire-type table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub at: DateTime<Utc>,
    pub local_time: NaiveDateTime,
    pub day: NaiveDate,
    pub id: Uuid,
    /// A decimal as a string, exactly as written (Pydantic `Decimal`).
    pub price: String,
    #[serde(with = "clamator::wire::base64")]
    pub blob: Vec<u8>,
    pub count: i64,
    pub ratio: f64,
    pub color: Color,
    /// Optional: may be absent (Python `str | None = None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Required but nullable (Python `int | None`, no default): always written, `null` here.
    pub parent: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntSum {
    pub sum: i64,
}

#[clamator::contract(service = "typed")]
pub trait Typed {
    /// `job == "missing"`: refused with `not-found`; otherwise started as `run-<job>`.
    async fn start(&self, params: StartParams) -> Result<Outcome<Started, Refused>, RpcError>;
    /// Returns the row unchanged.
    async fn echo_row(&self, params: Row) -> Result<Row, RpcError>;
}

pub struct TypedImpl;

impl Typed for TypedImpl {
    async fn start(&self, p: StartParams) -> Result<Outcome<Started, Refused>, RpcError> {
        Ok(if p.job == "missing" {
            Outcome::Refusal(Refused { reason: "not-found".into() })
        } else {
            Outcome::Success(Started { run_id: format!("run-{}", p.job) })
        })
    }

    async fn echo_row(&self, row: Row) -> Result<Row, RpcError> {
        Ok(row)
    }
}

/// The row both drivers send: the same values as `ROW` in `typed_contract.py`.
pub fn sample_row() -> Row {
    Row {
        at: "2026-01-02T03:04:05.123456Z".parse().expect("a valid datetime"),
        local_time: "2026-01-02T03:04:05".parse().expect("a valid naive datetime"),
        day: NaiveDate::from_ymd_opt(2026, 1, 2).expect("a valid date"),
        id: "6ba7b810-9dad-11d1-80b4-00c04fd430c8".parse().expect("a valid uuid"),
        price: "12.50".into(),
        blob: vec![0, 255, b'h', b'i'],
        count: 5,
        ratio: 5.0,
        color: Color::DarkBlue,
        note: None,
        parent: None,
    }
}

fn variant(o: &Outcome<Started, Refused>) -> &'static str {
    if o.is_ok() {
        "Started"
    } else {
        "Refused"
    }
}

/// Runs a `typed` scenario, or `None` when `scenario` is not one.
pub async fn scenario(c: &RedisRpcClient, scenario: &str) -> Option<Result<Value, Error>> {
    let typed = TypedClient::new(c);
    Some(match scenario {
        "outcomes" => {
            async {
                let success = typed.start(StartParams { job: "build".into() }).await?;
                let refusal = typed.start(StartParams { job: "missing".into() }).await?;
                Ok(json!({
                    "variants": [variant(&success), variant(&refusal)],
                    "success": serde_json::to_value(&success).expect("serializes"),
                    "refusal": serde_json::to_value(&refusal).expect("serializes"),
                }))
            }
            .await
        }
        "types" => {
            async {
                let sent = sample_row();
                let received = typed.echo_row(sent.clone()).await?;
                let raw = clamator::RpcClient::call_value(
                    c,
                    "typed",
                    "echoRow",
                    serde_json::to_value(&sent).expect("serializes"),
                    CallOptions::default(),
                )
                .await?;
                Ok(json!({ "equal": received == sent, "received": raw }))
            }
            .await
        }
        "int_vs_float" => {
            async {
                // `arith.add` declares a float `sum`: a Python server writes 5.0, which an `i64`
                // refuses (serde_json takes no float for an integer), and `f64` takes.
                let params = crate::contracts::AddParams { a: 2.0, b: 3.0 };
                let as_int = clamator::call_with_rules::<_, _, IntSum>(
                    c,
                    "arith",
                    "add",
                    &params,
                    CallOptions::default(),
                    Rules::none(),
                    Rules::none(),
                )
                .await;
                let as_float = crate::contracts::ArithClient::new(c).add(params).await?;
                Ok(json!({
                    "int": match as_int {
                        Ok(v) => json!({ "result": v.sum }),
                        Err(e) => json!({ "error": crate::client::normalize_error(&e) }),
                    },
                    "float": as_float.sum,
                }))
            }
            .await
        }
        _ => return None,
    })
}
