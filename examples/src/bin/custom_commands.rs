//! Custom commands: a service assembled at run time (say, from a plugin list or a config
//! file) hosted beside a macro-generated one, on one server.
//!
//! Run: `cargo run -p clamator-examples --bin custom_commands`

use clamator::memory::{MemoryBus, MemoryRpcClient, MemoryRpcServer};
use clamator::{CallOptions, RpcClient, RpcError, ServiceBuilder};
use clamator_examples::{AddParams, ArithClient, ArithServer, Calculator};
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

#[derive(Deserialize, Validate)]
struct Repeat {
    #[validate(length(min = 1, max = 32))]
    word: String,
    #[validate(range(min = 1, max = 5))]
    times: usize,
}

#[derive(Serialize, Validate)]
struct Repeated {
    text: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Commands known only at run time: each becomes a method of the `admin` service.
    let commands = [("uptime", json!({"seconds": 42})), ("version", json!({"version": env!("CARGO_PKG_VERSION")}))];
    let mut admin = ServiceBuilder::new("admin").method("repeat", |p: Repeat| async move {
        Ok::<_, RpcError>(Repeated { text: vec![p.word; p.times].join(" ") })
    });
    for (name, answer) in commands {
        admin = admin.raw_method(name, move |_params| {
            let answer = answer.clone();
            async move { Ok(answer) }
        });
    }
    let admin = admin.build()?;

    let bus = MemoryBus::new();
    let server = MemoryRpcServer::new(&bus);
    server.register_service(ArithServer::new(Calculator::default()))?;
    server.register_service(admin)?;
    server.start().await?;

    let client = MemoryRpcClient::new(&bus);
    client.start().await?;
    let arith = ArithClient::new(client.clone());
    println!("arith.add -> {}", arith.add(AddParams { a: 1.0, b: 2.0, sleep_ms: 0 }).await?.sum);
    for method in ["uptime", "version"] {
        let r = client.call_value("admin", method, json!({}), CallOptions::default()).await?;
        println!("admin.{method} -> {r}");
    }
    let r = client.call_value("admin", "repeat", json!({"word": "hey", "times": 3}), CallOptions::default()).await?;
    println!("admin.repeat -> {r}");
    let err = client.call_value("admin", "repeat", json!({"word": "hey", "times": 9}), CallOptions::default()).await;
    println!("admin.repeat with times=9 -> {}", err.unwrap_err());

    client.stop().await;
    server.stop().await;
    Ok(())
}
