#[clamator::contract(service = "arith")]
pub struct Arith;

fn main() {}
