//! The command line: the load generator (default), `report` and `serve`.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// End-to-end load generator for clamator-rs, its raw redis-rs floors and the peers a team
/// would pick instead (NATS, JetStream, gRPC, Python 0.1.9).
///
/// Every scenario reports calls/s, p50 and p99 latency (µs). Concurrency is the number of
/// in-flight callers: tokio tasks, each looping calls on one shared client. Without
/// `--redis-url`, a private `redis-server` is started on a free port (never 6379) when a
/// selected scenario needs Redis; `peer/nats-*` scenarios start their own `nats-server`.
#[derive(Debug, Parser)]
#[command(name = "clamator-bench", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the Markdown report from result files; runs nothing.
    Report(ReportArgs),
    /// Run only the Redis Cluster spread comparison (one node vs 3 masters) and write its
    /// Markdown section.
    Spread(SpreadArgs),
    /// Serve one peer in this process until standard input closes or the process is killed
    /// (the server side of the `peer/...` scenarios; prints `READY [address]` once serving).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Each scenario ~0.2 s (for CI).
    #[arg(long)]
    pub smoke: bool,
    /// Measured window per scenario (default 3000; 200 with --smoke).
    #[arg(long, value_name = "N")]
    pub duration_ms: Option<u64>,
    /// Warm-up before each window (default duration/10, 20..500 ms).
    #[arg(long, value_name = "N")]
    pub warmup_ms: Option<u64>,
    /// Run the whole selection N times in turn; report per-figure medians.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
    /// Only scenarios whose name contains S (repeatable).
    #[arg(long = "scenario", value_name = "S")]
    pub scenarios: Vec<String>,
    /// Also run the diagnostic scenarios (diag/...; also selected by --scenario diag...).
    #[arg(long)]
    pub diag: bool,
    /// Write the results as JSON.
    #[arg(long, value_name = "PATH")]
    pub json: Option<String>,
    /// Use this Redis instead of starting a private redis-server.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Print the scenario names and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The Markdown file to write.
    #[arg(value_name = "OUT.md")]
    pub out: String,
    /// Rust results (repeatable; later files add rows).
    #[arg(long = "rust-json", value_name = "PATH", required = true)]
    pub rust_json: Vec<String>,
    /// Results of bench/py/bench.py.
    #[arg(long, value_name = "PATH")]
    pub python_json: Option<String>,
    /// Hand-kept before/after notes appended to the report.
    #[arg(long, value_name = "FILE.md")]
    pub changes: Option<String>,
}

#[derive(Debug, Args)]
pub struct SpreadArgs {
    /// The Markdown section to write.
    #[arg(value_name = "OUT.md")]
    pub out: String,
    /// Measured window per scenario (default 3000).
    #[arg(long, value_name = "N")]
    pub duration_ms: Option<u64>,
    /// Warm-up before each window (default duration/10, 20..500 ms).
    #[arg(long, value_name = "N")]
    pub warmup_ms: Option<u64>,
    /// Run both topologies N times, alternating; report medians.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub rounds: u64,
}

/// The server side of a peer scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServerPeer {
    /// clamator-rs `RedisRpcServer`, per-service concurrency 1.
    Clamator,
    /// Raw redis-rs: read a batch, then its replies + XACK in one awaited round trip.
    FloorAlternating,
    /// Raw redis-rs: replies + XACK on a second connection without waiting.
    FloorOverlapped,
    /// Core NATS request/reply (queue subscription).
    NatsCore,
    /// JetStream work queue, durable pull consumer, reply over core NATS.
    NatsJetstream,
    /// gRPC unary (tonic), JSON in a bytes field.
    Grpc,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(value_enum)]
    pub peer: ServerPeer,
    /// Redis for the clamator and floor peers.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Key prefix (Redis peers) or subject prefix (NATS peers).
    #[arg(long, value_name = "P", default_value = "clamator-bench")]
    pub prefix: String,
    /// nats-server for the NATS peers.
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
}
