//! Plain redis-rs helpers: connections without a response timeout (blocking reads last up to
//! 1 s, and redis-rs 1.x times out any response after 500 ms by default), stream reply
//! parsing, and key cleanup between scenarios.

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};

/// A multiplexed connection with no response timeout.
pub async fn connect(url: &str) -> Result<MultiplexedConnection, String> {
    let client = redis::Client::open(url).map_err(|e| format!("redis url {url}: {e}"))?;
    let config = AsyncConnectionConfig::new().set_response_timeout(None);
    client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| format!("connect {url}: {e}"))
}

/// One stream entry: its id and its field/value pairs.
pub struct Entry {
    pub id: Vec<u8>,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Entry {
    pub fn field(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
    }
}

/// The entries of an XREAD / XREADGROUP reply (RESP2 arrays or RESP3 maps), all streams
/// together; `Nil` (a BLOCK timeout) gives none.
pub fn stream_entries(reply: Value) -> Vec<Entry> {
    let per_stream: Vec<Value> = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for entries in per_stream {
        let Value::Array(entries) = entries else { continue };
        for entry in entries {
            let Value::Array(mut parts) = entry else { continue };
            if parts.len() != 2 {
                continue;
            }
            let fields = parts.pop().unwrap_or(Value::Nil);
            let Some(Value::BulkString(id)) = parts.pop() else { continue };
            let fields = match fields {
                Value::Array(flat) => {
                    let mut pairs = Vec::with_capacity(flat.len() / 2);
                    let mut it = flat.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        if let (Value::BulkString(k), Value::BulkString(v)) = (k, v) {
                            pairs.push((k, v));
                        }
                    }
                    pairs
                }
                Value::Map(pairs) => pairs
                    .into_iter()
                    .filter_map(|(k, v)| match (k, v) {
                        (Value::BulkString(k), Value::BulkString(v)) => Some((k, v)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.push(Entry { id, fields });
        }
    }
    out
}

/// Deletes every key under `prefix:` (the command and reply streams of one scenario), so
/// that Redis memory does not grow from one scenario to the next.
pub async fn delete_prefix(url: &str, prefix: &str) -> Result<u64, String> {
    let mut conn = connect(url).await?;
    let pattern = format!("{prefix}:*");
    let mut cursor: u64 = 0;
    let mut deleted = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("SCAN: {e}"))?;
        if !keys.is_empty() {
            let n: u64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.map_err(|e| format!("DEL: {e}"))?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

/// A fresh key prefix for one scenario.
pub fn fresh_prefix(scenario: &str) -> String {
    format!("clamator-bench:{}:{}", scenario.replace('/', "-"), uuid::Uuid::new_v4().simple())
}
