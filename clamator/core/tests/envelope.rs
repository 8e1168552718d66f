//! The envelope parser against every rule of WIRE.md section 1.

use clamator_core::{codes, Call, Envelope, Id, Response, RpcError};
use serde_json::{json, Value};

fn parse(v: Value) -> Result<Envelope, clamator_core::EnvelopeError> {
    Envelope::parse(v.to_string().as_bytes())
}

fn call(v: Value) -> Call {
    match parse(v).expect("valid call") {
        Envelope::Call(c) => c,
        other => panic!("expected a call, got {other:?}"),
    }
}

fn invalid(v: Value) -> String {
    let err = parse(v).expect_err("should be rejected");
    assert_eq!(err.code, codes::INVALID_REQUEST, "{err}");
    err.detail
}

#[test]
fn request_with_string_id() {
    let c = call(json!({"jsonrpc": "2.0", "method": "arith.add", "params": {"a": 1}, "id": "abc"}));
    assert_eq!((c.service.as_str(), c.method.as_str()), ("arith", "add"));
    assert_eq!(c.params, json!({"a": 1}));
    assert_eq!(c.id, Some(Id::from("abc")));
}

#[test]
fn request_with_integer_ids() {
    assert_eq!(call(json!({"jsonrpc": "2.0", "method": "a.b", "id": 7})).id, Some(Id::from(7u64)));
    let negative = call(json!({"jsonrpc": "2.0", "method": "a.b", "id": -3})).id.unwrap();
    assert_eq!(negative.to_string(), "-3");
    let big = call(json!({"jsonrpc": "2.0", "method": "a.b", "id": u64::MAX})).id.unwrap();
    assert_eq!(big.to_string(), u64::MAX.to_string());
}

#[test]
fn notification_without_id_or_with_null_id() {
    assert!(call(json!({"jsonrpc": "2.0", "method": "a.b", "params": {}})).is_notification());
    assert!(call(json!({"jsonrpc": "2.0", "method": "a.b", "id": null})).is_notification());
}

#[test]
fn missing_params_means_empty_object() {
    assert_eq!(call(json!({"jsonrpc": "2.0", "method": "a.b", "id": 1})).params, json!({}));
}

#[test]
fn ids_that_are_not_strings_or_integers_are_rejected() {
    for id in [json!(true), json!(false), json!(1.5), json!(1.0), json!([1]), json!({"x": 1})] {
        let detail = invalid(json!({"jsonrpc": "2.0", "method": "a.b", "id": id}));
        assert_eq!(detail, "id must be string or number");
    }
}

#[test]
fn batches_and_non_objects_are_invalid_requests() {
    assert_eq!(invalid(json!([{"jsonrpc": "2.0", "method": "a.b", "id": 1}])), "batch requests not supported");
    assert_eq!(invalid(json!([])), "batch requests not supported");
    for v in [json!("x"), json!(1), json!(null), json!(true)] {
        assert_eq!(invalid(v), "not an object");
    }
}

#[test]
fn jsonrpc_must_be_exactly_2_0() {
    for version in [json!("1.0"), json!(2.0), json!("2.0 "), json!(null)] {
        invalid(json!({"jsonrpc": version, "method": "a.b", "id": 1}));
    }
    invalid(json!({"method": "a.b", "id": 1}));
}

#[test]
fn invalid_request_keeps_the_id_when_readable() {
    let err = parse(json!({"jsonrpc": "1.0", "method": "a.b", "id": "k"})).unwrap_err();
    assert_eq!(err.id, Some(Id::from("k")));
    let reply = Response::error(err.id.clone(), err.to_rpc_error());
    let v: Value = serde_json::from_str(&reply.to_json()).unwrap();
    assert_eq!(v["id"], "k");
    assert_eq!(v["error"]["code"], -32600);
    assert_eq!(v["error"]["message"], "Invalid Request");
}

#[test]
fn method_format_rules() {
    for bad in [
        "arith",
        "arith.",
        ".add",
        "Arith.add",
        "1arith.add",
        "ar_ith.add",
        "arith.Add",
        "arith.slow-add",
        "arith.slow_add",
        "arith.1add",
        "",
        "ar ith.add",
    ] {
        invalid(json!({"jsonrpc": "2.0", "method": bad, "id": 1}));
    }
    // Hyphens and digits are fine in the service segment.
    let c = call(json!({"jsonrpc": "2.0", "method": "user-store2.getUser9", "id": 1}));
    assert_eq!((c.service.as_str(), c.method.as_str()), ("user-store2", "getUser9"));
}

#[test]
fn method_splits_on_the_first_dot() {
    // `a.b.c` splits into `a` and `b.c`, and `b.c` is not a valid method segment.
    assert_eq!(invalid(json!({"jsonrpc": "2.0", "method": "a.b.c", "id": 1})), "invalid method segment");
}

#[test]
fn bad_json_is_a_parse_error() {
    for bytes in [&b"{"[..], b"", b"nul", b"{\"jsonrpc\":\"2.0\",}", b"\xff\xfe", b"{\"a\":\"\xc3\x28\"}", b"1e400"] {
        let err = Envelope::parse(bytes).unwrap_err();
        assert_eq!(err.code, codes::PARSE_ERROR, "{bytes:?}");
        assert_eq!(err.to_rpc_error().message, "Parse error");
    }
}

#[test]
fn out_of_range_numbers_are_parse_errors_that_keep_the_id() {
    let bytes = br#"{"jsonrpc":"2.0","method":"arith.add","params":{"a":1e400,"b":1},"id":"big"}"#;
    let err = Envelope::parse(bytes).unwrap_err();
    assert_eq!(err.code, codes::PARSE_ERROR);
    assert_eq!(err.id, Some(Id::from("big")));
    // Truly broken JSON has no id to recover.
    assert_eq!(Envelope::parse(br#"{"id":"x", "#).unwrap_err().id, None);
}

#[test]
fn responses() {
    match parse(json!({"jsonrpc": "2.0", "id": "x", "result": null})).unwrap() {
        Envelope::Response(Response { id, outcome: Ok(v) }) => assert_eq!((id, v), (Some(Id::from("x")), Value::Null)),
        other => panic!("{other:?}"),
    }
    match parse(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}})).unwrap() {
        Envelope::Response(Response { id: None, outcome: Err(e) }) => {
            assert_eq!(e, RpcError::new(-32700, "Parse error"))
        }
        other => panic!("{other:?}"),
    }
    let with_data = parse(json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 5, "message": "m", "data": {"k": [1]}}}));
    match with_data.unwrap() {
        Envelope::Response(Response { outcome: Err(e), .. }) => assert_eq!(e.data, Some(json!({"k": [1]}))),
        other => panic!("{other:?}"),
    }
    assert_eq!(invalid(json!({"jsonrpc": "2.0", "result": 1})), "response must have id");
    invalid(json!({"jsonrpc": "2.0", "id": 1, "result": 1, "error": {"code": 1, "message": "m"}}));
    invalid(json!({"jsonrpc": "2.0", "id": 1}));
    for bad_error in
        [json!("boom"), json!({"code": "1", "message": "m"}), json!({"code": 1}), json!({"code": 1.5, "message": "m"})]
    {
        invalid(json!({"jsonrpc": "2.0", "id": 1, "error": bad_error}));
    }
}

#[test]
fn unicode_round_trips_exactly() {
    let text = "héllo — 日本語 — עברית — 𝄞 😀👍🏽 — e\u{301} — \u{0} tab\t nl\n quote\" backslash\\ — \u{10FFFF}";
    let request = Call {
        service: "arith".into(),
        method: "echoText".into(),
        params: json!({"text": text}),
        id: Some(Id::new_uuid()),
    };
    let c = call(serde_json::from_str(&request.to_json()).unwrap());
    assert_eq!(c.params["text"], text);
    // Python's json.dumps escapes non-ASCII as \uXXXX surrogate pairs; those parse too.
    let escaped = r#"{"jsonrpc":"2.0","method":"arith.echoText","params":{"text":"\ud834\udd1e \u00e9"},"id":"1"}"#;
    match Envelope::parse(escaped.as_bytes()).unwrap() {
        Envelope::Call(c) => assert_eq!(c.params["text"], "𝄞 é"),
        other => panic!("{other:?}"),
    }
    // A lone surrogate is not valid Unicode: a parse error, not a panic.
    let lone = r#"{"jsonrpc":"2.0","method":"a.b","params":{"t":"\ud834"},"id":"1"}"#;
    assert_eq!(Envelope::parse(lone.as_bytes()).unwrap_err().code, codes::PARSE_ERROR);
}

#[test]
fn one_mebibyte_payload() {
    let text = "x".repeat(1 << 20);
    let request = Call {
        service: "arith".into(),
        method: "echoText".into(),
        params: json!({"text": text}),
        id: Some(Id::from(1u64)),
    };
    let encoded = request.to_json();
    assert!(encoded.len() > 1 << 20);
    let c = call(serde_json::from_str(&encoded).unwrap());
    assert_eq!(c.params["text"].as_str().unwrap().len(), 1 << 20);
}

#[test]
fn non_finite_results_encode_as_valid_json() {
    let reply = Response::success(Id::from("1"), serde_json::to_value(f64::INFINITY).unwrap());
    let encoded = reply.to_json();
    assert!(serde_json::from_str::<Value>(&encoded).is_ok(), "{encoded}");
    assert!(!encoded.contains("inf") && !encoded.contains("Infinity"));
}

#[test]
fn encoding_matches_the_0_1_9_field_layout() {
    let request = Call { service: "arith".into(), method: "add".into(), params: json!({}), id: Some(Id::from("i")) };
    assert_eq!(request.to_json(), r#"{"jsonrpc":"2.0","method":"arith.add","params":{},"id":"i"}"#);
    let notification = Call { id: None, ..request };
    assert_eq!(notification.to_json(), r#"{"jsonrpc":"2.0","method":"arith.add","params":{}}"#);
    let error = Response::error(Some(Id::from(3u64)), RpcError::new(-32601, "Method not found"));
    assert_eq!(
        error.to_json(),
        r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found","data":null}}"#
    );
}

/// The hand-written encoder and serde give the same text, names that need escaping included.
#[test]
fn call_to_json_matches_serde() {
    let calls = [
        Call { service: "arith".into(), method: "add".into(), params: json!({"a": [1, "x"]}), id: Some(Id::from("1")) },
        Call {
            service: "ar\"ith".into(),
            method: "a\\dd".into(),
            params: json!({"b": null}),
            id: Some(Id::from("é\n")),
        },
        Call { service: "arith".into(), method: "add".into(), params: json!({}), id: Some(Id::from(7)) },
        Call { service: "arith".into(), method: "note".into(), params: json!({"z": 1, "a": 2}), id: None },
    ];
    for call in calls {
        assert_eq!(call.to_json(), serde_json::to_string(&call).unwrap(), "{call:?}");
    }
}
