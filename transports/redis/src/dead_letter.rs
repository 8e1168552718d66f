//! Dead letters: requests set aside after too many deliveries, kept in `P:dead:<service>`
//! until an operator replays or purges them.

use std::collections::BTreeMap;

use clamator_core::TransportError;
use redis::aio::ConnectionManager;

use crate::entry::{entry_list, RawEntry};
use crate::keys::{command_stream, dead_letter_stream, field};

/// The error code a caller receives when its request was dead-lettered (in the range
/// JSON-RPC reserves for transports, -32000 to -32099). Its `data` carries `reason`,
/// `deliveries`, `deadLetterStream` and `deadLetterId`.
pub const DEAD_LETTERED: i64 = -32010;

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Its id in the dead-letter stream (what [`DeadLetters::replay`] and
    /// [`DeadLetters::purge`] take).
    pub id: String,
    /// Its id on the command stream, when it was set aside.
    pub entry_id: String,
    /// Why it was set aside (`max-deliveries`).
    pub reason: String,
    /// How many times it had been delivered.
    pub deliveries: u32,
    /// The consumer that held it last.
    pub last_consumer: String,
    /// When it was set aside, Redis Unix time in ms.
    pub dead_at_ms: i64,
    /// The request envelope (lossy UTF-8), if the entry had one.
    pub envelope: Option<String>,
    /// The caller's reply stream, if any.
    pub reply_to: Option<String>,
    /// The entry's original fields (lossy UTF-8), as they will be replayed.
    pub fields: BTreeMap<String, String>,
}

impl DeadLetter {
    fn from_entry(entry: &RawEntry) -> Self {
        let text = |name: &str| entry.field(name).map(|v| String::from_utf8_lossy(v).into_owned());
        let fields = entry
            .fields
            .iter()
            .filter(|(k, _)| !k.starts_with(field::DEAD_PREFIX.as_bytes()))
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        DeadLetter {
            id: entry.id.clone(),
            entry_id: text(field::DEAD_ENTRY).unwrap_or_default(),
            reason: text(field::DEAD_REASON).unwrap_or_default(),
            deliveries: text(field::DEAD_DELIVERIES).and_then(|v| v.parse().ok()).unwrap_or(0),
            last_consumer: text(field::DEAD_CONSUMER).unwrap_or_default(),
            dead_at_ms: text(field::DEAD_AT_MS).and_then(|v| v.parse().ok()).unwrap_or(0),
            envelope: text(field::ENVELOPE),
            reply_to: text(field::REPLY_TO),
            fields,
        }
    }
}

/// Lists, replays and purges the dead letters under one key prefix.
///
/// ```no_run
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod redis { pub use clamator_over_redis::*; } }
/// # async fn demo() -> Result<(), clamator::TransportError> {
/// use clamator::redis::DeadLetters;
///
/// let dead = DeadLetters::connect("redis://127.0.0.1:6379", "myapp").await?;
/// for letter in dead.list("arith", 100).await? {
///     println!("{} {} after {} deliveries: {:?}", letter.id, letter.reason, letter.deliveries, letter.envelope);
///     // once the bug is fixed: run it again
///     dead.replay("arith", &letter.id).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DeadLetters {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn failed(what: &str, e: redis::RedisError) -> TransportError {
    TransportError::connection(format!("dead letters: {what} failed"), e)
}

impl DeadLetters {
    /// Over an existing connection.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self { conn, prefix: prefix.into() }
    }

    /// Connects to `url`.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, TransportError> {
        let client = crate::tls::open_client(url, &crate::tls::TlsSettings::default())?;
        let conn = ConnectionManager::new(client).await.map_err(|e| failed("connect", e))?;
        Ok(Self::new(conn, prefix))
    }

    /// How many dead letters `service` has.
    pub async fn count(&self, service: &str) -> Result<u64, TransportError> {
        let mut conn = self.conn.clone();
        redis::cmd("XLEN")
            .arg(dead_letter_stream(&self.prefix, service))
            .query_async(&mut conn)
            .await
            .map_err(|e| failed("XLEN", e))
    }

    /// Up to `limit` dead letters of `service`, oldest first.
    pub async fn list(&self, service: &str, limit: usize) -> Result<Vec<DeadLetter>, TransportError> {
        let mut conn = self.conn.clone();
        let v: redis::Value = redis::cmd("XRANGE")
            .arg(dead_letter_stream(&self.prefix, service))
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await
            .map_err(|e| failed("XRANGE", e))?;
        Ok(entry_list(v).iter().map(DeadLetter::from_entry).collect())
    }

    /// One dead letter of `service` by its id, if it exists.
    pub async fn get(&self, service: &str, id: &str) -> Result<Option<DeadLetter>, TransportError> {
        let mut conn = self.conn.clone();
        let v: redis::Value = redis::cmd("XRANGE")
            .arg(dead_letter_stream(&self.prefix, service))
            .arg(id)
            .arg(id)
            .query_async(&mut conn)
            .await
            .map_err(|e| failed("XRANGE", e))?;
        Ok(entry_list(v).first().map(DeadLetter::from_entry))
    }

    /// Puts a dead letter back on its command stream with its original fields (a new entry,
    /// delivered afresh), then removes it from the dead-letter stream. Returns the new entry's
    /// id, or `None` when no such dead letter exists. If the caller still waits (a
    /// `timeout-ms` call option), its deadline counts from the replay.
    pub async fn replay(&self, service: &str, id: &str) -> Result<Option<String>, TransportError> {
        let Some(letter) = self.get(service, id).await? else { return Ok(None) };
        let mut conn = self.conn.clone();
        let mut add = redis::cmd("XADD");
        add.arg(command_stream(&self.prefix, service)).arg("*");
        for (name, value) in &letter.fields {
            add.arg(name).arg(value);
        }
        let new_id: String = add.query_async(&mut conn).await.map_err(|e| failed("XADD", e))?;
        self.purge(service, id).await?;
        Ok(Some(new_id))
    }

    /// Deletes one dead letter; `true` when it existed.
    pub async fn purge(&self, service: &str, id: &str) -> Result<bool, TransportError> {
        let mut conn = self.conn.clone();
        let n: u64 = redis::cmd("XDEL")
            .arg(dead_letter_stream(&self.prefix, service))
            .arg(id)
            .query_async(&mut conn)
            .await
            .map_err(|e| failed("XDEL", e))?;
        Ok(n > 0)
    }

    /// Deletes every dead letter of `service`; returns how many there were.
    pub async fn purge_all(&self, service: &str) -> Result<u64, TransportError> {
        let count = self.count(service).await?;
        let mut conn = self.conn.clone();
        redis::cmd("DEL")
            .arg(dead_letter_stream(&self.prefix, service))
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| failed("DEL", e))?;
        Ok(count)
    }
}
