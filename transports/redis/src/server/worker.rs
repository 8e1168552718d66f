//! One service on one server: the reader that takes new entries (never more than there are
//! free handler slots), and how one entry is checked, run and handed to the completion
//! writer.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::call_options::CallOptionsField;
use crate::conn::Conn;
use clamator_core::{Context, Envelope, Metadata, Response, RpcError, ServiceTable};
use foldhash::HashSet;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::clock;
use super::completion::{Completion, CompletionQueue, Reply};
use super::reply_ttl::ReplyTtls;
use super::stats::Counter;
use super::Shared;
use crate::connection::{sleep_or_stop, Backoff};
use crate::discovery::{MethodStats, ServiceStats};
use crate::entry::RawEntry;
use crate::keys::{command_stream, consumer_group, consumer_name, dead_letter_stream, field, reply_stream};

/// How long one `XREADGROUP` blocks.
pub(super) const BLOCK: Duration = Duration::from_millis(1000);
/// The most entries a server takes beyond its free handler slots.
pub(super) const MAX_PREFETCH: u64 = 32;
/// Above concurrency 1, the reader runs entries itself only while the slowest recent handler
/// took less than this (ns).
pub(super) const INLINE_MAX_NS: u64 = 50_000;

/// One service on one server.
pub(super) struct Worker {
    pub(super) table: ServiceTable,
    pub(super) stream: String,
    pub(super) group: String,
    pub(super) consumer: String,
    pub(super) dead_stream: String,
    /// Reply streams that belong to clients of this prefix: the only keys a server refreshes
    /// the TTL of.
    pub(super) reply_prefix: String,
    /// One permit per handler slot.
    pub(super) permits: Arc<Semaphore>,
    /// Entries read or claimed and not yet acknowledged: their claims are renewed, and none
    /// of them is started twice here.
    held: Mutex<HashSet<String>>,
    pub(super) completions: CompletionQueue,
    /// When each reply stream's TTL was last refreshed.
    pub(super) reply_ttls: ReplyTtls,
    /// A decaying maximum of recent handler durations, in ns (0: none finished yet).
    pub(super) slowest_recent_ns: AtomicU64,
    /// Per-method counters, published by discovery.
    stats: Arc<ServiceStats>,
    pub(super) shared: Arc<Shared>,
}

impl Worker {
    /// A worker for `table`.
    pub(super) fn new(table: ServiceTable, shared: Arc<Shared>) -> Self {
        let settings = &shared.settings;
        let name = table.name().to_owned();
        Worker {
            stream: command_stream(&settings.prefix, &name),
            group: consumer_group(&name).to_owned(),
            consumer: consumer_name(&name, &settings.instance_id),
            dead_stream: dead_letter_stream(&settings.prefix, &name),
            reply_prefix: reply_stream(&settings.prefix, ""),
            permits: Arc::new(Semaphore::new(settings.concurrency)),
            held: Mutex::new(HashSet::default()),
            completions: CompletionQueue::default(),
            reply_ttls: ReplyTtls::default(),
            slowest_recent_ns: AtomicU64::new(0),
            stats: shared.discovery.track(table.descriptor()),
            table,
            shared,
        }
    }

    pub(super) fn held(&self) -> MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn commands(&self) -> Option<Conn> {
        self.shared.commands()
    }

    pub(super) async fn create_group(&self, conn: &mut Conn) -> redis::RedisResult<()> {
        let created = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async::<()>(conn)
            .await;
        match created {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            other => other,
        }
    }

    /// Folds one handler duration into the decaying maximum (it loses 1/16 per handler).
    fn record_duration(&self, took: Duration) {
        let took = (took.as_nanos() as u64).max(1);
        let _ = self
            .slowest_recent_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| Some(took.max(old - old / 16)));
    }

    /// After a failed command: recreate the group if Redis lost it, else back off.
    pub(super) async fn recover(&self, e: redis::RedisError, backoff: &mut Backoff) {
        if e.code() == Some("NOGROUP") {
            tracing::warn!(service = %self.table.name(), "consumer group missing (Redis lost its data?); recreating it");
            if let Some(mut conn) = self.commands() {
                match self.create_group(&mut conn).await {
                    Ok(()) => return,
                    Err(e) => tracing::error!(service = %self.table.name(), error = %e, "cannot recreate the group"),
                }
            }
        } else {
            tracing::error!(service = %self.table.name(), error = %e, "stream command failed; retrying");
        }
        sleep_or_stop(backoff.next_delay(), &self.shared.stop).await;
    }

    /// Starts one entry delivered `attempt` times, in the handler slot(s) `slot`: an entry
    /// whose caller's deadline has passed is acknowledged without running; any other runs,
    /// and its reply and acknowledgement are queued before the slot is freed, so at
    /// concurrency 1 they leave in handling order.
    /// The entry must already be in [`held`](Self::held).
    pub(super) fn start(self: &Arc<Self>, entry: RawEntry, attempt: u32, slot: OwnedSemaphorePermit) {
        let run = match self.prepare(entry, attempt) {
            Ok(run) => run,
            Err(expired) => {
                drop(slot);
                if self.completions.push(expired) {
                    let worker = Arc::clone(self);
                    self.shared.handlers.spawn(async move { worker.write_completions().await });
                }
                return;
            }
        };
        let worker = Arc::clone(self);
        self.shared.handlers.spawn(async move {
            let completion = run.await;
            worker.finish(completion, slot).await;
        });
    }

    /// Checks an entry delivered `attempt` times: the future that runs it, or, when its
    /// caller's deadline has passed, its completion (acknowledged without running).
    pub(super) fn prepare(
        self: &Arc<Self>,
        entry: RawEntry,
        attempt: u32,
    ) -> Result<impl Future<Output = Option<Completion>> + Send + 'static, Completion> {
        let options = CallOptionsField::parse(entry.field(field::CALL_OPTIONS));
        let added_ms = clock::entry_id_ms(&entry.id);
        let deadline_ms = clock::entry_deadline_ms(added_ms, options.timeout_ms);
        // Redis's time, read once for the expiry check, the deadline and the queue wait.
        let now_ms = self.shared.clock.now_ms();
        if let (Some(deadline), Some(now)) = (deadline_ms, now_ms) {
            if now >= deadline {
                tracing::debug!(service = %self.table.name(), entry = %entry.id, late_ms = now - deadline, "caller's deadline passed; acknowledged without running");
                self.shared.counters.add(Counter::Expired, 1);
                return Err(Completion { entry_id: entry.id, reply: None, ran: false });
            }
        }
        let delivery = Delivery {
            attempt,
            options,
            deadline: deadline_ms.zip(now_ms).map(|(deadline, now)| clock::local_deadline(now, deadline)),
            queue_wait: added_ms
                .zip(now_ms)
                .map(|(added, now)| Duration::from_millis(u64::try_from(now - added).unwrap_or(0))),
        };
        Ok(Arc::clone(self).handle(entry, delivery))
    }

    /// Runs one entry to its completion (`None`: the grace period ended first; the entry is
    /// then no longer held, and stays pending for reclaim).
    async fn handle(self: Arc<Self>, mut entry: RawEntry, delivery: Delivery) -> Option<Completion> {
        let started = Instant::now();
        let reply = tokio::select! {
            () = self.shared.abort.cancelled() => None,
            reply = self.process(&mut entry, delivery) => Some(reply),
        };
        self.record_duration(started.elapsed());
        match reply {
            Some(reply) => Some(Completion { entry_id: entry.id, reply, ran: true }),
            None => {
                self.held().remove(&entry.id);
                None
            }
        }
    }

    /// Queues a completion, then frees the slot: the next entry may start while this task
    /// writes (if it is the writer), and its completion queues behind this one, so replies
    /// and acknowledgements keep the handling order.
    pub(super) async fn finish(&self, completion: Option<Completion>, slot: OwnedSemaphorePermit) {
        let writer = completion.is_some_and(|c| self.completions.push(c));
        drop(slot);
        if writer {
            self.write_completions().await;
        }
    }

    /// Runs one entry and decides its reply. Every outcome is then acknowledged, so nothing
    /// blocks the stream and nothing bad is retried for ever.
    async fn process(&self, entry: &mut RawEntry, delivery: Delivery) -> Option<Reply> {
        let service = self.table.name();
        let reply_to = self.reply_to(entry);
        let Some(bytes) = entry.field(field::ENVELOPE) else {
            tracing::warn!(service, entry = %entry.id, "entry without an envelope acknowledged and dropped");
            return None;
        };
        if bytes.len() > self.shared.settings.max_payload {
            tracing::warn!(service, entry = %entry.id, size = entry.size(), "oversized envelope acknowledged and dropped");
            return None;
        }
        let ctx = Context::default()
            .with_attempt(delivery.attempt)
            .with_deadline(delivery.deadline)
            .with_queue_wait(delivery.queue_wait)
            .with_metadata(entry_metadata(entry));
        // The common request is answered without a `Value` tree; anything else (and only
        // then) is parsed again by the general path, which answers every envelope.
        let started = Instant::now();
        let ctx = match self.table.dispatch_json(ctx, bytes) {
            Ok((method, reply)) => {
                let stats = self.stats.method(method);
                let reply = reply.await;
                self.record(stats, started, delivery.queue_wait, reply.error.as_ref());
                return self.reply(&delivery.options, reply_to?, reply.json);
            }
            Err(ctx) => ctx,
        };
        let response = match Envelope::parse(bytes) {
            Ok(Envelope::Call(call)) if call.service != service => {
                tracing::warn!(service, entry = %entry.id, got = %call.service, "call for another service on this stream");
                call.id.map(|id| Response::error(Some(id), RpcError::method_not_found()))
            }
            Ok(Envelope::Call(call)) => {
                let stats = self.stats.method(&call.method);
                let started = Instant::now();
                let response = self.table.dispatch_with(ctx, call).await;
                self.record(
                    stats,
                    started,
                    delivery.queue_wait,
                    response.as_ref().and_then(|r| r.outcome.as_ref().err()),
                );
                response
            }
            Ok(Envelope::Response(_)) => {
                tracing::warn!(service, entry = %entry.id, "a response on a command stream acknowledged and dropped");
                None
            }
            Err(e) => {
                tracing::warn!(service, entry = %entry.id, error = %e, "malformed envelope");
                // Answer when the caller can be told; otherwise acknowledge and drop.
                e.id.clone().map(|id| Response::error(Some(id), e.to_rpc_error()))
            }
        };
        self.reply(&delivery.options, reply_to?, response?.to_json())
    }

    /// Counts one dispatched call in its method's statistics (`None`: not a method of this
    /// service's contract).
    fn record(
        &self,
        stats: Option<&MethodStats>,
        started: Instant,
        queue_wait: Option<Duration>,
        error: Option<&RpcError>,
    ) {
        if let Some(stats) = stats {
            let error = error.map(|e| (e.code, e.message.as_str()));
            stats.record(started.elapsed(), queue_wait, error, || self.shared.clock.now_ms());
        }
    }

    /// The entry's `reply-to`, when it names a key (taken out of the entry: no copy).
    pub(super) fn reply_to(&self, entry: &mut RawEntry) -> Option<String> {
        let service = self.table.name();
        match entry.take_field(field::REPLY_TO).map(String::from_utf8) {
            Some(Ok(key)) if key.is_empty() => {
                tracing::warn!(service, entry = %entry.id, "empty reply-to; no reply can be sent");
                None
            }
            Some(Ok(key)) => Some(key),
            Some(Err(_)) => {
                tracing::warn!(service, entry = %entry.id, "reply-to is not UTF-8; no reply can be sent");
                None
            }
            None => None,
        }
    }

    /// The reply to write (`json`, a response envelope), refreshing the reply stream's TTL when the key is a
    /// reply stream of this prefix: to the TTL the caller keeps (`reply-ttl-ms`), else to the
    /// default for callers that declare none.
    pub(super) fn reply(&self, options: &CallOptionsField, key: String, json: String) -> Option<Reply> {
        let declared = options.reply_ttl_ms;
        let fallback = self.shared.settings.default_reply_ttl.map(|ttl| ttl.as_millis() as u64);
        let ttl_ms = declared.or(fallback).filter(|&ttl| ttl > 0 && key.starts_with(&self.reply_prefix));
        Some(Reply { key, json, ttl_ms, batchable: options.reply_batch })
    }
}

/// What the transport knows of one delivery of an entry.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    attempt: u32,
    /// The caller's `call-options`.
    options: CallOptionsField,
    deadline: Option<Instant>,
    /// Time since the entry's `XADD`, on Redis's clock.
    queue_wait: Option<Duration>,
}

/// The caller's metadata: the entry's `metadata` field, a JSON object of strings (absent:
/// none; malformed: none, and logged).
fn entry_metadata(entry: &RawEntry) -> Metadata {
    let Some(raw) = entry.field(field::METADATA) else { return Metadata::new() };
    serde_json::from_slice(raw).unwrap_or_else(|e| {
        tracing::warn!(entry = %entry.id, error = %e, "metadata field is not a JSON object of strings; ignored");
        Metadata::new()
    })
}
