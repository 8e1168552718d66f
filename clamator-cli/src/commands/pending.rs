//! `clamator pending SERVICE`.

use std::process::ExitCode;

use super::Ctx;
use crate::fail::Failure;
use crate::format::{duration_ms, plain, print_json, Table, WARN};

pub async fn run(ctx: &Ctx, service: &str, limit: usize) -> Result<ExitCode, Failure> {
    let report = ctx.inspector.pending(service, limit).await?;
    if ctx.json {
        print_json(&serde_json::to_value(&report).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    anstream::println!("{service}: {} pending", report.total);
    if report.entries.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&["ENTRY", "CONSUMER", "IDLE", "DELIVERIES", "METHOD"]);
    for e in &report.entries {
        table.row(vec![
            plain(&e.id),
            plain(&e.consumer),
            plain(duration_ms(e.idle_ms)),
            if e.deliveries > 1 { (e.deliveries.to_string(), WARN) } else { plain(e.deliveries) },
            plain(e.method.as_deref().unwrap_or("-")),
        ]);
    }
    table.print();
    if report.total as usize > report.entries.len() {
        anstream::println!("... and {} more (--limit)", report.total as usize - report.entries.len());
    }
    Ok(ExitCode::SUCCESS)
}
