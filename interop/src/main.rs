//! Rust half of the clamator interoperability suite: the same CLI and output as
//! `interop/py/driver.py` (the Python clamator 0.1.9 peer), so the runner in
//! `tests/interop.rs` drives either one interchangeably.
//!
//! ```text
//! clamator-interop serve  --redis-url URL --prefix P [--claim-idle-ms N] [--marker-file PATH]
//! clamator-interop client --redis-url URL --prefix P --scenario NAME [--run-id ID]
//! ```
//!
//! `serve` prints exactly `READY <pid>` once started and serves until SIGTERM/SIGINT, then
//! stops cleanly and exits 0. `client` prints exactly one line of JSON and exits 0; RPC
//! failures are outcomes. Logs go to stderr.

mod client;
mod contracts;
mod serve;

use std::collections::HashMap;
use std::process::ExitCode;

const USAGE: &str = "usage:
  clamator-interop serve  --redis-url URL --prefix P [--claim-idle-ms N] [--marker-file PATH]
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
            let f = parse_flags(rest, &["--redis-url", "--prefix", "--claim-idle-ms", "--marker-file"])?;
            let claim_idle_ms = match f.get("--claim-idle-ms") {
                Some(v) => v.parse().map_err(|e| format!("--claim-idle-ms {v}: {e}"))?,
                None => 60_000,
            };
            Ok(Command::Serve(serve::ServeArgs {
                redis_url: required(&f, "--redis-url")?,
                prefix: required(&f, "--prefix")?,
                claim_idle_ms,
                marker_file: f.get("--marker-file").map(Into::into),
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
