//! Reclaiming the entries of servers that died, and isolating poison requests.
//!
//! Every round looks for entries left idle past the claim idle time (`XPENDING ... IDLE`).
//! They are suspects: their server died or stalled, perhaps because of one of them. The one
//! with the fewest deliveries goes first (innocent entries that died beside a poison one
//! have fewer than it), and it runs **alone**: the reclaimer takes every handler slot of the
//! service, so nothing else runs beside it and a crash it causes takes no innocent entry
//! with it. An entry already delivered `max_deliveries` times is not run again: it is moved
//! to the dead-letter stream and its caller is told.

use std::sync::Arc;

use crate::call_options::CallOptionsField;
use crate::conn::Conn;
use clamator_core::{Envelope, Id, Response, RpcError};
use redis::RedisResult;

use super::completion::push_reply;
use super::stats::Counter;
use super::worker::Worker;
use crate::connection::{sleep_or_stop, Backoff};
use crate::dead_letter::DEAD_LETTERED;
use crate::entry::{entry_list, pending_reply, PendingEntry, RawEntry};
use crate::keys::field;

/// How many idle entries one look considers.
const LOOK_AT: usize = 64;

impl Worker {
    /// Looks for idle entries every reclaim interval, and takes them one at a time.
    pub(super) async fn reclaim_loop(self: Arc<Self>) {
        let stop = self.shared.stop.clone();
        let interval = self.shared.settings.reclaim_interval();
        let mut backoff = Backoff::new();
        loop {
            sleep_or_stop(interval, &stop).await;
            while !stop.is_cancelled() {
                match self.reclaim_one().await {
                    Ok(true) => backoff.reset(),
                    Ok(false) => break,
                    Err(e) => {
                        self.recover(e, &mut backoff).await;
                        break;
                    }
                }
            }
            if stop.is_cancelled() {
                break;
            }
        }
    }

    /// Takes the idle entry with the fewest deliveries: dead-letters it when it has had too
    /// many, else claims it and starts it alone. `Ok(false)` when nothing is idle.
    async fn reclaim_one(self: &Arc<Self>) -> RedisResult<bool> {
        let Some(mut conn) = self.commands() else { return Ok(false) };
        let claim_idle_ms = self.shared.settings.claim_idle.as_millis() as u64;
        let rows: redis::Value = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("IDLE")
            .arg(claim_idle_ms)
            .arg("-")
            .arg("+")
            .arg(LOOK_AT)
            .query_async(&mut conn)
            .await?;
        let suspect = {
            let held = self.held();
            pending_reply(rows)
                .into_iter()
                .filter(|row| !held.contains(&row.id))
                .min_by(|a, b| a.deliveries.cmp(&b.deliveries).then_with(|| stream_id_order(&a.id, &b.id)))
        };
        let Some(suspect) = suspect else { return Ok(false) };
        if self.shared.settings.max_deliveries.is_some_and(|max| suspect.deliveries >= max) {
            self.dead_letter(&mut conn, &suspect).await?;
            return Ok(true);
        }
        // Run it alone: wait until no handler of this service runs here, and hold every slot.
        let concurrency = self.shared.settings.concurrency as u32;
        let all_slots = tokio::select! {
            () = self.shared.stop.cancelled() => return Ok(false),
            slots = Arc::clone(&self.permits).acquire_many_owned(concurrency) => match slots {
                Ok(slots) => slots,
                Err(_) => return Ok(false),
            },
        };
        let Some(entry) = self.claim(&mut conn, &suspect.id).await? else {
            // Another server took it first, or it was deleted meanwhile.
            return Ok(true);
        };
        if !self.held().insert(entry.id.clone()) {
            return Ok(true); // already held here
        }
        tracing::info!(
            service = %self.table.name(),
            entry = %entry.id,
            from = %suspect.consumer,
            deliveries = suspect.deliveries + 1,
            "reclaimed an idle entry; running it alone"
        );
        self.shared.counters.add(Counter::Reclaimed, 1);
        self.start(entry, suspect.deliveries.saturating_add(1), all_slots);
        Ok(true)
    }

    /// `XCLAIM`s one entry if it is still idle (so two servers never both take it).
    async fn claim(&self, conn: &mut Conn, id: &str) -> RedisResult<Option<RawEntry>> {
        let claimed: redis::Value = redis::cmd("XCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(self.shared.settings.claim_idle.as_millis() as u64)
            .arg(id)
            .query_async(conn)
            .await?;
        Ok(entry_list(claimed).into_iter().next())
    }

    /// Moves an entry that was delivered too often to the dead-letter stream, acknowledges
    /// and deletes it, and tells its caller. The dead letter is written first: a crash in
    /// between leaves the entry pending (to be dead-lettered again), never lost.
    async fn dead_letter(&self, conn: &mut Conn, suspect: &PendingEntry) -> RedisResult<()> {
        let Some(mut entry) = self.claim(conn, &suspect.id).await? else { return Ok(()) };
        let settings = &self.shared.settings;
        let now_ms = self.shared.clock.now_ms().unwrap_or_default();
        let mut add = redis::cmd("XADD");
        add.arg(&self.dead_stream).arg("MAXLEN").arg("~").arg(settings.dead_letter_maxlen).arg("*");
        for (name, value) in &entry.fields {
            if !name.starts_with(field::DEAD_PREFIX.as_bytes()) {
                add.arg(name).arg(value);
            }
        }
        add.arg(field::DEAD_REASON)
            .arg("max-deliveries")
            .arg(field::DEAD_DELIVERIES)
            .arg(suspect.deliveries)
            .arg(field::DEAD_CONSUMER)
            .arg(&suspect.consumer)
            .arg(field::DEAD_AT_MS)
            .arg(now_ms)
            .arg(field::DEAD_ENTRY)
            .arg(&entry.id);
        let dead_id: String = add.query_async(conn).await?;

        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        pipe.cmd("XACK").arg(&self.stream).arg(&self.group).arg(&entry.id).ignore();
        pipe.cmd("XDEL").arg(&self.stream).arg(&entry.id).ignore();
        let caller = self.reply_to(&mut entry).zip(request_id(&entry));
        if let Some((key, id)) = caller {
            let error = RpcError::new(DEAD_LETTERED, "Request dead-lettered").with_data(serde_json::json!({
                "reason": "max-deliveries",
                "deliveries": suspect.deliveries,
                "deadLetterStream": self.dead_stream,
                "deadLetterId": dead_id,
            }));
            let options = CallOptionsField::parse(entry.field(field::CALL_OPTIONS));
            if let Some(reply) = self.reply(&options, key, Response::error(Some(id), error).to_json()) {
                push_reply(&mut pipe, &reply, settings.reply_maxlen, true);
            }
        }
        pipe.query_async::<()>(conn).await?;
        self.shared.counters.add(Counter::DeadLettered, 1);
        tracing::warn!(
            service = %self.table.name(),
            entry = %entry.id,
            deliveries = suspect.deliveries,
            last_consumer = %suspect.consumer,
            dead_letter = %dead_id,
            "request delivered too many times without completing; dead-lettered"
        );
        Ok(())
    }
}

/// The request id of an entry's envelope, when one can be read.
fn request_id(entry: &RawEntry) -> Option<Id> {
    match Envelope::parse(entry.field(field::ENVELOPE)?) {
        Ok(Envelope::Call(call)) => call.id,
        Ok(Envelope::Response(_)) => None,
        Err(e) => e.id,
    }
}

/// Orders stream ids (`<ms>-<seq>`) numerically.
fn stream_id_order(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |id: &str| {
        let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
        (ms.parse::<u64>().unwrap_or(u64::MAX), seq.parse::<u64>().unwrap_or(u64::MAX))
    };
    parse(a).cmp(&parse(b))
}

#[cfg(test)]
mod tests {
    use super::stream_id_order;
    use std::cmp::Ordering;

    #[test]
    fn stream_ids_order_numerically() {
        assert_eq!(stream_id_order("9-0", "10-0"), Ordering::Less);
        assert_eq!(stream_id_order("10-2", "10-10"), Ordering::Less);
        assert_eq!(stream_id_order("10-2", "10-2"), Ordering::Equal);
    }
}
