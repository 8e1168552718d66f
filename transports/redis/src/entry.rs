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

    /// Takes the value of `name` out of the entry (it reads as absent afterwards).
    pub(crate) fn take_field(&mut self, name: &str) -> Option<Vec<u8>> {
        let at = self.fields.iter().position(|(k, _)| k == name.as_bytes())?;
        Some(self.fields.swap_remove(at).1)
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
    let mut fields = Vec::with_capacity(8);
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

/// Entries of an `XRANGE`/`XCLAIM` reply (nil entries skipped).
pub(crate) fn entry_list(v: Value) -> Vec<RawEntry> {
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

/// One row of an extended `XPENDING` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingEntry {
    pub(crate) id: String,
    pub(crate) consumer: String,
    pub(crate) idle_ms: i64,
    pub(crate) deliveries: u32,
}

/// The rows of an extended `XPENDING <key> <group> [IDLE ms] <start> <end> <count>` reply.
pub(crate) fn pending_reply(v: Value) -> Vec<PendingEntry> {
    let text = |v: Value| bytes(v).and_then(|b| String::from_utf8(b).ok());
    let int = |v: Value| match v {
        Value::Int(i) => Some(i),
        other => text(other)?.parse().ok(),
    };
    items(v)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| {
            let mut row = items(row)?.into_iter();
            Some(PendingEntry {
                id: text(row.next()?)?,
                consumer: text(row.next()?)?,
                idle_ms: int(row.next()?)?,
                deliveries: u32::try_from(int(row.next()?)?).unwrap_or(u32::MAX),
            })
        })
        .collect()
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
    fn decodes_xclaim_and_xpending() {
        let claimed = Value::Array(vec![
            Value::Nil,
            Value::Array(vec![bulk(b"5-1"), Value::Array(vec![bulk(b"a"), bulk(b"b")])]),
        ]);
        let entries = entry_list(claimed);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id, "5-1");
        let pending = Value::Array(vec![
            Value::Array(vec![bulk(b"7-0"), bulk(b"arith:x"), Value::Int(1500), Value::Int(3)]),
            Value::Array(vec![bulk(b"bad")]),
        ]);
        let rows = pending_reply(pending);
        assert_eq!(
            rows,
            vec![PendingEntry { id: "7-0".into(), consumer: "arith:x".into(), idle_ms: 1500, deliveries: 3 }]
        );
    }
}
