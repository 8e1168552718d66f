//! The dashboard in headless Chromium against a real redis-server and a Rust server: the
//! overview shows the live services, follows the calls and shows their p50 / p99; a dead
//! letter whose params hold markup is shown as text and leaves after a replay from the page;
//! a read-only dashboard shows no button and refuses the action. Skips loudly where no browser is installed.

mod common;
mod dashboard_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use dashboard_support::browser::{click, eval, text, until, Driver};
use dashboard_support::*;
use fantoccini::Locator;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);
const MARKUP: &str = r#"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"#;

#[test]
fn overview_dead_letters_and_read_only_in_chromium() {
    let Some(driver) = Driver::start("overview_dead_letters_and_read_only_in_chromium") else { return };
    let s = Scene::new("dash-browser");
    let _rust = RustServer::start(&s, false, |b| b.claim_idle(Duration::from_millis(100)).max_deliveries(Some(1)));
    let _python = PythonServer::start(&s);
    let armed = Dashboard::start(&s, &["--allow-actions"]);
    let read_only = Dashboard::start(&s, &[]);
    // A 0.1.9 consumer joins its group at its first delivery.
    for (target, params) in [("kv.put", r#"{"key":"a","value":"b"}"#), ("notifications.received", r#"{"runId":"x"}"#)] {
        s.clamator(&["call", target, params]).ok();
    }
    // A service with work waiting and nobody to do it, for the red state.
    let orphan = format!("{}:cmds:reports", s.prefix);
    s.cmd::<String>(&["XGROUP", "CREATE", &orphan, "reports", "$", "MKSTREAM"]);
    for _ in 0..3 {
        s.cmd::<String>(&["XADD", &orphan, "*", "type", "rpc", "envelope", "{}"]);
    }

    // Calls flow from a thread while the browser watches.
    let flowing = Arc::new(AtomicBool::new(true));
    let caller = {
        let (url, prefix, flowing) = (s.url().to_owned(), s.prefix.clone(), flowing.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while flowing.load(Ordering::Relaxed) {
                n += 1;
                let params = format!(r#"{{"account":"ada","cents":{n}}}"#);
                run_clamator(&url, &prefix, &["call", "billing.charge", &params]);
                run_clamator(&url, &prefix, &["call", "arith.add", r#"{"a":1,"b":2}"#]);
            }
        })
    };

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let c = driver.session(1280, 900).await;

        // overview: the live services, then the calls
        c.goto(&armed.url("/")).await.unwrap();
        c.wait().at_most(WAIT).for_element(Locator::Css(r#"article[data-service="billing"]"#)).await.unwrap();
        assert!(until(WAIT, || async { text(&c, "#live").await.as_deref() == Some("live") }).await);
        let calls = r#"article[data-service="billing"] [data-field="calls"]"#;
        let moving = until(WAIT, || async {
            text(&c, calls).await.and_then(|t| t.parse::<f64>().ok()).is_some_and(|v| v > 0.0)
        })
        .await;
        assert!(moving, "calls/s never moved: {:?}", text(&c, calls).await);
        assert_eq!(
            text(&c, r#"article[data-service="billing"] [data-field="state"]"#).await.as_deref(),
            Some("healthy")
        );
        // p50 / p99 of processing time and queue wait, as "x ms / y ms"
        for field in ["processing", "queueWait"] {
            let sel = format!(r#"article[data-service="billing"] [data-field="{field}"]"#);
            let shown = until(WAIT, || async { text(&c, &sel).await.is_some_and(|t| t.contains(" ms / ")) }).await;
            assert!(shown, "{field}: {:?}", text(&c, &sel).await);
        }
        for name in ["arith", "kv", "notifications"] {
            let sel = format!(r#"article[data-service="{name}"]"#);
            assert!(text(&c, &sel).await.is_some(), "{name} (a Python 0.1.9 service) is not shown");
        }
        let red = r#"article[data-service="reports"] [data-field="state"]"#;
        assert!(until(WAIT, || async { text(&c, red).await.is_some_and(|t| t.contains("no live consumer")) }).await);
        assert_eq!(
            eval(&c, r#"return document.querySelector('article[data-service="reports"]').classList.contains("bad")"#)
                .await,
            json!(true)
        );
        // Let the sparklines fill a little, then the picture for the README.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let png = c.screenshot().await.unwrap();
        if let Some(path) = std::env::var_os("CLAMATOR_DASHBOARD_SCREENSHOT") {
            std::fs::write(&path, &png).unwrap();
        }
        flowing.store(false, Ordering::Relaxed);

        // a poisoned request with markup in its params: a dead letter, shown as text
        poison(&s, 7, MARKUP);
        let dead = r#"article[data-service="billing"] [data-field="dead"]"#;
        assert!(until(WAIT, || async { text(&c, dead).await.as_deref() == Some("1") }).await, "no dead letter shown");
        c.goto(&armed.url("/#/service/billing")).await.unwrap();
        c.wait().at_most(WAIT).for_element(Locator::Css("tr[data-dead] pre.params")).await.unwrap();
        let params = text(&c, "tr[data-dead] pre.params").await.unwrap();
        assert!(params.contains(MARKUP.replace('"', "\\\"").as_str()), "{params}");
        assert_eq!(eval(&c, "return document.querySelectorAll('#app script, #app img').length").await, json!(0));
        assert_eq!(eval(&c, "return typeof window.__pwned").await, json!("undefined"));
        assert!(text(&c, "tr[data-dead]").await.unwrap().contains("max-deliveries"));
        let per_method = text(&c, r#"tr[data-method="charge"] [data-field="processing"]"#).await.unwrap_or_default();
        assert!(per_method.contains(" ms / "), "per-method p50 / p99: {per_method:?}");

        // replay from the page: a first click asks, the second acts
        click(&c, "tr[data-dead] button[data-action=replay]").await;
        let asked = text(&c, "tr[data-dead] button[data-action=replay]").await.unwrap();
        assert_eq!(asked, "Confirm replay?");
        assert!(text(&c, "tr[data-dead]").await.is_some(), "nothing happens before the confirmation");
        click(&c, "tr[data-dead] button[data-action=replay]").await;
        assert!(until(WAIT, || async { text(&c, "tr[data-dead]").await.is_none() }).await, "the dead letter stayed");
        assert!(text(&c, ".status").await.unwrap().contains("Replay done"));
        let left = http(&armed.addr, "GET", "/api/services/billing", &[]).json();
        assert_eq!(left["deadLetters"]["total"], 0);

        // read-only: the same page without a button; the endpoint refuses the page's own script
        poison(&s, 8, "bob");
        c.goto(&read_only.url("/#/service/billing")).await.unwrap();
        c.wait().at_most(WAIT).for_element(Locator::Css("tr[data-dead]")).await.unwrap();
        assert_eq!(eval(&c, "return document.querySelectorAll('#app button').length").await, json!(0));
        assert_eq!(text(&c, "#mode").await.as_deref(), Some("read-only"));
        let id = text(&c, "tr[data-dead] code").await.unwrap();
        let path = format!("/api/services/billing/dead/{id}/replay");
        let status = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0], {method: 'POST', headers: {'X-Clamator-Action': '1'}}).then(r => done(r.status));",
                vec![json!(path)],
            )
            .await
            .unwrap();
        assert_eq!(status, json!(403));
        assert_eq!(http(&read_only.addr, "GET", "/api/services/billing", &[]).json()["deadLetters"]["total"], 1);

        // a phone's width: one column, nothing wider than the screen
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&read_only.url("/")).await.unwrap();
        c.wait().at_most(WAIT).for_element(Locator::Css(r#"article[data-service="billing"]"#)).await.unwrap();
        let overflow =
            eval(&c, "return document.documentElement.scrollWidth - document.documentElement.clientWidth").await;
        let wide = eval(
            &c,
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > \
             document.documentElement.clientWidth).map(e => e.tagName + '.' + e.className).slice(0, 5)",
        )
        .await;
        assert_eq!(overflow, json!(0), "the overview is wider than a phone: {wide}");
        c.close().await.unwrap();
    });
    flowing.store(false, Ordering::Relaxed);
    caller.join().unwrap();
}
