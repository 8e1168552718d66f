//! The tracing layer over a real redis-server: a test subscriber sees the `rpc.client` span
//! of a call and the `rpc.server` span of its handling with the same W3C trace id (carried
//! as `traceparent` in the entry's `metadata` field), the server span's parent being the
//! client span, and the outcome code recorded on both. (Its own test binary: it installs the
//! global subscriber.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator::layers::TracingLayer;
use clamator::redis::{RedisRpcClient, RedisRpcServer};
use clamator::{IntoServiceTable, LayeredClient};
use clamator_test_support::contracts::*;
use clamator_test_support::redis_server::RedisServer;
use clamator_test_support::unique_prefix;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// One span: its name and its fields, as strings.
type SpanRecord = (String, HashMap<String, String>);

/// Every `rpc.*` span seen.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanRecord>>>);

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}").trim_matches('"').to_owned());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Where a span's fields live while it is open.
struct Index(usize);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let name = attrs.metadata().name();
        if !name.starts_with("rpc.") {
            return;
        }
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let mut all = self.0.lock().unwrap();
        all.push((name.to_owned(), fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Index(all.len() - 1));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(index) = span.extensions().get::<Index>().map(|i| i.0) else { return };
        values.record(&mut Fields(&mut self.0.lock().unwrap()[index].1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_client_and_server() {
    let spans = Spans::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(spans.clone())).unwrap();

    let redis = RedisServer::start();
    let prefix = unique_prefix("trace");
    let server = RedisRpcServer::builder(&prefix).url(redis.url()).build().unwrap();
    let table = ArithServer::new(Calculator::default()).into_service_table().layer(TracingLayer::new());
    server.register_service(table).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(redis.url()).build().unwrap();
    client.start().await.unwrap();
    let arith =
        ArithClient::new(LayeredClient::new(client.clone(), TracingLayer::new())).with_timeout(Duration::from_secs(10));

    assert_eq!(arith.add(AddParams { a: 1.0, b: 2.0 }).await.unwrap().sum, 3.0);
    let err = arith.divide(DivideParams { a: 1.0, b: 0.0 }).await.unwrap_err();
    assert_eq!(err.as_rpc().unwrap().code, -32000);
    client.stop().await;
    server.stop().await;

    let spans = spans.0.lock().unwrap().clone();
    let of = |name: &str, method: &str| -> Vec<HashMap<String, String>> {
        spans
            .iter()
            .filter(|(n, f)| n == name && f.get("method").map(String::as_str) == Some(method))
            .map(|(_, f)| f.clone())
            .collect()
    };
    for (method, code) in [("add", "0"), ("divide", "-32000")] {
        let (clients, servers) = (of("rpc.client", method), of("rpc.server", method));
        assert_eq!((clients.len(), servers.len()), (1, 1), "{method}: {spans:?}");
        let (c, s) = (&clients[0], &servers[0]);
        assert_eq!(c["trace_id"].len(), 32);
        assert_eq!(c["trace_id"], s["trace_id"], "one trace across both processes' spans");
        assert_eq!(s["parent_span_id"], c["span_id"], "the server span's parent is the client span");
        assert_eq!((c["service"].as_str(), s["service"].as_str()), ("arith", "arith"));
        assert_eq!(s["attempt"], "1");
        assert_eq!((c["code"].as_str(), s["code"].as_str()), (code, code));
    }
    assert_ne!(of("rpc.client", "add")[0]["trace_id"], of("rpc.client", "divide")[0]["trace_id"], "a trace per call");
}
