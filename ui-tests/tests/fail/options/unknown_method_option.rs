use serde::{Deserialize, Serialize};
use validator::Validate;

#[derive(Serialize, Deserialize, Validate)]
pub struct AddParams {
    pub a: f64,
    pub b: f64,
}

#[derive(Serialize, Deserialize, Validate)]
pub struct AddResult {
    pub sum: f64,
}

#[clamator::contract(service = "arith")]
pub trait Arith {
    #[clamator(notification, retries = 3)]
    async fn add(&self, params: AddParams);
}

// The implementation still compiles against the trait as written: one mistake, one error.
struct Calc;

impl Arith for Calc {
    async fn add(&self, _params: AddParams) {}
}

fn main() {}
