//! Criterion micro-benchmarks of the CPU work clamator does per call, without any transport:
//! envelope parsing and encoding, the shared dispatcher, and the typed client's params
//! encoding and result decoding.
//!
//! `cargo bench -p clamator-bench --bench micro`

use std::hint::black_box;

use clamator::transport::{decode_result, encode_params, Call, Envelope};
use clamator::{Context, Id, IntoServiceTable, Response, RpcError, ServiceBuilder};
use clamator_test_support::contracts::{AddParams, AddResult, ArithServer, Calculator};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;

const ID: &str = "6f1c2a4e-9b7d-4e0a-8c3f-2d5b7a9e1c04";

fn small_request() -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","method":"arith.add","params":{{"a":1.5,"b":2.5}},"id":"{ID}"}}"#).into_bytes()
}

/// An `echoText` request of exactly 16 KiB.
fn large_request() -> Vec<u8> {
    let frame = |text: &str| {
        format!(r#"{{"jsonrpc":"2.0","method":"arith.echoText","params":{{"text":"{text}"}},"id":"{ID}"}}"#)
    };
    let overhead = frame("").len();
    let text: String = "lorem ipsum dolor sit amet ".chars().cycle().take(16 * 1024 - overhead).collect();
    let bytes = frame(&text).into_bytes();
    assert_eq!(bytes.len(), 16 * 1024);
    bytes
}

fn add_call() -> Call {
    Call { service: "arith".into(), method: "add".into(), params: json!({"a": 1.5, "b": 2.5}), id: Some(Id::from(ID)) }
}

fn envelope_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("envelope/parse");
    for (name, bytes) in [("small request", small_request()), ("16 KiB request", large_request())] {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| b.iter(|| Envelope::parse(black_box(&bytes)).unwrap()));
    }
    group.finish();
}

fn envelope_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("envelope/encode");
    let call = add_call();
    group.bench_function("request", |b| b.iter(|| black_box(&call).to_json()));
    let response = Response::success(Id::from(ID), json!({"sum": 4.0}));
    group.bench_function("response", |b| b.iter(|| black_box(&response).to_json()));
    group.finish();
}

fn dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let generated = ArithServer::new(Calculator::default()).into_service_table();
    let built = ServiceBuilder::new("arith")
        .method("add", |p: AddParams| async move { Ok::<_, RpcError>(AddResult { sum: p.a + p.b }) })
        .build()
        .unwrap();
    let call = add_call();

    let mut group = c.benchmark_group("dispatch");
    for (name, table) in [("typed add (generated ArithServer)", &generated), ("typed add (ServiceBuilder)", &built)] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_batched(|| call.clone(), |call| table.dispatch(call), BatchSize::SmallInput)
        });
    }
    // The whole server-side CPU path of one request: parse, dispatch, encode the reply.
    let request = small_request();
    group.bench_function("parse + dispatch + encode (generated)", |b| {
        b.to_async(&rt).iter(|| async {
            let Ok(Envelope::Call(call)) = Envelope::parse(black_box(&request)) else { unreachable!() };
            generated.dispatch(call).await.unwrap().to_json()
        })
    });
    group.finish();
}

fn client_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("client");
    let params = AddParams { a: 1.5, b: 2.5 };
    group.bench_function("encode_params AddParams", |b| b.iter(|| encode_params(black_box(&params)).unwrap()));
    let result = json!({"sum": 4.0});
    group.bench_function("decode_result AddResult", |b| {
        b.iter_batched(|| result.clone(), |v| decode_result::<AddResult>(v).unwrap(), BatchSize::SmallInput)
    });
    group.finish();
}

/// What the middleware costs per request: the generated table's dispatch, bare and with each
/// layer clamator ships (no subscriber or recorder installed: the cost of the layer itself).
fn layers(c: &mut Criterion) {
    use clamator::layers::{DeadlineLayer, MetricsLayer, TracingLayer};
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let bare = || ArithServer::new(Calculator::default()).into_service_table();
    let stacks = [
        ("no layers", bare()),
        ("tracing", bare().layer(TracingLayer::new())),
        ("metrics", bare().layer(MetricsLayer::new())),
        ("deadline", bare().layer(DeadlineLayer::new())),
        (
            "tracing + metrics + deadline",
            bare().layer(
                tower::ServiceBuilder::new()
                    .layer(TracingLayer::new())
                    .layer(MetricsLayer::new())
                    .layer(DeadlineLayer::new()),
            ),
        ),
    ];
    let call = add_call();
    let mut group = c.benchmark_group("layers");
    for (name, table) in &stacks {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter_batched(
                || (Context::default(), call.clone()),
                |(ctx, call)| table.dispatch_with(ctx, call),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, envelope_parse, envelope_encode, dispatch, client_codec, layers);
criterion_main!(benches);
