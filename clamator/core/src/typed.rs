//! Typed handlers with explicit [`Rules`]: what `#[clamator::contract]` generates calls to,
//! and what a hand-written service uses for params or results without `validator` rules.

use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::context::Context;
use crate::error::RpcError;
use crate::json_lane::JsonFuture;
use crate::service::{Handler, HandlerFuture};
use crate::validation::{FieldError, Rules};

/// [`typed_method`](crate::typed_method) with the checks of its params and result given
/// explicitly: `P` and `R` need no `validator::Validate` impl.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{RpcError, Rules};
/// use clamator::transport::typed_method_with_rules;
///
/// // `u64` in, `Vec<u64>` out: serde alone decides what is valid.
/// let handler = typed_method_with_rules(Rules::none(), Rules::none(), |p: std::collections::HashMap<String, u64>| async move {
///     Ok::<_, RpcError>(p.into_values().collect::<Vec<u64>>())
/// });
/// # let _ = handler;
/// ```
pub fn typed_method_with_rules<P, R, E, F, Fut>(params_rules: Rules<P>, result_rules: Rules<R>, f: F) -> Handler
where
    P: DeserializeOwned + Send + 'static,
    R: Serialize + 'static,
    E: Into<RpcError> + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    let f = Arc::new(f);
    let lane = Arc::clone(&f);
    Handler::plain(move |params: Value| -> HandlerFuture {
        match decode_params(params, params_rules) {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(params) => {
                let fut = f(params);
                Box::pin(async move { encode_result(&fut.await.map_err(Into::into)?, result_rules) })
            }
        }
    })
    .with_json(Arc::new(move |_ctx: &mut Option<Context>, params: &str| -> Option<JsonFuture> {
        let params = decode_params_json(params, params_rules)?;
        Some(match params {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(params) => {
                let fut = lane(params);
                Box::pin(async move { encode_result_json(&fut.await.map_err(Into::into)?, result_rules) })
            }
        })
    }))
}

/// [`typed_method_with_rules`] for a function that also takes the request's [`Context`].
pub fn typed_method_with_context_and_rules<P, R, E, F, Fut>(
    params_rules: Rules<P>,
    result_rules: Rules<R>,
    f: F,
) -> Handler
where
    P: DeserializeOwned + Send + 'static,
    R: Serialize + 'static,
    E: Into<RpcError> + 'static,
    F: Fn(Context, P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, E>> + Send + 'static,
{
    let f = Arc::new(f);
    let lane = Arc::clone(&f);
    Handler::with_context(move |ctx: Context, params: Value| -> HandlerFuture {
        match decode_params(params, params_rules) {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(params) => {
                let fut = f(ctx, params);
                Box::pin(async move { encode_result(&fut.await.map_err(Into::into)?, result_rules) })
            }
        }
    })
    .with_json(Arc::new(move |ctx: &mut Option<Context>, params: &str| -> Option<JsonFuture> {
        let params = decode_params_json(params, params_rules)?;
        Some(match params {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(params) => {
                let fut = lane(ctx.take().unwrap_or_default(), params);
                Box::pin(async move { encode_result_json(&fut.await.map_err(Into::into)?, result_rules) })
            }
        })
    }))
}

/// [`typed_notification`](crate::typed_notification) with the checks of its params given
/// explicitly.
pub fn typed_notification_with_rules<P, F, Fut>(params_rules: Rules<P>, f: F) -> Handler
where
    P: DeserializeOwned + Send + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Handler::plain(move |params: Value| -> HandlerFuture {
        match decode_params(params, params_rules) {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(params) => Box::pin(f(params).map(|()| Ok(Value::Null))),
        }
    })
}

/// [`typed_notification_with_rules`] for a function that also takes the request's
/// [`Context`].
pub fn typed_notification_with_context_and_rules<P, F, Fut>(params_rules: Rules<P>, f: F) -> Handler
where
    P: DeserializeOwned + Send + 'static,
    F: Fn(Context, P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Handler::with_context(move |ctx: Context, params: Value| -> HandlerFuture {
        match decode_params(params, params_rules) {
            Err(error) => Box::pin(std::future::ready(Err(error))),
            Ok(params) => Box::pin(f(ctx, params).map(|()| Ok(Value::Null))),
        }
    })
}

/// Params are named: a JSON object (as Pydantic models require). serde alone would accept an
/// array for a struct, by position.
pub(crate) fn decode_params<P: DeserializeOwned>(params: Value, rules: Rules<P>) -> Result<P, RpcError> {
    if !params.is_object() {
        let entry = FieldError::new(Vec::new(), "params must be a JSON object", "model_type");
        return Err(RpcError::invalid_params(&[entry]));
    }
    crate::validation::decode_with_rules::<P>(params, rules).map_err(|errors| RpcError::invalid_params(&errors))
}

/// Checks and serializes a handler's result. A non-finite float (`inf`, `NaN`), which
/// JSON cannot hold and `serde_json` would write as `null`, is a `-32603 Result validation
/// failed` error whose `data.errors` names the field (`type` `finite_number`): the caller
/// never receives a `null` the handler did not return.
pub(crate) fn encode_result<R: Serialize>(result: &R, rules: Rules<R>) -> Result<Value, RpcError> {
    rules.check(result).map_err(|errors| RpcError::result_validation_failed(&errors))?;
    let value = serde_json::to_value(result).map_err(|e| RpcError::internal("SerializationError", e.to_string()))?;
    if let Some(found) = crate::finite::check(result, &value) {
        let error = FieldError::new(found.loc.clone(), found.message(), "finite_number");
        return Err(RpcError::result_validation_failed(&[error]));
    }
    Ok(value)
}

/// [`decode_params`] from the params' JSON text, for the JSON lane: `None` when they are not
/// an object or do not decode (the general path then reports exactly why); otherwise the
/// params, or the `-32602` of their rules, as [`decode_params`] gives.
fn decode_params_json<P: DeserializeOwned>(params: &str, rules: Rules<P>) -> Option<Result<P, RpcError>> {
    if !params.starts_with('{') {
        return None;
    }
    let params: P = serde_json::from_str(params).ok()?;
    Some(rules.check(&params).map(|()| params).map_err(|errors| RpcError::invalid_params(&errors)))
}

/// [`encode_result`] straight to JSON text, for the JSON lane.
fn encode_result_json<R: Serialize>(result: &R, rules: Rules<R>) -> Result<String, RpcError> {
    rules.check(result).map_err(|errors| RpcError::result_validation_failed(&errors))?;
    let json = serde_json::to_string(result).map_err(|e| RpcError::internal("SerializationError", e.to_string()))?;
    // serde_json writes a non-finite float as `null`: only text holding one is searched.
    if json.contains("null") {
        if let Some(found) = crate::finite::first_non_finite(result) {
            let error = FieldError::new(found.loc.clone(), found.message(), "finite_number");
            return Err(RpcError::result_validation_failed(&[error]));
        }
    }
    Ok(json)
}
