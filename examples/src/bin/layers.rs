//! A middleware stack over the memory bus: tracing spans (with W3C trace context carried
//! from client to server), a deadline that cancels handlers whose caller has gone, and the
//! example authentication layer; a handler that reads the caller from its context.
//!
//! Run: `cargo run -p clamator-examples --bin layers`

use std::time::Duration;

use clamator::layers::{DeadlineLayer, TracingLayer};
use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{Context, IntoServiceTable, LayeredClient, RpcError};
use clamator_examples::auth::{AuthLayer, Caller, UNAUTHORIZED};
use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Debug, Serialize, Deserialize, Validate)]
struct Empty {}

#[derive(Debug, Serialize, Deserialize, Validate)]
struct Greeting {
    text: String,
}

#[clamator::contract(service = "greeter")]
trait Greeter {
    async fn hello(&self, ctx: &Context, params: Empty) -> Result<Greeting, RpcError>;
}

struct Polite;

impl Greeter for Polite {
    async fn hello(&self, ctx: &Context, _: Empty) -> Result<Greeting, RpcError> {
        let caller = ctx.extensions().get::<Caller>().map_or("stranger", |c| c.0.as_str());
        Ok(Greeting {
            text: format!(
                "hello, {caller} (request {}, attempt {})",
                ctx.id().map(ToString::to_string).unwrap_or_default(),
                ctx.attempt()
            ),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    // Outermost first: a span for every request, then the deadline, then authentication.
    let stack = tower::ServiceBuilder::new()
        .layer(TracingLayer::new())
        .layer(DeadlineLayer::new())
        .layer(AuthLayer::new("s3cret", "ada"));
    server.register_service(GreeterServer::new(Polite).into_service_table().layer(stack))?;
    server.start().await?;

    let client = MemoryRpcClient::new(&bus);
    client.start().await?;
    let traced = LayeredClient::new(client.clone(), TracingLayer::new());
    let greeter = GreeterClient::new(traced).with_timeout(Duration::from_secs(5));

    match greeter.hello(Empty {}).await {
        Err(clamator::Error::Rpc(e)) if e.code == UNAUTHORIZED => println!("without a token: {e}"),
        other => println!("without a token, unexpected: {other:?}"),
    }
    let signed = greeter.with_metadata("authorization", "Bearer s3cret");
    println!("with a token: {}", signed.hello(Empty {}).await?.text);

    client.stop().await;
    server.stop().await;
    Ok(())
}
