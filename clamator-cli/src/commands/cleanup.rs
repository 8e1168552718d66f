//! `clamator cleanup [--yes]`: a dry run unless told otherwise.

use std::process::ExitCode;

use serde_json::json;

use super::Ctx;
use crate::cli::CleanupArgs;
use crate::fail::Failure;
use crate::format::{duration_ms, plain, print_json, Table, DIM, GOOD, WARN};

pub async fn run(ctx: &Ctx, args: &CleanupArgs) -> Result<ExitCode, Failure> {
    let plan = ctx.inspector.cleanup_plan(&args.scope.options(), args.reply_idle).await?;
    let act = args.yes && !args.dry_run;
    if !act {
        if ctx.json {
            print_json(&json!({ "dryRun": true, "plan": plan }));
            return Ok(ExitCode::SUCCESS);
        }
        let mut table = Table::new(&["ACTION", "SERVICE", "KEY / CONSUMER", "IDLE", "PENDING"]);
        for c in &plan.consumers {
            table.row(vec![
                (("delete consumer").into(), WARN),
                plain(&c.service),
                plain(&c.consumer),
                plain(duration_ms(c.idle_ms)),
                plain(0),
            ]);
        }
        for c in &plan.kept {
            table.row(vec![
                (("keep (holds entries)").into(), DIM),
                plain(&c.service),
                plain(&c.consumer),
                plain(duration_ms(c.idle_ms)),
                plain(c.pending),
            ]);
        }
        for s in &plan.reply_streams {
            table.row(vec![
                (("delete reply stream").into(), WARN),
                plain("-"),
                plain(&s.key),
                plain(s.idle_ms.map_or("empty".into(), duration_ms)),
                plain("-"),
            ]);
        }
        if table.is_empty() {
            anstream::println!("nothing to clean up");
        } else {
            table.print();
            anstream::println!("dry run: nothing deleted; run again with --yes to delete");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = ctx.inspector.cleanup(&plan, args.reply_idle).await?;
    if ctx.json {
        print_json(&json!({ "dryRun": false, "report": report }));
        return Ok(ExitCode::SUCCESS);
    }
    for c in &report.consumers_deleted {
        anstream::println!("{}deleted consumer{} {c}", GOOD.render(), GOOD.render_reset());
    }
    for c in &report.consumers_skipped {
        anstream::println!("{}kept consumer{} {c} (it holds entries now)", DIM.render(), DIM.render_reset());
    }
    for k in &report.reply_streams_deleted {
        anstream::println!("{}deleted reply stream{} {k}", GOOD.render(), GOOD.render_reset());
    }
    anstream::println!(
        "{} consumer(s), {} reply stream(s) deleted",
        report.consumers_deleted.len(),
        report.reply_streams_deleted.len()
    );
    Ok(ExitCode::SUCCESS)
}
