//! Params and results of any serde type: validation runs where a type has `validator` rules
//! (all four edges: client params, server params, server result, client result) and nowhere
//! else.

use std::collections::{BTreeMap, HashMap};

use clamator::{CallOptions, Error, LocalClient, ProtocolError, RpcClient, RpcError, ServiceBuilder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct Item {
    #[validate(length(min = 1))]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Color {
    Red,
    DarkBlue,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Nothing {}

#[derive(Debug, Serialize, Deserialize, Validate)]
pub struct Lookup {
    #[validate(range(min = 1))]
    pub id: u64,
    /// The server returns an item breaking its rules when set.
    #[serde(default)]
    pub broken: bool,
}

/// Params without rules: an enum of objects.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Query {
    ById { id: u64 },
    All {},
}

#[clamator::contract(service = "types")]
pub trait Types {
    async fn count(&self, params: Nothing) -> Result<u64, RpcError>;
    async fn nothing(&self, params: Nothing) -> Result<(), RpcError>;
    async fn find(&self, params: Lookup) -> Result<Option<Item>, RpcError>;
    async fn list(&self, params: Query) -> Result<Vec<Item>, RpcError>;
    async fn color(&self, params: Nothing) -> Result<Color, RpcError>;
    async fn totals(&self, params: Nothing) -> Result<HashMap<String, u64>, RpcError>;
    async fn sorted(&self, params: BTreeMap<String, u64>) -> Result<Vec<u64>, RpcError>;
    #[clamator(notification)]
    async fn poke(&self, params: Lookup);
}

struct Impl;

impl Types for Impl {
    async fn count(&self, _: Nothing) -> Result<u64, RpcError> {
        Ok(42)
    }
    async fn nothing(&self, _: Nothing) -> Result<(), RpcError> {
        Ok(())
    }
    async fn find(&self, p: Lookup) -> Result<Option<Item>, RpcError> {
        Ok(match (p.id, p.broken) {
            (_, true) => Some(Item { name: String::new() }),
            (1, _) => Some(Item { name: "one".into() }),
            _ => None,
        })
    }
    async fn list(&self, q: Query) -> Result<Vec<Item>, RpcError> {
        Ok(match q {
            Query::ById { id } => vec![Item { name: id.to_string() }],
            Query::All {} => vec![Item { name: "a".into() }, Item { name: String::new() }],
        })
    }
    async fn color(&self, _: Nothing) -> Result<Color, RpcError> {
        Ok(Color::DarkBlue)
    }
    async fn totals(&self, _: Nothing) -> Result<HashMap<String, u64>, RpcError> {
        Ok(HashMap::from([("a".to_owned(), 1)]))
    }
    async fn sorted(&self, p: BTreeMap<String, u64>) -> Result<Vec<u64>, RpcError> {
        Ok(p.into_values().collect())
    }
    async fn poke(&self, _: Lookup) {}
}

fn client() -> TypesClient<LocalClient> {
    TypesClient::new(LocalClient::new().with_service(TypesServer::new(Impl)).expect("registers"))
}

fn field_errors(error: &Error) -> Vec<(String, String)> {
    let list = match error {
        Error::Rpc(e) => e.validation_errors().expect("data.errors"),
        Error::Protocol(ProtocolError::InvalidParams(list) | ProtocolError::InvalidResult(list)) => list.clone(),
        other => panic!("not a validation error: {other:?}"),
    };
    list.into_iter().map(|e| (e.path(), e.kind)).collect()
}

#[tokio::test]
async fn plain_types_round_trip() {
    let types = client();
    assert_eq!(types.count(Nothing {}).await.unwrap(), 42);
    types.nothing(Nothing {}).await.unwrap();
    assert_eq!(types.find(Lookup { id: 1, broken: false }).await.unwrap(), Some(Item { name: "one".into() }));
    assert_eq!(types.find(Lookup { id: 2, broken: false }).await.unwrap(), None);
    assert_eq!(types.list(Query::ById { id: 7 }).await.unwrap(), [Item { name: "7".into() }]);
    assert_eq!(types.color(Nothing {}).await.unwrap(), Color::DarkBlue);
    assert_eq!(types.totals(Nothing {}).await.unwrap()["a"], 1);
    let map = BTreeMap::from([("b".to_owned(), 2), ("a".to_owned(), 1)]);
    assert_eq!(types.sorted(map).await.unwrap(), [1, 2]);
    types.poke(Lookup { id: 1, broken: false }).await.unwrap();
}

#[tokio::test]
async fn rules_checked_at_the_client_before_sending() {
    let error = client().find(Lookup { id: 0, broken: false }).await.unwrap_err();
    assert!(matches!(error, Error::Protocol(ProtocolError::InvalidParams(_))), "{error:?}");
    assert_eq!(field_errors(&error), [("id".to_owned(), "range".to_owned())]);
    let error = client().poke(Lookup { id: 0, broken: false }).await.unwrap_err();
    assert_eq!(field_errors(&error), [("id".to_owned(), "range".to_owned())]);
}

#[tokio::test]
async fn rules_checked_at_the_server() {
    let local = LocalClient::new().with_service(TypesServer::new(Impl)).unwrap();
    // Params from a peer that does not check: the server does.
    let error = local.call_value("types", "find", json!({"id": 0}), CallOptions::default()).await.unwrap_err();
    assert_eq!(field_errors(&error), [("id".to_owned(), "range".to_owned())]);
    let Error::Rpc(rpc) = &error else { unreachable!() };
    assert_eq!(rpc.code, -32602);
    // A result breaking its rules, inside an Option and inside a Vec.
    let error = TypesClient::new(&local).find(Lookup { id: 1, broken: true }).await.unwrap_err();
    let Error::Rpc(rpc) = &error else { panic!("{error:?}") };
    assert_eq!((rpc.code, rpc.message.as_str()), (-32603, "Result validation failed"));
    assert_eq!(field_errors(&error), [("name".to_owned(), "length".to_owned())]);
    let error = TypesClient::new(&local).list(Query::All {}).await.unwrap_err();
    assert_eq!(field_errors(&error), [("1.name".to_owned(), "length".to_owned())]);
}

#[tokio::test]
async fn rules_checked_on_results_at_the_client() {
    // A server that does not check its results (another language's, say).
    let lax = ServiceBuilder::new("types")
        .raw_method("find", |_| async { Ok(json!({"name": ""})) })
        .raw_method("count", |_| async { Ok(json!("many")) })
        .build()
        .unwrap();
    let types = TypesClient::new(LocalClient::new().with_service(lax).unwrap());
    let error = types.find(Lookup { id: 1, broken: false }).await.unwrap_err();
    assert!(matches!(error, Error::Protocol(ProtocolError::InvalidResult(_))), "{error:?}");
    assert_eq!(field_errors(&error), [("name".to_owned(), "length".to_owned())]);
    let error = types.count(Nothing {}).await.unwrap_err();
    assert!(matches!(error, Error::Protocol(ProtocolError::ResultMismatch(_))), "{error:?}");
}

#[tokio::test]
async fn params_that_are_not_an_object_are_not_sent() {
    /// A newtype the macro cannot see through: refused at run time.
    #[derive(Serialize)]
    struct Id(u64);
    let local = LocalClient::new();
    let error = clamator::call_with_rules::<_, _, u64>(
        &local,
        "types",
        "count",
        &Id(3),
        CallOptions::default(),
        clamator::Rules::none(),
        clamator::Rules::none(),
    )
    .await
    .unwrap_err();
    assert_eq!(field_errors(&error), [(String::new(), "model_type".to_owned())]);
}

#[test]
fn contract_types_have_camel_case_wire_names() {
    TypesContract::assert_camel_case();
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Forgot {
    pub sleep_ms: u64,
}

#[clamator::contract(service = "forgetful")]
pub trait Forgetful {
    async fn nap(&self, params: Forgot) -> Result<u64, RpcError>;
}

#[test]
fn a_forgotten_rename_is_caught_by_the_contract_check() {
    let panic = std::panic::catch_unwind(ForgetfulContract::assert_camel_case).unwrap_err();
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(message.contains("`Forgot`: [\"sleep_ms\"]"), "{message}");
    assert!(message.contains("rename_all"), "{message}");
}
