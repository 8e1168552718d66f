//! Errors that say what happened: Display with the details, retry classification, and no
//! `null` standing in for a float JSON cannot hold.

use clamator_core::{
    encode_params, Call, Envelope, Error, Id, ProtocolError, RpcError, ServiceBuilder, TransportError,
};
use serde::Serialize;
use serde_json::json;
use validator::Validate;

#[derive(Debug)]
struct Cause;

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection refused (os error 111)")
    }
}

impl std::error::Error for Cause {}

#[test]
fn rpc_error_display_includes_compact_data() {
    let err = RpcError::new(-32602, "Invalid params")
        .with_data(json!({"errors": [{"loc": ["a"], "msg": "field required", "type": "missing"}]}));
    assert_eq!(
        Error::Rpc(err).to_string(),
        r#"RPC error -32602: Invalid params: {"errors":[{"loc":["a"],"msg":"field required","type":"missing"}]}"#
    );
    assert_eq!(RpcError::new(-32601, "Method not found").to_string(), "RPC error -32601: Method not found");
}

#[test]
fn rpc_error_display_cuts_huge_data() {
    let err = RpcError::new(1, "big").with_data(json!({ "blob": "é".repeat(5000) }));
    let text = err.to_string();
    assert!(text.len() < 700, "{} bytes", text.len());
    assert!(text.starts_with(r#"RPC error 1: big: {"blob":"éé"#), "{text}");
    assert!(text.ends_with("… (10011 bytes)"), "{text}");
}

#[test]
fn transport_error_display_includes_the_cause() {
    let err = TransportError::connection("cannot connect to Redis", Cause);
    assert_eq!(err.to_string(), "connection error: cannot connect to Redis: Connection refused (os error 111)");
    let err = TransportError::not_sent("XADD to p:cmds:arith was not written", Cause);
    assert_eq!(
        Error::from(err).to_string(),
        "transport error: request not sent: XADD to p:cmds:arith was not written: Connection refused (os error 111)"
    );
    let err = TransportError::outcome_unknown("XADD may have been written", Cause);
    assert_eq!(err.to_string(), "outcome unknown: XADD may have been written: Connection refused (os error 111)");
    let bare = TransportError::NotSent { message: "no server".into(), source: None };
    assert_eq!(bare.to_string(), "request not sent: no server");
}

#[test]
fn retry_classification() {
    let not_sent = Error::from(TransportError::not_sent("x", Cause));
    assert!(not_sent.is_retry_safe() && !not_sent.is_outcome_unknown());
    assert!(Error::from(TransportError::connection("x", Cause)).is_retry_safe());
    let unknown = Error::from(TransportError::outcome_unknown("x", Cause));
    assert!(!unknown.is_retry_safe() && unknown.is_outcome_unknown());
    let timeout = Error::from(TransportError::Timeout);
    assert!(!timeout.is_retry_safe() && timeout.is_outcome_unknown());
    assert!(!Error::from(TransportError::Stopped).is_retry_safe());
    assert!(!Error::Rpc(RpcError::method_not_found()).is_retry_safe());
}

#[derive(Serialize, Validate)]
struct Sum {
    sum: f64,
}

#[derive(Serialize, serde::Deserialize, Validate)]
struct AddParams {
    a: f64,
    b: f64,
}

#[tokio::test]
async fn a_non_finite_result_is_an_error_not_null() {
    let service = ServiceBuilder::new("arith")
        .method("add", |p: AddParams| async move { Ok::<_, RpcError>(Sum { sum: p.a + p.b }) })
        .build()
        .unwrap();
    let call = |a: f64| Call {
        service: "arith".into(),
        method: "add".into(),
        params: json!({"a": a, "b": f64::MAX}),
        id: Some(Id::from("1")),
    };
    let ok = service.dispatch(call(0.0)).await.unwrap();
    assert_eq!(ok.outcome.unwrap(), json!({"sum": f64::MAX}));
    let overflow = service.dispatch(call(f64::MAX)).await.unwrap();
    let err = overflow.outcome.unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (-32603, "Result validation failed"));
    let errors = err.validation_errors().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path(), "sum");
    assert_eq!(errors[0].kind, "finite_number");
    assert!(errors[0].msg.contains("inf"), "{}", errors[0].msg);
}

#[test]
fn non_finite_params_are_refused_before_sending() {
    let err = encode_params(&AddParams { a: f64::NAN, b: 1.0 }).unwrap_err();
    assert!(matches!(err, Error::Protocol(ProtocolError::ParamsNotSerializable(_))), "{err:?}");
    assert_eq!(
        err.to_string(),
        "protocol error: params could not be serialized: non-finite number (NaN) at a: JSON cannot represent it"
    );
    assert_eq!(encode_params(&AddParams { a: 1.0, b: 2.0 }).unwrap(), json!({"a": 1.0, "b": 2.0}));
}

#[test]
fn the_id_of_a_reply_with_infinity_can_still_be_read() {
    // What a 0.1.9 (Python) server writes for an overflowing float.
    let err =
        Envelope::parse(br#"{"jsonrpc":"2.0","id":"x","result":{"sum":Infinity,"d":-Infinity,"n":NaN}}"#).unwrap_err();
    assert_eq!(err.code, -32700);
    assert_eq!(err.id, Some(Id::from("x")));
    // The tokens inside strings are left alone, and nothing else is guessed.
    let err =
        Envelope::parse(br#"{"jsonrpc":"2.0","result":{"s":"Infinity \" NaN"},"id":"y","z":Infinity}"#).unwrap_err();
    assert_eq!(err.id, Some(Id::from("y")));
    assert_eq!(Envelope::parse(br#"{"id":"z", nope}"#).unwrap_err().id, None);
}
