//! The JSON-RPC 2.0 work the NATS and gRPC peers do per call, the same as clamator's: the
//! client encodes a request envelope with a UUID id and decodes the reply; the server decodes
//! the request, dispatches on the method name and encodes the reply.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct AddParams {
    a: f64,
    b: f64,
}

#[derive(Serialize, Deserialize)]
struct AddResult {
    sum: f64,
}

#[derive(Serialize)]
struct Request<'a> {
    jsonrpc: &'static str,
    method: &'static str,
    params: AddParams,
    id: &'a str,
}

#[derive(Deserialize)]
struct IncomingRequest<'a> {
    method: &'a str,
    params: AddParams,
    id: &'a str,
}

#[derive(Serialize)]
struct Reply<'a> {
    jsonrpc: &'static str,
    result: AddResult,
    id: &'a str,
}

#[derive(Deserialize)]
struct IncomingReply<'a> {
    result: Option<AddResult>,
    error: Option<serde_json::Value>,
    id: &'a str,
}

/// An `arith.add` request for `a + 1` and its id.
pub fn request(a: f64) -> (Vec<u8>, uuid::Uuid) {
    let id = uuid::Uuid::new_v4();
    let mut buf = uuid::Uuid::encode_buffer();
    let id_str = id.hyphenated().encode_lower(&mut buf);
    let req = Request { jsonrpc: "2.0", method: "arith.add", params: AddParams { a, b: 1.0 }, id: id_str };
    (serde_json::to_vec(&req).unwrap_or_default(), id)
}

/// Checks the reply to [`request`]`(a)` with id `id`.
pub fn check_reply(reply: &[u8], id: uuid::Uuid, a: f64) -> Result<(), String> {
    let reply: IncomingReply<'_> = serde_json::from_slice(reply).map_err(|e| format!("bad reply: {e}"))?;
    let mut buf = uuid::Uuid::encode_buffer();
    if reply.id != id.hyphenated().encode_lower(&mut buf) {
        return Err(format!("reply for {}, expected {id}", reply.id));
    }
    match (reply.result, reply.error) {
        (Some(r), _) if r.sum == a + 1.0 => Ok(()),
        (Some(r), _) => Err(format!("wrong sum {} for {a} + 1", r.sum)),
        (None, e) => Err(format!("error reply: {e:?}")),
    }
}

/// The server side: the reply envelope to a request envelope.
pub fn answer(request: &[u8]) -> Vec<u8> {
    let req: IncomingRequest<'_> = match serde_json::from_slice(request) {
        Ok(req) => req,
        Err(e) => return error_reply(-32700, &format!("parse error: {e}"), None),
    };
    if req.method != "arith.add" {
        return error_reply(-32601, "method not found", Some(req.id));
    }
    let reply = Reply { jsonrpc: "2.0", result: AddResult { sum: req.params.a + req.params.b }, id: req.id };
    serde_json::to_vec(&reply).unwrap_or_default()
}

fn error_reply(code: i64, message: &str, id: Option<&str>) -> Vec<u8> {
    let reply = serde_json::json!({ "jsonrpc": "2.0", "error": { "code": code, "message": message }, "id": id });
    serde_json::to_vec(&reply).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let (req, id) = super::request(41.0);
        let reply = super::answer(&req);
        assert_eq!(super::check_reply(&reply, id, 41.0), Ok(()));
        assert!(super::check_reply(&reply, uuid::Uuid::new_v4(), 41.0).is_err());
        assert!(super::check_reply(&super::answer(b"{"), id, 41.0).is_err());
    }
}
