//! `clamator dead SERVICE list|show|replay|purge`, over `DeadLetters`.

use std::process::ExitCode;

use clamator_over_redis::{DeadLetter, DeadLetters};
use serde_json::{json, Value};

use super::Ctx;
use crate::cli::DeadAction;
use crate::fail::Failure;
use crate::format::{plain, print_json, Table, HEAD, WARN};

fn to_json(d: &DeadLetter) -> Value {
    json!({
        "id": d.id, "entryId": d.entry_id, "reason": d.reason, "deliveries": d.deliveries,
        "lastConsumer": d.last_consumer, "deadAtMs": d.dead_at_ms, "replyTo": d.reply_to,
        "envelope": d.envelope.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()).or_else(|| d.envelope.clone().map(Value::String)),
        "fields": d.fields,
    })
}

fn method_of(d: &DeadLetter) -> String {
    d.envelope
        .as_deref()
        .and_then(|e| serde_json::from_str::<Value>(e).ok())
        .and_then(|v| v.get("method").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "-".into())
}

pub async fn run(ctx: &Ctx, service: &str, action: DeadAction) -> Result<ExitCode, Failure> {
    let dead = DeadLetters::new(ctx.inspector.connection().clone(), ctx.prefix.clone());
    match action {
        DeadAction::List { limit } => {
            let letters = dead.list(service, limit).await?;
            if ctx.json {
                print_json(&Value::Array(letters.iter().map(to_json).collect()));
                return Ok(ExitCode::SUCCESS);
            }
            let total = dead.count(service).await?;
            anstream::println!("{service}: {total} dead letter(s)");
            if letters.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            let now = ctx.inspector.now_ms().await?;
            let mut table = Table::new(&["ID", "METHOD", "REASON", "DELIVERIES", "LAST CONSUMER", "AGE"]);
            for d in &letters {
                table.row(vec![
                    plain(&d.id),
                    plain(method_of(d)),
                    (d.reason.clone(), WARN),
                    plain(d.deliveries),
                    plain(&d.last_consumer),
                    plain(crate::format::duration_ms(now - d.dead_at_ms)),
                ]);
            }
            table.print();
        }
        DeadAction::Show { id } => {
            let Some(d) = dead.get(service, &id).await? else {
                return Err(Failure::other(format!("no dead letter {id} for {service}")));
            };
            if ctx.json {
                print_json(&to_json(&d));
            } else {
                anstream::println!(
                    "{}{}{}  {} after {} deliveries, last held by {}",
                    HEAD.render(),
                    d.id,
                    HEAD.render_reset(),
                    d.reason,
                    d.deliveries,
                    d.last_consumer
                );
                anstream::println!(
                    "entry {} on the command stream; reply-to {}",
                    d.entry_id,
                    d.reply_to.as_deref().unwrap_or("(none: a notification)")
                );
                print_json(&to_json(&d)["envelope"]);
            }
        }
        DeadAction::Replay { id } => {
            let Some(new_id) = dead.replay(service, &id).await? else {
                return Err(Failure::other(format!("no dead letter {id} for {service}")));
            };
            if ctx.json {
                print_json(&json!({ "replayed": id, "entryId": new_id }));
            } else {
                anstream::println!("replayed {id} as entry {new_id} on {}:cmds:{service}", ctx.prefix);
            }
        }
        DeadAction::Purge { id: Some(id), .. } => {
            if !dead.purge(service, &id).await? {
                return Err(Failure::other(format!("no dead letter {id} for {service}")));
            }
            if ctx.json {
                print_json(&json!({ "purged": 1 }));
            } else {
                anstream::println!("purged {id}");
            }
        }
        DeadAction::Purge { id: None, .. } => {
            let n = dead.purge_all(service).await?;
            if ctx.json {
                print_json(&json!({ "purged": n }));
            } else {
                anstream::println!("purged {n} dead letter(s) of {service}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
