//! Runs the server-side CPU path of one request N times, for instruction counts that do not
//! depend on the machine's load: `valgrind --tool=callgrind` counts instructions, so two runs
//! with different N give the cost of one request, and two commits can be compared on a busy
//! machine.
//!
//! ```text
//! cargo build --release -p clamator-bench --example count_dispatch
//! for n in 10000 20000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/count_dispatch dispatch $n 2>&1 | grep 'Collected'; done
//! ```
//!
//! The difference of the two totals divided by 10,000 is the instructions per request.
//! Modes: `dispatch` (a decoded call through the generated `ArithServer` table) and `full`
//! (parse the request bytes, dispatch, encode the reply).

use std::hint::black_box;

use clamator::transport::{Call, Envelope};
use clamator::{Id, IntoServiceTable};
use clamator_test_support::contracts::{ArithServer, Calculator};
use serde_json::json;

const ID: &str = "6f1c2a4e-9b7d-4e0a-8c3f-2d5b7a9e1c04";

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "dispatch".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let table = ArithServer::new(Calculator::default()).into_service_table();
    let call = Call {
        service: "arith".into(),
        method: "add".into(),
        params: json!({"a": 1.5, "b": 2.5}),
        id: Some(Id::from(ID)),
    };
    let request =
        format!(r#"{{"jsonrpc":"2.0","method":"arith.add","params":{{"a":1.5,"b":2.5}},"id":"{ID}"}}"#).into_bytes();
    rt.block_on(async {
        for _ in 0..n {
            match mode.as_str() {
                "full" => {
                    let Ok(Envelope::Call(call)) = Envelope::parse(black_box(&request)) else { unreachable!() };
                    black_box(table.dispatch(call).await.expect("a reply").to_json());
                }
                _ => {
                    black_box(table.dispatch(black_box(call.clone())).await);
                }
            }
        }
    });
}
