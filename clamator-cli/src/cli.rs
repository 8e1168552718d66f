//! The command line: global options and one subcommand per operator task.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Discover, call, inspect and clean up clamator services over Redis.
#[derive(Debug, Parser)]
#[command(name = "clamator", version, about, long_about = None)]
pub struct Cli {
    /// Redis URL.
    #[arg(long, global = true, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379", hide_env_values = true)]
    pub url: String,
    /// Key prefix the services use.
    #[arg(long, global = true, env = "CLAMATOR_PREFIX", default_value = "clamator")]
    pub prefix: String,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every service under the prefix: backlog, pending, consumers, instances and their stats.
    Services(Scope),
    /// Methods, kinds, schemas and stats of a service (SERVICE) or one method (SERVICE.METHOD).
    Describe {
        /// `service` or `service.method`.
        target: String,
    },
    /// Call a method and print its result.
    Call(CallArgs),
    /// Send a notification (no reply).
    Notify(CallArgs),
    /// Pending entries of a service: consumer, idle time and delivery count.
    Pending {
        /// The service.
        service: String,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Dead letters of a service.
    Dead {
        /// The service.
        service: String,
        /// What to do with them.
        #[command(subcommand)]
        action: DeadAction,
    },
    /// Delete dead consumers that hold nothing and abandoned reply streams (a dry run unless
    /// --yes).
    Cleanup(CleanupArgs),
    /// A live view: calls per second, latency, errors and backlog per service.
    Watch(WatchArgs),
    /// The OpenRPC document of a service, from its published schemas.
    Schema {
        /// The service.
        service: String,
    },
    /// The contract manifest (@clamator/codegen's shape) of the published services; with
    /// --check, the drift from a committed one.
    Manifest(ManifestArgs),
    /// A web dashboard: live overview, service pages, dead letters (read-only unless
    /// --allow-actions).
    Dashboard(DashboardArgs),
}

/// How services are found and consumers judged.
#[derive(Debug, Clone, Args)]
pub struct Scope {
    /// Do not SCAN for `P:cmds:*` streams (services only 0.1.9 servers host are then missed).
    #[arg(long)]
    pub no_scan: bool,
    /// A consumer that is not a published instance and idle this long counts as dead.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub dead_after: Duration,
}

/// `call` and `notify`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// `service.method`.
    pub target: String,
    /// The params, a JSON object.
    #[arg(default_value = "{}")]
    pub params: String,
    /// How long to wait for the reply.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Skip the check of the params against the published schema.
    #[arg(long)]
    pub no_check: bool,
    /// Call metadata, `key=value` (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
}

/// `dead` actions.
#[derive(Debug, Subcommand)]
pub enum DeadAction {
    /// The dead letters, oldest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One dead letter, in full.
    Show {
        /// Its id in the dead-letter stream.
        id: String,
    },
    /// Put a dead letter back on the command stream (run again), removing it from the dead.
    Replay {
        /// Its id in the dead-letter stream.
        id: String,
    },
    /// Delete a dead letter, or all of them.
    Purge {
        /// Its id in the dead-letter stream.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
        /// Delete every dead letter of the service.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

/// `cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// How services are found and when a consumer is dead.
    #[command(flatten)]
    pub scope: Scope,
    /// A reply stream without a TTL silent this long is abandoned.
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    pub reply_idle: Duration,
    /// Only list what would be deleted (the default).
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Delete.
    #[arg(long)]
    pub yes: bool,
}

/// `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How services are found.
    #[command(flatten)]
    pub scope: Scope,
    /// Refresh interval.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Stop after this many refreshes (default: until Ctrl-C).
    #[arg(long)]
    pub count: Option<u64>,
}

/// `manifest`.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// Only these services (default: every published one).
    pub services: Vec<String>,
    /// Compare with this committed manifest; exit 1 on drift.
    #[arg(long, value_name = "FILE")]
    pub check: Option<std::path::PathBuf>,
}

/// `dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// How services are found and when a consumer is dead.
    #[command(flatten)]
    pub scope: Scope,
    /// Address to serve on. Anything but a loopback address needs --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// A secret every request must carry (`?token=` once, then a cookie; or
    /// `Authorization: Bearer`).
    #[arg(long, env = "CLAMATOR_DASHBOARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Show the replay and purge buttons and accept those actions (read-only otherwise).
    #[arg(long)]
    pub allow_actions: bool,
    /// How often Redis is read (and the page refreshed).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub interval: Duration,
    /// How much history the sparklines show.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub history: Duration,
    /// The span p50 and p99 are computed over (until the dashboard has run that long: since
    /// the instances started).
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub window: Duration,
}

/// `500ms`, `5s`, `2m`, `1h`, `1d`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number.parse().map_err(|_| format!("not a duration: {s:?} (e.g. 500ms, 5s, 2m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (ms, s, m, h, d)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("not a duration: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3 weeks").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
