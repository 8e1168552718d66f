//! The reader of one service on one server: takes new entries (never more than there are
//! free handler slots, plus a bounded prefetch), runs fast handlers itself, and drives the
//! writes of what they finished, all in one task.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::OwnedSemaphorePermit;

use super::completion::Completion;
use super::worker::{Worker, BLOCK, INLINE_MAX_NS, MAX_PREFETCH};
use crate::conn::Conn;
use crate::connection::{sleep_or_stop, Backoff};
use crate::entry::{read_reply, RawEntry};

/// Completion writes started by the reader, driven by the reader's own task.
pub(super) type Writers = FuturesUnordered<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// How many entries to take beyond the free slots: as many as the slowest recent handler
/// (`slowest_ns`, 0 before any finished) says will have started within `budget_ns` on
/// `slots` handler slots, at most [`MAX_PREFETCH`]; none without a budget or a handler time.
fn prefetch_allowance(slowest_ns: u64, budget_ns: u64, slots: u64) -> usize {
    if slowest_ns == 0 || budget_ns == 0 {
        return 0;
    }
    (budget_ns.saturating_mul(slots) / slowest_ns).min(MAX_PREFETCH) as usize
}

/// Runs `fut` to its end while driving `writers`.
///
/// The writers are polled first: when a read has just finished entries, their replies are
/// queued to Redis before the next `XREADGROUP` (at 1 in flight the reply is what the caller
/// waits for; the read only waits for the next request). Measured with a c1-only variant of
/// `bench/ab.sh`: p50 −3 µs of ~128 µs over six rounds.
async fn alongside<F: Future>(fut: F, writers: &mut Writers) -> F::Output {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            biased;
            Some(()) = writers.next(), if !writers.is_empty() => {}
            out = &mut fut => return out,
        }
    }
}

impl Worker {
    /// Takes new entries while the server runs: as many as there are free handler slots, plus
    /// the prefetch allowance.
    pub(super) async fn read_loop(self: Arc<Self>) {
        let stop = self.shared.stop.clone();
        let mut backoff = Backoff::new();
        let mut connection: Option<Conn> = None;
        let mut writers = Writers::new();
        let mut read_cmd: Option<(usize, redis::Cmd)> = None;
        while !stop.is_cancelled() {
            let conn = match &mut connection {
                Some(conn) => conn,
                None => match alongside(self.shared.settings.source.blocking(BLOCK), &mut writers).await {
                    Ok(conn) => connection.insert(conn),
                    Err(e) => {
                        tracing::error!(service = %self.table.name(), error = %e, "reader cannot connect; retrying");
                        alongside(sleep_or_stop(backoff.next_delay(), &stop), &mut writers).await;
                        continue;
                    }
                },
            };
            let slots = tokio::select! {
                () = stop.cancelled() => break,
                slots = alongside(self.free_slots(), &mut writers) => slots,
            };
            let Some(mut slots) = slots else { break };
            let count = slots.num_permits() + self.prefetch_allowance();
            // Built again only when COUNT changes: writing its arguments was ~3,000
            // instructions per read in the server's profile (one read per call at 1 in flight).
            let read_cmd = match &mut read_cmd {
                Some((built, cmd)) if *built == count => cmd,
                slot => &mut slot.insert((count, self.read_command(count))).1,
            };
            let read = read_cmd.query_async::<redis::Value>(conn);
            let result = tokio::select! {
                () = stop.cancelled() => break,
                result = alongside(read, &mut writers) => result,
            };
            match result {
                Ok(value) => {
                    backoff.reset();
                    let entries = read_reply(value);
                    // Held (so leased) from now on, including prefetched ones still waiting.
                    self.held().extend(entries.iter().map(|e| e.id.clone()));
                    let inline = self.runs_inline();
                    let mut finished = Vec::new();
                    for entry in entries {
                        // COUNT bounds the entries to the free slots, plus the prefetch
                        // allowance: those wait here, in arrival order, for a slot.
                        let slot = match slots.split(1).or_else(|| Arc::clone(&self.permits).try_acquire_owned().ok()) {
                            Some(slot) => slot,
                            None => {
                                // What finished here is queued before waiting, so that it
                                // leaves before what finishes in the meantime.
                                self.queue_finished(&mut finished, &mut writers);
                                let waited = tokio::select! {
                                    () = stop.cancelled() => None,
                                    slot = alongside(Arc::clone(&self.permits).acquire_owned(), &mut writers) => slot.ok(),
                                };
                                let Some(slot) = waited else {
                                    // Stopping: left pending (no longer leased), for reclaim.
                                    self.held().remove(&entry.id);
                                    continue;
                                };
                                slot
                            }
                        };
                        if inline {
                            self.run_here(entry, slot, &mut finished, &mut writers).await;
                        } else {
                            self.start(entry, 1, slot);
                        }
                    }
                    self.queue_finished(&mut finished, &mut writers);
                }
                Err(e) => alongside(self.recover(e, &mut backoff), &mut writers).await,
            }
        }
        // Writes under way finish in tasks of their own: `stop` waits for them.
        for writer in writers {
            self.shared.handlers.spawn(writer);
        }
    }

    /// `XREADGROUP GROUP <group> <consumer> COUNT <count> BLOCK <ms> STREAMS <stream> >`.
    fn read_command(&self, count: usize) -> redis::Cmd {
        let mut cmd = redis::Cmd::with_capacity(11, self.group.len() + self.consumer.len() + self.stream.len() + 128);
        cmd.arg("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">");
        cmd
    }

    /// How many entries to take beyond the free slots (see [`prefetch_allowance`]).
    fn prefetch_allowance(&self) -> usize {
        let slowest = self.slowest_recent_ns.load(Ordering::Relaxed);
        let budget = self.shared.settings.prefetch_budget.as_nanos() as u64;
        prefetch_allowance(slowest, budget, self.shared.settings.concurrency as u64)
    }

    /// Waits for one free handler slot, then takes every other free one too.
    async fn free_slots(&self) -> Option<OwnedSemaphorePermit> {
        let mut slots = Arc::clone(&self.permits).acquire_owned().await.ok()?;
        while let Ok(more) = Arc::clone(&self.permits).try_acquire_owned() {
            slots.merge(more);
        }
        Some(slots)
    }

    /// Queues the completions of entries run by the reader and, when none is writing, starts
    /// a writer among the reader's `writers`: one write for the whole read, and no task of its
    /// own (a spawn can wake a parked runtime thread: a futex round trip per batch).
    fn queue_finished(self: &Arc<Self>, finished: &mut Vec<Completion>, writers: &mut Writers) {
        if !finished.is_empty() && self.completions.push_all(finished) {
            let worker = Arc::clone(self);
            writers.push(Box::pin(async move { worker.write_completions().await }));
        }
    }

    /// Whether the reader runs entries itself, up to their first wait, instead of spawning a
    /// task for each: always at concurrency 1 (entries run one after the other anyway), and
    /// with more slots while recent handlers were short (a long synchronous handler would
    /// hold the reader, and the entries behind it, which separate tasks run side by side).
    fn runs_inline(&self) -> bool {
        self.shared.settings.concurrency == 1 || {
            let slowest = self.slowest_recent_ns.load(Ordering::Relaxed);
            slowest != 0 && slowest < INLINE_MAX_NS
        }
    }

    /// Runs a newly read entry in the reader until its handler first waits: an entry that
    /// finishes there (a handler that does not wait) joins `finished`, with no task and no
    /// wake-up of its own; one that waits goes on in a task of its own, after the entries
    /// finished before it are queued.
    async fn run_here(
        self: &Arc<Self>,
        entry: RawEntry,
        slot: OwnedSemaphorePermit,
        finished: &mut Vec<Completion>,
        writers: &mut Writers,
    ) {
        let run = match self.prepare(entry, 1) {
            Ok(run) => run,
            Err(expired) => return finished.push(expired),
        };
        let mut run = Box::pin(run);
        match std::future::poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await {
            Poll::Ready(completion) => {
                finished.extend(completion);
                drop(slot);
            }
            Poll::Pending => {
                self.queue_finished(finished, writers);
                let worker = Arc::clone(self);
                self.shared.handlers.spawn(async move {
                    let completion = run.await;
                    worker.finish(completion, slot).await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{prefetch_allowance, MAX_PREFETCH};

    const MS: u64 = 1_000_000;

    #[test]
    fn fast_handlers_prefetch_up_to_the_cap() {
        assert_eq!(prefetch_allowance(1_000, 2 * MS, 1), MAX_PREFETCH as usize);
        assert_eq!(MAX_PREFETCH, 32);
    }

    #[test]
    fn the_budget_bounds_the_prefetch_in_time() {
        // 100 µs handlers, one slot: 20 of them start within 2 ms.
        assert_eq!(prefetch_allowance(100_000, 2 * MS, 1), 20);
        // Two slots run two at a time.
        assert_eq!(prefetch_allowance(200_000, 2 * MS, 2), 20);
        // A handler slower than the budget: one entry per free slot again.
        assert_eq!(prefetch_allowance(3 * MS, 2 * MS, 1), 0);
    }

    #[test]
    fn no_prefetch_without_a_budget_or_before_any_handler_finished() {
        assert_eq!(prefetch_allowance(1_000, 0, 4), 0);
        assert_eq!(prefetch_allowance(0, 2 * MS, 4), 0);
        assert_eq!(prefetch_allowance(1, u64::MAX, u64::MAX), MAX_PREFETCH as usize);
    }
}
