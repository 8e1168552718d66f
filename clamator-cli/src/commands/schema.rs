//! `clamator schema SERVICE` and `clamator manifest [--check FILE]`.

use std::process::ExitCode;

use clamator_over_redis::discovery::{self, InspectOptions};
use serde_json::{json, Value};

use super::describe::newest_instance;
use super::Ctx;
use crate::cli::ManifestArgs;
use crate::fail::{Failure, FAILED};
use crate::format::{print_json, GOOD, WARN};

pub async fn openrpc(ctx: &Ctx, service: &str) -> Result<ExitCode, Failure> {
    let Some(info) = newest_instance(ctx, service).await? else {
        return Err(Failure::other(format!(
            "no published description of {service:?} under prefix {:?} (no live Rust server hosts it)",
            ctx.prefix
        )));
    };
    print_json(&discovery::openrpc(&info));
    Ok(ExitCode::SUCCESS)
}

pub async fn manifest(ctx: &Ctx, args: &ManifestArgs) -> Result<ExitCode, Failure> {
    let names = if args.services.is_empty() {
        let mut options = InspectOptions::default();
        options.scan = false;
        ctx.inspector.service_names(&options).await?
    } else {
        args.services.clone()
    };
    let mut infos = Vec::new();
    for name in &names {
        match newest_instance(ctx, name).await? {
            Some(info) => infos.push(info),
            None if !args.services.is_empty() => {
                return Err(Failure::other(format!(
                    "no published description of {name:?} (no live Rust server hosts it)"
                )))
            }
            None => {}
        }
    }
    let current = discovery::manifest(&infos);
    let Some(path) = &args.check else {
        print_json(&current);
        return Ok(ExitCode::SUCCESS);
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let committed: Value =
        serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{} is not JSON: {e}", path.display())))?;
    let scope: Vec<String> = infos.iter().map(|i| i.service.clone()).collect();
    let scope = if args.services.is_empty() { None } else { Some(scope.as_slice()) };
    let drift = discovery::compare_manifests(&committed, &current, scope);
    if ctx.json {
        print_json(&json!({ "drift": drift }));
    } else if drift.is_empty() {
        anstream::println!(
            "{}no drift{}: the published contracts match {}",
            GOOD.render(),
            GOOD.render_reset(),
            path.display()
        );
    } else {
        for d in &drift {
            anstream::println!("{}drift{} {d}", WARN.render(), WARN.render_reset());
        }
    }
    Ok(if drift.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(FAILED) })
}
