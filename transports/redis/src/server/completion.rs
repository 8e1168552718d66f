//! The completion writer: one per service, it writes the replies and acknowledgements of
//! finished entries in the order they finished, batching whatever finished together into one
//! pipelined round trip (replies, then one `XACK` and one `XDEL` for the whole batch).
//!
//! Acknowledged entries are deleted at once (`XDEL`), so a command stream holds only the
//! work in flight. A reply that cannot be written (its key is not a stream, say) is logged
//! and its entry is still acknowledged, so the handler never runs again because of it.

use std::sync::Arc;

use redis::Value;
use tokio::sync::mpsc;

use super::stats::Counter;
use super::worker::Worker;
use crate::connection::{is_connection_error, sleep_or_stop, Backoff};
use crate::keys::field;

/// The most entries written in one round trip.
const MAX_BATCH: usize = 256;

/// A reply to write.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) key: String,
    pub(crate) json: String,
    /// Refresh the reply stream's TTL to this (the caller keeps one).
    pub(crate) ttl_ms: Option<u64>,
}

/// A finished entry: acknowledge it, after writing its reply if it has one.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) entry_id: String,
    pub(crate) reply: Option<Reply>,
    /// `false` for entries acknowledged without running (expired).
    pub(crate) ran: bool,
}

/// Appends `XADD <key> MAXLEN ~ <maxlen> * type rpc envelope <json>` (and the TTL refresh)
/// to `pipe`; returns how many commands were added.
pub(crate) fn push_reply(pipe: &mut redis::Pipeline, reply: &Reply, maxlen: usize) -> usize {
    pipe.cmd("XADD")
        .arg(&reply.key)
        .arg("MAXLEN")
        .arg("~")
        .arg(maxlen)
        .arg("*")
        .arg(field::TYPE)
        .arg("rpc")
        .arg(field::ENVELOPE)
        .arg(&reply.json);
    match reply.ttl_ms {
        Some(ttl) => {
            pipe.cmd("PEXPIRE").arg(&reply.key).arg(ttl);
            2
        }
        None => 1,
    }
}

impl Worker {
    /// Writes completions until the channel closes and is drained.
    pub(super) async fn completion_loop(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Completion>) {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.write(&batch).await;
            let mut held = self.held();
            for c in &batch {
                held.remove(&c.entry_id);
            }
            drop(held);
            batch.clear();
        }
    }

    /// Writes one batch, retrying after connection failures until the server's grace period
    /// is over (the entries then stay pending, for another server to reclaim).
    async fn write(&self, batch: &[Completion]) {
        let maxlen = self.shared.settings.reply_maxlen;
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        // Which entry each command belongs to, for the logs.
        let mut owners: Vec<&str> = Vec::new();
        for c in batch {
            if let Some(reply) = &c.reply {
                let added = push_reply(&mut pipe, reply, maxlen);
                owners.extend(std::iter::repeat(c.entry_id.as_str()).take(added));
            }
        }
        let ids: Vec<&str> = batch.iter().map(|c| c.entry_id.as_str()).collect();
        pipe.cmd("XACK").arg(&self.stream).arg(&self.group).arg(&ids);
        pipe.cmd("XDEL").arg(&self.stream).arg(&ids);
        owners.extend(["(ack)", "(delete)"]);

        let mut backoff = Backoff::new();
        loop {
            let Some(mut conn) = self.commands() else { return };
            match pipe.query_async::<Vec<Value>>(&mut conn).await {
                Ok(results) => {
                    for (owner, result) in owners.iter().zip(results) {
                        if let Value::ServerError(e) = result {
                            tracing::warn!(service = %self.table.name(), entry = owner, error = ?e, "reply or acknowledgement failed");
                        }
                    }
                    let ran = batch.iter().filter(|c| c.ran).count();
                    self.shared.counters.add(Counter::Completed, ran);
                    return;
                }
                Err(e) if is_connection_error(&e) && !self.shared.abort.is_cancelled() => {
                    tracing::warn!(service = %self.table.name(), entries = batch.len(), error = %e, "reply/ack failed; retrying");
                    sleep_or_stop(backoff.next_delay(), &self.shared.abort).await;
                }
                Err(e) => {
                    tracing::error!(
                        service = %self.table.name(),
                        entries = batch.len(),
                        error = %e,
                        "could not reply/acknowledge; the entries stay pending and will be reclaimed"
                    );
                    return;
                }
            }
        }
    }
}
