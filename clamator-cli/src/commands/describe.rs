//! `clamator describe SERVICE[.METHOD]`: what the published instances say, or, for a
//! service only 0.1.9 servers host, what the group shows.

use std::process::ExitCode;

use clamator_over_redis::discovery::{InspectOptions, InstanceInfo};
use serde_json::json;

use super::Ctx;
use crate::fail::Failure;
use crate::format::{
    duration_ms, latency_ms, percentiles, percentiles_json, plain, print_json, schema_summary, Table, DIM, HEAD, NAME,
    WARN,
};

/// The newest published instance of `service` (the one with the latest heartbeat).
pub async fn newest_instance(ctx: &Ctx, service: &str) -> Result<Option<InstanceInfo>, Failure> {
    let mut instances = ctx.inspector.instances(service).await?;
    instances.sort_by_key(|i| i.heartbeat_at_ms);
    Ok(instances.pop())
}

pub async fn run(ctx: &Ctx, target: &str) -> Result<ExitCode, Failure> {
    let (service, method) = match target.split_once('.') {
        Some((s, m)) => (s, Some(m)),
        None => (target, None),
    };
    let overview = ctx.inspector.service(service, &InspectOptions::default()).await?;
    let Some(info) = newest_instance(ctx, service).await? else {
        if overview.group.is_none() && overview.stream_length == 0 {
            return Err(Failure::other(format!("no service {service:?} under prefix {:?}", ctx.prefix)));
        }
        if ctx.json {
            print_json(&json!({ "service": service, "published": false, "consumers": overview.consumers }));
        } else {
            anstream::println!(
                "{}{service}{}: no description published (its servers publish none: clamator 0.1.9?); {} consumer(s) in its group",
                NAME.render(),
                NAME.render_reset(),
                overview.consumers.len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    match method {
        None => describe_service(ctx, &info, overview.instances.len()),
        Some(m) => match info.method(m) {
            Some(_) => describe_method(ctx, &overview.instances, service, m),
            None => Err(Failure::other(format!("service {service:?} has no method {m:?}"))),
        },
    }
}

fn describe_service(ctx: &Ctx, info: &InstanceInfo, instances: usize) -> Result<ExitCode, Failure> {
    if ctx.json {
        print_json(&serde_json::to_value(info).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    anstream::println!(
        "{}{}{}  {} instance(s), {} {}{}",
        NAME.render(),
        info.service,
        NAME.render_reset(),
        instances,
        info.library,
        info.library_version,
        info.version.as_ref().map(|v| format!(", version {v}")).unwrap_or_default()
    );
    let mut table = Table::new(&["KIND", "METHOD", "PARAMS", "RESULT"]);
    for m in &info.methods {
        let params = m.params_schema.as_ref().map_or("(no schema)".into(), schema_summary);
        let result = match (&m.result_schema, m.kind.as_str()) {
            (_, "notification") => "-".into(),
            (Some(s), _) => schema_summary(s),
            (None, _) => "(no schema)".into(),
        };
        table.row(vec![(m.kind.clone(), DIM), (m.name.clone(), HEAD), plain(params), plain(result)]);
    }
    table.print();
    Ok(ExitCode::SUCCESS)
}

fn describe_method(ctx: &Ctx, instances: &[InstanceInfo], service: &str, method: &str) -> Result<ExitCode, Failure> {
    let newest = instances.iter().max_by_key(|i| i.heartbeat_at_ms);
    let Some(m) = newest.and_then(|i| i.method(method)) else {
        return Err(Failure::other(format!("service {service:?} has no method {method:?}")));
    };
    if ctx.json {
        let stats: Vec<_> = instances
            .iter()
            .filter_map(|i| {
                i.method(method).map(|m| {
                    json!({
                        "instance": i.instance, "stats": m.stats,
                        "processing": percentiles_json(&m.stats.processing),
                        "queueWait": percentiles_json(&m.stats.queue_wait),
                    })
                })
            })
            .collect();
        print_json(&json!({
            "service": service, "method": method, "kind": m.kind,
            "paramsSchema": m.params_schema, "resultSchema": m.result_schema, "instances": stats,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    anstream::println!("{}{service}.{method}{}  ({})", NAME.render(), NAME.render_reset(), m.kind);
    let pretty = |s: &Option<serde_json::Value>| {
        s.as_ref().map_or("(no schema published)".into(), |s| serde_json::to_string_pretty(s).unwrap_or_default())
    };
    anstream::println!("{}params{}\n{}", HEAD.render(), HEAD.render_reset(), pretty(&m.params_schema));
    if m.kind != "notification" {
        anstream::println!("{}result{}\n{}", HEAD.render(), HEAD.render_reset(), pretty(&m.result_schema));
    }
    let mut table =
        Table::new(&["INSTANCE", "REQUESTS", "ERRORS", "MEAN", "RECENT", "P50/P99", "WAIT P50/P99", "LAST ERROR"]);
    for i in instances {
        let Some(m) = i.method(method) else { continue };
        let s = &m.stats;
        let last = s.last_error.as_ref().map_or(("-".to_owned(), DIM), |e| {
            let ago = e.at_ms.map(|at| format!(" ({} ago)", duration_ms(i.heartbeat_at_ms - at))).unwrap_or_default();
            (format!("{} {}{ago}", e.code, e.message), WARN)
        });
        table.row(vec![
            plain(&i.instance),
            plain(s.requests),
            plain(s.errors),
            plain(latency_ms(s.mean_ms)),
            plain(latency_ms(s.recent_ms)),
            plain(percentiles(&s.processing)),
            plain(percentiles(&s.queue_wait)),
            last,
        ]);
    }
    anstream::println!();
    table.print();
    Ok(ExitCode::SUCCESS)
}
