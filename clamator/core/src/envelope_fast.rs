//! The common envelope, read straight into its parts.
//!
//! [`Envelope::parse`] reads a document into a `serde_json::Value` and then classifies it:
//! every member name and string becomes an allocation and the object a `BTreeMap`, which
//! showed as the largest JSON item in both a server's and a client's profile. This reads a
//! well-formed request or response object directly (member names matched in place, `jsonrpc`
//! and `method` borrowed from the input) and gives the same [`Envelope`]. Anything else (a
//! document that is not an object, a duplicate member, a wrong `jsonrpc`, an invalid name or
//! id, a response with both or neither of `result` and `error`) gives `None`, and the caller
//! takes the general path, which knows the exact error to report.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

#[cfg(test)]
use crate::envelope::general;
use crate::envelope::{parse_error_object, split_method, Call, Envelope, Id, Response};

/// The members clamator reads; others are skipped.
#[derive(Deserialize)]
struct Members<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    params: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Value>,
}

/// A member that is present, `null` included (`Option<Value>` alone reads `null` as absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The envelope in `bytes` when it is a well-formed request, notification or response object;
/// `None` sends the caller to the general path.
pub(crate) fn parse(bytes: &[u8]) -> Option<Envelope> {
    if let Some(response) = canonical_response(bytes) {
        return Some(response);
    }
    // serde reads a struct from an array too: only objects are taken here.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    let members: Members<'_> = serde_json::from_slice(bytes).ok()?;
    if members.jsonrpc != "2.0" {
        return None;
    }
    let id = match members.id {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Id::String(s)),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(Id::Number(n)),
        Some(_) => return None,
    };
    if let Some(full) = members.method {
        let (service, method) = split_method(&full).ok()?;
        let params = members.params.unwrap_or_else(|| Value::Object(Map::new()));
        let (service, method) = (service.to_owned(), method.to_owned());
        return Some(Envelope::Call(Call { service, method, params, id }));
    }
    match (members.result, members.error) {
        (Some(result), None) => Some(Envelope::Response(Response::success(id?, result))),
        (None, Some(error)) => Some(Envelope::Response(Response::error(id, parse_error_object(error)?))),
        _ => None,
    }
}

/// A success exactly as clamator servers write it (`jsonrpc`, a string `id` with no escape,
/// `result`, no spaces), read without matching member names; `None` for any other form.
fn canonical_response(bytes: &[u8]) -> Option<Envelope> {
    let (id, raw) = canonical_success(bytes)?;
    let result: Value = serde_json::from_str(raw).ok()?;
    Some(Envelope::Response(Response::success(Id::String(id.to_owned()), result)))
}

/// The id and the result's JSON text (syntax checked) of a success in the canonical form of
/// [`canonical_response`].
pub(crate) fn canonical_success(bytes: &[u8]) -> Option<(&str, &str)> {
    let rest = bytes.strip_prefix(br#"{"jsonrpc":"2.0","id":""#)?;
    let (id, rest) = plain_string(rest)?;
    let (raw, rest) = leading_value(rest.strip_prefix(br#","result":"#)?)?;
    (rest == b"}").then_some((id, raw))
}

/// The JSON value at the start of `bytes` (syntax checked, as text) and what follows it.
pub(crate) fn leading_value(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let raw = <&RawValue>::deserialize(&mut serde_json::Deserializer::from_slice(bytes)).ok()?.get();
    // `raw` borrows from `bytes`: what follows it starts where it ends.
    let after = (raw.as_ptr() as usize - bytes.as_ptr() as usize) + raw.len();
    Some((raw, bytes.get(after..)?))
}

/// `true` when `text` can stand in a JSON string as it is: no quote, backslash or control
/// character to escape.
pub(crate) fn needs_no_escape(text: &str) -> bool {
    !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

/// The JSON string body at the start of `bytes` (after its opening quote) when it has no
/// escape and no control character, and what follows its closing quote.
pub(crate) fn plain_string(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let end = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if bytes[end] != b'"' {
        return None;
    }
    Some((std::str::from_utf8(&bytes[..end]).ok()?, &bytes[end + 1..]))
}

/// An upper bound of `id`'s JSON length, for sizing, when it needs no escapes.
pub(crate) fn id_len(id: &Id) -> usize {
    match id {
        Id::String(s) => s.len() + 2,
        Id::Number(_) => 20,
    }
}

/// Appends `id` as JSON: a string with nothing to escape (a UUID) as it is, anything else
/// through serde_json.
pub(crate) fn push_id(out: &mut String, id: &Id) {
    match id {
        Id::String(s) if needs_no_escape(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        // An id (a string or an integer) always serializes.
        _ => out.push_str(&serde_json::to_string(id).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every document gives what the general path gives, or `None`.
    #[test]
    fn agrees_with_the_general_path() {
        let docs: &[&str] = &[
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1,"b":2},"id":"x"}"#,
            r#" {"id":7,"params":[1,2],"method":"arith.add","jsonrpc":"2.0","extra":true}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":null,"id":null}"#,
            r#"{"jsonrpc":"2.0","method":"ar\u0069th.add","params":{},"id":"\u00e9"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":1.5}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":true}"#,
            r#"{"jsonrpc":"2.0","method":"arith","id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"Bad-Service.add","id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":".add","id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":5,"id":"x","result":1}"#,
            r#"{"jsonrpc":"1.0","method":"arith.add","id":"x"}"#,
            r#"{"jsonrpc":2.0,"method":"arith.add","id":"x"}"#,
            r#"{"method":"arith.add","id":"x"}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":{"sum":3}}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":{"b":[1,"]}"],"a":{}}}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":{"sum":3} }"#,
            r#"{"jsonrpc":"2.0","id":"x","result":1e400}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":1,"result":2}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":null}"#,
            r#"{"jsonrpc":"2.0","result":1}"#,
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"Method not found","data":null}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#,
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":"x","message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":1,"error":{"code":1,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":"x"}"#,
            r#"{"jsonrpc":"2.0","id":"a","id":"b","result":1}"#,
            r#"[{"jsonrpc":"2.0","method":"arith.add","id":"x"}]"#,
            r#"["2.0","arith.add",{},"x"]"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1e400},"id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":"x"} trailing"#,
            "\"just a string\"",
            "",
        ];
        let mut fast_taken = 0;
        for doc in docs {
            if let Some(fast) = parse(doc.as_bytes()) {
                fast_taken += 1;
                assert_eq!(Some(fast), general(doc.as_bytes()).ok(), "{doc}");
            }
        }
        assert_eq!(fast_taken, 11, "the well-formed documents take the fast path");
        assert!(canonical_response(br#"{"jsonrpc":"2.0","id":"x","result":{"sum":3}}"#).is_some());
    }
}
