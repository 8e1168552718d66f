//! The JSON lane (`ServiceTable::dispatch_json`) answers exactly what the general path
//! (`Envelope::parse` + `dispatch_with`) answers (the same JSON; a struct's members keep
//! their order instead of being sorted), takes the common requests, and leaves
//! everything else to the general path without running anything.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clamator_core::{Context, Envelope, RpcError, Rules, ServiceBuilder, ServiceTable};
use serde::{Deserialize, Serialize};
use support::{Out, Params};
use validator::Validate;

#[derive(Deserialize)]
struct Pair {
    a: f64,
    b: f64,
}

#[derive(Serialize)]
struct Ratio {
    label: &'static str,
    value: f64,
}

fn service(runs: Arc<AtomicUsize>) -> ServiceTable {
    let counted = move || {
        runs.fetch_add(1, Ordering::SeqCst);
    };
    let (c1, c2, c3, c4) = (counted.clone(), counted.clone(), counted.clone(), counted);
    ServiceBuilder::new("demo")
        .method("sum", move |p: Params| {
            c1();
            async move { Ok::<_, RpcError>(Out { total: p.small_number * 20 }) }
        })
        .method("fail", |_: Params| async move { Err::<Out, _>(RpcError::new(42, "nope")) })
        .method_with_rules("divide", Rules::none(), Rules::none(), move |p: Pair| {
            c2();
            async move { Ok::<_, RpcError>(Ratio { label: "a/b, \"null\" if b is 0", value: p.a / p.b }) }
        })
        .method_with_rules("total", Rules::none(), Rules::none(), move |p: HashMap<String, u64>| {
            c3();
            async move { Ok::<u64, RpcError>(p.values().sum()) }
        })
        .method_with_context("whoAmI", move |ctx: Context, _: Empty| {
            c4();
            async move { Ok::<_, RpcError>(Who { id: ctx.id().map(ToString::to_string), attempt: ctx.attempt() }) }
        })
        .method_with_rules("boom", Rules::none(), Rules::none(), |_: Empty| async move {
            if true {
                panic!("boom in the handler");
            }
            Ok::<u64, RpcError>(0)
        })
        .notification("note", |_: Params| async move {})
        .raw_method("echo", |params| async move { Ok(params) })
        .build()
        .unwrap()
}

#[derive(Deserialize, Validate)]
struct Empty {}

#[derive(Serialize, Validate)]
struct Who {
    id: Option<String>,
    attempt: u32,
}

/// The reply of the general path, as JSON text.
async fn general(table: &ServiceTable, doc: &str) -> Option<String> {
    match Envelope::parse(doc.as_bytes()) {
        Ok(Envelope::Call(call)) => {
            table.dispatch_with(Context::default().with_attempt(3), call).await.map(|r| r.to_json())
        }
        _ => None,
    }
}

#[tokio::test]
async fn answers_as_the_general_path_does() {
    let taken = [
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":2,"items":[{"name":"a"}]},"id":"1"}"#,
        r#"{"id":7,"params":{"items":[{"name":"abc"}],"smallNumber":0},"method":"demo.sum","jsonrpc":"2.0","x":[1]}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":11,"items":[{"name":"a"}]},"id":"range"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":9,"items":[{"name":"a"}]},"id":"result too big"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":1,"items":[]},"id":"empty items"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.fail","params":{"smallNumber":1,"items":[{"name":"a"}]},"id":"f"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.divide","params":{"a":1,"b":4},"id":"q"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.divide","params":{"a":1,"b":0},"id":"inf"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.divide","params":{"a":0,"b":0},"id":"nan"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.total","params":{"x":1,"y":2},"id":"\u00e9\n"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.total","id":18446744073709551615}"#,
        r#"{"jsonrpc":"2.0","method":"demo.whoAmI","params":{},"id":"w"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.boom","params":{},"id":"p"}"#,
    ];
    let left = [
        // Params that do not decode: the general path says why.
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":"2","items":[]},"id":"type"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"items":[]},"id":"missing"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":[2,[]],"id":"array"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":null,"id":"null"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.total","params":{"x":-1},"id":"negative"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.divide","params":{"a":1e400,"b":1},"id":"overflow"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":1,"smallNumber":2,"items":[{"name":"a"}]},"id":"dup"}"#,
        // Not for this lane at all.
        r#"{"jsonrpc":"2.0","method":"demo.missing","params":{},"id":"m"}"#,
        r#"{"jsonrpc":"2.0","method":"other.sum","params":{},"id":"o"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.echo","params":{"v":1},"id":"e"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.note","params":{"smallNumber":1,"items":[{"name":"a"}]},"id":"n"}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{"smallNumber":1,"items":[{"name":"a"}]}}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{},"id":1.5}"#,
        r#"{"jsonrpc":"2.0","method":"demo.sum","params":{},"id":"x","result":1}"#,
        r#"{"jsonrpc":"2.0","method":"demo","params":{},"id":"x"}"#,
        r#"[{"jsonrpc":"2.0","method":"demo.sum","params":{},"id":"x"}]"#,
        "not json",
    ];
    let runs = Arc::new(AtomicUsize::new(0));
    let table = service(Arc::clone(&runs));
    for doc in taken {
        let expected = general(&table, doc).await;
        let ran_before = runs.load(Ordering::SeqCst);
        let (_, reply) = table
            .dispatch_json(Context::default().with_attempt(3), doc.as_bytes())
            .unwrap_or_else(|_| panic!("not taken: {doc}"));
        let reply = reply.await;
        // The same JSON (members may come in another order: a `Value` sorts them).
        let parse = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
        assert_eq!(Some(parse(&reply.json)), expected.as_deref().map(parse), "{doc}");
        let error = serde_json::from_str::<serde_json::Value>(&reply.json).unwrap().get("error").cloned();
        assert_eq!(reply.error.is_some(), error.is_some(), "{doc}");
        assert!(runs.load(Ordering::SeqCst) - ran_before <= 1, "ran once at most: {doc}");
    }
    for doc in left {
        let ran_before = runs.load(Ordering::SeqCst);
        assert!(table.dispatch_json(Context::default(), doc.as_bytes()).is_err(), "taken: {doc}");
        assert_eq!(runs.load(Ordering::SeqCst), ran_before, "nothing runs when the lane leaves a request: {doc}");
    }
}

#[tokio::test]
async fn names_the_method_and_gives_the_context() {
    let table = service(Arc::default());
    let doc = br#"{"jsonrpc":"2.0","method":"demo.whoAmI","id":"r9"}"#;
    let (method, reply) = table.dispatch_json(Context::default().with_attempt(2), doc).ok().unwrap();
    assert_eq!(method, "whoAmI");
    assert_eq!(reply.await.json, r#"{"jsonrpc":"2.0","id":"r9","result":{"id":"r9","attempt":2}}"#);
}

#[tokio::test]
async fn middleware_keeps_requests_on_the_general_path() {
    let table = service(Arc::default()).layer(tower::layer::util::Identity::new());
    let doc = br#"{"jsonrpc":"2.0","method":"demo.total","params":{"x":1},"id":"l"}"#;
    assert!(table.dispatch_json(Context::default(), doc).is_err());
}
