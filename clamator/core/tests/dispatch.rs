//! The shared dispatcher, driven directly (no transport).

mod support;

use clamator_core::{Call, Id, RpcError, ServiceBuilder, ServiceTable};
use serde_json::{json, Value};
use support::{Item, Out, Params};

fn service() -> ServiceTable {
    ServiceBuilder::new("demo")
        .method("sum", |p: Params| async move { Ok::<_, RpcError>(Out { total: p.small_number * 20 }) })
        .method("fail", |_: Params| async move {
            Err::<Out, _>(RpcError::new(42, "nope").with_data(json!({"why": "because"})))
        })
        .notification("note", |_: Params| async move { panic!("notifications never reply, even when they panic") })
        .raw_method("panicStr", |_| async move { panic!("static message") })
        .raw_method("panicString", |v: Value| async move { panic!("formatted {}", v["n"]) })
        .build()
        .unwrap()
}

fn request(method: &str, params: Value) -> Call {
    Call { service: "demo".into(), method: method.into(), params, id: Some(Id::from("1")) }
}

async fn dispatch(method: &str, params: Value) -> Result<Value, RpcError> {
    let response = service().dispatch(request(method, params)).await.expect("a reply");
    assert_eq!(response.id, Some(Id::from("1")));
    response.outcome
}

#[tokio::test]
async fn success_and_result_validation() {
    let ok = dispatch("sum", json!({"smallNumber": 2, "items": [{"name": "a"}]})).await.unwrap();
    assert_eq!(ok, json!({"total": 40}));
    let err = dispatch("sum", json!({"smallNumber": 9, "items": [{"name": "a"}]})).await.unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (-32603, "Result validation failed"));
    assert_eq!(err.validation_errors().unwrap()[0].path(), "total");
}

#[tokio::test]
async fn validation_errors_have_loc_msg_type_for_every_field() {
    let err =
        dispatch("sum", json!({"smallNumber": 11, "items": [{"name": "ok"}, {"name": "toolong"}]})).await.unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (-32602, "Invalid params"));
    let errors = err.validation_errors().unwrap();
    let paths: Vec<String> = errors.iter().map(|e| e.path()).collect();
    assert_eq!(paths, ["items.1.name", "smallNumber"]);
    assert_eq!(errors[1].kind, "range");
    assert_eq!(errors[1].extra["input"], json!(11));
    assert!(!errors[1].msg.is_empty());
    // The raw shape on the wire: a list of objects with loc, msg and type.
    let raw = &err.data.as_ref().unwrap()["errors"][0];
    assert_eq!(raw["loc"], json!(["items", 1, "name"]));
    assert!(raw["msg"].is_string() && raw["type"].is_string());
}

#[tokio::test]
async fn type_errors_name_the_nested_path() {
    let err = dispatch("sum", json!({"smallNumber": 1, "items": [{"name": 5}]})).await.unwrap_err();
    let errors = err.validation_errors().unwrap();
    assert_eq!((errors[0].path().as_str(), errors[0].kind.as_str()), ("items.0.name", "invalid_type"));
    let err = dispatch("sum", json!("not an object")).await.unwrap_err();
    assert_eq!(err.code, -32602);
    assert!(!err.validation_errors().unwrap().is_empty());
}

#[tokio::test]
async fn rpc_errors_pass_through_unchanged() {
    let err = dispatch("fail", json!({"smallNumber": 1, "items": [{"name": "a"}]})).await.unwrap_err();
    assert_eq!(err, RpcError::new(42, "nope").with_data(json!({"why": "because"})));
}

#[tokio::test]
async fn panics_become_internal_errors_with_name_and_message() {
    let err = dispatch("panicStr", json!({})).await.unwrap_err();
    assert_eq!((err.code, err.message.as_str()), (-32603, "Internal error"));
    assert_eq!(err.data, Some(json!({"name": "panic", "message": "static message"})));
    let err = dispatch("panicString", json!({"n": 3})).await.unwrap_err();
    assert_eq!(err.data.unwrap()["message"], "formatted 3");
}

#[tokio::test]
async fn notifications_never_reply() {
    let svc = service();
    let mut note = request("note", json!({"smallNumber": 1, "items": [{"name": "a"}]}));
    note.id = None;
    assert!(svc.dispatch(note.clone()).await.is_none());
    note.params = json!({"bad": true});
    assert!(svc.dispatch(note.clone()).await.is_none());
    note.method = "unknown".into();
    assert!(svc.dispatch(note).await.is_none());
}

#[tokio::test]
async fn request_to_a_notification_method_gets_a_null_result() {
    let svc = ServiceBuilder::new("demo").notification("note", |_: Item| async {}).build().unwrap();
    let reply = svc.dispatch(request("note", json!({"name": "a"}))).await.unwrap();
    assert_eq!(reply.outcome, Ok(Value::Null));
}

#[tokio::test]
async fn unknown_method_is_method_not_found_with_null_data() {
    let err = dispatch("nope", json!({})).await.unwrap_err();
    assert_eq!(err, RpcError::new(-32601, "Method not found"));
}

#[test]
fn builder_rejects_bad_names() {
    use clamator_core::ContractError;
    let bad_service = ServiceBuilder::new("Bad").build().unwrap_err();
    assert_eq!(bad_service, ContractError::InvalidServiceName("Bad".into()));
    let ok = || async { Ok(Value::Null) };
    let hyphen = ServiceBuilder::new("x").raw_method("slow-add", move |_| ok()).build().unwrap_err();
    assert_eq!(hyphen, ContractError::InvalidMethodName("slow-add".into()));
    let dup =
        ServiceBuilder::new("x").raw_method("a", move |_| ok()).raw_method("a", move |_| ok()).build().unwrap_err();
    assert_eq!(dup, ContractError::DuplicateMethod("a".into()));
}
