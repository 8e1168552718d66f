//! Typed interop with the Python clamator 0.1.9 peer (`typed` contract, `interop/src/typed.rs`
//! and `interop/py/typed_contract.py`):
//!
//! - `outcomes`: a result union discriminated by a boolean `ok` (`clamator::Outcome` /
//!   Pydantic `RootModel[Started | Refused]`): both variants, both directions;
//! - `types`: a row with a UTC datetime, a naive datetime, a date, a UUID, a decimal (string),
//!   bytes (base64), an int, a float, a string-literal enum, an optional and a nullable field
//!   echoed by the other language's server, compared typed on the client and checked raw;
//! - `int_vs_float`: a float result (`5.0`) read as an integer: refused by Rust's `i64`
//!   (ResultMismatch), taken by Pydantic's lax `int`.

mod common;

use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use common::*;
use serde_json::{json, Value};

fn check_outcomes(out: &Value, ctx: &str) {
    assert_eq!(out["variants"], json!(["Started", "Refused"]), "{ctx}: {out}");
    assert_eq!(out["success"], json!({"ok": true, "runId": "run-build"}), "{ctx}: {out}");
    assert_eq!(out["refusal"], json!({"ok": false, "reason": "not-found"}), "{ctx}: {out}");
}

fn check_types(out: &Value, ctx: &str) {
    assert_eq!(out["equal"], true, "{ctx}: the echoed row differs: {out}");
    let row = &out["received"];
    // What the server wrote, whichever language it is.
    assert_eq!(row["id"], "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "{ctx}: uuid: {row}");
    assert_eq!(row["price"], "12.50", "{ctx}: decimal: {row}");
    assert_eq!(row["blob"], "AP9oaQ==", "{ctx}: bytes: {row}");
    assert_eq!(row["day"], "2026-01-02", "{ctx}: date: {row}");
    assert_eq!(row["localTime"], "2026-01-02T03:04:05", "{ctx}: naive datetime: {row}");
    assert_eq!(row["at"], "2026-01-02T03:04:05.123456Z", "{ctx}: datetime: {row}");
    assert_eq!(row["count"], 5, "{ctx}: int: {row}");
    assert!(row["count"].is_i64(), "{ctx}: int written as an integer: {row}");
    assert_eq!(row["ratio"].as_f64(), Some(5.0), "{ctx}: float: {row}");
    assert_eq!(row["color"], "dark-blue", "{ctx}: literal enum: {row}");
    assert!(row["note"].is_null(), "{ctx}: optional: {row}");
    assert!(row.get("parent").is_some_and(Value::is_null), "{ctx}: nullable is written as null: {row}");
}

fn check_int_vs_float(out: &Value, client: Lang, ctx: &str) {
    assert_eq!(out["float"].as_f64(), Some(5.0), "{ctx}: {out}");
    match client {
        Lang::Rust => {
            let e = &out["int"]["error"];
            assert_eq!(e["kind"], "protocol", "{ctx}: {out}");
            let message = e["message"].as_str().unwrap_or_default();
            assert!(message.contains("result does not match the declared type"), "{ctx}: {out}");
        }
        Lang::Python => assert_eq!(out["int"]["result"], 5, "{ctx}: {out}"),
    }
}

fn typed(server_lang: Lang, client_lang: Lang, test: &str) {
    let redis = RedisServer::start();
    let scratch = Scratch::new(test);
    let prefix = unique_prefix(test);
    let server = Server::start(server_lang, redis.url(), &prefix, &scratch, "main", &[]);
    for scenario in ["outcomes", "types", "int_vs_float"] {
        let out = run_client(client_lang, redis.url(), &prefix, scenario, &scratch);
        let ctx = format!("{scenario} ({} client -> {} server)", client_lang.name(), server_lang.name());
        eprintln!("# {ctx}: {out}");
        assert!(out.get("error").is_none(), "{ctx}: {out}");
        match scenario {
            "outcomes" => check_outcomes(&out, &ctx),
            "types" => check_types(&out, &ctx),
            _ => check_int_vs_float(&out, client_lang, &ctx),
        }
    }
    server.terminate();
}

#[test]
fn python_server_rust_client() {
    typed(Lang::Python, Lang::Rust, "typed-py-server-rs-client");
}

#[test]
fn rust_server_python_client() {
    typed(Lang::Rust, Lang::Python, "typed-rs-server-py-client");
}
