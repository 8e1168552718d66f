//! The interoperability matrix: the Rust driver (`clamator-interop`) against the Python
//! clamator 0.1.9 driver (`interop/py/driver.py`), over one private redis-server per test.
//!
//! - `rust_server_python_client` / `python_server_rust_client`: every scenario, cross-language;
//! - `mixed_pool`: one Rust and one Python server compete on one prefix;
//! - `crash_rust_server_python_reclaims` / `crash_python_server_rust_reclaims`: server A is
//!   SIGKILLed mid-call, server B (the other language) reclaims the entry via XAUTOCLAIM.

mod common;

use std::time::{Duration, Instant};

use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use common::*;
use serde_json::{json, Value};

/// The same text as `UNICODE_TEXT` in `driver.py` and `src/contracts.rs`.
const UNICODE_TEXT: &str =
    "héllo wörld — 日本語 — עברית — 𝄞 😀👍🏽 — e\u{0301} — \u{0000} tab\t nl\n quote\" backslash\\ — \u{10FFFF}";

const SCENARIOS: &[&str] = &[
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
    "whoami",
];

fn assert_validation_errors(errors: &Value, first_loc: Option<&str>, ctx: &str) {
    let list = errors.as_array().unwrap_or_else(|| panic!("{ctx}: errors is not a list: {errors}"));
    assert!(!list.is_empty(), "{ctx}: errors is empty");
    for entry in list {
        for key in ["loc", "msg", "type"] {
            assert!(entry.get(key).is_some(), "{ctx}: entry without `{key}`: {entry}");
        }
        assert!(entry["loc"].is_array(), "{ctx}: loc is not a list: {entry}");
    }
    if let Some(loc) = first_loc {
        assert!(list.iter().any(|e| e["loc"][0] == loc), "{ctx}: no entry with loc[0] == {loc:?}: {errors}");
    }
}

/// Checks one scenario's outcome against what the server's language must produce.
fn check(scenario: &str, out: &Value, client: Lang, server: Lang) {
    let ctx = format!("{scenario} ({} client -> {} server)", client.name(), server.name());
    assert!(out.get("error").is_none() || scenario_expects_error(scenario), "{ctx}: unexpected error: {out}");
    match scenario {
        "basic" => assert_eq!(out["result"]["sum"].as_f64(), Some(5.0), "{ctx}: {out}"),
        "unicode" => {
            assert_eq!(out["sent"], UNICODE_TEXT, "{ctx}: sent");
            assert_eq!(out["received"], UNICODE_TEXT, "{ctx}: received");
        }
        "large" => {
            assert_eq!(out["equal"], true, "{ctx}: {out}");
            assert_eq!(out["bytes"], 262_144, "{ctx}: {out}");
        }
        "rpc_error" => {
            let e = rpc_error(out, &ctx);
            assert_eq!(e["code"], -32000, "{ctx}: {out}");
            assert_eq!(e["message"], "division by zero", "{ctx}: {out}");
            assert_eq!(e["data"]["a"].as_f64(), Some(1.0), "{ctx}: {out}");
        }
        "unknown_method" => assert_eq!(rpc_error(out, &ctx)["code"], -32601, "{ctx}: {out}"),
        "invalid_params" | "snake_case_rejected" => {
            let e = rpc_error(out, &ctx);
            assert_eq!(e["code"], -32602, "{ctx}: {out}");
            assert_eq!(e["message"], "Invalid params", "{ctx}: {out}");
            let first = if scenario == "invalid_params" { Some("a") } else { Some("sleepMs") };
            assert_validation_errors(&e["data"]["errors"], first, &ctx);
            if client == Lang::Rust {
                // What RpcError::validation_errors() gives a Rust caller, whoever the server is.
                assert_validation_errors(&out["validationErrors"], first, &format!("{ctx} validation_errors()"));
            }
        }
        "camel_case" => {
            let r = &out["result"];
            assert!(r.get("sum").is_some() && r.get("processId").is_some(), "{ctx}: {out}");
            assert_eq!(r["sum"].as_f64(), Some(3.0), "{ctx}: {out}");
        }
        "notification" => {
            let expected: Vec<Value> = (1..=25).map(Value::from).collect();
            assert_eq!(out["seqs"], Value::Array(expected), "{ctx}: {out}");
        }
        "timeout" => {
            let e = &out["error"];
            assert_eq!(e["kind"], "transport", "{ctx}: {out}");
            assert_eq!(e["message"], "call timeout", "{ctx}: {out}");
        }
        "concurrent" => {
            assert_eq!(out["correct"], 100, "{ctx}: {out}");
            assert_eq!(out["errors"], Value::Array(vec![]), "{ctx}: {out}");
        }
        "ordering" => assert_eq!(out["value"], "99", "{ctx}: {out}"),
        "whoami" => assert_eq!(out["result"]["language"], server.name(), "{ctx}: {out}"),
        other => panic!("no check for {other}"),
    }
}

fn scenario_expects_error(scenario: &str) -> bool {
    matches!(scenario, "rpc_error" | "unknown_method" | "invalid_params" | "snake_case_rejected" | "timeout")
}

fn matrix(server_lang: Lang, client_lang: Lang, test: &str) {
    let redis = RedisServer::start();
    let scratch = Scratch::new(test);
    let prefix = unique_prefix(test);
    let server = Server::start(server_lang, redis.url(), &prefix, &scratch, "main", &[]);
    for scenario in SCENARIOS {
        let started = Instant::now();
        let out = run_client(client_lang, redis.url(), &prefix, scenario, &scratch);
        eprintln!("# {test} {scenario:<20} {:>6} ms  {}", started.elapsed().as_millis(), truncate(&out));
        check(scenario, &out, client_lang, server_lang);
        if scenario == &"whoami" {
            assert_eq!(out["result"]["processId"], server.pid(), "whoami processId");
        }
    }
    assert_eq!(server.lang, server_lang);
    if let Some(stats) = server.terminate() {
        // Every entry the scenarios wrote ran once on the Rust server, the one whose caller
        // gave up (`timeout`) included: nothing expired, was dead-lettered or reclaimed.
        eprintln!("# {test} server stats {stats}");
        let expected = json!({
            "completed": MATRIX_ENTRIES, "expired": 0, "deadLettered": 0, "reclaimed": 0, "leasesLost": 0
        });
        assert_eq!(stats, expected, "{test}: rust server stats");
    }
}

/// The entries one pass over `SCENARIOS` writes: 8 single calls, `notification` 25 + 1,
/// `timeout` 1, `concurrent` 100, `ordering` 100 + 1, `whoami` 1.
const MATRIX_ENTRIES: u64 = 8 + 26 + 1 + 100 + 101 + 1;

#[test]
fn rust_server_python_client() {
    matrix(Lang::Rust, Lang::Python, "rs-server-py-client");
}

#[test]
fn python_server_rust_client() {
    matrix(Lang::Python, Lang::Rust, "py-server-rs-client");
}

#[test]
fn mixed_pool() {
    let redis = RedisServer::start();
    let scratch = Scratch::new("mixed-pool");
    let prefix = unique_prefix("mixed-pool");
    let rs = Server::start(Lang::Rust, redis.url(), &prefix, &scratch, "rust", &[]);
    let py = Server::start(Lang::Python, redis.url(), &prefix, &scratch, "python", &[]);
    let mut served_by_rust = 0;
    for client in [Lang::Rust, Lang::Python] {
        let out = run_client(client, redis.url(), &prefix, "pool", &scratch);
        let ctx = format!("pool ({} client)", client.name());
        eprintln!("# {ctx}: {out}");
        assert_eq!(out["errors"], Value::Array(vec![]), "{ctx}: {out}");
        let pids = process_ids(&out);
        assert_eq!(pids.len(), 40, "{ctx}: {out}");
        served_by_rust += pids.iter().filter(|&&pid| pid == u64::from(rs.pid())).count() as u64;
        for server in [&rs, &py] {
            assert!(
                pids.contains(&u64::from(server.pid())),
                "{ctx}: no call served by the {} server (pid {}): {out}",
                server.lang.name(),
                server.pid()
            );
        }
    }
    let stats = rs.terminate().expect("rust stats");
    eprintln!("# mixed pool: rust server stats {stats}");
    assert_eq!(stats["completed"], served_by_rust, "the Rust server ran exactly the calls it answered: {stats}");
    for counter in ["expired", "deadLettered", "reclaimed", "leasesLost"] {
        assert_eq!(stats[counter], 0, "{counter}: {stats}");
    }
    py.terminate();
}

/// Server A (`a`, with a marker file) takes a 3 s `slowAdd` from `client` and is SIGKILLed
/// mid-call; server B (`b`) must reclaim the entry and answer it.
fn crash(a: Lang, b: Lang, client: Lang, test: &str) {
    let redis = RedisServer::start();
    let scratch = Scratch::new(test);
    let prefix = unique_prefix(test);
    let marker = scratch.path("marker");
    let marker_arg = marker.to_str().expect("utf-8 temp path");
    let server_a = Server::start(
        a,
        redis.url(),
        &prefix,
        &scratch,
        "A",
        &["--claim-idle-ms", "1000", "--marker-file", marker_arg],
    );
    let client_proc = spawn_client(client, redis.url(), &prefix, "crash", &scratch);
    wait_until(
        Duration::from_secs(20),
        || marker_written(&marker),
        || {
            format!(
                "marker file never appeared\nserver A stderr:\n{}\nclient stderr:\n{}",
                server_a.proc.stderr(),
                client_proc.stderr()
            )
        },
    );
    let a_pid = server_a.pid();
    signal(a_pid, "KILL");
    drop(server_a); // reaps it

    let server_b = Server::start(b, redis.url(), &prefix, &scratch, "B", &["--claim-idle-ms", "1000"]);
    let out = client_proc.finish(Duration::from_secs(40));
    let ctx = format!("crash ({} A killed, {} B reclaims, {} client)", a.name(), b.name(), client.name());
    eprintln!("# {ctx}: A pid {a_pid}, B pid {}: {out}", server_b.pid());
    assert_eq!(out["result"]["sum"].as_f64(), Some(3.0), "{ctx}: {out}");
    assert_eq!(out["result"]["processId"], server_b.pid(), "{ctx}: not answered by B: {out}");
    if let Some(stats) = server_b.terminate() {
        // A Rust B ran the reclaimed entry, and nothing else.
        assert_eq!(stats["reclaimed"], 1, "{ctx}: {stats}");
        assert_eq!(stats["completed"], 1, "{ctx}: {stats}");
    }
}

#[test]
fn crash_rust_server_python_reclaims() {
    crash(Lang::Rust, Lang::Python, Lang::Rust, "crash-rs-a-py-b");
}

#[test]
fn crash_python_server_rust_reclaims() {
    crash(Lang::Python, Lang::Rust, Lang::Python, "crash-py-a-rs-b");
}
