//! Facts about the machine and the brokers for the report: load average, clock, versions,
//! process ids.

use crate::rawredis;

/// The first three fields of /proc/loadavg (1, 5, 15 minutes), to show how busy the machine was.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

pub fn redis_server_available() -> bool {
    let bin = std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned());
    std::process::Command::new(bin)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A field of `INFO server`.
async fn redis_info_server(url: &str, field: &str) -> Result<String, String> {
    let mut conn = rawredis::connect(url).await?;
    let info: String =
        redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(|e| format!("INFO: {e}"))?;
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| format!("no {field} in INFO"))
}

pub async fn redis_version(url: &str) -> Result<String, String> {
    redis_info_server(url, "redis_version").await
}

/// The pid of redis-server (`INFO server`), to read its CPU from /proc: only meaningful when
/// it runs on this machine, which the bench's own and `bench/run.sh`'s always do.
pub async fn redis_pid(url: &str) -> Option<u32> {
    let pid: u32 = redis_info_server(url, "process_id").await.ok()?.parse().ok()?;
    std::path::Path::new(&format!("/proc/{pid}/stat")).exists().then_some(pid)
}

/// `YYYY-MM-DDTHH:MM:SSZ` without a date crate.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant), valid for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
