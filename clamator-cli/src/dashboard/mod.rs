//! `clamator dashboard`: a web page over the same library calls as the other commands
//! (`Inspector`, `DeadLetters`), served by axum with its assets embedded in the binary.
//!
//! - `sampler`: reads every service each interval, keeps the sparkline history, publishes
//!   the overview to the page's event stream;
//! - `latency`: p50/p99 of processing time and queue wait over the recent window;
//! - `api`: the JSON endpoints and the actions (replay, purge);
//! - `guard`: the token, the read-only switch and the security headers;
//! - `assets`: the page, its script and its style.

mod api;
mod assets;
mod guard;
mod latency;
mod sampler;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use clamator_over_redis::discovery::{InspectOptions, Inspector};
use clamator_over_redis::DeadLetters;

use crate::cli::DashboardArgs;
use crate::commands::Ctx;
use crate::fail::Failure;

/// What every handler shares.
pub struct AppState {
    pub inspector: Inspector,
    pub dead: DeadLetters,
    pub options: InspectOptions,
    pub prefix: String,
    pub allow_actions: bool,
    pub token: Option<String>,
    pub overview: tokio::sync::watch::Receiver<Arc<serde_json::Value>>,
}

/// Refuses what would be unsafe before anything connects: a non-loopback address without a
/// token, an empty token.
pub fn check(args: &DashboardArgs) -> Result<(), Failure> {
    if args.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(Failure::usage("--token must not be empty"));
    }
    if !args.listen.ip().is_loopback() && args.token.is_none() {
        return Err(Failure::usage(format!(
            "--listen {} is not a loopback address: give a --token (every request must then carry it)",
            args.listen
        )));
    }
    Ok(())
}

/// The routes, over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let actions = Router::new()
        .route("/api/services/{service}/dead/{id}/replay", post(api::replay))
        .route("/api/services/{service}/dead/{id}/purge", post(api::purge))
        .route("/api/services/{service}/dead/purge-all", post(api::purge_all))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), guard::actions_allowed));
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{file}", get(assets::file))
        .route("/api/overview", get(api::overview))
        .route("/api/events", get(api::events))
        .route("/api/services/{service}", get(api::service))
        .merge(actions)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::token))
        .layer(axum::middleware::from_fn(guard::headers))
        .with_state(state)
}

/// Serves until Ctrl-C.
pub async fn run(ctx: Ctx, args: DashboardArgs) -> Result<ExitCode, Failure> {
    let options = args.scope.options();
    let dead = DeadLetters::new(ctx.inspector.connection().clone(), ctx.prefix.clone());
    let overview = sampler::spawn(ctx.inspector.clone(), options.clone(), &args);
    let state = Arc::new(AppState {
        inspector: ctx.inspector,
        dead,
        options,
        prefix: ctx.prefix,
        allow_actions: args.allow_actions,
        token: args.token,
        overview,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::other(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr().map_err(|e| Failure::other(format!("cannot listen: {e}")))?;
    let mode = if state.allow_actions { "actions allowed" } else { "read-only" };
    let auth = if state.token.is_some() { ", token required" } else { "" };
    // One line on stdout (tests and scripts read the port from it), flushed at once.
    println!("dashboard on http://{addr}/ (prefix {}, {mode}{auth}; Ctrl-C to stop)", state.prefix);
    let _ = std::io::stdout().flush();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Failure::other(format!("the dashboard server failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
