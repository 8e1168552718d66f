//! Completion: the replies and acknowledgements of finished entries leave in the order the
//! entries finished, batched: whatever finished together goes in one pipelined round trip
//! (replies, then one `XACK` and one `XDEL` for the whole batch).
//!
//! There is no writer task. A finished entry joins a queue; if no write is under way, the
//! task that queued it becomes the writer and writes batches until the queue is empty. So
//! there is one writer at a time (the order holds), no task hop when the server is not
//! busy, and natural batching when it is.
//!
//! Acknowledged entries are deleted at once (`XDEL`), so a command stream holds only the
//! work in flight. A reply that cannot be written (its key is not a stream, say) is logged
//! and its entry is still acknowledged, so the handler never runs again because of it.

use std::sync::Mutex;
use std::time::Instant;

use redis::Value;

use super::reply_batch::{combine, Outgoing};
use super::stats::Counter;
use super::worker::Worker;
use crate::connection::{is_connection_error, sleep_or_stop, Backoff};
use crate::keys::field;

/// The most entries written in one round trip.
const MAX_BATCH: usize = 256;

/// A reply to write.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) key: String,
    pub(crate) json: String,
    /// Refresh the reply stream's TTL to this (the caller keeps one).
    pub(crate) ttl_ms: Option<u64>,
    /// The caller reads JSON-RPC batch responses (its request had `reply-batch`), so this
    /// reply may share an entry with others to the same stream (see [`super::reply_batch`]).
    pub(crate) batchable: bool,
}

/// A finished entry: acknowledge it, after writing its reply if it has one.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) entry_id: String,
    pub(crate) reply: Option<Reply>,
    /// `false` for entries acknowledged without running (expired).
    pub(crate) ran: bool,
}

/// Appends `XADD <key> MAXLEN ~ <maxlen> * type rpc envelope <json>` to `pipe`, with the TTL
/// refresh (`PEXPIRE`) when `refresh`; returns how many commands were added. A reply with a
/// TTL that is not refreshed is `XADD <key> NOMKSTREAM ...`: it never creates a stream without
/// a TTL (see [`super::reply_ttl`]), and its result is nil when the stream is missing.
pub(crate) fn push_reply(pipe: &mut redis::Pipeline, reply: &Reply, maxlen: usize, refresh: bool) -> usize {
    // Sized once: growing the command's buffers showed in the server's profile.
    let mut add = redis::Cmd::with_capacity(12, reply.key.len() + reply.json.len() + 64);
    add.arg("XADD").arg(&reply.key);
    if reply.ttl_ms.is_some() && !refresh {
        add.arg("NOMKSTREAM");
    }
    add.arg("MAXLEN").arg("~").arg(maxlen).arg("*").arg(field::TYPE).arg("rpc").arg(field::ENVELOPE).arg(&reply.json);
    pipe.add_command(add);
    match reply.ttl_ms {
        Some(ttl) if refresh => {
            pipe.cmd("PEXPIRE").arg(&reply.key).arg(ttl);
            2
        }
        _ => 1,
    }
}

/// Finished entries waiting to be written, and whether a task is writing.
#[derive(Debug, Default)]
pub(crate) struct CompletionQueue {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    waiting: Vec<Completion>,
    writing: bool,
}

impl CompletionQueue {
    /// Queues a finished entry. `true`: no write was under way, so the caller is now the
    /// writer and must call [`Worker::write_completions`].
    pub(crate) fn push(&self, completion: Completion) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.waiting.push(completion);
        !std::mem::replace(&mut state.writing, true)
    }

    /// Queues finished entries (emptying `completions`), in order; `true` as for
    /// [`push`](Self::push).
    pub(crate) fn push_all(&self, completions: &mut Vec<Completion>) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.waiting.append(completions);
        !std::mem::replace(&mut state.writing, true)
    }

    /// The next batch for the writer, or `None` (and the writer role given up) when the
    /// queue is empty.
    fn next_batch(&self) -> Option<Vec<Completion>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.waiting.is_empty() {
            state.writing = false;
            return None;
        }
        let take = state.waiting.len().min(MAX_BATCH);
        Some(state.waiting.drain(..take).collect())
    }
}

impl Worker {
    /// The writer's loop: writes queued batches, in order, until the queue is empty.
    pub(super) async fn write_completions(&self) {
        while let Some(batch) = self.completions.next_batch() {
            self.write(&batch).await;
            let mut held = self.held();
            for c in &batch {
                held.remove(&c.entry_id);
            }
        }
    }

    /// Writes one batch: the replies (refreshing each reply stream's TTL when due), one
    /// `XACK` and one `XDEL`. A reply that found its stream missing is written again with
    /// its TTL (see [`super::reply_ttl`]).
    async fn write(&self, batch: &[Completion]) {
        let maxlen = self.shared.settings.reply_maxlen;
        let now = Instant::now();
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        // Which entry each command belongs to, for the logs, and the reply of each `XADD
        // NOMKSTREAM`.
        let outgoing = combine(batch);
        let mut owners: Vec<(&str, Option<&Reply>)> = Vec::with_capacity(outgoing.len() + 2);
        let mut refreshed: Vec<(&str, u64)> = Vec::new();
        for Outgoing { owner, reply } in &outgoing {
            let refresh = reply.ttl_ms.is_some_and(|ttl| {
                !refreshed.iter().any(|&(k, t)| k == reply.key && t == ttl) && self.reply_ttls.due(&reply.key, ttl, now)
            });
            if let (true, Some(ttl)) = (refresh, reply.ttl_ms) {
                refreshed.push((&reply.key, ttl));
            }
            let guarded = reply.ttl_ms.is_some() && !refresh;
            owners.push((owner, guarded.then_some(&**reply)));
            if push_reply(&mut pipe, reply, maxlen, refresh) == 2 {
                owners.push((owner, None));
            }
        }
        let ids: Vec<&str> = batch.iter().map(|c| c.entry_id.as_str()).collect();
        let ids_len: usize = ids.iter().map(|id| id.len() + 16).sum();
        let mut ack = redis::Cmd::with_capacity(ids.len() + 3, ids_len + self.stream.len() + self.group.len() + 48);
        ack.arg("XACK").arg(&self.stream).arg(&self.group).arg(&ids);
        let mut del = redis::Cmd::with_capacity(ids.len() + 2, ids_len + self.stream.len() + 32);
        del.arg("XDEL").arg(&self.stream).arg(&ids);
        pipe.add_command(ack).add_command(del);
        owners.extend([("(ack)", None), ("(delete)", None)]);

        let Some(results) = self.send(&pipe, batch.len()).await else { return };
        self.reply_ttls.refreshed(refreshed, now);
        let mut missing = Vec::new();
        for ((owner, guarded), result) in owners.iter().zip(results) {
            match (result, guarded) {
                (Value::ServerError(e), _) => {
                    tracing::warn!(service = %self.table.name(), entry = owner, error = ?e, "reply or acknowledgement failed");
                }
                (Value::Nil, Some(reply)) => missing.push(*reply),
                _ => {}
            }
        }
        let ran = batch.iter().filter(|c| c.ran).count();
        self.shared.counters.add(Counter::Completed, ran);
        if !missing.is_empty() {
            self.rewrite(&missing).await;
        }
    }

    /// Writes again, as `XADD` + `PEXPIRE`, replies whose stream was missing (a late reply to
    /// a client that stopped re-creates its stream, which then expires).
    async fn rewrite(&self, replies: &[&Reply]) {
        let now = Instant::now();
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for reply in replies {
            push_reply(&mut pipe, reply, self.shared.settings.reply_maxlen, true);
        }
        let Some(results) = self.send(&pipe, replies.len()).await else { return };
        if let Some(Value::ServerError(e)) = results.iter().find(|r| matches!(r, Value::ServerError(_))) {
            tracing::warn!(service = %self.table.name(), error = ?e, "reply to a re-created reply stream failed");
        }
        self.reply_ttls.refreshed(replies.iter().filter_map(|r| Some((r.key.as_str(), r.ttl_ms?))), now);
    }

    /// Sends `pipe`, retrying after connection failures until the server's grace period is
    /// over; `None` when it could not be sent (the entries then stay pending, for another
    /// server to reclaim).
    async fn send(&self, pipe: &redis::Pipeline, entries: usize) -> Option<Vec<Value>> {
        let mut backoff = Backoff::new();
        loop {
            let mut conn = self.commands()?;
            match pipe.query_async::<Vec<Value>>(&mut conn).await {
                Ok(results) => return Some(results),
                Err(e) if is_connection_error(&e) && !self.shared.abort.is_cancelled() => {
                    tracing::warn!(service = %self.table.name(), entries, error = %e, "reply/ack failed; retrying");
                    sleep_or_stop(backoff.next_delay(), &self.shared.abort).await;
                }
                Err(e) => {
                    tracing::error!(
                        service = %self.table.name(),
                        entries,
                        error = %e,
                        "could not reply/acknowledge; the entries stay pending and will be reclaimed"
                    );
                    return None;
                }
            }
        }
    }
}
