//! Plain redis-rs helpers for tests that look at what the transport left in Redis.

use clamator::redis::redis::{self, aio::ConnectionManager, Value};

/// A managed connection to `url`.
pub async fn connect(url: &str) -> ConnectionManager {
    ConnectionManager::new(redis::Client::open(url).expect("redis url")).await.expect("connect to redis")
}

/// Runs one command given as words.
pub async fn cmd<T: redis::FromRedisValue>(conn: &mut ConnectionManager, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(conn).await.unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// `XLEN`.
pub async fn xlen(conn: &mut ConnectionManager, key: &str) -> usize {
    cmd(conn, &["XLEN", key]).await
}

/// The ids of a stream's entries, oldest first.
pub async fn entry_ids(conn: &mut ConnectionManager, stream: &str) -> Vec<String> {
    let Value::Array(entries) = cmd(conn, &["XRANGE", stream, "-", "+"]).await else { return Vec::new() };
    entries
        .into_iter()
        .filter_map(|e| match e {
            Value::Array(parts) => match parts.into_iter().next() {
                Some(Value::BulkString(id)) => String::from_utf8(id).ok(),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The parsed `envelope` field of each entry of a stream, oldest first.
pub async fn envelopes(conn: &mut ConnectionManager, stream: &str) -> Vec<serde_json::Value> {
    stream_envelopes(cmd(conn, &["XRANGE", stream, "-", "+"]).await)
}

/// The replies in a reply stream, oldest first: one per entry, except that an entry a server
/// wrote for a client that reads batches (`reply-batch`) may hold several, as a JSON array.
pub async fn replies(conn: &mut ConnectionManager, stream: &str) -> Vec<serde_json::Value> {
    envelopes(conn, stream)
        .await
        .into_iter()
        .flat_map(|envelope| match envelope {
            serde_json::Value::Array(batch) => batch,
            single => vec![single],
        })
        .collect()
}

/// The parsed `envelope` field of each entry of an `XRANGE` reply.
pub fn stream_envelopes(v: Value) -> Vec<serde_json::Value> {
    let Value::Array(entries) = v else { return Vec::new() };
    entries
        .into_iter()
        .filter_map(|e| match e {
            Value::Array(mut parts) if parts.len() == 2 => match parts.remove(1) {
                Value::Array(fields) => fields.chunks(2).find_map(|kv| match kv {
                    [Value::BulkString(k), Value::BulkString(v)] if k == b"envelope" => serde_json::from_slice(v).ok(),
                    _ => None,
                }),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
