//! `client`: runs one scenario and prints one JSON line, shaped exactly like `driver.py`'s.

use std::time::Duration;

use clamator::redis::RedisRpcClient;
use clamator::{CallOptions, Error, RpcClient};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::contracts::*;

pub const SCENARIOS: &[&str] = &[
    "basic",
    "unicode",
    "large",
    "rpc_error",
    "unknown_method",
    "invalid_params",
    "snake_case_rejected",
    "camel_case",
    "notification",
    "timeout",
    "concurrent",
    "ordering",
    "pool",
    "crash",
    "whoami",
    "patient",
    "backlog",
    "late_put",
    "get",
    "quick_then_slow",
    "outcomes",
    "types",
    "int_vs_float",
];

pub struct ClientArgs {
    pub redis_url: String,
    pub prefix: String,
    pub scenario: String,
    pub run_id: Option<String>,
}

/// `{"kind":"rpc",...}`, `{"kind":"transport",...}` or `{"kind":"protocol",...}`.
pub fn normalize_error(e: &Error) -> Value {
    match e {
        Error::Rpc(e) => json!({ "kind": "rpc", "code": e.code, "message": e.message, "data": e.data }),
        Error::Transport(t) => json!({ "kind": "transport", "message": t.to_string() }),
        Error::Protocol(p) => json!({ "kind": "protocol", "message": p.to_string() }),
    }
}

fn to_value<T: Serialize>(v: T) -> Value {
    serde_json::to_value(v).expect("a result always serializes")
}

fn outcome<T: Serialize>(r: Result<T, Error>) -> Value {
    match r {
        Ok(v) => json!({ "result": to_value(v) }),
        Err(e) => json!({ "error": normalize_error(&e) }),
    }
}

/// Like [`outcome`], plus `validationErrors`: what `RpcError::validation_errors()` exposes to a
/// Rust caller (the Rust-only addition to the Python shape).
fn outcome_with_validation(r: Result<Value, Error>) -> Value {
    let validation = match &r {
        Err(Error::Rpc(e)) => e.validation_errors().map(to_value),
        _ => None,
    };
    let mut out = outcome(r);
    if let (Some(v), Value::Object(map)) = (validation, &mut out) {
        map.insert("validationErrors".into(), v);
    }
    out
}

async fn run(c: &RedisRpcClient, scenario: &str, run_id: &str) -> Result<Value, Error> {
    let arith = ArithClient::new(c);
    let raw = |service: &'static str, method: &'static str, params: Value| {
        c.call_value(service, method, params, CallOptions::default())
    };
    Ok(match scenario {
        "basic" => outcome(arith.add(AddParams { a: 2.0, b: 3.0 }).await),
        "unicode" => {
            let r = arith.echo_text(EchoTextParams { text: UNICODE_TEXT.to_owned() }).await?;
            json!({ "sent": UNICODE_TEXT, "received": r.text })
        }
        "large" => {
            let large = large_text();
            let r = arith.echo_text(EchoTextParams { text: large.clone() }).await?;
            json!({ "bytes": r.text.len(), "equal": r.text == large })
        }
        "rpc_error" => outcome(arith.divide(DivideParams { a: 1.0, b: 0.0 }).await),
        "unknown_method" => outcome(raw("arith", "noSuchMethod", json!({})).await),
        "invalid_params" => outcome_with_validation(raw("arith", "add", json!({ "a": "not a number", "b": 1 })).await),
        "snake_case_rejected" => {
            outcome_with_validation(raw("arith", "slowAdd", json!({ "a": 1, "b": 2, "sleep_ms": 1 })).await)
        }
        "camel_case" => outcome(raw("arith", "slowAdd", json!({ "a": 1, "b": 2, "sleepMs": 1 })).await),
        "notification" => {
            let n = NotificationsClient::new(c);
            for seq in 1..=25 {
                n.ping(PingParams { run_id: run_id.to_owned(), seq }).await?;
            }
            let r = n.received(ReceivedParams { run_id: run_id.to_owned() }).await?;
            json!({ "seqs": r.seqs })
        }
        "timeout" => outcome(
            arith
                .with_timeout(Duration::from_millis(300))
                .slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 2000 })
                .await,
        ),
        "concurrent" => {
            let n = 100;
            let outs = futures_join((0..n).map(|i| {
                let arith = &arith;
                async move { arith.add(AddParams { a: f64::from(i), b: f64::from(i) }).await }
            }))
            .await;
            let correct =
                outs.iter().enumerate().filter(|(i, r)| matches!(r, Ok(r) if r.sum == 2.0 * *i as f64)).count();
            let errors: Vec<Value> = outs.iter().filter_map(|r| r.as_ref().err().map(normalize_error)).collect();
            json!({ "calls": n, "correct": correct, "errors": errors })
        }
        "ordering" => {
            let kv = KvClient::new(c);
            for i in 0..100 {
                kv.put(PutParams { key: run_id.to_owned(), value: i.to_string() }).await?;
            }
            let r = kv.get(GetParams { key: run_id.to_owned() }).await?;
            json!({ "value": r.value })
        }
        "pool" => {
            let outs = futures_join((0..40).map(|i| {
                let arith = &arith;
                async move { arith.slow_add(SlowAddParams { a: f64::from(i), b: 1.0, sleep_ms: 50 }).await }
            }))
            .await;
            let pids: Vec<u32> = outs.iter().filter_map(|r| r.as_ref().ok().map(|r| r.process_id)).collect();
            let errors: Vec<Value> = outs.iter().filter_map(|r| r.as_ref().err().map(normalize_error)).collect();
            json!({ "processIds": pids, "errors": errors })
        }
        "crash" => outcome(
            arith
                .with_timeout(Duration::from_millis(30_000))
                .slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 3000 })
                .await,
        ),
        "whoami" => outcome(arith.whoami(WhoamiParams {}).await),
        "patient" => outcome(
            arith
                .with_timeout(Duration::from_millis(60_000))
                .slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 50 })
                .await,
        ),
        "backlog" => {
            let patient = arith.with_timeout(Duration::from_millis(60_000));
            let outs = futures_join((0..10).map(|i| {
                let arith = &patient;
                async move { arith.slow_add(SlowAddParams { a: f64::from(i), b: 1.0, sleep_ms: 1 }).await }
            }))
            .await;
            let ok: Vec<&SlowAddResult> = outs.iter().filter_map(|r| r.as_ref().ok()).collect();
            let errors: Vec<Value> = outs.iter().filter_map(|r| r.as_ref().err().map(normalize_error)).collect();
            json!({
                "sums": ok.iter().map(|r| r.sum).collect::<Vec<_>>(),
                "processIds": ok.iter().map(|r| r.process_id).collect::<Vec<_>>(),
                "errors": errors,
            })
        }
        "late_put" => outcome(
            KvClient::new(c)
                .with_timeout(Duration::from_millis(200))
                .put(PutParams { key: run_id.to_owned(), value: "late".to_owned() })
                .await,
        ),
        "get" => outcome(KvClient::new(c).get(GetParams { key: run_id.to_owned() }).await),
        "quick_then_slow" => {
            let mut quick = Vec::new();
            for i in 0..5 {
                quick.push(arith.add(AddParams { a: f64::from(i), b: f64::from(i) }).await?.sum);
            }
            let slow = outcome(
                arith
                    .with_timeout(Duration::from_millis(30_000))
                    .slow_add(SlowAddParams { a: 1.0, b: 2.0, sleep_ms: 4000 })
                    .await,
            );
            json!({ "quick": quick, "slow": slow })
        }
        other => match crate::typed::scenario(c, other).await {
            Some(out) => out?,
            None => return Err(clamator::ProtocolError::InvalidName(format!("unknown scenario {other}")).into()),
        },
    })
}

/// Runs every future concurrently on the current task; results in order.
async fn futures_join<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut outs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if outs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outs.into_iter().map(|o| o.expect("every future completed")).collect()
}

pub async fn client(args: ClientArgs) -> Result<(), Box<dyn std::error::Error>> {
    let client = RedisRpcClient::builder(args.prefix.clone()).url(args.redis_url.clone()).build()?;
    client.start().await?;
    let run_id = args.run_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let out = match run(&client, &args.scenario, &run_id).await {
        Ok(v) => v,
        // A scenario whose shape has no error slot still reports the RPC failure.
        Err(e) => Value::Object(Map::from_iter([("error".to_owned(), normalize_error(&e))])),
    };
    client.stop().await;
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
