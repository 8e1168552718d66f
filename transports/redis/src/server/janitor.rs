//! Upkeep that keeps Redis's footprint bounded by the work in flight:
//!
//! - **trim**: entries that 0.1.9 servers acknowledged but never delete are trimmed
//!   (`XTRIM MINID`), never past any group's oldest pending entry nor past its
//!   last-delivered id, so an unacknowledged or undelivered entry is never removed;
//! - **sweep**: consumers idle for [`dead_consumer_idle`](super::RedisServerBuilder::dead_consumer_idle)
//!   that hold no pending entry are deleted; a live Rust server touches its own consumer
//!   every round so it never looks idle (a quiet 0.1.9 server's consumer may be swept: Redis
//!   creates it again at its next delivery, nothing is lost);
//! - **own consumer**: on `stop`, a server deletes its own consumer if it holds nothing.
//!
//! Each check-and-act is one Lua script, so no entry can become pending between the check
//! and the act.

use std::sync::{Arc, LazyLock};

use crate::conn::Conn;
use redis::Script;

use super::worker::Worker;

/// KEYS[1] stream. Trims below the lowest of every group's oldest pending id (or just past
/// its last-delivered id when nothing is pending); returns how many entries went.
static TRIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function lower(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local floor = nil
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  -- Everything up to and including the last-delivered entry may go, unless older ones
  -- are pending: then everything below the oldest pending one.
  local keep
  local summary = redis.call('XPENDING', KEYS[1], name)
  if summary[1] > 0 then
    keep = summary[2]
  else
    local ms, seq = parse(last)
    keep = string.format('%d-%d', ms, seq + 1)
  end
  if floor == nil or lower(keep, floor) then floor = keep end
end
if floor == '0-1' then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)
",
    )
});

/// KEYS[1] stream; ARGV[1] group, ARGV[2] idle limit (ms), ARGV[3] this server's consumer.
/// Touches this server's consumer, then deletes consumers idle past the limit that hold no
/// pending entry; returns their names.
///
/// On Redis 7.0 a consumer's `idle` is the time since it was last given an entry: an
/// `XREADGROUP ... >` that finds nothing (blocking or not) does not reset it, so a live but
/// quiet server looks idle. Reading its own history (`... STREAMS <key> 0`) does reset it,
/// and returns nothing when it holds nothing; when it holds entries it is never swept (and
/// its leases touch it), so the touch is done only when it holds none: a history read of a
/// held entry would count as one more delivery.
static SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[3]) == 0 then
  redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[3], 'COUNT', 1, 'STREAMS', KEYS[1], '0')
end
local gone = {}
local limit = tonumber(ARGV[2])
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1]
    elseif c[i] == 'pending' then pending = c[i + 1]
    elseif c[i] == 'idle' then idle = c[i + 1] end
  end
  if name ~= ARGV[3] and pending == 0 and idle > limit then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    table.insert(gone, name)
  end
end
return gone
",
    )
});

/// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer. Deletes the consumer if it holds no
/// pending entry: 1 when deleted, 0 when it did not exist, -1 when it holds entries.
static RETIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return -1 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
",
    )
});

impl Worker {
    /// One round of upkeep for this service: trim, then sweep dead consumers.
    pub(super) async fn upkeep(self: &Arc<Self>, conn: &mut Conn) {
        let service = self.table.name();
        match TRIM.key(&self.stream).invoke_async::<i64>(conn).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(service, trimmed = n, "trimmed acknowledged entries"),
            Err(e) if e.code() == Some("NOGROUP") => {}
            Err(e) => tracing::warn!(service, error = %e, "trim failed"),
        }
        let limit = self.shared.settings.dead_consumer_idle.as_millis() as u64;
        let mut sweep = SWEEP.prepare_invoke();
        sweep.key(&self.stream).arg(&self.group).arg(limit).arg(&self.consumer);
        match sweep.invoke_async::<Vec<String>>(conn).await {
            Ok(gone) if gone.is_empty() => {}
            Ok(gone) => tracing::info!(service, consumers = ?gone, "deleted dead consumers (idle, nothing pending)"),
            Err(e) if e.code() == Some("NOGROUP") => {}
            Err(e) => tracing::warn!(service, error = %e, "consumer sweep failed"),
        }
    }

    /// On stop: deletes this server's consumer unless it still holds pending entries (they
    /// stay, for another server to reclaim).
    pub(super) async fn retire_consumer(&self, conn: &mut Conn) {
        let mut retire = RETIRE.prepare_invoke();
        retire.key(&self.stream).arg(&self.group).arg(&self.consumer);
        match retire.invoke_async::<i64>(conn).await {
            Ok(-1) => {
                tracing::info!(service = %self.table.name(), consumer = %self.consumer, "consumer kept: it holds pending entries")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(service = %self.table.name(), error = %e, "could not delete the consumer"),
        }
    }
}
