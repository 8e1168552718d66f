//! Reading the replies of `XINFO`, `XPENDING` and friends, RESP2 or RESP3, into plain
//! field maps.

use std::collections::HashMap;

use redis::Value;

/// A reply's fields: a RESP3 map or a RESP2 flat array of name/value pairs.
pub(super) fn fields(v: Value) -> HashMap<String, Value> {
    let pairs: Vec<(Value, Value)> = match v {
        Value::Map(pairs) => pairs,
        Value::Array(items) => {
            let mut it = items.into_iter();
            let mut pairs = Vec::new();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            pairs
        }
        _ => Vec::new(),
    };
    pairs.into_iter().filter_map(|(k, v)| Some((text(k)?, v))).collect()
}

/// The items of an array reply (anything else: none).
pub(super) fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) | Value::Set(items) => items,
        _ => Vec::new(),
    }
}

/// A string reply.
pub(super) fn text(v: Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => Some(s),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// An integer reply (or a string holding one); nil and anything else: `None`.
pub(super) fn int(v: Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i),
        other => text(other)?.parse().ok(),
    }
}

/// Field `name` of `map` as text.
pub(super) fn get_text(map: &mut HashMap<String, Value>, name: &str) -> Option<String> {
    map.remove(name).and_then(text)
}

/// Field `name` of `map` as an integer.
pub(super) fn get_int(map: &mut HashMap<String, Value>, name: &str) -> Option<i64> {
    map.remove(name).and_then(int)
}

/// The millisecond part of a stream entry id (`1700000000000-3` → 1700000000000).
pub(super) fn id_ms(id: &str) -> Option<i64> {
    id.split('-').next()?.parse().ok()
}
