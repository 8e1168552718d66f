//! [`Inspector`]: what runs under a prefix, read from the discovery keys and from the
//! streams and groups themselves (so Python 0.1.9 servers show too).

use std::collections::BTreeSet;
use std::time::Duration;

use clamator_core::TransportError;
use redis::aio::ConnectionManager;
use redis::Value;
use serde::Serialize;

use super::document::InstanceInfo;
use super::xinfo::{fields, get_int, get_text, id_ms, int, items, text};
use super::{instance_key, instances_key, services_key};
use crate::entry::pending_reply;
use crate::keys::{command_stream, consumer_group, dead_letter_stream};

/// How an [`Inspector`] reads.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InspectOptions {
    /// Also find services by `SCAN MATCH P:cmds:*` (default `true`): the only way to see the
    /// services only 0.1.9 servers host, which publish nothing. On a cluster the scan covers
    /// the node connected to only.
    pub scan: bool,
    /// A consumer that is not a published instance and has been idle this long is dead
    /// (default 1 h, the servers' own `dead_consumer_idle`).
    pub dead_after: Duration,
    /// A consumer idle less than this is live even when it publishes nothing (default 60 s).
    pub live_within: Duration,
}

impl Default for InspectOptions {
    fn default() -> Self {
        Self { scan: true, dead_after: Duration::from_secs(3600), live_within: Duration::from_secs(60) }
    }
}

/// The state of a consumer, as far as the group and discovery tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerState {
    /// A published instance, or a consumer that read recently.
    Live,
    /// Quiet, but not for long enough to be called dead (a quiet 0.1.9 server looks so:
    /// Redis 7.0 does not reset `idle` on an empty read).
    Idle,
    /// Not published and idle past [`InspectOptions::dead_after`].
    Dead,
}

/// One consumer of a service's group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConsumerInfo {
    /// `<service>:<instance id>`.
    pub name: String,
    /// Entries delivered to it and not yet acknowledged.
    pub pending: u64,
    /// Since its last read or claim, ms (Redis's `idle`).
    pub idle_ms: i64,
    /// Whether it is a published (Rust) instance that is alive.
    pub published: bool,
    /// Live, idle or dead.
    pub state: ConsumerState,
}

/// A service's consumer group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GroupInfo {
    /// Entries delivered and not acknowledged, all consumers together.
    pub pending: u64,
    /// Entries in the stream not yet delivered to the group (`None` when Redis cannot tell,
    /// e.g. after deletions, or before Redis 7.0).
    pub lag: Option<u64>,
    /// The id of the last entry delivered.
    pub last_delivered_id: String,
}

/// Everything known about one service under a prefix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceOverview {
    /// The service name.
    pub name: String,
    /// Entries in `P:cmds:<service>` (a Rust server deletes what it acknowledges, so this is
    /// about the work waiting or in flight).
    pub stream_length: u64,
    /// The age of the oldest entry not yet acknowledged (pending, or not yet delivered),
    /// ms: how long the oldest waiting request has waited (`None`: nothing waits).
    /// Acknowledged entries a 0.1.9 server left in the stream do not count.
    pub oldest_waiting_ms: Option<i64>,
    /// The consumer group, when it exists.
    pub group: Option<GroupInfo>,
    /// Its consumers.
    pub consumers: Vec<ConsumerInfo>,
    /// Published (Rust) instances that are alive.
    pub instances: Vec<InstanceInfo>,
    /// Entries in `P:dead:<service>`.
    pub dead_letters: u64,
}

impl ServiceOverview {
    /// How many consumers are in `state`.
    pub fn consumers_in(&self, state: ConsumerState) -> usize {
        self.consumers.iter().filter(|c| c.state == state).count()
    }

    /// Requests handled by its live instances since they started, all methods together.
    pub fn requests(&self) -> u64 {
        self.instances.iter().flat_map(|i| &i.methods).map(|m| m.stats.requests).sum()
    }

    /// Errors answered by its live instances since they started.
    pub fn errors(&self) -> u64 {
        self.instances.iter().flat_map(|i| &i.methods).map(|m| m.stats.errors).sum()
    }
}

/// One pending entry of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PendingEntryInfo {
    /// The entry id on the command stream.
    pub id: String,
    /// The consumer holding it.
    pub consumer: String,
    /// Since it was last delivered or claimed, ms.
    pub idle_ms: i64,
    /// How many times it has been delivered.
    pub deliveries: u32,
    /// Its `method`, when the entry is still in the stream and readable.
    pub method: Option<String>,
}

/// The pending entries of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PendingReport {
    /// The service.
    pub service: String,
    /// How many entries are pending in all.
    pub total: u64,
    /// The first ones, oldest first.
    pub entries: Vec<PendingEntryInfo>,
}

fn failed(what: &str, e: redis::RedisError) -> TransportError {
    TransportError::connection(format!("inspect: {what} failed"), e)
}

/// Reads what runs under one prefix: discovery documents, streams, groups, consumers and
/// pending entries. Read-only except for [`cleanup`](Self::cleanup).
///
/// ```no_run
/// # async fn demo() -> Result<(), clamator_core::TransportError> {
/// use clamator_over_redis::discovery::{InspectOptions, Inspector};
///
/// let inspector = Inspector::connect("redis://127.0.0.1:6379", "myapp").await?;
/// for service in inspector.services(&InspectOptions::default()).await? {
///     println!("{}: {} waiting, {} instances", service.name, service.stream_length, service.instances.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Inspector {
    pub(super) conn: ConnectionManager,
    pub(super) prefix: String,
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Inspector {
    /// Over an existing connection.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self { conn, prefix: prefix.into() }
    }

    /// Connects to `url` (checked with a `PING`); `rediss://` with the `tls` feature.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, TransportError> {
        let client = crate::tls::open_client(url, &crate::tls::TlsSettings::default())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let mut conn = ConnectionManager::new_with_config(client, config).await.map_err(|e| failed("connect", e))?;
        redis::cmd("PING").query_async::<()>(&mut conn).await.map_err(|e| failed("PING", e))?;
        Ok(Self::new(conn, prefix))
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The connection (to share with [`DeadLetters`](crate::DeadLetters), say).
    pub fn connection(&self) -> &ConnectionManager {
        &self.conn
    }

    pub(super) async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
        what: &str,
    ) -> Result<T, TransportError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn).await.map_err(|e| failed(what, e))
    }

    /// Redis's clock, Unix ms.
    pub async fn now_ms(&self) -> Result<i64, TransportError> {
        let (secs, micros): (i64, i64) = self.query(&redis::cmd("TIME"), "TIME").await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// The names of the services under the prefix: the discovery index, plus (with
    /// [`InspectOptions::scan`]) every `P:cmds:*` stream. Sorted.
    pub async fn service_names(&self, options: &InspectOptions) -> Result<Vec<String>, TransportError> {
        let mut names: BTreeSet<String> = self
            .query::<Vec<String>>(redis::cmd("ZRANGE").arg(services_key(&self.prefix)).arg(0).arg(-1), "ZRANGE")
            .await?
            .into_iter()
            .collect();
        if options.scan {
            names.extend(self.scan_names(&format!("{}:cmds:", self.prefix)).await?);
        }
        Ok(names.into_iter().collect())
    }

    /// The part after `head` of every key that starts with it (`SCAN MATCH`).
    pub(super) async fn scan_names(&self, head: &str) -> Result<Vec<String>, TransportError> {
        let pattern = format!("{}*", glob_escape(head));
        let mut cursor: u64 = 0;
        let mut names = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = self
                .query(redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000), "SCAN")
                .await?;
            names.extend(keys.into_iter().filter_map(|k| k.strip_prefix(head).map(str::to_owned)));
            if next == 0 {
                return Ok(names);
            }
            cursor = next;
        }
    }

    /// Every service under the prefix, with its backlog, consumers and instances.
    pub async fn services(&self, options: &InspectOptions) -> Result<Vec<ServiceOverview>, TransportError> {
        let mut out = Vec::new();
        for name in self.service_names(options).await? {
            out.push(self.service(&name, options).await?);
        }
        Ok(out)
    }

    /// One service: stream, group, consumers, live instances and dead letters.
    pub async fn service(&self, service: &str, options: &InspectOptions) -> Result<ServiceOverview, TransportError> {
        let now = self.now_ms().await?;
        let stream = command_stream(&self.prefix, service);
        let stream_length: u64 = self.query(redis::cmd("XLEN").arg(&stream), "XLEN").await?;
        let instances = self.instances(service).await?;
        let (group, consumers) = if stream_length > 0 || self.exists(&stream).await? {
            let group = self.group(&stream, consumer_group(service)).await?;
            let consumers = match group {
                Some(_) => self.consumers(&stream, service, &instances, options).await?,
                None => Vec::new(),
            };
            (group, consumers)
        } else {
            (None, Vec::new())
        };
        let oldest_waiting_ms =
            self.oldest_waiting(&stream, service, group.as_ref()).await?.map(|ms| (now - ms).max(0));
        let dead_letters: u64 =
            self.query(redis::cmd("XLEN").arg(dead_letter_stream(&self.prefix, service)), "XLEN").await?;
        Ok(ServiceOverview {
            name: service.to_owned(),
            stream_length,
            oldest_waiting_ms,
            group,
            consumers,
            instances,
            dead_letters,
        })
    }

    /// The entry-id time (Redis ms) of the oldest entry not acknowledged: the oldest
    /// pending one, or the first one after the group's last-delivered id (with no group,
    /// the stream's first entry).
    async fn oldest_waiting(
        &self,
        stream: &str,
        service: &str,
        group: Option<&GroupInfo>,
    ) -> Result<Option<i64>, TransportError> {
        let first_id = |v: Value| items(v).into_iter().next().and_then(|e| items(e).into_iter().next()).and_then(text);
        let Some(group) = group else {
            let first: Value =
                self.query(redis::cmd("XRANGE").arg(stream).arg("-").arg("+").arg("COUNT").arg(1), "XRANGE").await?;
            return Ok(first_id(first).and_then(|id| id_ms(&id)));
        };
        let mut oldest: Option<i64> = None;
        if group.pending > 0 {
            let summary: Value =
                self.query(redis::cmd("XPENDING").arg(stream).arg(consumer_group(service)), "XPENDING").await?;
            oldest = items(summary).into_iter().nth(1).and_then(text).and_then(|id| id_ms(&id));
        }
        let after = format!("({}", group.last_delivered_id);
        let undelivered: Value =
            self.query(redis::cmd("XRANGE").arg(stream).arg(&after).arg("+").arg("COUNT").arg(1), "XRANGE").await?;
        if let Some(ms) = first_id(undelivered).and_then(|id| id_ms(&id)) {
            oldest = Some(oldest.map_or(ms, |o| o.min(ms)));
        }
        Ok(oldest)
    }

    async fn exists(&self, key: &str) -> Result<bool, TransportError> {
        Ok(self.query::<i64>(redis::cmd("EXISTS").arg(key), "EXISTS").await? > 0)
    }

    async fn group(&self, stream: &str, group: &str) -> Result<Option<GroupInfo>, TransportError> {
        let groups: Value = self.query(redis::cmd("XINFO").arg("GROUPS").arg(stream), "XINFO GROUPS").await?;
        for g in items(groups) {
            let mut g = fields(g);
            if get_text(&mut g, "name").as_deref() != Some(group) {
                continue;
            }
            return Ok(Some(GroupInfo {
                pending: get_int(&mut g, "pending").unwrap_or(0).max(0) as u64,
                lag: get_int(&mut g, "lag").and_then(|l| u64::try_from(l).ok()),
                last_delivered_id: get_text(&mut g, "last-delivered-id").unwrap_or_default(),
            }));
        }
        Ok(None)
    }

    async fn consumers(
        &self,
        stream: &str,
        service: &str,
        instances: &[InstanceInfo],
        options: &InspectOptions,
    ) -> Result<Vec<ConsumerInfo>, TransportError> {
        let reply: Value = self
            .query(redis::cmd("XINFO").arg("CONSUMERS").arg(stream).arg(consumer_group(service)), "XINFO CONSUMERS")
            .await?;
        let mut out = Vec::new();
        for c in items(reply) {
            let mut c = fields(c);
            let name = get_text(&mut c, "name").unwrap_or_default();
            let pending = get_int(&mut c, "pending").unwrap_or(0).max(0) as u64;
            // Redis 7.2+ `inactive` (since the last successful read) is the better signal.
            let idle_ms =
                get_int(&mut c, "inactive").filter(|&i| i >= 0).or_else(|| get_int(&mut c, "idle")).unwrap_or(0);
            let published = instances.iter().any(|i| i.consumer == name);
            let state = if published || idle_ms < options.live_within.as_millis() as i64 {
                ConsumerState::Live
            } else if idle_ms < options.dead_after.as_millis() as i64 {
                ConsumerState::Idle
            } else {
                ConsumerState::Dead
            };
            out.push(ConsumerInfo { name, pending, idle_ms, published, state });
        }
        // Redis 7.0 creates a consumer at its first non-blocking read or delivery: a server
        // that just started and received nothing is not in the group yet.
        for i in instances {
            if !out.iter().any(|c| c.name == i.consumer) {
                let name = i.consumer.clone();
                out.push(ConsumerInfo { name, pending: 0, idle_ms: 0, published: true, state: ConsumerState::Live });
            }
        }
        Ok(out)
    }

    /// The live published instances of `service` (documents that have not expired).
    pub async fn instances(&self, service: &str) -> Result<Vec<InstanceInfo>, TransportError> {
        let ids: Vec<String> =
            self.query(redis::cmd("ZRANGE").arg(instances_key(&self.prefix, service)).arg(0).arg(-1), "ZRANGE").await?;
        let mut out = Vec::new();
        for id in ids {
            let doc: Option<String> =
                self.query(redis::cmd("GET").arg(instance_key(&self.prefix, service, &id)), "GET").await?;
            match doc.map(|d| serde_json::from_str::<InstanceInfo>(&d)) {
                Some(Ok(info)) => out.push(info),
                Some(Err(e)) => tracing::warn!(service, instance = %id, error = %e, "unreadable discovery document"),
                None => {}
            }
        }
        Ok(out)
    }

    /// Up to `limit` pending entries of `service`, oldest first, with the method of each
    /// entry still in the stream.
    pub async fn pending(&self, service: &str, limit: usize) -> Result<PendingReport, TransportError> {
        let stream = command_stream(&self.prefix, service);
        let group = consumer_group(service);
        if !self.exists(&stream).await? || self.group(&stream, group).await?.is_none() {
            return Ok(PendingReport { service: service.to_owned(), total: 0, entries: Vec::new() });
        }
        let summary: Value = self.query(redis::cmd("XPENDING").arg(&stream).arg(group), "XPENDING").await?;
        let total = items(summary).into_iter().next().and_then(int).unwrap_or(0).max(0) as u64;
        let rows: Value =
            self.query(redis::cmd("XPENDING").arg(&stream).arg(group).arg("-").arg("+").arg(limit), "XPENDING").await?;
        let mut entries = Vec::new();
        for row in pending_reply(rows) {
            let method = self.entry_method(&stream, &row.id).await?;
            entries.push(PendingEntryInfo {
                id: row.id,
                consumer: row.consumer,
                idle_ms: row.idle_ms,
                deliveries: row.deliveries,
                method,
            });
        }
        Ok(PendingReport { service: service.to_owned(), total, entries })
    }

    /// The `method` of the envelope of entry `id`, if it is there and readable.
    async fn entry_method(&self, stream: &str, id: &str) -> Result<Option<String>, TransportError> {
        let v: Value = self.query(redis::cmd("XRANGE").arg(stream).arg(id).arg(id), "XRANGE").await?;
        let entries = crate::entry::entry_list(v);
        let method = entries
            .first()
            .and_then(|e| e.field(crate::keys::field::ENVELOPE))
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|v| v.get("method").and_then(|m| m.as_str()).map(str::to_owned));
        Ok(method)
    }
}

/// `s` with the glob characters `SCAN MATCH` knows escaped.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn glob_escape_escapes_patterns() {
        assert_eq!(super::glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
