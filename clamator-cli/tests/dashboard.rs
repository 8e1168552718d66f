//! `clamator dashboard` over HTTP against a real redis-server with a Rust server (`billing`)
//! running: the page and its headers, the JSON endpoints, the event stream, p50/p99 of
//! processing time and queue wait over the window, the actions and every refusal
//! (read-only, token, a non-loopback address without a token).

mod common;
mod dashboard_support;

use std::time::Duration;

use common::*;
use dashboard_support::*;
use serde_json::Value;

#[test]
fn page_overview_service_and_events_read_only() {
    let s = Scene::new("dash-http");
    let _rust = RustServer::start(&s, false, |b| b);
    let d = Dashboard::start(&s, &[]);

    // the page: embedded, and kept to its own script by the CSP
    let page = d.get("/");
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let csp = page.header("content-security-policy").expect("a CSP header");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(page.body.contains(r#"<script src="/assets/app.js">"#), "{}", page.body);
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let js = d.get("/assets/dom.js");
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(!js.body.contains(".innerHTML"), "wire data must never go through innerHTML");
    assert_eq!(d.get("/assets/nope.js").status, 404);

    // the overview: billing live and healthy, then its calls counted
    assert!(
        eventually(Duration::from_secs(5), || d.service("billing").is_some_and(|b| b["consumers"]["live"] == 1)),
        "billing never showed live: {:?}",
        d.get("/api/overview")
    );
    let billing = d.service("billing").unwrap();
    assert_eq!(billing["instances"], 1);
    assert_eq!(billing["problems"], serde_json::json!([]), "{billing}");
    for cents in 1..=5 {
        s.clamator(&["call", "billing.charge", &format!(r#"{{"account":"ada","cents":{cents}}}"#)]).ok();
    }
    s.clamator(&["call", "billing.charge", r#"{"account":"frozen","cents":1}"#]);
    assert!(
        eventually(Duration::from_secs(5), || d.service("billing").is_some_and(|b| b["requests"] == 6)),
        "the calls never showed: {:?}",
        d.service("billing")
    );
    let billing = d.service("billing").unwrap();
    assert_eq!(billing["errors"], 1);
    assert!(billing["meanMs"].as_f64().unwrap() > 0.0, "{billing}");
    assert!(billing["latency"]["processing"]["p50Ms"].as_f64().unwrap() > 0.0, "{billing}");
    assert!(billing.get("oldestWaitingMs").is_some(), "{billing}");
    assert!(
        billing["history"]["calls"].as_array().unwrap().iter().any(|v| v.as_f64().unwrap() > 0.0),
        "the sparkline has the calls: {billing}"
    );
    let overview = d.json("/api/overview");
    assert_eq!(overview["allowActions"], false);
    assert_eq!(overview["prefix"], s.prefix.as_str());

    // a service page: methods with schemas and stats, instances, consumers
    let page = d.json("/api/services/billing");
    let charge = page["methods"].as_array().unwrap().iter().find(|m| m["name"] == "charge").unwrap().clone();
    assert_eq!(charge["kind"], "method");
    assert_eq!(charge["paramsSchema"]["properties"]["cents"]["type"], "integer");
    assert_eq!(charge["stats"]["requests"], 6);
    assert_eq!(charge["stats"]["lastError"]["code"], -31001);
    assert_eq!(page["instances"][0]["version"], "1.4.2");
    assert_eq!(page["consumers"][0]["state"], "live");
    assert_eq!(page["deadLetters"]["total"], 0);
    assert_eq!(page["allowActions"], false);
    let missing = d.get("/api/services/nosuch");
    assert_eq!(missing.status, 404, "{missing:?}");

    // live updates as server-sent events
    let events = first_event(&d.addr);
    assert!(events.contains("text/event-stream") && events.contains(r#""name":"billing""#), "{events}");

    // read-only: every action refused
    for path in [
        "/api/services/billing/dead/1-0/replay",
        "/api/services/billing/dead/1-0/purge",
        "/api/services/billing/dead/purge-all",
    ] {
        let refused = http(&d.addr, "POST", path, &[("X-Clamator-Action", "1")]);
        assert_eq!(refused.status, 403, "{path}: {refused:?}");
        assert!(refused.json()["error"].as_str().unwrap().contains("--allow-actions"));
    }
}

/// `n` calls of `billing.charge` for account `account` sent at once (one client), answered.
fn calls_at_once(s: &Scene, n: u64, account: &str, cents: u64) {
    use clamator::redis::RedisRpcClient;
    use clamator::{CallOptions, RpcClient};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = RedisRpcClient::builder(s.prefix.clone()).url(s.url()).build().unwrap();
        client.start().await.unwrap();
        let params = serde_json::json!({ "account": account, "cents": cents });
        let calls = (0..n).map(|_| client.call_value("billing", "charge", params.clone(), CallOptions::default()));
        for outcome in futures_util::future::join_all(calls).await {
            outcome.unwrap();
        }
        client.stop().await;
    });
}

/// The `p50Ms` or `p99Ms` of `what` (`processing`, `queueWait`) in a `latency` object.
fn ms(latency: &Value, what: &str, q: &str) -> f64 {
    latency[what][q].as_f64().unwrap_or_else(|| panic!("no {what}.{q}: {latency}"))
}

#[test]
fn percentiles_of_processing_and_queue_wait_over_the_window() {
    let s = Scene::new("dash-latency");
    // concurrency 1: calls sent together wait for each other in the stream
    let _rust = RustServer::start(&s, false, |b| b);
    let d = Dashboard::start(&s, &["--window", "3s"]);
    // 8 calls at once, 50 ms each: processing ≥ 50 ms, and they wait 0, 50, ..., 350 ms
    calls_at_once(&s, 8, "slow", 50);
    let latency = || d.service("billing").map(|b| b["latency"].clone()).unwrap_or(Value::Null);
    assert!(
        eventually(Duration::from_secs(3), || latency()["processing"]["count"] == 8),
        "the calls never showed: {}",
        latency()
    );
    let l = latency();
    assert_eq!(l["queueWait"]["count"], 8, "{l}");
    assert!(ms(&l, "processing", "p50Ms") >= 50.0 && ms(&l, "processing", "p99Ms") < 1_000.0, "{l}");
    assert!(ms(&l, "processing", "p50Ms") <= ms(&l, "processing", "p99Ms"), "{l}");
    assert!(ms(&l, "queueWait", "p50Ms") >= 50.0 && ms(&l, "queueWait", "p99Ms") >= 200.0, "{l}");
    assert!(ms(&l, "queueWait", "p99Ms") < 2_000.0, "{l}");
    // the same per method, on the service page; the published histograms added up
    let page = d.json("/api/services/billing");
    let charge = page["methods"].as_array().unwrap().iter().find(|m| m["name"] == "charge").unwrap().clone();
    assert!(ms(&charge["latency"], "processing", "p50Ms") >= 50.0, "{charge}");
    assert_eq!(charge["latency"]["queueWait"]["count"], 8, "{charge}");
    assert_eq!(charge["stats"]["processingHistogram"]["scheme"], "log2x4-us");
    assert!(page.get("oldestWaitingMs").is_some());
    let audit = page["methods"].as_array().unwrap().iter().find(|m| m["name"] == "audit").unwrap().clone();
    assert_eq!(audit["latency"]["processing"]["count"], 0);
    assert_eq!(audit["latency"]["processing"]["p50Ms"], Value::Null);

    // once the slow calls are older than the window, only newer calls count
    assert!(
        eventually(Duration::from_secs(8), || {
            let l = latency();
            l["windowSeconds"].is_number() && l["processing"]["count"] == 0
        }),
        "the slow calls never left the window: {}",
        latency()
    );
    calls_at_once(&s, 4, "ada", 1);
    assert!(
        eventually(Duration::from_secs(3), || latency()["processing"]["count"] == 4),
        "the fast calls never showed: {}",
        latency()
    );
    let l = latency();
    assert!(ms(&l, "processing", "p99Ms") < 50.0, "{l}");
    assert!(l["windowSeconds"].as_f64().unwrap() >= 3.0, "{l}");
}

#[test]
fn actions_token_and_red_states() {
    let s = Scene::new("dash-actions");
    let _rust = RustServer::start(&s, false, |b| b.claim_idle(Duration::from_millis(100)).max_deliveries(Some(1)));
    let d = Dashboard::start(&s, &["--allow-actions", "--token", "s3cret"]);
    let auth = [("Authorization", "Bearer s3cret")];

    // the token: refused without it, on the page as on the API; a ?token= visit gets a cookie
    assert_eq!(d.get("/").status, 401);
    assert_eq!(d.get("/api/overview").status, 401);
    assert_eq!(http(&d.addr, "GET", "/api/overview", &[("Authorization", "Bearer wrong")]).status, 401);
    let visit = d.get("/?token=s3cret");
    assert_eq!(visit.status, 200);
    let cookie = visit.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
    assert!(visit.header("set-cookie").unwrap().contains("HttpOnly"));
    assert_eq!(http(&d.addr, "GET", "/assets/app.js", &[("Cookie", &cookie)]).status, 200);

    // a poisoned request becomes a dead letter: the service turns red
    poison(&s, 7, "ada");
    let dead = || http(&d.addr, "GET", "/api/services/billing", &auth).json()["deadLetters"].clone();
    assert!(eventually(Duration::from_secs(5), || dead()["total"] == 1), "never dead-lettered: {}", dead());
    let letter = dead()["entries"][0].clone();
    assert_eq!(letter["reason"], "max-deliveries");
    assert_eq!(letter["method"], "billing.charge");
    assert_eq!(letter["params"]["account"], "ada");
    let id = letter["id"].as_str().unwrap().to_owned();
    let line = |name: &str| -> Value {
        let all = http(&d.addr, "GET", "/api/overview", &auth).json();
        all["services"].as_array().unwrap().iter().find(|s| s["name"] == name).cloned().unwrap_or(Value::Null)
    };
    assert!(
        eventually(Duration::from_secs(3), || line("billing")["problems"].to_string().contains("dead letters")),
        "{}",
        line("billing")
    );

    // actions need the header (a cross-site form cannot send it) and the token
    let replay = format!("/api/services/billing/dead/{id}/replay");
    assert_eq!(http(&d.addr, "POST", &replay, &auth).status, 403);
    assert_eq!(http(&d.addr, "POST", &replay, &[("X-Clamator-Action", "1")]).status, 401);
    let done = http(&d.addr, "POST", &replay, &[auth[0], ("X-Clamator-Action", "1")]);
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.json()["replayed"], id.as_str());
    assert_eq!(dead()["total"], 0);
    let again = http(&d.addr, "POST", &replay, &[auth[0], ("X-Clamator-Action", "1")]);
    assert_eq!(again.status, 404, "{again:?}");
    // purge: one, then all
    poison(&s, 8, "bob");
    poison(&s, 9, "eve");
    assert!(eventually(Duration::from_secs(5), || dead()["total"] == 2), "{}", dead());
    let first = dead()["entries"][0]["id"].as_str().unwrap().to_owned();
    let purged = http(
        &d.addr,
        "POST",
        &format!("/api/services/billing/dead/{first}/purge"),
        &[auth[0], ("X-Clamator-Action", "1")],
    );
    assert_eq!(purged.json()["purged"], 1);
    let all = http(&d.addr, "POST", "/api/services/billing/dead/purge-all", &[auth[0], ("X-Clamator-Action", "1")]);
    assert_eq!(all.json()["purged"], 1);
    assert_eq!(dead()["total"], 0);

    // a service nobody serves, whose backlog grows: red for both reasons
    let orphan = format!("{}:cmds:orphan", s.prefix);
    s.cmd::<String>(&["XGROUP", "CREATE", &orphan, "orphan", "$", "MKSTREAM"]);
    let grown = eventually(Duration::from_secs(6), || {
        s.cmd::<String>(&["XADD", &orphan, "*", "type", "rpc", "envelope", "{}"]);
        std::thread::sleep(Duration::from_millis(200));
        let problems = line("orphan")["problems"].to_string();
        problems.contains("no live consumer") && problems.contains("backlog growing")
    });
    assert!(grown, "{}", line("orphan"));
    assert!(line("orphan")["backlog"].as_u64().unwrap() >= 5);
}

#[test]
fn refuses_a_public_address_without_a_token() {
    let s = Scene::new("dash-public");
    let run = s.clamator(&["dashboard", "--listen", "0.0.0.0:0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("not a loopback address") && run.stderr.contains("--token"), "{run:?}");
    let empty = s.clamator(&["dashboard", "--token", ""]);
    assert_eq!(empty.code, 2, "{empty:?}");
}
