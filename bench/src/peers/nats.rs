//! The NATS peers, against a nats-server the bench starts on a free loopback port:
//!
//! - core NATS request/reply: the server answers on a queue subscription of
//!   `{prefix}.arith.add`; the client uses `request` (async-nats's shared reply inbox). Not
//!   durable: a request with no subscriber ready is lost.
//! - JetStream work queue: the client publishes each request to a work-queue stream (file
//!   storage) and waits for the server's PubAck (stored), with the reply subject in a
//!   `reply-to` header; the server pulls from a durable consumer, publishes the reply over
//!   core NATS and acks the message. Durable: a request stored before its server starts is
//!   served then.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::jsonrpc;
use crate::measure::Caller;

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The nats-server binary: `NATS_SERVER_BIN` when set (only it), else `nats-server` on PATH,
/// else Debian's `/usr/sbin/nats-server`.
pub fn nats_server_bin() -> Option<String> {
    let candidates = match std::env::var("NATS_SERVER_BIN") {
        Ok(bin) => vec![bin],
        Err(_) => vec!["nats-server".to_owned(), "/usr/sbin/nats-server".to_owned()],
    };
    for bin in candidates {
        let ok = Command::new(&bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if ok.is_ok_and(|s| s.success()) {
            return Some(bin);
        }
    }
    None
}

/// A private nats-server with JetStream on a free loopback port; killed on drop.
pub struct NatsServer {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl NatsServer {
    pub fn start(bin: &str) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("free port: {e}"))?
            .port();
        let dir = std::env::temp_dir().join(format!("clamator-bench-nats-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let child = Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {bin}: {e}"))?;
        let server = Self { child, dir, url: format!("nats://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("nats-server did not listen on port {port} within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn connect(url: &str) -> Result<async_nats::Client, String> {
    async_nats::connect(url).await.map_err(|e| format!("connect {url}: {e}"))
}

/// Serves core NATS requests on `{prefix}.arith.add`, one message after the other.
pub async fn serve_core(url: &str, prefix: &str) -> Result<JoinHandle<()>, String> {
    let client = connect(url).await?;
    let mut requests =
        client.queue_subscribe(format!("{prefix}.arith.add"), "arith".into()).await.map_err(|e| e.to_string())?;
    client.flush().await.map_err(|e| e.to_string())?;
    Ok(tokio::spawn(async move {
        while let Some(msg) = requests.next().await {
            if let Some(reply) = msg.reply {
                if let Err(e) = client.publish(reply, Bytes::from(jsonrpc::answer(&msg.payload))).await {
                    eprintln!("nats-core server: {e}");
                }
            }
        }
    }))
}

pub struct CoreCaller {
    client: async_nats::Client,
    subject: Arc<str>,
}

impl Caller for CoreCaller {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        let a = (seq % 1024) as f64;
        let (request, id) = jsonrpc::request(a);
        let reply =
            self.client.request(self.subject.to_string(), Bytes::from(request)).await.map_err(|e| e.to_string())?;
        jsonrpc::check_reply(&reply.payload, id, a)
    }
}

pub async fn core_callers(url: &str, prefix: &str, concurrency: usize) -> Result<Vec<CoreCaller>, String> {
    let client = async_nats::ConnectOptions::new()
        .request_timeout(Some(CALL_TIMEOUT))
        .connect(url)
        .await
        .map_err(|e| format!("connect {url}: {e}"))?;
    let subject: Arc<str> = format!("{prefix}.arith.add").into();
    Ok((0..concurrency).map(|_| CoreCaller { client: client.clone(), subject: Arc::clone(&subject) }).collect())
}

fn stream_name(prefix: &str) -> String {
    format!("{prefix}-arith")
}

/// Creates the work-queue stream and its durable pull consumer, then serves them: one message
/// after the other, reply over core NATS, then ack.
pub async fn serve_jetstream(url: &str, prefix: &str) -> Result<JoinHandle<()>, String> {
    let client = connect(url).await?;
    let js = jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(stream::Config {
            name: stream_name(prefix),
            subjects: vec![format!("{prefix}.js.arith.add")],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("create stream: {e}"))?;
    let consumer = stream
        .get_or_create_consumer(
            "arith",
            consumer::pull::Config {
                durable_name: Some("arith".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("create consumer: {e}"))?;
    let mut messages = consumer.messages().await.map_err(|e| format!("consume: {e}"))?;
    Ok(tokio::spawn(async move {
        while let Some(msg) = messages.next().await {
            let msg = match msg {
                Ok(msg) => msg,
                Err(e) => {
                    eprintln!("nats-jetstream server: {e}");
                    continue;
                }
            };
            let reply_to = msg.headers.as_ref().and_then(|h| h.get("reply-to")).map(|v| v.as_str().to_owned());
            if let Some(reply_to) = reply_to {
                if let Err(e) = client.publish(reply_to, Bytes::from(jsonrpc::answer(&msg.payload))).await {
                    eprintln!("nats-jetstream server: reply: {e}");
                }
            }
            if let Err(e) = msg.ack().await {
                eprintln!("nats-jetstream server: ack: {e}");
            }
        }
    }))
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Bytes>>>>;

pub struct JetStreamCaller {
    js: jetstream::Context,
    subject: Arc<str>,
    replies: Arc<str>,
    next: Arc<AtomicU64>,
    pending: Pending,
}

impl Caller for JetStreamCaller {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        let a = (seq % 1024) as f64;
        let (request, id) = jsonrpc::request(a);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(n, tx);
        let forget = || self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&n);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("reply-to", format!("{}.{n}", self.replies).as_str());
        let stored = async {
            let ack = self.js.publish_with_headers(self.subject.to_string(), headers, Bytes::from(request)).await?;
            ack.await.map(|_| ())
        };
        if let Err(e) = stored.await {
            forget();
            return Err(format!("publish: {e}"));
        }
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(reply)) => jsonrpc::check_reply(&reply, id, a),
            Ok(Err(_)) => Err("reply loop gone".into()),
            Err(_) => {
                forget();
                Err("call timeout".into())
            }
        }
    }
}

/// Callers of the JetStream peer, and their reply loop (abort it when done).
pub async fn jetstream_callers(
    url: &str,
    prefix: &str,
    concurrency: usize,
) -> Result<(Vec<JetStreamCaller>, JoinHandle<()>), String> {
    let client = connect(url).await?;
    let replies: Arc<str> = format!("{prefix}.js.replies.{}", uuid::Uuid::new_v4().simple()).into();
    let mut sub = client.subscribe(format!("{replies}.*")).await.map_err(|e| e.to_string())?;
    client.flush().await.map_err(|e| e.to_string())?;
    let pending: Pending = Arc::default();
    let reply_loop = {
        let pending = Arc::clone(&pending);
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let n = msg.subject.rsplit('.').next().and_then(|n| n.parse::<u64>().ok());
                let waiter = n.and_then(|n| pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&n));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(msg.payload);
                }
            }
        })
    };
    let js = jetstream::new(client);
    let subject: Arc<str> = format!("{prefix}.js.arith.add").into();
    let next = Arc::new(AtomicU64::new(0));
    let callers = (0..concurrency)
        .map(|_| JetStreamCaller {
            js: js.clone(),
            subject: Arc::clone(&subject),
            replies: Arc::clone(&replies),
            next: Arc::clone(&next),
            pending: Arc::clone(&pending),
        })
        .collect();
    Ok((callers, reply_loop))
}
