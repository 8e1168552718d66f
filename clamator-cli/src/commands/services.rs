//! `clamator services`.

use std::process::ExitCode;

use clamator_over_redis::discovery::{ConsumerState, ServiceOverview};
use serde_json::json;

use super::Ctx;
use crate::cli::Scope;
use crate::fail::Failure;
use crate::format::{duration_ms, latency_ms, plain, print_json, Table, DIM, GOOD, NAME, WARN};

pub async fn run(ctx: &Ctx, scope: &Scope) -> Result<ExitCode, Failure> {
    let services = ctx.inspector.services(&scope.options()).await?;
    if ctx.json {
        print_json(&json!({ "prefix": ctx.prefix, "services": services }));
        return Ok(ExitCode::SUCCESS);
    }
    if services.is_empty() {
        anstream::println!("no services under prefix {:?}", ctx.prefix);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        "SERVICE",
        "STREAM",
        "LAG",
        "PENDING",
        "WAITING",
        "CONSUMERS",
        "INSTANCES",
        "REQUESTS",
        "ERRORS",
        "DEAD",
    ]);
    for s in &services {
        table.row(vec![
            (s.name.clone(), NAME),
            plain(s.stream_length),
            plain(s.group.as_ref().and_then(|g| g.lag).map_or("-".into(), |l| l.to_string())),
            backlog_cell(s.group.as_ref().map_or(0, |g| g.pending)),
            plain(s.oldest_waiting_ms.map_or("-".into(), duration_ms)),
            consumers_cell(s),
            plain(s.instances.len()),
            plain(if s.instances.is_empty() { "-".to_owned() } else { s.requests().to_string() }),
            if s.errors() > 0 {
                (s.errors().to_string(), WARN)
            } else {
                plain(if s.instances.is_empty() { "-" } else { "0" })
            },
            if s.dead_letters > 0 { (s.dead_letters.to_string(), WARN) } else { plain(0) },
        ]);
    }
    table.print();
    print_instances(&services);
    Ok(ExitCode::SUCCESS)
}

fn backlog_cell(n: u64) -> (String, anstyle::Style) {
    if n > 0 {
        (n.to_string(), WARN)
    } else {
        plain(0)
    }
}

fn consumers_cell(s: &ServiceOverview) -> (String, anstyle::Style) {
    let (live, idle, dead) =
        (s.consumers_in(ConsumerState::Live), s.consumers_in(ConsumerState::Idle), s.consumers_in(ConsumerState::Dead));
    let mut parts = vec![format!("{live} live")];
    if idle > 0 {
        parts.push(format!("{idle} idle"));
    }
    if dead > 0 {
        parts.push(format!("{dead} dead"));
    }
    let style = if dead > 0 || live == 0 { WARN } else { GOOD };
    (parts.join(", "), style)
}

/// Per service, its consumers: published instances with their stats, others as the group
/// shows them (0.1.9 servers).
fn print_instances(services: &[ServiceOverview]) {
    let mut table =
        Table::new(&["SERVICE", "CONSUMER", "STATE", "PENDING", "IDLE", "RUNS", "UP", "REQ", "ERR", "MEAN", "RECENT"]);
    for s in services {
        for c in &s.consumers {
            let instance = s.instances.iter().find(|i| i.consumer == c.name);
            let (runs, up, req, err, mean, recent) = match instance {
                Some(i) => {
                    let req: u64 = i.methods.iter().map(|m| m.stats.requests).sum();
                    let err: u64 = i.methods.iter().map(|m| m.stats.errors).sum();
                    let total_ms: f64 = i.methods.iter().map(|m| m.stats.mean_ms * m.stats.requests as f64).sum();
                    let recent = i
                        .methods
                        .iter()
                        .filter(|m| m.stats.requests > 0)
                        .map(|m| m.stats.recent_ms)
                        .fold(0.0, f64::max);
                    (
                        format!("{} {}", i.library, i.version.as_deref().unwrap_or(&i.library_version)),
                        duration_ms(i.heartbeat_at_ms - i.started_at_ms),
                        req.to_string(),
                        err.to_string(),
                        if req > 0 { latency_ms(total_ms / req as f64) } else { "-".into() },
                        if req > 0 { latency_ms(recent) } else { "-".into() },
                    )
                }
                None => ("unpublished (0.1.9?)".into(), "-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
            };
            let state = match c.state {
                ConsumerState::Live => ("live".to_owned(), GOOD),
                ConsumerState::Idle => ("idle".to_owned(), DIM),
                ConsumerState::Dead => ("dead".to_owned(), WARN),
            };
            table.row(vec![
                (s.name.clone(), NAME),
                plain(&c.name),
                state,
                backlog_cell(c.pending),
                plain(duration_ms(c.idle_ms)),
                plain(runs),
                plain(up),
                plain(req),
                plain(err),
                plain(mean),
                plain(recent),
            ]);
        }
    }
    if !table.is_empty() {
        anstream::println!();
        table.print();
    }
}
