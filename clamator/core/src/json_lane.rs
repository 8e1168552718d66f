//! The JSON lane: a request read in place and answered without a `serde_json::Value`.
//!
//! The general path ([`Envelope::parse`](crate::Envelope::parse), then
//! [`ServiceTable::dispatch_with`]) builds a `Value` for the params, decodes the handler's
//! params from it, serializes the result into another `Value` and that into the response:
//! three trees per call, which showed as the largest JSON item in a server's profile. Here a
//! well-formed request borrows its method name and params from the bytes, typed handlers
//! decode their params straight from the params text and serialize their result straight to
//! text, and the response is written around it.
//!
//! The lane answers exactly what the general path answers. It takes a request only when
//! that is certain: a request object (not a notification) for this table's service, no
//! middleware, a method with a typed handler, and params that decode. Anything else (a fault
//! of any kind, a notification, a `Handler::raw` method, params that fail to decode) is
//! left to the general path, which knows the exact error to report; nothing has run then.

use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::context::Context;
use crate::contract::MethodKind;
use crate::envelope::{split_method, Id, Response};
use crate::envelope_fast::{id_len, leading_value, plain_string, push_id};
use crate::error::RpcError;
use crate::service::{panic_error, ServiceTable};

/// The boxed future of a typed handler in the lane: the result as JSON text, or the error.
pub(crate) type JsonFuture = Pin<Box<dyn Future<Output = Result<String, RpcError>> + Send>>;

/// A typed handler's lane: decodes the params text and starts the handler (taking the
/// context out of `ctx` if it uses one), or `None` when the params do not decode (the
/// general path then reports why).
pub(crate) type JsonFn = Arc<dyn Fn(&mut Option<Context>, &str) -> Option<JsonFuture> + Send + Sync>;

/// The members of a request; a document with `result` or `error` is not taken.
#[derive(Deserialize)]
struct RequestMembers<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// A member that is present, `null` included.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// A request as the lane reads it.
struct Request<'a> {
    /// `service.method`, as sent.
    full_method: Cow<'a, str>,
    /// The params text (`{}` when absent).
    params: &'a str,
    id: Id,
}

impl<'a> Request<'a> {
    /// A well-formed request object in `bytes` (`None` for anything else).
    fn read(bytes: &'a [u8]) -> Option<Self> {
        Self::canonical(bytes).or_else(|| Self::members(bytes))
    }

    /// A request exactly as clamator clients write it (`jsonrpc`, `method`, `params`, then a
    /// string `id`, no spaces, no escapes in the method or id), read without matching member
    /// names: about a third of what [`members`](Self::members) costs. `None` for any other
    /// form.
    fn canonical(bytes: &'a [u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(br#"{"jsonrpc":"2.0","method":""#)?;
        let (method, rest) = plain_string(rest)?;
        let rest = rest.strip_prefix(br#","params":"#)?;
        let (params, rest) = leading_value(rest)?;
        let rest = rest.strip_prefix(br#","id":""#)?;
        let (id, rest) = plain_string(rest)?;
        (rest == b"}").then(|| Request { full_method: Cow::Borrowed(method), params, id: Id::String(id.to_owned()) })
    }

    /// Any request object: its members in any order, with escapes.
    fn members(bytes: &'a [u8]) -> Option<Self> {
        // serde reads a struct from an array too: only objects are taken here.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return None;
        }
        let members: RequestMembers<'a> = serde_json::from_slice(bytes).ok()?;
        if members.jsonrpc != "2.0" || members.result.is_some() || members.error.is_some() {
            return None;
        }
        let id = match members.id? {
            Value::String(s) => Id::String(s),
            Value::Number(n) if n.is_i64() || n.is_u64() => Id::Number(n),
            _ => return None,
        };
        let params = members.params.map_or("{}", RawValue::get);
        Some(Request { full_method: members.method, params, id })
    }
}

/// A request answered in the lane.
#[derive(Debug)]
pub struct JsonReply {
    /// The response envelope, as JSON text.
    pub json: String,
    /// The error it carries, if any (for logs and metrics).
    pub error: Option<RpcError>,
}

impl JsonReply {
    fn new(id: Id, outcome: Result<String, RpcError>) -> Self {
        match outcome {
            Ok(result) => {
                let mut json = String::with_capacity(result.len() + 48 + id_len(&id));
                json.push_str(r#"{"jsonrpc":"2.0","id":"#);
                push_id(&mut json, &id);
                json.push_str(r#","result":"#);
                json.push_str(&result);
                json.push('}');
                JsonReply { json, error: None }
            }
            Err(error) => {
                let json = Response::error(Some(id), error.clone()).to_json();
                JsonReply { json, error: Some(error) }
            }
        }
    }
}

impl ServiceTable {
    /// Runs the request in `bytes` (a JSON-RPC envelope) without building a
    /// `serde_json::Value` for its params or result, when it can: the method's wire name,
    /// and the future of its reply.
    ///
    /// `Err` gives `ctx` back: the request does not take this lane (a notification, a fault,
    /// a method without a typed handler, middleware on the table, params that do not
    /// decode...) and nothing has run. Parse it with
    /// [`Envelope::parse`](crate::Envelope::parse) and run it with
    /// [`dispatch_with`](Self::dispatch_with), which answer every request; for a request
    /// this lane takes, both give the same reply.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; }
    /// use clamator::{RpcError, ServiceBuilder, Context};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Deserialize)]
    /// struct Add { a: i64, b: i64 }
    ///
    /// let table = ServiceBuilder::new("arith")
    ///     .method_with_rules("add", clamator::Rules::none(), clamator::Rules::none(), |p: Add| async move {
    ///         Ok::<_, RpcError>(p.a + p.b)
    ///     })
    ///     .build()
    ///     .unwrap();
    /// let request = br#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1,"b":2},"id":"r1"}"#;
    /// let (method, reply) = table.dispatch_json(Context::default(), request).ok().unwrap();
    /// assert_eq!(method, "add");
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let reply = rt.block_on(reply);
    /// assert_eq!(reply.json, r#"{"jsonrpc":"2.0","id":"r1","result":3}"#);
    /// ```
    #[allow(clippy::result_large_err)]
    pub fn dispatch_json<'t>(
        &'t self,
        ctx: Context,
        bytes: &[u8],
    ) -> Result<(&'t str, impl Future<Output = JsonReply> + Send + 't), Context> {
        if self.layered.is_some() {
            return Err(ctx);
        }
        let Some(request) = Request::read(bytes) else { return Err(ctx) };
        let Ok((service, method)) = split_method(&request.full_method) else { return Err(ctx) };
        let entry = match self.methods.get(method) {
            Some(entry) if service == self.name() && entry.kind == MethodKind::Method => entry,
            _ => return Err(ctx),
        };
        let Some(json) = &entry.handler.json else { return Err(ctx) };
        let mut ctx = Some(ctx);
        if entry.handler.takes_context() {
            if let Some(ctx) = &mut ctx {
                self.fill_context(ctx, entry, Some(&request.id));
            }
        }
        let started = match std::panic::catch_unwind(AssertUnwindSafe(|| json(&mut ctx, request.params))) {
            Ok(Some(fut)) => Ok(fut),
            Ok(None) => return Err(ctx.unwrap_or_default()),
            Err(panic) => Err(panic_error(panic)),
        };
        let id = request.id;
        let name: &'t str = &entry.name;
        Ok((name, async move {
            let outcome = match started {
                Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await.unwrap_or_else(|p| Err(panic_error(p))),
                Err(error) => Err(error),
            };
            if let Err(error) = &outcome {
                self.log_failure(name, Some(&id), error);
            }
            JsonReply::new(id, outcome)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Request;

    #[test]
    fn reads_requests_only() {
        let taken = [
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1,"b":2},"id":"x"}"#,
            r#" {"id":7,"params":[1,2],"method":"arith.add","jsonrpc":"2.0","extra":true}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":null,"id":"x"}"#,
        ];
        for doc in taken {
            assert!(Request::read(doc.as_bytes()).is_some(), "{doc}");
        }
        let left = [
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":null}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":1.5}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":true}"#,
            r#"{"jsonrpc":"1.0","method":"arith.add","id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":"x","result":1}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":"x","id":"y"}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":1}"#,
            r#"[{"jsonrpc":"2.0","method":"arith.add","id":"x"}]"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","id":"x"} trailing"#,
            "",
        ];
        for doc in left {
            assert!(Request::read(doc.as_bytes()).is_none(), "{doc}");
        }
        let read = Request::read(br#"{"jsonrpc":"2.0","method":"arith.add","id":"x"}"#).unwrap();
        assert_eq!((read.full_method.as_ref(), read.params), ("arith.add", "{}"));
    }

    /// The canonical form reads as the general one does; anything else is left to it.
    #[test]
    fn reads_the_canonical_form_as_members_does() {
        let canonical = [
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1,"b":"}\\\"","c":[{}]},"id":"00000000-0000-4000-8000-000000000001"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":"é"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":[1,2],"id":""}"#,
        ];
        for doc in canonical {
            let fast = Request::canonical(doc.as_bytes()).unwrap_or_else(|| panic!("not canonical: {doc}"));
            let slow = Request::members(doc.as_bytes()).unwrap();
            assert_eq!((fast.full_method, fast.params, fast.id), (slow.full_method, slow.params, slow.id), "{doc}");
        }
        let other = [
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":"x" }"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":"x"}}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":"x\n"}"#,
            r#"{"jsonrpc":"2.0","method":"ar\u0069th.add","params":{},"id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{,"id":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":7}"#,
            r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":"x","extra":1}"#,
            "{\"jsonrpc\":\"2.0\",\"method\":\"arith.add\",\"params\":{},\"id\":\"a\u{1}b\"}",
        ];
        for doc in other {
            assert!(Request::canonical(doc.as_bytes()).is_none(), "{doc}");
        }
    }
}
