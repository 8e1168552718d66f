//! Cleanup: dead consumers that hold nothing, and reply streams nobody reads any more.
//! Planned first (read-only), then carried out; each deletion re-checks its condition
//! atomically, so nothing that became pending in between is ever dropped.

use std::sync::LazyLock;
use std::time::Duration;

use clamator_core::TransportError;
use redis::{Script, Value};
use serde::Serialize;

use super::inspect::{ConsumerState, InspectOptions, Inspector};
use super::xinfo::{fields, get_text, id_ms};
use crate::keys::{command_stream, consumer_group};

/// Deletes consumer ARGV[2] of group ARGV[1] only if it holds no pending entry: `XGROUP
/// DELCONSUMER` would otherwise drop its entries from the group's pending list.
static DELETE_IF_IDLE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
",
    )
});

/// Deletes reply stream KEYS[1] only if it still has no TTL and its newest entry is older
/// than ARGV[1] (Unix ms).
static DELETE_IF_ABANDONED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('TYPE', KEYS[1]).ok ~= 'stream' then return 0 end
if redis.call('PTTL', KEYS[1]) ~= -1 then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  local ms = tonumber(string.match(last[1][1], '^(%d+)-'))
  if ms >= tonumber(ARGV[1]) then return 0 end
end
return redis.call('DEL', KEYS[1])
",
    )
});

/// A consumer cleanup would delete (or keeps because it still holds entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StaleConsumer {
    /// The service (its group).
    pub service: String,
    /// The consumer.
    pub consumer: String,
    /// Its idle time, ms.
    pub idle_ms: i64,
    /// Entries it holds: a consumer holding any is never deleted (a live server reclaims
    /// them after its claim idle time).
    pub pending: u64,
}

/// A reply stream cleanup would delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StaleReplyStream {
    /// The key.
    pub key: String,
    /// Since its newest entry, ms (`None`: empty).
    pub idle_ms: Option<i64>,
}

/// What a cleanup would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CleanupPlan {
    /// Dead consumers holding nothing: to delete.
    pub consumers: Vec<StaleConsumer>,
    /// Dead consumers that still hold entries: kept (their entries are reclaimed by live
    /// servers; a dead-letter follows if they keep failing).
    pub kept: Vec<StaleConsumer>,
    /// Reply streams without a TTL whose newest entry is older than the threshold (the
    /// streams of 0.1.9 clients that went away): to delete.
    pub reply_streams: Vec<StaleReplyStream>,
}

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CleanupReport {
    /// Consumers deleted.
    pub consumers_deleted: Vec<String>,
    /// Consumers left because they held entries by the time of the deletion.
    pub consumers_skipped: Vec<String>,
    /// Reply streams deleted.
    pub reply_streams_deleted: Vec<String>,
}

impl Inspector {
    /// Plans a cleanup: dead consumers (by `options`) of every service, and reply streams
    /// (`SCAN MATCH P:replies:*`) without a TTL and silent for `reply_idle`.
    pub async fn cleanup_plan(
        &self,
        options: &InspectOptions,
        reply_idle: Duration,
    ) -> Result<CleanupPlan, TransportError> {
        let mut plan = CleanupPlan::default();
        for service in self.services(options).await? {
            for c in service.consumers.iter().filter(|c| c.state == ConsumerState::Dead) {
                let stale = StaleConsumer {
                    service: service.name.clone(),
                    consumer: c.name.clone(),
                    idle_ms: c.idle_ms,
                    pending: c.pending,
                };
                if c.pending == 0 {
                    plan.consumers.push(stale);
                } else {
                    plan.kept.push(stale);
                }
            }
        }
        let now = self.now_ms().await?;
        let head = format!("{}:replies:", self.prefix);
        let mut names = self.scan_names(&head).await?;
        names.sort();
        for name in names {
            let key = format!("{head}{name}");
            let ttl: i64 = self.query(redis::cmd("PTTL").arg(&key), "PTTL").await?;
            if ttl != -1 {
                continue;
            }
            let kind: String = self.query(redis::cmd("TYPE").arg(&key), "TYPE").await?;
            if kind != "stream" {
                continue;
            }
            let info: Value = self.query(redis::cmd("XINFO").arg("STREAM").arg(&key), "XINFO STREAM").await?;
            let last = get_text(&mut fields(info), "last-generated-id").and_then(|id| id_ms(&id));
            let idle_ms = last.filter(|&ms| ms > 0).map(|ms| (now - ms).max(0));
            if idle_ms.is_none_or(|idle| idle >= reply_idle.as_millis() as i64) {
                plan.reply_streams.push(StaleReplyStream { key, idle_ms });
            }
        }
        Ok(plan)
    }

    /// Carries out `plan`: deletes each planned consumer if it still holds nothing, and
    /// each planned reply stream if it is still silent for `reply_idle` and without a TTL.
    pub async fn cleanup(&self, plan: &CleanupPlan, reply_idle: Duration) -> Result<CleanupReport, TransportError> {
        let mut report = CleanupReport::default();
        for c in &plan.consumers {
            let mut conn = self.conn.clone();
            let deleted: i64 = DELETE_IF_IDLE
                .key(command_stream(&self.prefix, &c.service))
                .arg(consumer_group(&c.service))
                .arg(&c.consumer)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| TransportError::connection("cleanup: XGROUP DELCONSUMER failed", e))?;
            if deleted >= 0 {
                report.consumers_deleted.push(c.consumer.clone());
            } else {
                report.consumers_skipped.push(c.consumer.clone());
            }
        }
        let older_than = self.now_ms().await? - reply_idle.as_millis() as i64;
        for s in &plan.reply_streams {
            let mut conn = self.conn.clone();
            let deleted: i64 = DELETE_IF_ABANDONED
                .key(&s.key)
                .arg(older_than)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| TransportError::connection("cleanup: DEL failed", e))?;
            if deleted > 0 {
                report.reply_streams_deleted.push(s.key.clone());
            }
        }
        Ok(report)
    }
}
