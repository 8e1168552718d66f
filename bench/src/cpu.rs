//! CPU time from /proc and from Redis's `INFO cpu`: cores busy over a whole scenario, and
//! CPU µs per call per process over a measured window.

use std::time::Instant;

use serde_json::{json, Value};

use crate::rawredis;

/// utime + stime of a process (`None`: this one) from `/proc/<pid>/stat`, in seconds (clock
/// ticks of 1/100 s on Linux). Covers every thread of the process.
pub fn proc_cpu_secs(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces: count fields after its closing paren.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU time used so far by this process and (when a URL is given) by redis-server.
pub struct CpuSnapshot {
    at: Instant,
    process_secs: Option<f64>,
    redis_secs: Option<f64>,
}

impl CpuSnapshot {
    pub async fn take(redis_url: Option<&str>) -> Self {
        let redis_secs = match redis_url {
            Some(url) => redis_cpu_secs(url).await.ok(),
            None => None,
        };
        Self { at: Instant::now(), process_secs: proc_cpu_secs(None), redis_secs }
    }

    /// CPU use between `earlier` and `self`, in cores (1.0 = one core busy all the time),
    /// over the whole scenario (setup, warm-up, window, teardown).
    pub fn since(&self, earlier: &Self) -> Value {
        let wall = self.at.duration_since(earlier.at).as_secs_f64();
        let cores = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if wall > 0.0 => json!(((a - b) / wall * 100.0).round() / 100.0),
            _ => Value::Null,
        };
        json!({
            "process_cpu_cores": cores(self.process_secs, earlier.process_secs),
            "redis_cpu_cores": cores(self.redis_secs, earlier.redis_secs),
        })
    }
}

/// `used_cpu_user + used_cpu_sys` of redis-server, in seconds.
async fn redis_cpu_secs(url: &str) -> Result<f64, String> {
    let mut conn = rawredis::connect(url).await?;
    let info: String = redis::cmd("INFO").arg("cpu").query_async(&mut conn).await.map_err(|e| format!("INFO: {e}"))?;
    let field =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<f64>().ok());
    Ok(field("used_cpu_user").unwrap_or(0.0) + field("used_cpu_sys").unwrap_or(0.0))
}

/// The processes of one peer scenario, by role; `None` pid = this process.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    pub client: Option<u32>,
    pub server: Option<u32>,
    /// redis-server or nats-server; absent for peers without a broker (gRPC).
    pub broker: Option<u32>,
}

/// CPU seconds of each role at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoleCpu {
    client: Option<f64>,
    server: Option<f64>,
    broker: Option<f64>,
}

impl Roles {
    pub fn sample(&self) -> RoleCpu {
        RoleCpu {
            client: proc_cpu_secs(self.client),
            server: self.server.and_then(|p| proc_cpu_secs(Some(p))),
            broker: self.broker.and_then(|p| proc_cpu_secs(Some(p))),
        }
    }
}

/// CPU µs per call of each role between two samples, for `calls` calls.
pub fn per_call(start: RoleCpu, end: RoleCpu, calls: u64) -> Value {
    let us = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if calls > 0 => Some((b - a) * 1e6 / calls as f64),
        _ => None,
    };
    let (client, server, broker) =
        (us(start.client, end.client), us(start.server, end.server), us(start.broker, end.broker));
    let round = |x: Option<f64>| x.map_or(Value::Null, |x| json!((x * 10.0).round() / 10.0));
    let total = match (client, server) {
        (Some(c), Some(s)) => Some(c + s + broker.unwrap_or(0.0)),
        _ => None,
    };
    json!({
        "cpu_us_per_call": {
            "client": round(client),
            "server": round(server),
            "broker": round(broker),
            "total": round(total),
        }
    })
}
