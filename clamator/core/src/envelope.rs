//! JSON-RPC 2.0 envelopes as clamator speaks them (WIRE.md section 1): parsing with the
//! 0.1.9 rules, and encoding.

use std::fmt;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{codes, RpcError};
use crate::names::{is_valid_method_name, is_valid_service_name};

/// A request id: a string or an integer (never a boolean, float or null).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer id (clients of other JSON-RPC stacks use them).
    Number(serde_json::Number),
    /// A string id; clamator clients send UUID v4 strings.
    String(String),
}

impl Id {
    /// A fresh UUID v4 string id, as clamator clients send.
    pub fn new_uuid() -> Self {
        Id::String(uuid::Uuid::new_v4().to_string())
    }

    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Id::String(s.clone())),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(Id::Number(n.clone())),
            _ => None,
        }
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id::String(s.to_owned())
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id::String(s)
    }
}

impl From<u64> for Id {
    fn from(n: u64) -> Self {
        Id::Number(n.into())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => f.write_str(s),
        }
    }
}

/// A call: a request (with an id, expects a reply) or a notification (no id, no reply).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The service segment of `method`.
    pub service: String,
    /// The method segment of `method`.
    pub method: String,
    /// The params (`{}` when absent on the wire).
    pub params: Value,
    /// `Some` for a request, `None` for a notification.
    pub id: Option<Id>,
}

impl Call {
    /// `true` when no reply is expected.
    pub fn is_notification(&self) -> bool {
        self.id.is_none()
    }

    /// Encodes the call as a JSON-RPC envelope.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
    /// use clamator::Id;
    /// use clamator::transport::Call;
    /// let call = Call {
    ///     service: "arith".into(),
    ///     method: "add".into(),
    ///     params: serde_json::json!({"a": 1}),
    ///     id: Some(Id::from("1")),
    /// };
    /// assert_eq!(
    ///     call.to_json(),
    ///     r#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1},"id":"1"}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        // A `Value` always serializes (its map keys are strings).
        self.to_json_with_params(&serde_json::to_string(&self.params).unwrap_or_default())
    }

    /// [`to_json`](Self::to_json) with `params` (JSON text) in place of [`params`](Self::params).
    pub(crate) fn to_json_with_params(&self, params: &str) -> String {
        use crate::envelope_fast::{id_len, needs_no_escape, push_id};
        if !(needs_no_escape(&self.service) && needs_no_escape(&self.method)) {
            // Names that need escaping (never valid ones): serde writes them.
            let params = serde_json::from_str::<&serde_json::value::RawValue>(params).ok();
            return encode(&CallText { call: self, params });
        }
        // Written by hand, in the member order of `Serialize`, for a client's hot path:
        // `collect_str` of the full method name went through `fmt`.
        let id_len = self.id.as_ref().map_or(0, id_len);
        let mut out = String::with_capacity(64 + self.service.len() + self.method.len() + params.len() + id_len);
        out.push_str(r#"{"jsonrpc":"2.0","method":""#);
        out.push_str(&self.service);
        out.push('.');
        out.push_str(&self.method);
        out.push_str(r#"","params":"#);
        out.push_str(params);
        if let Some(id) = &self.id {
            out.push_str(r#","id":"#);
            push_id(&mut out, id);
        }
        out.push('}');
        out
    }
}

/// A [`Call`] whose params are JSON text, for serde.
struct CallText<'a> {
    call: &'a Call,
    params: Option<&'a serde_json::value::RawValue>,
}

impl Serialize for CallText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_call(self.call, &self.params, serializer)
    }
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_call(self, &self.params, serializer)
    }
}

/// A call's envelope, with `params` in place of its own.
fn serialize_call<S: Serializer, P: Serialize + ?Sized>(
    call: &Call,
    params: &P,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    struct FullMethod<'a>(&'a str, &'a str);
    impl Serialize for FullMethod<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(&format_args!("{}.{}", self.0, self.1))
        }
    }
    let mut map = serializer.serialize_map(Some(if call.id.is_some() { 4 } else { 3 }))?;
    map.serialize_entry("jsonrpc", "2.0")?;
    map.serialize_entry("method", &FullMethod(&call.service, &call.method))?;
    map.serialize_entry("params", params)?;
    if let Some(id) = &call.id {
        map.serialize_entry("id", id)?;
    }
    map.end()
}

/// A reply to a request: the result, or the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request; `None` only for errors about requests whose id was unreadable.
    pub id: Option<Id>,
    /// `Ok(result)` for a success envelope, `Err(error)` for an error envelope.
    pub outcome: Result<Value, RpcError>,
}

impl Response {
    /// A success reply.
    pub fn success(id: Id, result: Value) -> Self {
        Self { id: Some(id), outcome: Ok(result) }
    }

    /// An error reply.
    pub fn error(id: Option<Id>, error: RpcError) -> Self {
        Self { id, outcome: Err(error) }
    }

    /// Encodes the reply as a JSON-RPC envelope. The encoding is always valid JSON: a
    /// non-finite float in a result is written as `null`, never as `Infinity`.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
    /// use clamator::{Id, Response, RpcError};
    /// let ok = Response::success(Id::from("7"), serde_json::json!({"sum": 5.0}));
    /// assert_eq!(ok.to_json(), r#"{"jsonrpc":"2.0","id":"7","result":{"sum":5.0}}"#);
    /// let err = Response::error(None, RpcError::new(-32700, "Parse error"));
    /// assert_eq!(
    ///     err.to_json(),
    ///     r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":null}}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        encode(self)
    }
}

impl Response {
    /// A success as clamator servers write it (`{"jsonrpc":"2.0","id":"<id>","result":...}`,
    /// no spaces, an id with nothing to escape), read in place: its id and its result's JSON
    /// text (syntax checked, numbers not: `1e400` passes). `None` for any other document;
    /// [`Envelope::parse`] reads every form.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; }
    /// use clamator::Response;
    /// let reply = br#"{"jsonrpc":"2.0","id":"r1","result":{"sum":3}}"#;
    /// assert_eq!(Response::read_success(reply), Some(("r1", r#"{"sum":3}"#)));
    /// assert_eq!(Response::read_success(br#"{"id":"r1","jsonrpc":"2.0","result":3}"#), None);
    /// ```
    pub fn read_success(bytes: &[u8]) -> Option<(&str, &str)> {
        crate::envelope_fast::canonical_success(bytes)
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("jsonrpc", "2.0")?;
        map.serialize_entry("id", &self.id)?;
        match &self.outcome {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

fn encode<T: Serialize>(value: &T) -> String {
    // Serializing a `Value`-based envelope to a String cannot fail: every map key is a string.
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("envelope serialization is infallible: {e}"))
}

/// Any envelope clamator understands.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// A request or notification.
    Call(Call),
    /// A success or error reply.
    Response(Response),
}

/// Why an envelope was rejected: `-32700 Parse error` or `-32600 Invalid Request`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {}: {detail}", if *.code == codes::PARSE_ERROR { "Parse error" } else { "Invalid Request" })]
pub struct EnvelopeError {
    /// [`codes::PARSE_ERROR`] or [`codes::INVALID_REQUEST`].
    pub code: i64,
    /// What exactly is wrong.
    pub detail: String,
    /// The envelope's id, when it could be read: a reply can then be correlated.
    pub id: Option<Id>,
}

impl EnvelopeError {
    fn parse(detail: impl fmt::Display) -> Self {
        Self { code: codes::PARSE_ERROR, detail: detail.to_string(), id: None }
    }

    fn invalid(detail: &str, id: Option<Id>) -> Self {
        Self { code: codes::INVALID_REQUEST, detail: detail.to_owned(), id }
    }

    /// The error object to answer with: the exact 0.1.9 message, and the detail in `data`.
    pub fn to_rpc_error(&self) -> RpcError {
        let message = if self.code == codes::PARSE_ERROR { "Parse error" } else { "Invalid Request" };
        RpcError::new(self.code, message).with_data(serde_json::json!({ "detail": self.detail }))
    }
}

impl Envelope {
    /// Parses an envelope from raw bytes.
    ///
    /// Bytes that are not UTF-8 JSON give `-32700`; JSON that is not a valid envelope
    /// (a batch, wrong `jsonrpc`, bad method format, bad id) gives `-32600`. When the
    /// document is well-formed but holds a number JSON cannot represent (`1e400`), the error
    /// is `-32700` and still carries the id, so the caller can be answered.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
    /// use clamator::codes;
    /// use clamator::transport::Envelope;
    /// let env = Envelope::parse(br#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1},"id":"x"}"#).unwrap();
    /// assert!(matches!(env, Envelope::Call(ref c) if c.service == "arith" && c.method == "add"));
    ///
    /// assert_eq!(Envelope::parse(b"{nope").unwrap_err().code, codes::PARSE_ERROR);
    /// assert_eq!(Envelope::parse(b"[]").unwrap_err().code, codes::INVALID_REQUEST);
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        match crate::envelope_fast::parse(bytes) {
            Some(envelope) => Ok(envelope),
            None => general(bytes),
        }
    }

    /// Parses a JSON-RPC 2.0 batch (a JSON array of envelopes), each element with the rules of
    /// [`Envelope::parse`]. A Rust server writes the replies of one batch to a Rust client this
    /// way (see the Redis transport's wire extensions); the array itself must be well-formed
    /// JSON, else the whole document is a `-32700` error.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
    /// use clamator::transport::Envelope;
    /// let batch = Envelope::parse_batch(br#"[{"jsonrpc":"2.0","id":"a","result":1},{"id":"b"}]"#).unwrap();
    /// assert!(matches!(batch[0], Ok(Envelope::Response(_))));
    /// assert!(batch[1].is_err());
    /// assert!(Envelope::parse_batch(b"{}").is_err());
    /// ```
    pub fn parse_batch(bytes: &[u8]) -> Result<Vec<Result<Self, EnvelopeError>>, EnvelopeError> {
        let elements: Vec<&serde_json::value::RawValue> =
            serde_json::from_slice(bytes).map_err(EnvelopeError::parse)?;
        Ok(elements.into_iter().map(|raw| Self::parse(raw.get().as_bytes())).collect())
    }

    /// Classifies an already-parsed JSON value, with the same rules as [`Envelope::parse`].
    pub fn from_value(value: Value) -> Result<Self, EnvelopeError> {
        let mut obj = match value {
            Value::Object(obj) => obj,
            Value::Array(_) => return Err(EnvelopeError::invalid("batch requests not supported", None)),
            _ => return Err(EnvelopeError::invalid("not an object", None)),
        };
        // An id that is present but not a string or integer is an error for calls; keep what
        // can be read so that errors can still be correlated.
        let raw_id = obj.remove("id").filter(|v| !v.is_null());
        let id = raw_id.as_ref().and_then(Id::from_value);
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(EnvelopeError::invalid("jsonrpc must equal \"2.0\"", id));
        }
        if let Some(Value::String(full)) = obj.get("method") {
            let (service, method) = match split_method(full) {
                Ok(parts) => parts,
                Err(detail) => return Err(EnvelopeError::invalid(detail, id)),
            };
            if raw_id.is_some() && id.is_none() {
                return Err(EnvelopeError::invalid("id must be string or number", None));
            }
            let (service, method) = (service.to_owned(), method.to_owned());
            let params = obj.remove("params").unwrap_or_else(|| Value::Object(Map::new()));
            return Ok(Envelope::Call(Call { service, method, params, id }));
        }
        let result = obj.remove("result");
        let error = obj.remove("error");
        match (result, error) {
            (Some(result), None) => match id {
                Some(id) => Ok(Envelope::Response(Response::success(id, result))),
                None => Err(EnvelopeError::invalid("response must have id", None)),
            },
            (None, Some(error)) => {
                let error = parse_error_object(error).ok_or_else(|| {
                    EnvelopeError::invalid("error must have numeric code + string message", id.clone())
                })?;
                Ok(Envelope::Response(Response::error(id, error)))
            }
            _ => Err(EnvelopeError::invalid("envelope must be request, notification, or response", id)),
        }
    }
}

/// A call's `method`, `"<service>.<method>"`, split at its first dot into two valid names;
/// else what is wrong with it.
pub(crate) fn split_method(full: &str) -> Result<(&str, &str), &'static str> {
    let (service, method) = full
        .split_once('.')
        .filter(|(service, method)| !service.is_empty() && !method.is_empty())
        .ok_or("method must be \"<service>.<method>\"")?;
    if !is_valid_service_name(service) {
        return Err("invalid service segment");
    }
    if !is_valid_method_name(method) {
        return Err("invalid method segment");
    }
    Ok((service, method))
}

/// [`Envelope::parse`] for any document: read as a `Value`, then classified, so that every
/// fault gets its exact error (the common, well-formed case is read faster by
/// `envelope_fast`).
pub(crate) fn general(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => Envelope::from_value(value),
        Err(e) => {
            // The document may still be well-formed JSON whose only fault is a number
            // out of range (`1e400`), or the `Infinity`/`NaN` Python's `json` writes: read
            // the id alone, so the caller can be answered (or a waiting call failed).
            let mut error = EnvelopeError::parse(e);
            error.id = probe_id(bytes);
            Err(error)
        }
    }
}

/// Reads only `id`; every other member is skipped without being converted.
#[derive(Deserialize)]
struct IdProbe {
    #[serde(default)]
    id: Option<Value>,
}

/// The id of a document that does not parse, when it can still be read: directly, or once
/// the non-JSON tokens `NaN`, `Infinity` and `-Infinity` (outside strings) are read as `null`.
fn probe_id(bytes: &[u8]) -> Option<Id> {
    let probe = |b: &[u8]| serde_json::from_slice::<IdProbe>(b).ok().and_then(|p| p.id);
    let id = probe(bytes).or_else(|| probe(&non_finite_as_null(bytes)?))?;
    Id::from_value(&id)
}

/// `bytes` with `NaN`, `Infinity` and `-Infinity` outside strings replaced by `null`;
/// `None` when there is none.
fn non_finite_as_null(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped, mut replaced) = (false, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            let token = [&b"-Infinity"[..], b"Infinity", b"NaN"].into_iter().find(|t| bytes[i..].starts_with(t));
            if let Some(token) = token {
                out.extend_from_slice(b"null");
                i += token.len();
                replaced = true;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    replaced.then_some(out)
}

pub(crate) fn parse_error_object(error: Value) -> Option<RpcError> {
    let Value::Object(mut obj) = error else { return None };
    let code = obj.get("code")?.as_i64()?;
    let message = match obj.remove("message")? {
        Value::String(s) => s,
        _ => return None,
    };
    let data = obj.remove("data").filter(|d| !d.is_null());
    Some(RpcError { code, message, data })
}
