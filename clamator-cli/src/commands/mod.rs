//! One module per subcommand; [`run`] connects and dispatches.

mod call;
mod cleanup;
mod dead;
mod describe;
mod pending;
mod schema;
mod services;
mod watch;

use std::process::ExitCode;

use clamator_over_redis::discovery::{InspectOptions, Inspector};

use crate::cli::{Cli, Command, Scope};
use crate::fail::Failure;

/// What every command gets: the parsed options and a connected inspector.
pub struct Ctx {
    pub url: String,
    pub prefix: String,
    pub json: bool,
    pub inspector: Inspector,
}

impl Scope {
    pub fn options(&self) -> InspectOptions {
        let mut options = InspectOptions::default();
        options.scan = !self.no_scan;
        options.dead_after = self.dead_after;
        options.live_within = options.live_within.min(self.dead_after);
        options
    }
}

/// Runs one command; `Ok` carries the exit code of a command that ran (drift, an RPC
/// error answer).
pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    if let Command::Dashboard(args) = &cli.command {
        crate::dashboard::check(args)?;
    }
    let inspector = Inspector::connect(&cli.url, cli.prefix.clone()).await.map_err(|e| {
        Failure::new(
            crate::fail::CONNECTION,
            format!("cannot reach Redis at {}: {}", redact(&cli.url), crate::fail::one_line(&e)),
        )
    })?;
    let ctx = Ctx { url: cli.url, prefix: cli.prefix, json: cli.json, inspector };
    match cli.command {
        Command::Services(scope) => services::run(&ctx, &scope).await,
        Command::Describe { target } => describe::run(&ctx, &target).await,
        Command::Call(args) => call::run(&ctx, &args, false).await,
        Command::Notify(args) => call::run(&ctx, &args, true).await,
        Command::Pending { service, limit } => pending::run(&ctx, &service, limit).await,
        Command::Dead { service, action } => dead::run(&ctx, &service, action).await,
        Command::Cleanup(args) => cleanup::run(&ctx, &args).await,
        Command::Watch(args) => watch::run(&ctx, &args).await,
        Command::Schema { service } => schema::openrpc(&ctx, &service).await,
        Command::Manifest(args) => schema::manifest(&ctx, &args).await,
        Command::Dashboard(args) => crate::dashboard::run(ctx, args).await,
    }
}

/// The URL without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(super::redact("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(super::redact("redis://h:1"), "redis://h:1");
    }
}
