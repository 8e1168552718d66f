//! The raw Redis floor: the least Redis work one RPC can cost with the WIRE.md key shape and
//! no framework at all.
//!
//! - client: `XADD P:cmds:arith * type rpc envelope <json> reply-to P:replies:<id>`;
//! - server (one task, its own connection): `XREADGROUP GROUP arith arith:floor COUNT 16
//!   BLOCK 1000 STREAMS P:cmds:arith >`, then for the whole batch one pipelined round trip of
//!   `XADD <reply-to> MAXLEN ~ 1024 * type rpc envelope <json>` per entry plus one `XACK`;
//! - client reply reader (its own connection): `XREAD BLOCK 1000 STREAMS P:replies:<id> <last>`.
//!
//! The envelope is a fixed-shape ~100-byte JSON request whose UUID-shaped id carries the call
//! number; the server echoes it back unparsed as the reply envelope (no JSON work at all), and
//! the pipelined client finds the waiting caller from the id's last 12 hex digits.
//!
//! Sequential: one caller, `XADD` and the blocking `XREAD` issued together (so the reader is
//! already waiting when the reply lands), no task hop. Pipelined: N callers share one
//! multiplexed writer connection; a reply-loop task wakes them through oneshot channels.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::measure::{run_calls, Caller, Outcome, Plan};
use crate::rawredis::{connect, delete_prefix, fresh_prefix, stream_entries, Entry};

const SERVICE: &str = "arith";

fn envelope(id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"arith.add","params":{{"a":1,"b":2}},"id":"00000000-0000-4000-8000-{:012x}"}}"#,
        id & 0xffff_ffff_ffff
    )
}

/// The call number in an envelope made by [`envelope`] (ends with `-XXXXXXXXXXXX"}`).
fn id_of(envelope: &[u8]) -> Option<u64> {
    let n = envelope.len();
    let hex = std::str::from_utf8(envelope.get(n.checked_sub(14)?..n - 2)?).ok()?;
    u64::from_str_radix(hex, 16).ok()
}

struct Keys {
    prefix: String,
    cmds: String,
    replies: String,
}

impl Keys {
    fn new(scenario: &str) -> Self {
        let prefix = fresh_prefix(scenario);
        let cmds = format!("{prefix}:cmds:{SERVICE}");
        let replies = format!("{prefix}:replies:{}", uuid::Uuid::new_v4());
        Self { prefix, cmds, replies }
    }
}

/// How the floor server answers a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMode {
    /// All replies and one XACK in one pipelined round trip per batch, awaited before the next
    /// read: reading and answering alternate on one connection (the floor).
    Batched,
    /// As `Batched`, but the replies + XACK go out on a second connection without waiting, so
    /// the next read overlaps the answers to the previous batch.
    Overlapped,
    /// One awaited XADD + XACK round trip per entry, one entry after the other: what a server
    /// that holds its only handler slot until the reply is acknowledged costs (diagnostic).
    PerEntry,
}

/// Creates the group and starts the server task.
async fn start_server(url: &str, cmds: &str, mode: ServerMode) -> Result<JoinHandle<()>, String> {
    let mut conn = connect(url).await?;
    let answers = match mode {
        ServerMode::Overlapped => Some(connect(url).await?),
        _ => None,
    };
    let created: Result<Value, _> =
        redis::cmd("XGROUP").arg("CREATE").arg(cmds).arg(SERVICE).arg("$").arg("MKSTREAM").query_async(&mut conn).await;
    if let Err(e) = created {
        if !e.to_string().contains("BUSYGROUP") {
            return Err(format!("XGROUP CREATE: {e}"));
        }
    }
    let cmds = cmds.to_owned();
    Ok(tokio::spawn(async move {
        if let Err(e) = serve(conn, answers, &cmds, mode).await {
            eprintln!("floor server stopped: {e}");
        }
    }))
}

async fn serve(
    mut conn: MultiplexedConnection,
    answers: Option<MultiplexedConnection>,
    cmds: &str,
    mode: ServerMode,
) -> Result<(), redis::RedisError> {
    let consumer = format!("{SERVICE}:floor");
    loop {
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(SERVICE)
            .arg(&consumer)
            .arg("COUNT")
            .arg(16)
            .arg("BLOCK")
            .arg(1000)
            .arg("STREAMS")
            .arg(cmds)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        let entries = stream_entries(reply);
        if entries.is_empty() {
            continue;
        }
        if mode == ServerMode::PerEntry {
            for entry in &entries {
                let mut pipe = redis::pipe();
                push_echo_reply(&mut pipe, entry);
                pipe.cmd("XACK").arg(cmds).arg(SERVICE).arg(&entry.id).ignore();
                pipe.query_async::<()>(&mut conn).await?;
            }
            continue;
        }
        let mut pipe = redis::pipe();
        for entry in &entries {
            push_echo_reply(&mut pipe, entry);
        }
        let ack = pipe.cmd("XACK").arg(cmds).arg(SERVICE);
        for entry in &entries {
            ack.arg(&entry.id);
        }
        ack.ignore();
        match &answers {
            Some(answers) => {
                let mut answers = answers.clone();
                tokio::spawn(async move {
                    if let Err(e) = pipe.query_async::<()>(&mut answers).await {
                        eprintln!("floor server: replies failed: {e}");
                    }
                });
            }
            None => pipe.query_async::<()>(&mut conn).await?,
        }
    }
}

fn xadd_request(cmds: &str, replies: &str, env: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(cmds).arg("*").arg("type").arg("rpc").arg("envelope").arg(env).arg("reply-to").arg(replies);
    cmd
}

/// Queues the echo reply of `entry` (its envelope, unparsed) on its reply stream, as the
/// clamator server would: `XADD <reply-to> MAXLEN ~ 1024 * type rpc envelope <json>`.
fn push_echo_reply(pipe: &mut redis::Pipeline, entry: &Entry) {
    if let (Some(env), Some(reply_to)) = (entry.field(b"envelope"), entry.field(b"reply-to")) {
        pipe.cmd("XADD")
            .arg(reply_to)
            .arg("MAXLEN")
            .arg("~")
            .arg(1024)
            .arg("*")
            .arg("type")
            .arg("rpc")
            .arg("envelope")
            .arg(env)
            .ignore();
    }
}

struct SequentialCaller {
    writer: MultiplexedConnection,
    reader: MultiplexedConnection,
    cmds: String,
    replies: String,
    last_id: Vec<u8>,
}

impl Caller for SequentialCaller {
    async fn call(&mut self, seq: u64) -> Result<(), String> {
        let Self { writer, reader, cmds, replies, last_id } = self;
        let env = envelope(seq);
        let add = xadd_request(cmds, replies, &env);
        let mut read = redis::cmd("XREAD");
        read.arg("BLOCK").arg(1000).arg("STREAMS").arg(&*replies).arg(&*last_id);
        let (added, got) = tokio::join!(add.query_async::<Value>(writer), read.query_async::<Value>(reader));
        added.map_err(|e| format!("XADD: {e}"))?;
        let entries = stream_entries(got.map_err(|e| format!("XREAD: {e}"))?);
        let Some(last) = entries.last() else { return Err("no reply within 1 s".into()) };
        last_id.clone_from(&last.id);
        match last.field(b"envelope").and_then(id_of) {
            Some(id) if id == seq & 0xffff_ffff_ffff => Ok(()),
            other => Err(format!("reply for call {other:?}, expected {seq}")),
        }
    }
}

/// `floor/sequential`.
pub async fn sequential(plan: Plan, url: &str, scenario: &str) -> Result<Outcome, String> {
    let keys = Keys::new(scenario);
    let server = start_server(url, &keys.cmds, ServerMode::Batched).await?;
    let caller = SequentialCaller {
        writer: connect(url).await?,
        reader: connect(url).await?,
        cmds: keys.cmds.clone(),
        replies: keys.replies.clone(),
        last_id: b"0".to_vec(),
    };
    let outcome = run_calls(plan, vec![caller]).await;
    server.abort();
    let _ = server.await;
    delete_prefix(url, &keys.prefix).await?;
    Ok(outcome)
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>>;

async fn reply_loop(mut conn: MultiplexedConnection, replies: String, pending: Pending) -> Result<(), String> {
    let mut last_id = b"0".to_vec();
    loop {
        let got: Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(1000)
            .arg("STREAMS")
            .arg(&replies)
            .arg(&last_id)
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("XREAD: {e}"))?;
        let entries = stream_entries(got);
        if let Some(last) = entries.last() {
            last_id.clone_from(&last.id);
        }
        let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
        for entry in &entries {
            if let Some(waiter) = entry.field(b"envelope").and_then(id_of).and_then(|id| pending.remove(&id)) {
                let _ = waiter.send(());
            }
        }
    }
}

struct PipelinedCaller {
    writer: MultiplexedConnection,
    pending: Pending,
    next: Arc<AtomicU64>,
    cmds: Arc<str>,
    replies: Arc<str>,
}

impl Caller for PipelinedCaller {
    async fn call(&mut self, _seq: u64) -> Result<(), String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff_ffff;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).insert(id, tx);
        let env = envelope(id);
        let added = xadd_request(&self.cmds, &self.replies, &env).query_async::<Value>(&mut self.writer).await;
        if let Err(e) = added {
            self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            return Err(format!("XADD: {e}"));
        }
        match tokio::time::timeout(Duration::from_secs(10), rx).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err("reply loop gone".into()),
            Err(_) => {
                self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                Err("call timeout".into())
            }
        }
    }
}

/// The floor server of the `peer/floor-*` scenarios, run in its own process: serves
/// `{prefix}:cmds:arith` once its group exists.
pub async fn serve_prefix(url: &str, prefix: &str, mode: ServerMode) -> Result<JoinHandle<()>, String> {
    start_server(url, &format!("{prefix}:cmds:{SERVICE}"), mode).await
}

/// Callers of the pipelined floor client for a server on `prefix` (see [`serve_prefix`]), and
/// their reply loop (abort it when done).
pub async fn pipelined_callers(
    url: &str,
    prefix: &str,
    concurrency: usize,
) -> Result<(Vec<impl Caller>, JoinHandle<()>), String> {
    let cmds = format!("{prefix}:cmds:{SERVICE}");
    let replies = format!("{prefix}:replies:{}", uuid::Uuid::new_v4());
    pipelined_client(url, &cmds, &replies, concurrency).await
}

async fn pipelined_client(
    url: &str,
    cmds: &str,
    replies: &str,
    concurrency: usize,
) -> Result<(Vec<PipelinedCaller>, JoinHandle<()>), String> {
    let pending: Pending = Arc::default();
    let reader = connect(url).await?;
    let replies_task = {
        let (replies, pending) = (replies.to_owned(), Arc::clone(&pending));
        tokio::spawn(async move {
            if let Err(e) = reply_loop(reader, replies, pending).await {
                eprintln!("floor reply loop stopped: {e}");
            }
        })
    };
    let writer = connect(url).await?;
    let (next, cmds, replies) = (Arc::new(AtomicU64::new(0)), Arc::<str>::from(cmds), Arc::<str>::from(replies));
    let callers = (0..concurrency)
        .map(|_| PipelinedCaller {
            writer: writer.clone(),
            pending: Arc::clone(&pending),
            next: Arc::clone(&next),
            cmds: Arc::clone(&cmds),
            replies: Arc::clone(&replies),
        })
        .collect();
    Ok((callers, replies_task))
}

/// `floor/pipelined/cN` (and the diagnostic `diag/floor-per-entry/cN`).
pub async fn pipelined(
    plan: Plan,
    url: &str,
    scenario: &str,
    concurrency: usize,
    mode: ServerMode,
) -> Result<Outcome, String> {
    let keys = Keys::new(scenario);
    let server = start_server(url, &keys.cmds, mode).await?;
    let (callers, replies_task) = pipelined_client(url, &keys.cmds, &keys.replies, concurrency).await?;
    let outcome = run_calls(plan, callers).await;
    for task in [server, replies_task] {
        task.abort();
        let _ = task.await;
    }
    delete_prefix(url, &keys.prefix).await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::{envelope, id_of};

    #[test]
    fn envelope_ids_round_trip() {
        for id in [0, 1, 42, 0xffff_ffff_ffff] {
            let env = envelope(id);
            assert!(serde_json::from_str::<serde_json::Value>(&env).is_ok(), "{env}");
            assert_eq!(id_of(env.as_bytes()), Some(id));
        }
        assert_eq!(id_of(b"{}"), None);
    }
}
