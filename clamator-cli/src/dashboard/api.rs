//! The JSON endpoints: the overview (also as server-sent events), one service in full, and
//! the dead-letter actions, through the same `Inspector` and `DeadLetters` calls as the CLI.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clamator_over_redis::discovery::{InstanceInfo, MethodStatsSnapshot};
use clamator_over_redis::DeadLetter;
use futures_util::Stream;
use serde_json::{json, Value};

use super::AppState;

/// How many pending entries and dead letters a service page lists.
const LIST_LIMIT: usize = 100;

/// An error as JSON, with its status.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn unavailable(e: clamator_core::TransportError) -> Response {
    error(StatusCode::BAD_GATEWAY, crate::fail::one_line(&e))
}

/// `GET /api/overview`: the latest reading.
pub async fn overview(State(state): State<Arc<AppState>>) -> Response {
    let latest = state.overview.borrow().clone();
    let mut body = (*latest).clone();
    body["prefix"] = json!(state.prefix);
    body["allowActions"] = json!(state.allow_actions);
    Json(body).into_response()
}

/// `GET /api/events`: the overview again at every reading (`event: overview`).
pub async fn events(State(state): State<Arc<AppState>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.overview.clone();
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let data = rx.borrow_and_update().to_string();
        Some((Ok(Event::default().event("overview").data(data)), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The params of a request envelope, if it has one that parses.
fn envelope_json(raw: Option<&str>) -> Option<Value> {
    raw.and_then(|e| serde_json::from_str::<Value>(e).ok())
}

fn dead_letter_json(d: &DeadLetter) -> Value {
    let envelope = envelope_json(d.envelope.as_deref());
    json!({
        "id": d.id, "entryId": d.entry_id, "reason": d.reason, "deliveries": d.deliveries,
        "lastConsumer": d.last_consumer, "deadAtMs": d.dead_at_ms, "replyTo": d.reply_to,
        "method": envelope.as_ref().and_then(|e| e.get("method")).cloned(),
        "params": envelope.as_ref().and_then(|e| e.get("params")).cloned(),
        "envelope": envelope.clone().or_else(|| d.envelope.clone().map(Value::String)),
    })
}

/// Each method once, over every live instance: kind and schemas from the first instance that
/// has them, counters and histograms added up (mean weighted by requests, recent the
/// slowest), and `latency`: its p50/p99 over the sampler's window, from `summary` (the
/// service's overview line).
fn methods_json(instances: &[InstanceInfo], summary: Option<&Value>) -> Vec<Value> {
    let mut order = Vec::new();
    let mut by_name: BTreeMap<String, (Value, MethodStatsSnapshot, BTreeMap<String, u64>)> = BTreeMap::new();
    for i in instances {
        for m in &i.methods {
            let entry = by_name.entry(m.name.clone()).or_insert_with(|| {
                order.push(m.name.clone());
                (json!({ "name": m.name, "kind": m.kind }), MethodStatsSnapshot::default(), BTreeMap::new())
            });
            for (key, schema) in [("paramsSchema", &m.params_schema), ("resultSchema", &m.result_schema)] {
                if entry.0.get(key).is_none() {
                    if let Some(s) = schema {
                        entry.0[key] = s.clone();
                    }
                }
            }
            let total = &mut entry.1;
            let n = total.requests + m.stats.requests;
            if n > 0 {
                total.mean_ms =
                    (total.mean_ms * total.requests as f64 + m.stats.mean_ms * m.stats.requests as f64) / n as f64;
            }
            total.requests = n;
            total.errors += m.stats.errors;
            total.recent_ms = total.recent_ms.max(m.stats.recent_ms);
            total.processing.add(&m.stats.processing);
            total.queue_wait.add(&m.stats.queue_wait);
            let newer = |a: &Option<clamator_over_redis::discovery::LastError>| a.as_ref().and_then(|e| e.at_ms);
            if m.stats.last_error.is_some() && newer(&m.stats.last_error) >= newer(&total.last_error) {
                total.last_error = m.stats.last_error.clone();
            }
            for (code, n) in &m.stats.errors_by_code {
                *entry.2.entry(code.clone()).or_insert(0) += n;
            }
        }
    }
    order
        .into_iter()
        .filter_map(|name| by_name.remove(&name))
        .map(|(mut m, mut stats, by_code)| {
            stats.errors_by_code = by_code;
            m["stats"] = serde_json::to_value(&stats).unwrap_or(Value::Null);
            let windowed = summary.and_then(|s| s["latency"]["methods"].as_array()).and_then(|all| {
                all.iter().find(|l| l.get("name").and_then(Value::as_str) == m["name"].as_str()).cloned()
            });
            m["latency"] = windowed.unwrap_or(Value::Null);
            m
        })
        .collect()
}

/// `GET /api/services/{service}`: methods, instances, consumers, pending entries and dead
/// letters, with the service's overview line.
pub async fn service(State(state): State<Arc<AppState>>, Path(service): Path<String>) -> Response {
    let known = match state.inspector.service_names(&state.options).await {
        Ok(names) => names.contains(&service),
        Err(e) => return unavailable(e),
    };
    let overview = match state.inspector.service(&service, &state.options).await {
        Ok(o) => o,
        Err(e) => return unavailable(e),
    };
    if !known && overview.dead_letters == 0 && overview.stream_length == 0 {
        return error(StatusCode::NOT_FOUND, format!("no service {service:?} under prefix {:?}", state.prefix));
    }
    let pending = match state.inspector.pending(&service, LIST_LIMIT).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let dead = match state.dead.list(&service, LIST_LIMIT).await {
        Ok(d) => d,
        Err(e) => return unavailable(e),
    };
    let now_ms = state.inspector.now_ms().await.ok();
    let line =
        state.overview.borrow().get("services").and_then(Value::as_array).and_then(|all| {
            all.iter().find(|s| s.get("name").and_then(Value::as_str) == Some(service.as_str())).cloned()
        });
    Json(json!({
        "name": service,
        "prefix": state.prefix,
        "allowActions": state.allow_actions,
        "nowMs": now_ms,
        "summary": line,
        "streamLength": overview.stream_length,
        "oldestWaitingMs": overview.oldest_waiting_ms,
        "group": overview.group,
        "consumers": overview.consumers,
        "instances": overview.instances.iter().map(|i| json!({
            "instance": i.instance, "consumer": i.consumer, "library": i.library,
            "libraryVersion": i.library_version, "version": i.version, "startedAtMs": i.started_at_ms,
            "heartbeatAtMs": i.heartbeat_at_ms, "concurrency": i.concurrency,
        })).collect::<Vec<_>>(),
        "methods": methods_json(&overview.instances, line.as_ref()),
        "pending": pending,
        "deadLetters": { "total": overview.dead_letters, "entries": dead.iter().map(dead_letter_json).collect::<Vec<_>>() },
    }))
    .into_response()
}

/// `POST /api/services/{service}/dead/{id}/replay`.
pub async fn replay(State(state): State<Arc<AppState>>, Path((service, id)): Path<(String, String)>) -> Response {
    match state.dead.replay(&service, &id).await {
        Ok(Some(entry)) => Json(json!({ "replayed": id, "entryId": entry })).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no dead letter {id} for {service}")),
        Err(e) => unavailable(e),
    }
}

/// `POST /api/services/{service}/dead/{id}/purge`.
pub async fn purge(State(state): State<Arc<AppState>>, Path((service, id)): Path<(String, String)>) -> Response {
    match state.dead.purge(&service, &id).await {
        Ok(true) => Json(json!({ "purged": 1 })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no dead letter {id} for {service}")),
        Err(e) => unavailable(e),
    }
}

/// `POST /api/services/{service}/dead/purge-all`.
pub async fn purge_all(State(state): State<Arc<AppState>>, Path(service): Path<String>) -> Response {
    match state.dead.purge_all(&service).await {
        Ok(n) => Json(json!({ "purged": n })).into_response(),
        Err(e) => unavailable(e),
    }
}
