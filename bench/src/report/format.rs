//! Number formatting and small helpers of the report.

use serde_json::Value;

pub(super) fn num(row: Option<&Value>, field: &str) -> Option<f64> {
    row.and_then(|r| r[field].as_f64())
}

/// CPU µs per call of one process (`client`, `server`, `broker`) or of all (`total`).
pub(super) fn cpu_per_call(row: Option<&Value>, role: &str) -> Option<f64> {
    row.and_then(|r| r["cpu_us_per_call"][role].as_f64())
}

pub(super) fn fmt_rate(x: Option<f64>) -> String {
    let Some(x) = x else { return "–".into() };
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn fmt_us(x: Option<f64>) -> String {
    match x {
        Some(x) if x >= 1000.0 => format!("{x:.0}"),
        Some(x) if x >= 100.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
        None => "–".into(),
    }
}

pub(super) fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

pub(super) fn fmt_ratio(x: Option<f64>) -> String {
    match x {
        Some(x) if x >= 10.0 => format!("{x:.0}×"),
        Some(x) => format!("{x:.2}×"),
        None => "–".into(),
    }
}

pub(super) fn fmt_pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

pub(super) fn file_name(path: &str) -> String {
    std::path::Path::new(path).file_name().map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

pub(super) fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}
