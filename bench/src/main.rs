//! `clamator-bench`: end-to-end load generator for clamator-rs (see `cli.rs` for the
//! command line, `scenarios.rs` for the list, `peers/` for the server-process scenarios).

mod cli;
mod cpu;
mod floor;
mod machine;
mod measure;
mod memory;
mod peers;
mod rawredis;
mod redis_rpc;
mod report;
mod runner;
mod scenarios;
mod spread;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::scenarios::{all_scenarios, Scenario};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Report(r)) => {
            match report::write(&r.out, &r.rust_json, r.python_json.as_deref(), r.changes.as_deref()) {
                Ok(()) => {
                    eprintln!("wrote {}", r.out);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Spread(s)) => spread(&s),
        Some(Command::Serve(s)) => match peers::serve::main(&s) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: serve {:?}: {e}", s.peer);
                ExitCode::FAILURE
            }
        },
        None => run(&cli.run),
    }
}

fn spread(args: &cli::SpreadArgs) -> ExitCode {
    let plan = runner::plan_of(args.duration_ms, args.warmup_ms, false);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(runner::WORKERS).enable_all().build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rounds = usize::try_from(args.rounds).unwrap_or(1);
    match runtime.block_on(spread::run(plan, rounds)) {
        Ok(section) => match std::fs::write(&args.out, section) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: writing {}: {e}", args.out);
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &cli::RunArgs) -> ExitCode {
    let selected: Vec<Scenario> = all_scenarios()
        .into_iter()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|f| s.name.contains(f.as_str())))
        .filter(|s| !s.name.starts_with("diag/") || args.diag || args.scenarios.iter().any(|f| f.starts_with("diag")))
        .collect();
    if args.list {
        for s in &selected {
            println!("{}", s.name);
        }
        return ExitCode::SUCCESS;
    }
    if selected.is_empty() {
        eprintln!("error: no scenario matches {:?}", args.scenarios);
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(runner::WORKERS).enable_all().build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(runner::run(args, runner::plan(args), &selected)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
