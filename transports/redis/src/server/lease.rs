//! Leases: while a server holds or runs an entry, it keeps that entry's idle time low in
//! Redis, so no other server reclaims it, however long the handler runs. Only a dead,
//! stopped-past-its-grace or stalled server's entries go idle and get reclaimed.
//!
//! Renewal is `XCLAIM <stream> <group> <me> 0 <id> JUSTID` (resets the idle time, leaves
//! the delivery count alone), done in a script that first checks the entry is still pending
//! on this consumer: a server that stalled must not take back an entry another server has
//! reclaimed meanwhile.

use std::sync::{Arc, LazyLock};

use redis::Script;

use super::stats::Counter;
use super::worker::Worker;
use crate::connection::sleep_or_stop;

/// KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] ids. Renews the ids still
/// pending on the consumer; returns those now pending on another consumer.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local lost = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] then
    if p[1][2] == ARGV[2] then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    else
      table.insert(lost, ARGV[i])
    end
  end
end
return lost
",
    )
});

impl Worker {
    /// Renews the claim of every held entry each third of the claim idle time, until the
    /// server has finished stopping.
    pub(super) async fn lease_loop(self: Arc<Self>) {
        let finish = self.shared.finish.clone();
        let interval = self.shared.settings.lease_interval();
        while !finish.is_cancelled() {
            sleep_or_stop(interval, &finish).await;
            let ids: Vec<String> = self.held().iter().cloned().collect();
            if ids.is_empty() || finish.is_cancelled() {
                continue;
            }
            let Some(mut conn) = self.commands() else { break };
            let renewed = RENEW
                .key(&self.stream)
                .arg(&self.group)
                .arg(&self.consumer)
                .arg(&ids)
                .invoke_async::<Vec<String>>(&mut conn)
                .await;
            match renewed {
                Ok(lost) if lost.is_empty() => {}
                Ok(lost) => {
                    tracing::warn!(
                        service = %self.table.name(),
                        entries = ?lost,
                        "entries held here were reclaimed by another server (this one stalled longer than the claim idle time); they may run twice"
                    );
                    self.shared.counters.add(Counter::LeasesLost, lost.len());
                    let mut held = self.held();
                    for id in &lost {
                        held.remove(id);
                    }
                }
                Err(e) => tracing::warn!(service = %self.table.name(), error = %e, "lease renewal failed; retrying"),
            }
        }
    }
}
