//! The `clamator` binary against a real redis-server, with a Rust server (`billing`, which
//! publishes discovery documents and schemas) and a Python clamator 0.1.9 server (`arith`,
//! `notifications`, `kv`, which publishes nothing) running under the same prefix.

mod common;

use std::time::Duration;

use clamator::redis::redis;
use common::*;
use serde_json::Value;

fn service<'a>(services: &'a Value, name: &str) -> &'a Value {
    services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {services}"))
}

#[test]
fn services_describe_call_watch_and_schema() {
    let s = Scene::new("tour");
    let p = s.prefix.clone();
    let rust = RustServer::start(&s, false, |b| b);
    let _python = PythonServer::start(&s);

    // A 0.1.9 server's consumer appears in its group at its first delivery (Redis 7.0
    // does not create it on a blocking read): one call each.
    for (target, params) in [
        ("arith.add", r#"{"a":1,"b":1}"#),
        ("kv.put", r#"{"key":"a","value":"b"}"#),
        ("notifications.received", r#"{"runId":"x"}"#),
    ] {
        s.clamator(&["call", target, params]).ok();
    }

    // services: the Rust service from discovery, the Python ones from the streams.
    let all = s.clamator(&["--json", "services"]).ok().json();
    let billing = service(&all, "billing");
    assert_eq!(billing["instances"].as_array().unwrap().len(), 1);
    assert_eq!(billing["instances"][0]["instance"], rust.instance_id());
    assert_eq!(billing["instances"][0]["version"], "1.4.2");
    assert_eq!(billing["consumers"][0]["state"], "live");
    for name in ["arith", "kv", "notifications"] {
        let s = service(&all, name);
        assert_eq!(s["instances"].as_array().unwrap().len(), 0, "{s}");
        assert_eq!(s["consumers"].as_array().unwrap().len(), 1, "{s}");
        assert_eq!(s["consumers"][0]["published"], false);
    }
    let text = s.clamator(&["services"]).ok().stdout;
    assert!(text.starts_with("SERVICE"), "{text}");
    for needle in ["billing", "arith", "1 live", "clamator-rs 1.4.2", "unpublished (0.1.9?)"] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }

    // describe: methods, kinds and schemas; a 0.1.9 service has no description.
    let text = s.clamator(&["describe", "billing"]).ok().stdout;
    assert!(
        text.contains("charge") && text.contains("{account: string, cents: integer}") && text.contains("notification"),
        "{text}"
    );
    let charge = s.clamator(&["--json", "describe", "billing.charge"]).ok().json();
    assert_eq!(charge["kind"], "method");
    assert_eq!(charge["paramsSchema"]["properties"]["cents"]["type"], "integer");
    let text = s.clamator(&["describe", "arith"]).ok().stdout;
    assert!(text.contains("no description published"), "{text}");
    let unknown = s.clamator(&["describe", "nosuch"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");

    // call: valid params; params the published schema rejects (nothing sent, exit 2);
    // params only the server rejects (exit 1); an application error (exit 1).
    let ok = s.clamator(&["call", "billing.charge", r#"{"account": "ada", "cents": 250}"#]).ok().json();
    assert_eq!(ok, serde_json::json!({"account": "ada", "cents": 250}));
    let local = s.clamator(&["call", "billing.charge", r#"{"account": "ada", "cents": "lots"}"#]);
    assert_eq!(local.code, 2, "{local:?}");
    assert!(local.stderr.contains("rejected by the published schema") && local.stderr.contains("/cents"), "{local:?}");
    assert_eq!(local.stderr.trim().lines().count(), 1, "one line: {local:?}");
    // schemars reads validator's rules: `range(min = 1)` is in the published schema too
    let rule = s.clamator(&["call", "billing.charge", r#"{"account": "ada", "cents": 0}"#]);
    assert_eq!(rule.code, 2, "{rule:?}");
    assert!(rule.stderr.contains("less than the minimum of 1"), "{rule:?}");
    let server = s.clamator(&["call", "billing.charge", r#"{"account": "ada", "cents": 0}"#, "--no-check"]);
    assert_eq!(server.code, 1, "{server:?}");
    assert!(server.stdout.contains("error -32602: Invalid params") && server.stdout.contains("range"), "{server:?}");
    let app = s.clamator(&["--json", "call", "billing.charge", r#"{"account": "frozen", "cents": 5}"#]);
    assert_eq!(app.code, 1, "{app:?}");
    assert_eq!(app.json()["error"]["code"], -31001);
    let bad_json = s.clamator(&["call", "billing.charge", "{nope"]);
    assert_eq!(bad_json.code, 2, "{bad_json:?}");

    // call a Python 0.1.9 service (no schema: the server checks).
    let sum = s.clamator(&["call", "arith.add", r#"{"a": 2, "b": 3}"#]).ok().json();
    assert_eq!(sum["sum"], 5.0);
    let py_invalid = s.clamator(&["call", "arith.add", r#"{"a": "two"}"#]);
    assert_eq!(py_invalid.code, 1, "{py_invalid:?}");
    assert!(py_invalid.stdout.contains("-32602"), "{py_invalid:?}");

    // notify; a timeout (nobody serves the service); Redis unreachable.
    let sent = s.clamator(&["notify", "billing.audit", r#"{"note": "hello"}"#]).ok();
    assert!(sent.stdout.contains("notification sent"), "{sent:?}");
    let timeout = s.clamator(&["call", "nosuch.method", "{}", "--timeout", "300ms"]);
    assert_eq!(timeout.code, 3, "{timeout:?}");
    let down = run_clamator("redis://127.0.0.1:1", &p, &["services"]);
    assert_eq!(down.code, 4, "{down:?}");
    assert!(down.stderr.contains("cannot reach Redis") && down.stderr.trim().lines().count() == 1, "{down:?}");

    // the stats of the calls above, published by the next heartbeats
    assert!(
        eventually(Duration::from_secs(3), || {
            let m = s.clamator(&["--json", "describe", "billing.charge"]).ok().json();
            let stats = &m["instances"][0]["stats"];
            stats["requests"] == 3 && stats["errors"] == 2
        }),
        "stats never showed the calls"
    );
    let m = s.clamator(&["--json", "describe", "billing.charge"]).ok().json();
    let stats = &m["instances"][0]["stats"];
    assert_eq!(stats["errorsByCode"], serde_json::json!({"-31001": 1, "-32602": 1}));
    assert_eq!(stats["lastError"]["code"], -31001);
    assert!(stats["meanMs"].as_f64().unwrap() > 0.0);
    let processing = &m["instances"][0]["processing"];
    assert_eq!(processing["count"], 3);
    assert!(processing["p50Ms"].as_f64().unwrap() > 0.0 && processing["p99Ms"].as_f64().is_some(), "{m}");
    let text = s.clamator(&["describe", "billing.charge"]).ok().stdout;
    assert!(text.contains("P50/P99") && text.contains("WAIT P50/P99"), "{text}");

    // schema: the OpenRPC document; watch: two frames; pending: nothing.
    let doc = s.clamator(&["schema", "billing"]).ok().json();
    assert_eq!(doc["openrpc"], "1.3.2");
    assert_eq!(doc["methods"][0]["name"], "billing.charge");
    assert_eq!(doc["methods"][0]["params"][0]["name"], "account");
    let watch = s.clamator(&["watch", "--count", "2", "--interval", "200ms"]).ok().stdout;
    assert_eq!(watch.matches("CALLS/S").count(), 2, "{watch}");
    assert!(watch.contains("billing"), "{watch}");
    let pending = s.clamator(&["pending", "billing"]).ok().stdout;
    assert!(pending.contains("billing: 0 pending"), "{pending}");
    rust.stop();
}

#[test]
fn dead_letters_listed_replayed_and_purged() {
    let s = Scene::new("dead");
    let p = s.prefix.clone();
    let _rust = RustServer::start(&s, false, |b| b.claim_idle(Duration::from_millis(100)).max_deliveries(Some(1)));
    let reply_to = format!("{p}:replies:operator");
    poison(&s, 7, "ada");
    poison(&s, 8, "ada");
    assert!(
        eventually(Duration::from_secs(5), || s
            .clamator(&["--json", "dead", "billing", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len()
            == 2),
        "the two entries were never dead-lettered"
    );
    let list = s.clamator(&["dead", "billing", "list"]).ok().stdout;
    assert!(
        list.contains("billing: 2 dead letter(s)")
            && list.contains("max-deliveries")
            && list.contains("billing.charge"),
        "{list}"
    );
    let letters = s.clamator(&["--json", "dead", "billing", "list"]).ok().json();
    let first = letters[0]["id"].as_str().unwrap().to_owned();
    let second = letters[1]["id"].as_str().unwrap().to_owned();
    assert_eq!(letters[0]["lastConsumer"], "billing:ghost");
    let shown = s.clamator(&["dead", "billing", "show", &first]).ok().stdout;
    assert!(shown.contains("max-deliveries after 1 deliveries") && shown.contains(r#""cents": 7"#), "{shown}");

    // replay: run again, and answered this time
    let replayed = s.clamator(&["dead", "billing", "replay", &first]).ok().stdout;
    assert!(replayed.starts_with(&format!("replayed {first} as entry ")), "{replayed}");
    let answered = || {
        let replies: Vec<(String, Vec<(String, String)>)> = s.cmd(&["XRANGE", &reply_to, "-", "+"]);
        replies
            .iter()
            .flat_map(|(_, f)| f)
            .any(|(k, v)| k == "envelope" && v.contains(r#""id":"7""#) && v.contains(r#""result""#))
    };
    assert!(eventually(Duration::from_secs(5), answered), "the replayed request was never answered");

    // purge the other; then nothing is left
    s.clamator(&["dead", "billing", "purge", &second]).ok();
    let left = s.clamator(&["dead", "billing", "list"]).ok().stdout;
    assert!(left.contains("billing: 0 dead letter(s)"), "{left}");
    let missing = s.clamator(&["dead", "billing", "replay", &second]);
    assert_eq!(missing.code, 1, "{missing:?}");
}

#[test]
fn cleanup_lists_then_removes_only_dead_consumers_without_pending_entries() {
    let s = Scene::new("cleanup");
    let p = s.prefix.clone();
    let rust = RustServer::start(&s, false, |b| b);
    let _python = PythonServer::start(&s);
    let kv = format!("{p}:cmds:kv");
    // A consumer that left holding nothing, one that holds an entry, an abandoned reply stream.
    s.cmd::<i64>(&["XGROUP", "CREATECONSUMER", &kv, "kv", "kv:gone"]);
    let _: redis::Value = redis::pipe()
        .atomic()
        .cmd("XADD")
        .arg(&kv)
        .arg("*")
        .arg("type")
        .arg("rpc")
        .arg("envelope")
        .arg(r#"{"jsonrpc":"2.0","method":"kv.put","params":{"key":"k","value":"v"}}"#)
        .cmd("XREADGROUP")
        .arg("GROUP")
        .arg("kv")
        .arg("kv:holder")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&kv)
        .arg(">")
        .query(&mut s.connection())
        .unwrap();
    let old_replies = format!("{p}:replies:old-client");
    s.cmd::<String>(&["XADD", &old_replies, "1000-0", "type", "rpc", "envelope", "{}"]);
    std::thread::sleep(Duration::from_millis(2500));
    // The live Python consumers read just now (a quiet 0.1.9 consumer looks idle on Redis 7.0).
    for (target, params) in [
        ("arith.add", r#"{"a":1,"b":1}"#),
        ("kv.put", r#"{"key":"a","value":"b"}"#),
        ("notifications.received", r#"{"runId":"x"}"#),
    ] {
        s.clamator(&["call", target, params]).ok();
    }

    let pending = s.clamator(&["pending", "kv"]).ok().stdout;
    assert!(
        pending.contains("kv: 1 pending") && pending.contains("kv:holder") && pending.contains("kv.put"),
        "{pending}"
    );

    let dry = s.clamator(&["cleanup", "--dead-after", "2s"]).ok().stdout;
    assert!(dry.contains("delete consumer") && dry.contains("kv:gone"), "{dry}");
    assert!(dry.contains("keep (holds entries)") && dry.contains("kv:holder"), "{dry}");
    assert!(dry.contains(&old_replies) && dry.contains("dry run: nothing deleted"), "{dry}");
    let consumers = |group: &str| -> Vec<String> {
        let rows: Vec<Vec<redis::Value>> = s.cmd(&["XINFO", "CONSUMERS", &format!("{p}:cmds:{group}"), group]);
        rows.into_iter().map(|r| redis::from_redis_value::<String>(r[1].clone()).unwrap()).collect()
    };
    assert!(consumers("kv").contains(&"kv:gone".to_owned()), "the dry run deleted");

    let billing_before = consumers("billing");
    let done = s.clamator(&["cleanup", "--dead-after", "2s", "--yes"]).ok().stdout;
    assert!(
        done.contains("deleted consumer kv:gone") && done.contains("1 consumer(s), 1 reply stream(s) deleted"),
        "{done}"
    );
    let kv_consumers = consumers("kv");
    assert!(
        !kv_consumers.contains(&"kv:gone".to_owned()) && kv_consumers.contains(&"kv:holder".to_owned()),
        "{kv_consumers:?}"
    );
    assert_eq!(kv_consumers.len(), 2, "the live Python consumer stays: {kv_consumers:?}");
    assert_eq!(consumers("arith").len(), 1);
    assert_eq!(consumers("billing"), billing_before, "the Rust server's consumer stays");
    let listed = s.clamator(&["--json", "services"]).ok().json();
    assert_eq!(service(&listed, "billing")["consumers"][0]["name"], format!("billing:{}", rust.instance_id()));
    assert_eq!(s.cmd::<i64>(&["EXISTS", &old_replies]), 0);
    rust.stop();
}

#[test]
fn discovery_entries_expire_after_a_server_is_killed() {
    let s = Scene::new("expire");
    let p = s.prefix.clone();
    let stopped = RustServer::start(&s, false, |b| b);
    let killed = RustServer::start(&s, false, |b| b);
    let instances =
        || s.clamator(&["--json", "services"]).ok().json()["services"][0]["instances"].as_array().unwrap().len();
    assert_eq!(instances(), 2);
    // A clean stop removes the instance at once.
    stopped.stop();
    assert_eq!(instances(), 1);
    // A killed server's entries expire after three heartbeats (3 x 200 ms here).
    let id = killed.instance_id();
    killed.kill();
    assert!(eventually(Duration::from_secs(3), || instances() == 0), "the killed instance never expired");
    assert_eq!(s.cmd::<i64>(&["EXISTS", &format!("{p}:srv:billing:instance:{id}")]), 0);
    let text = s.clamator(&["describe", "billing"]).ok().stdout;
    assert!(text.contains("no description published"), "{text}");
}

#[test]
fn manifest_check_detects_a_changed_params_type() {
    let s = Scene::new("manifest");
    let dir = std::env::temp_dir().join(format!("clamator-cli-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("manifest.json");
    let v1 = RustServer::start(&s, false, |b| b);
    let manifest = s.clamator(&["manifest"]).ok().json();
    assert!(manifest["generatedBy"].as_str().unwrap().starts_with("clamator-rs "));
    assert_eq!(manifest["contracts"]["billing"]["charge"]["paramsHash"].as_str().unwrap().len(), 64);
    assert_eq!(manifest["contracts"]["billing"]["audit"]["resultHash"], Value::Null);
    std::fs::write(&file, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    let same = s.clamator(&["manifest", "--check", file.to_str().unwrap()]).ok().stdout;
    assert!(same.contains("no drift"), "{same}");
    v1.stop();

    let _v2 = RustServer::start(&s, true, |b| b);
    let drift = s.clamator(&["manifest", "--check", file.to_str().unwrap()]);
    assert_eq!(drift.code, 1, "{drift:?}");
    assert!(drift.stdout.contains("drift billing.charge: params schema changed"), "{drift:?}");
    assert_eq!(drift.stdout.lines().count(), 1, "only the params changed: {drift:?}");
    let json = s.clamator(&["--json", "manifest", "--check", file.to_str().unwrap()]).json();
    assert_eq!(json["drift"][0]["change"], "paramsChanged");
    assert_eq!(json["drift"][0]["method"], "billing.charge");
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

#[test]
fn contract_schemas_manifest_and_drift_from_the_code() {
    use clamator::redis::discovery::{compare_manifests, describe_contract, manifest, openrpc, Drift};
    use clamator::Contract;

    // Schemas from the contract's schemars derives; none for types without the derive.
    let schemas = BillingContract::schemas();
    assert_eq!(schemas.len(), 2);
    assert_eq!(schemas[0].method, "charge");
    assert_eq!(schemas[0].params.as_ref().unwrap()["properties"]["cents"]["minimum"], 1);
    assert_eq!(schemas[0].result.as_ref().unwrap()["title"], "Receipt");
    assert_eq!((schemas[1].method, schemas[1].result.is_none()), ("audit", true));
    assert_eq!(PlainContract::schemas()[0].params, None);

    // The OpenRPC document and the manifest of a contract; a changed params type is drift.
    let doc = openrpc(&describe_contract::<BillingContract>());
    assert_eq!(doc["methods"][0]["name"], "billing.charge");
    let committed = manifest(&[describe_contract::<BillingContract>()]);
    assert!(compare_manifests(&committed, &committed, None).is_empty());
    let next = manifest(&[describe_contract::<BillingV2Contract>()]);
    let drift = compare_manifests(&committed, &next, None);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(matches!(&drift[0], Drift::ParamsChanged { method, .. } if method == "billing.charge"), "{drift:?}");
    assert!(drift[0].to_string().starts_with("billing.charge: params schema changed"));
}
