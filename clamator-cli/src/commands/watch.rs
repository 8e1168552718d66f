//! `clamator watch`: a live view refreshed in place on a terminal (one frame after another
//! on a pipe): calls per second, latency, errors and backlog per service.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clamator_over_redis::discovery::ServiceOverview;
use serde_json::json;

use super::Ctx;
use crate::cli::WatchArgs;
use crate::fail::Failure;
use crate::format::{latency_ms, plain, Table, DIM, NAME, WARN};

/// Counters of one service at one moment.
#[derive(Clone, Copy, Default)]
struct Sample {
    requests: u64,
    errors: u64,
}

pub async fn run(ctx: &Ctx, args: &WatchArgs) -> Result<ExitCode, Failure> {
    let options = args.scope.options();
    let tty = std::io::stdout().is_terminal() && !ctx.json;
    let mut last: HashMap<String, (Sample, Instant)> = HashMap::new();
    let mut frame = 0u64;
    loop {
        let services = ctx.inspector.services(&options).await?;
        let now = Instant::now();
        let rows: Vec<_> = services
            .iter()
            .map(|s| {
                let sample = Sample { requests: s.requests(), errors: s.errors() };
                let rate = last.get(&s.name).map(|(prev, at)| {
                    let secs = now.duration_since(*at).as_secs_f64().max(1e-3);
                    (
                        sample.requests.saturating_sub(prev.requests) as f64 / secs,
                        sample.errors.saturating_sub(prev.errors) as f64 / secs,
                    )
                });
                last.insert(s.name.clone(), (sample, now));
                (s, rate)
            })
            .collect();
        if ctx.json {
            let frame_json: Vec<_> = rows
                .iter()
                .map(|(s, rate)| {
                    json!({
                        "service": s.name, "callsPerSecond": rate.map(|r| r.0), "errorsPerSecond": rate.map(|r| r.1),
                        "recentMs": recent_ms(s), "backlog": backlog(s), "pending": s.group.as_ref().map_or(0, |g| g.pending),
                        "instances": s.instances.len(), "deadLetters": s.dead_letters,
                    })
                })
                .collect();
            anstream::println!("{}", json!({ "frame": frame, "services": frame_json }));
        } else {
            if tty {
                anstream::print!("\x1b[2J\x1b[H");
            } else if frame > 0 {
                anstream::println!();
            }
            anstream::println!(
                "{}clamator watch{}  prefix {}  every {:?}  (Ctrl-C to quit)",
                DIM.render(),
                DIM.render_reset(),
                ctx.prefix,
                args.interval
            );
            let mut table =
                Table::new(&["SERVICE", "CALLS/S", "ERR/S", "RECENT", "BACKLOG", "PENDING", "INSTANCES", "DEAD"]);
            for (s, rate) in &rows {
                let errs = rate.map_or("-".into(), |r| format!("{:.1}", r.1));
                table.row(vec![
                    (s.name.clone(), NAME),
                    plain(rate.map_or("-".into(), |r| format!("{:.1}", r.0))),
                    if rate.is_some_and(|r| r.1 > 0.0) { (errs, WARN) } else { plain(errs) },
                    plain(recent_ms(s).map_or("-".into(), latency_ms)),
                    plain(backlog(s)),
                    plain(s.group.as_ref().map_or(0, |g| g.pending)),
                    plain(s.instances.len()),
                    if s.dead_letters > 0 { (s.dead_letters.to_string(), WARN) } else { plain(0) },
                ]);
            }
            table.print();
        }
        frame += 1;
        if args.count.is_some_and(|n| frame >= n) {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(args.interval) => {}
        }
    }
}

/// The slowest recent processing time among the service's instances' methods.
fn recent_ms(s: &ServiceOverview) -> Option<f64> {
    s.instances
        .iter()
        .flat_map(|i| &i.methods)
        .filter(|m| m.stats.requests > 0)
        .map(|m| m.stats.recent_ms)
        .reduce(f64::max)
}

/// Entries waiting: the group's lag, else the stream's length less what is pending.
fn backlog(s: &ServiceOverview) -> u64 {
    match &s.group {
        Some(g) => g.lag.unwrap_or_else(|| s.stream_length.saturating_sub(g.pending)),
        None => s.stream_length,
    }
}
