//! `clamator`: the operator's command for clamator services over Redis (discovery, calls,
//! pending and dead requests, cleanup, a live view, schemas and manifests). The inspection
//! logic lives in `clamator_over_redis::discovery`; this crate parses and formats (and
//! serves the web dashboard, `dashboard/`).
//!
//! Exit codes: 0 success; 1 the server answered with an error, contract drift, or a
//! failed operation; 2 bad usage or input (including params the published schema rejects:
//! nothing was sent); 3 timeout; 4 Redis unreachable or a transport failure.

mod cli;
mod commands;
mod dashboard;
mod fail;
mod format;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail::Failure::other(format!("cannot start the runtime: {e}")).report(),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
