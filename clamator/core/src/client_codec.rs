//! How typed clients encode params and decode results: through a `serde_json::Value`, or
//! straight to and from JSON text for transports that write JSON
//! ([`RpcClient::writes_json`](crate::RpcClient::writes_json)).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use validator::Validate;

use crate::error::{Error, ProtocolError};
use crate::validation::{FieldError, Rules};

/// A call's result as a transport hands it over.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultData {
    /// Parsed.
    Value(Value),
    /// The result's JSON text, as the reply carried it (syntax checked): a typed caller
    /// decodes it without building a `Value`.
    Json(String),
}

impl ResultData {
    /// The result as a `Value` (JSON text is parsed; text that holds a number JSON cannot
    /// represent, `1e400`, is [`ProtocolError::InvalidReply`]).
    pub fn into_value(self) -> Result<Value, Error> {
        match self {
            ResultData::Value(value) => Ok(value),
            ResultData::Json(text) => serde_json::from_str(&text)
                .map_err(|e| ProtocolError::InvalidReply(format!("result is not valid JSON: {e}")).into()),
        }
    }
}

/// Validates and encodes `params`: nothing is sent when this fails.
///
/// A non-finite float (`inf`, `NaN`) is refused with
/// [`ProtocolError::ParamsNotSerializable`]: JSON cannot represent it, and `serde_json` would
/// silently send `null` instead. Params that do not serialize to a JSON object are refused
/// with [`ProtocolError::InvalidParams`] (`type` `model_type`): the wire carries named params.
pub fn encode_params<P: Serialize + Validate>(params: &P) -> Result<Value, Error> {
    encode_params_with_rules(params, Rules::validator())
}

/// [`encode_params`] with the checks given explicitly (`P` needs no `validator` rules).
pub fn encode_params_with_rules<P: Serialize>(params: &P, rules: Rules<P>) -> Result<Value, Error> {
    rules.check(params).map_err(ProtocolError::InvalidParams)?;
    let value = serde_json::to_value(params).map_err(ProtocolError::ParamsNotSerializable)?;
    if let Some(found) = crate::finite::check(params, &value) {
        let error = <serde_json::Error as serde::ser::Error>::custom(found.message());
        return Err(ProtocolError::ParamsNotSerializable(error).into());
    }
    if !value.is_object() {
        let entry = FieldError::new(Vec::new(), "params must be a JSON object", "model_type");
        return Err(ProtocolError::InvalidParams(vec![entry]).into());
    }
    Ok(value)
}

/// Decodes and validates a result; a mismatch is a [`ProtocolError`], never a panic.
pub fn decode_result<R: DeserializeOwned + Validate>(value: Value) -> Result<R, Error> {
    decode_result_with_rules(value, Rules::validator())
}

/// [`decode_result`] with the checks given explicitly (`R` needs no `validator` rules).
pub fn decode_result_with_rules<R: DeserializeOwned>(value: Value, rules: Rules<R>) -> Result<R, Error> {
    // Decoded in place first; only a failure is decoded again, with the failing field's path.
    let result: R = match R::deserialize(&value) {
        Ok(result) => result,
        Err(_) => serde_path_to_error::deserialize(value).map_err(|e| ProtocolError::ResultMismatch(e.to_string()))?,
    };
    rules.check(&result).map_err(ProtocolError::InvalidResult)?;
    Ok(result)
}

/// [`encode_params_with_rules`] straight to JSON text: the same checks, the same errors.
pub fn encode_params_json<P: Serialize>(params: &P, rules: Rules<P>) -> Result<String, Error> {
    rules.check(params).map_err(ProtocolError::InvalidParams)?;
    let text = serde_json::to_string(params).map_err(ProtocolError::ParamsNotSerializable)?;
    // serde_json writes a non-finite float as `null`: only text holding one is searched.
    if text.contains("null") {
        if let Some(found) = crate::finite::first_non_finite(params) {
            let error = <serde_json::Error as serde::ser::Error>::custom(found.message());
            return Err(ProtocolError::ParamsNotSerializable(error).into());
        }
    }
    if !text.starts_with('{') {
        let entry = FieldError::new(Vec::new(), "params must be a JSON object", "model_type");
        return Err(ProtocolError::InvalidParams(vec![entry]).into());
    }
    Ok(text)
}

/// [`decode_result_with_rules`] for a result as the transport gave it: JSON text is decoded
/// directly, and only a failure goes through a `Value`, for the same error.
pub fn decode_result_data<R: DeserializeOwned>(data: ResultData, rules: Rules<R>) -> Result<R, Error> {
    let text = match data {
        ResultData::Value(value) => return decode_result_with_rules(value, rules),
        ResultData::Json(text) => text,
    };
    match serde_json::from_str::<R>(&text) {
        Ok(result) => {
            rules.check(&result).map_err(ProtocolError::InvalidResult)?;
            Ok(result)
        }
        Err(_) => decode_result_with_rules(ResultData::Json(text).into_value()?, rules),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Validate)]
    struct Point {
        #[validate(range(max = 10.0))]
        x: f64,
        label: Option<String>,
    }

    /// The text lane refuses and accepts exactly what the `Value` lane does, with the same
    /// errors, and encodes the same JSON.
    #[test]
    fn params_encode_as_through_a_value() {
        let cases = [
            Point { x: 1.5, label: Some("a \"quoted\" null".into()) },
            Point { x: 11.0, label: None },
            Point { x: f64::INFINITY, label: None },
            Point { x: f64::NAN, label: Some("null".into()) },
        ];
        for point in &cases {
            let text = encode_params_json(point, Rules::validator()).map_err(|e| e.to_string());
            let value = encode_params_with_rules(point, Rules::validator()).map_err(|e| e.to_string());
            let parsed = text.map(|t| serde_json::from_str::<Value>(&t).unwrap());
            assert_eq!(parsed, value, "{point:?}");
        }
        let not_object = encode_params_json(&7u32, Rules::none()).unwrap_err().to_string();
        assert_eq!(not_object, encode_params_with_rules(&7u32, Rules::none()).unwrap_err().to_string());
    }

    #[test]
    fn results_decode_as_through_a_value() {
        let texts = [r#"{"x":1.5,"label":null}"#, r#"{"x":12}"#, r#"{"x":"1"}"#, r#"{"label":"a"}"#, "[1]", "1e400"];
        for text in texts {
            let direct = decode_result_data::<Point>(ResultData::Json(text.into()), Rules::validator());
            let through = ResultData::Json(text.into())
                .into_value()
                .and_then(|value| decode_result_with_rules::<Point>(value, Rules::validator()));
            assert_eq!(direct.map_err(|e| e.to_string()), through.map_err(|e| e.to_string()), "{text}");
        }
        let map: BTreeMap<String, u8> =
            decode_result_data(ResultData::Value(serde_json::json!({"a": 1})), Rules::none()).unwrap();
        assert_eq!(map["a"], 1);
    }
}
