//! Types shared by the dispatcher's tests: params with nested rules and a result with a rule.

use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct Params {
    #[validate(range(min = 0, max = 10))]
    pub small_number: i64,
    #[validate(length(min = 1), nested)]
    pub items: Vec<Item>,
}

#[derive(Deserialize, Serialize, Validate)]
pub struct Item {
    #[validate(length(max = 3))]
    pub name: String,
}

#[derive(Serialize, Validate)]
pub struct Out {
    #[validate(range(max = 100))]
    pub total: i64,
}
