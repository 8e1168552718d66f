//! TLS and ACLs on a real redis-server: `rediss://` with a CA made at test time, the clear
//! errors around it, and the least-privilege ACL user of the deployment guide (serves and
//! calls under its prefix, touches no other key).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator::redis::redis::{self, aio::ConnectionManager};
use clamator::redis::{ConnectionOptions, RedisRpcClient, RedisRpcServer, ACL_COMMANDS};
use clamator::{CallOptions, RpcClient, TransportError};
use clamator_test_support::counting::Executions;
use clamator_test_support::redis_server::{RedisOptions, RedisServer};
use clamator_test_support::unique_prefix;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

async fn call_once(options: ConnectionOptions, prefix: &str) -> Result<(), TransportError> {
    let executions = Executions::default();
    let server = RedisRpcServer::builder(prefix).options(options.clone()).build()?;
    server.register_service(executions.service()).unwrap();
    server.start().await.map_err(|e| TransportError::Connection { message: e.to_string(), source: None })?;
    let client = RedisRpcClient::builder(prefix).options(options).build()?;
    client.start().await?;
    let r = client.call_value("tally", "hit", json!({"key": "k"}), CallOptions::default()).await.unwrap();
    assert_eq!(r, json!({"key": "k", "runs": 1}));
    client.stop().await;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_private_ca_serves_and_calls() {
    let redis = RedisServer::start_with(RedisOptions::tls());
    let prefix = unique_prefix("tls");
    let options = ConnectionOptions::new().url(redis.tls_url()).tls_ca_pem(redis.ca_pem());
    call_once(options, &prefix).await.unwrap();

    // Without the CA the certificate is not trusted: a connection error at start, no panic.
    let untrusted = RedisRpcClient::builder(&prefix).url(redis.tls_url()).build().unwrap();
    let err = untrusted.start().await.unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
    eprintln!("untrusted certificate: {err}");

    // Plain text to the TLS port is refused too (no hang).
    let plain = format!("redis://127.0.0.1:{}", redis.tls_url().rsplit(':').next().unwrap());
    let client = RedisRpcClient::builder(&prefix).url(plain).build().unwrap();
    let err = tokio::time::timeout(Duration::from_secs(15), client.start()).await.expect("no hang").unwrap_err();
    assert!(matches!(err, TransportError::Connection { .. }), "{err:?}");
}

#[test]
fn bad_urls_say_why_without_the_password() {
    let err = RedisRpcClient::builder("p").url("redis://app:s3cret@127.0.0.1:notaport").build().unwrap_err();
    let message = err.to_string();
    assert!(!message.contains("s3cret"), "{message}");
    assert!(message.starts_with("connection error: invalid Redis URL redis://app:***@"), "{message}");
    assert!(
        message.len() > "connection error: invalid Redis URL redis://app:***@127.0.0.1:notaport: ".len(),
        "the cause is in the message: {message}"
    );
}

/// Counts the transport's warnings and errors (a refused command in a loop shows as one).
#[derive(Clone, Default)]
struct Complaints(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: Subscriber> Layer<S> for Complaints {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() <= Level::WARN && meta.target().starts_with("clamator_over_redis") {
            let mut text = String::new();
            event.record(&mut Message(&mut text));
            self.0.lock().unwrap().push(text);
        }
    }
}

async fn connect(url: &str) -> ConnectionManager {
    ConnectionManager::new(redis::Client::open(url).unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_least_privilege_acl_user_serves_and_calls_and_reads_nothing_else() {
    let complaints = Complaints::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(complaints.clone()));
    let redis = RedisServer::start_private();
    let prefix = unique_prefix("acl");
    let mut admin = connect(redis.url()).await;
    let mut setuser = redis::cmd("ACL");
    setuser.arg("SETUSER").arg("app").arg("on").arg(">app-pw").arg("resetkeys").arg(format!("~{prefix}:*"));
    setuser.arg("resetchannels").arg("-@all");
    for rule in ACL_COMMANDS.split_whitespace() {
        setuser.arg(rule);
    }
    setuser.query_async::<()>(&mut admin).await.unwrap();
    redis::cmd("SET").arg("secret:key").arg("top secret").query_async::<()>(&mut admin).await.unwrap();
    let url = format!("redis://app:app-pw@127.0.0.1:{}", redis.port());

    // Serve and call with every background task running: short claim idle so leases,
    // reclaim rounds, trims and the consumer sweep all run during the calls.
    let executions = Executions::default();
    let server = RedisRpcServer::builder(&prefix).url(&url).claim_idle(Duration::from_millis(300)).build().unwrap();
    server.register_service(executions.service()).unwrap();
    server.start().await.unwrap();
    let client = RedisRpcClient::builder(&prefix).url(&url).build().unwrap();
    client.start().await.unwrap();
    for i in 0..5 {
        let key = format!("k{i}");
        let r = client
            .call_value("tally", "hit", json!({"key": key, "sleepMs": 250}), CallOptions::default())
            .await
            .unwrap();
        assert_eq!(r, json!({"key": key, "runs": 1}));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    client.stop().await;
    server.stop().await;
    let seen = complaints.0.lock().unwrap().clone();
    assert!(seen.is_empty(), "every command the transport sent was allowed: {seen:?}");

    // The same user cannot read, or write, a key outside the prefix.
    let mut app = connect(&url).await;
    let read = redis::cmd("GET").arg("secret:key").query_async::<Option<String>>(&mut app).await.unwrap_err();
    assert_eq!(read.code(), Some("NOPERM"), "{read:?}");
    let read = redis::cmd("XREAD")
        .arg("STREAMS")
        .arg("other:cmds:tally")
        .arg("0")
        .query_async::<redis::Value>(&mut app)
        .await
        .unwrap_err();
    assert_eq!(read.code(), Some("NOPERM"), "{read:?}");
    let write = redis::cmd("XADD")
        .arg("other:cmds:tally")
        .arg("*")
        .arg("a")
        .arg("b")
        .query_async::<String>(&mut app)
        .await
        .unwrap_err();
    assert_eq!(write.code(), Some("NOPERM"), "{write:?}");
    let mut keys = redis::cmd("KEYS");
    keys.arg("*");
    assert_eq!(keys.query_async::<Vec<String>>(&mut app).await.unwrap_err().code(), Some("NOPERM"));
}
