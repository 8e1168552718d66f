//! Decoding stream replies straight from RESP values, tolerating bad bytes: an entry whose
//! fields are not UTF-8 is still returned (with its id), so it can be acknowledged instead of
//! blocking the batch behind it.

use redis::Value;

/// One stream entry: its id and its raw field/value pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub(crate) id: String,
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl RawEntry {
    /// The value of `name`, as raw bytes.
    pub(crate) fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|(k, _)| k == name.as_bytes()).map(|(_, v)| v.as_slice())
    }

    /// Total size of the field values, for logs and limits.
    pub(crate) fn size(&self) -> usize {
        self.fields.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

fn bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::VerbatimString { text, .. } => Some(text.into_bytes()),
        _ => None,
    }
}

fn items(v: Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

fn entry(v: Value) -> Option<RawEntry> {
    let mut parts = items(v)?.into_iter();
    let id = String::from_utf8(bytes(parts.next()?)?).ok()?;
    let mut fields = Vec::new();
    let mut kv = match parts.next() {
        Some(Value::Map(pairs)) => {
            for (k, v) in pairs {
                if let (Some(k), Some(v)) = (bytes(k), bytes(v)) {
                    fields.push((k, v));
                }
            }
            Vec::new().into_iter()
        }
        Some(other) => items(other).unwrap_or_default().into_iter(),
        None => Vec::new().into_iter(),
    };
    while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
        if let (Some(k), Some(v)) = (bytes(k), bytes(v)) {
            fields.push((k, v));
        }
    }
    Some(RawEntry { id, fields })
}

fn entry_list(v: Value) -> Vec<RawEntry> {
    items(v).unwrap_or_default().into_iter().filter_map(entry).collect()
}

/// Entries of an `XREAD`/`XREADGROUP` reply, all streams together (nil → none).
pub(crate) fn read_reply(v: Value) -> Vec<RawEntry> {
    match v {
        Value::Map(streams) => streams.into_iter().flat_map(|(_, entries)| entry_list(entries)).collect(),
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(items)
            .flat_map(|mut pair| if pair.len() >= 2 { entry_list(pair.swap_remove(1)) } else { Vec::new() })
            .collect(),
        _ => Vec::new(),
    }
}

/// The cursor and entries of an `XAUTOCLAIM` reply (deleted ids and nil entries skipped).
pub(crate) fn autoclaim_reply(v: Value) -> (String, Vec<RawEntry>) {
    let mut parts = items(v).unwrap_or_default().into_iter();
    let cursor = parts.next().and_then(bytes).and_then(|b| String::from_utf8(b).ok()).unwrap_or_else(|| "0-0".into());
    let entries = parts.next().map(entry_list).unwrap_or_default();
    (cursor, entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &[u8]) -> Value {
        Value::BulkString(s.to_vec())
    }

    #[test]
    fn decodes_xread_and_keeps_bad_bytes() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk(b"p:cmds:arith"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk(b"1-0"),
                    Value::Array(vec![bulk(b"envelope"), bulk(b"\xff\xfe"), bulk(b"\xc3"), bulk(b"x")]),
                ]),
                Value::Array(vec![bulk(b"2-0"), Value::Array(vec![bulk(b"type"), bulk(b"rpc")])]),
                Value::Nil,
            ]),
        ])]);
        let entries = read_reply(reply);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "1-0");
        assert_eq!(entries[0].field("envelope"), Some(&b"\xff\xfe"[..]));
        assert_eq!(entries[1].field("type"), Some(&b"rpc"[..]));
        assert_eq!(read_reply(Value::Nil), Vec::new());
    }

    #[test]
    fn decodes_xautoclaim() {
        let reply = Value::Array(vec![
            bulk(b"0-0"),
            Value::Array(vec![
                Value::Nil,
                Value::Array(vec![bulk(b"5-1"), Value::Array(vec![bulk(b"a"), bulk(b"b")])]),
            ]),
            Value::Array(vec![bulk(b"4-0")]),
        ]);
        let (cursor, entries) = autoclaim_reply(reply);
        assert_eq!(cursor, "0-0");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "5-1");
    }
}
