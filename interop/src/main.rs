//! Rust half of the clamator interoperability suite: the same CLI and output as
//! `interop/py/driver.py` (the Python clamator 0.1.9 peer), so the runner in
//! `tests/interop.rs` drives either one interchangeably.
//!
//! ```text
//! clamator-interop serve  --redis-url URL --prefix P [--claim-idle-ms N] [--marker-file PATH]
//!                         [--instance-id ID] [--max-deliveries N|none] [--dead-consumer-idle-ms N]
//! clamator-interop client --redis-url URL --prefix P --scenario NAME [--run-id ID]
//! ```
//!
//! `--instance-id` names the server's consumers (`<service>:<id>`; default a UUID).
//! `--max-deliveries` and `--dead-consumer-idle-ms` are Rust-only (the 0.1.9 server has no
//! such settings): they set the builder options of the same names.
//!
//! `serve` prints exactly `READY <pid>` once started and serves until SIGTERM/SIGINT, then
//! stops cleanly, prints `STATS <json>` (its delivery counters: `completed`, `expired`,
//! `deadLettered`, `reclaimed`, `leasesLost`; the Python driver has none) and exits 0.
//! `client` prints exactly one line of JSON and exits 0; RPC failures are outcomes. Logs go
//! to stderr.

mod client;
mod contracts;
mod serve;
mod typed;

use std::collections::HashMap;
use std::process::ExitCode;

const USAGE: &str = "usage:
  clamator-interop serve  --redis-url URL --prefix P [--claim-idle-ms N] [--marker-file PATH]
                          [--instance-id ID] [--max-deliveries N|none] [--dead-consumer-idle-ms N]
  clamator-interop client --redis-url URL --prefix P --scenario NAME [--run-id ID]";

fn parse_flags(args: &[String], allowed: &[&str]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), v.to_owned()),
            _ => {
                let v = it.next().ok_or_else(|| format!("{arg}: missing value"))?;
                (arg.clone(), v.clone())
            }
        };
        if !allowed.contains(&name.as_str()) {
            return Err(format!("unknown argument {name}"));
        }
        out.insert(name, value);
    }
    Ok(out)
}

fn required(flags: &HashMap<String, String>, name: &str) -> Result<String, String> {
    flags.get(name).cloned().ok_or_else(|| format!("{name} is required"))
}

enum Command {
    Serve(serve::ServeArgs),
    Client(client::ClientArgs),
}

fn parse(args: &[String]) -> Result<Command, String> {
    let (cmd, rest) = args.split_first().ok_or("missing command")?;
    match cmd.as_str() {
        "serve" => {
            let f = parse_flags(
                rest,
                &[
                    "--redis-url",
                    "--prefix",
                    "--claim-idle-ms",
                    "--marker-file",
                    "--instance-id",
                    "--max-deliveries",
                    "--dead-consumer-idle-ms",
                ],
            )?;
            let number = |name: &str| -> Result<Option<u64>, String> {
                f.get(name).map(|v| v.parse().map_err(|e| format!("{name} {v}: {e}"))).transpose()
            };
            let claim_idle_ms = number("--claim-idle-ms")?.unwrap_or(60_000);
            let max_deliveries = match f.get("--max-deliveries").map(String::as_str) {
                None => Some(clamator::redis::DEFAULT_MAX_DELIVERIES),
                Some("none") => None,
                Some(v) => Some(v.parse().map_err(|e| format!("--max-deliveries {v}: {e}"))?),
            };
            let dead_consumer_idle_ms = number("--dead-consumer-idle-ms")?;
            Ok(Command::Serve(serve::ServeArgs {
                redis_url: required(&f, "--redis-url")?,
                prefix: required(&f, "--prefix")?,
                claim_idle_ms,
                marker_file: f.get("--marker-file").map(Into::into),
                instance_id: f.get("--instance-id").cloned(),
                max_deliveries,
                dead_consumer_idle_ms,
            }))
        }
        "client" => {
            let f = parse_flags(rest, &["--redis-url", "--prefix", "--scenario", "--run-id"])?;
            let scenario = required(&f, "--scenario")?;
            if !client::SCENARIOS.contains(&scenario.as_str()) {
                return Err(format!("--scenario: invalid choice {scenario:?} (choose from {:?})", client::SCENARIOS));
            }
            Ok(Command::Client(client::ClientArgs {
                redis_url: required(&f, "--redis-url")?,
                prefix: required(&f, "--prefix")?,
                scenario,
                run_id: f.get("--run-id").cloned(),
            }))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        match command {
            Command::Serve(a) => serve::serve(a).await,
            Command::Client(a) => client::client(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clamator-interop[{}]: {e}", std::process::id());
            ExitCode::FAILURE
        }
    }
}
