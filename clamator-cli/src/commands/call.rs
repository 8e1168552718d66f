//! `clamator call SERVICE.METHOD '<json>'` and `clamator notify ...`: params checked against
//! the published schema first (when there is one), then sent through a real client.

use std::process::ExitCode;

use clamator_core::{CallOptions, Error, RpcClient};
use clamator_over_redis::RedisRpcClient;
use serde_json::{json, Value};

use super::describe::newest_instance;
use super::Ctx;
use crate::cli::CallArgs;
use crate::fail::{Failure, CONNECTION, FAILED, USAGE};
use crate::format::{print_json, ERROR};

pub async fn run(ctx: &Ctx, args: &CallArgs, notification: bool) -> Result<ExitCode, Failure> {
    let Some((service, method)) = args.target.split_once('.') else {
        return Err(Failure::usage(format!("{:?}: expected SERVICE.METHOD", args.target)));
    };
    let params: Value =
        serde_json::from_str(&args.params).map_err(|e| Failure::usage(format!("params are not valid JSON: {e}")))?;
    if !params.is_object() {
        return Err(Failure::usage("params must be a JSON object"));
    }
    if !args.no_check {
        check_params(ctx, service, method, &params).await?;
    }
    let mut options = CallOptions::timeout(args.timeout);
    for pair in &args.metadata {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(Failure::usage(format!("--meta {pair:?}: expected KEY=VALUE")));
        };
        options = options.with_metadata(k, v);
    }
    let client = RedisRpcClient::builder(ctx.prefix.clone())
        .url(ctx.url.clone())
        .default_timeout(args.timeout)
        .reply_ttl(args.timeout.max(std::time::Duration::from_secs(60)))
        .build()?;
    client.start().await.map_err(|e| Failure::new(CONNECTION, crate::fail::one_line(&e)))?;
    let outcome = if notification {
        client.notify_value(service, method, params).await.map(|()| None)
    } else {
        client.call_value(service, method, params, options).await.map(Some)
    };
    client.stop().await;
    match outcome {
        Ok(None) => {
            if ctx.json {
                print_json(&json!({ "sent": true }));
            } else {
                anstream::println!("notification sent to {service}.{method}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(Some(result)) => {
            print_json(&if ctx.json { json!({ "result": result }) } else { result });
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Rpc(e)) => {
            if ctx.json {
                print_json(&json!({ "error": e }));
            } else {
                anstream::println!("{}error {}{}: {}", ERROR.render(), e.code, ERROR.render_reset(), e.message);
                if let Some(data) = e.data.as_ref().filter(|d| !d.is_null()) {
                    print_json(data);
                }
            }
            Ok(ExitCode::from(FAILED))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refuses params the newest published instance's schema rejects (nothing is sent); a
/// method the published description does not have is refused too.
async fn check_params(ctx: &Ctx, service: &str, method: &str, params: &Value) -> Result<(), Failure> {
    let Some(info) = newest_instance(ctx, service).await? else { return Ok(()) };
    let Some(m) = info.method(method) else {
        let known: Vec<&str> = info.methods.iter().map(|m| m.name.as_str()).collect();
        return Err(Failure::usage(format!(
            "{service} has no method {method:?} (published: {}); --no-check sends anyway",
            known.join(", ")
        )));
    };
    let Some(schema) = &m.params_schema else { return Ok(()) };
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            anstream::eprintln!("clamator: the published params schema does not compile ({e}); not checked");
            return Ok(());
        }
    };
    let errors: Vec<String> = validator
        .iter_errors(params)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{at}: {e}")
            }
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        USAGE,
        format!("params rejected by the published schema of {service}.{method} (nothing sent): {}", errors.join("; ")),
    ))
}
