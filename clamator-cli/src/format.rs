//! Text output: styles, tables, durations. Colors go through `anstream`, which drops them on
//! a pipe or with `NO_COLOR` set (and keeps them with `CLICOLOR_FORCE`).

use std::io::Write;

use anstyle::{AnsiColor, Style};
use clamator_over_redis::discovery::LatencyHistogram;
use serde_json::Value;

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default();
pub const GOOD: Style = AnsiColor::Green.on_default();
pub const HEAD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const NAME: Style = AnsiColor::Cyan.on_default().bold();
pub const PLAIN: Style = Style::new();

/// One table cell: text and style.
pub type Cell = (String, Style);

/// A cell in the default style.
pub fn plain(text: impl ToString) -> Cell {
    (text.to_string(), PLAIN)
}

/// Columns padded to their widest cell (by characters, before styling); numbers right-aligned.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self { headers: headers.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn print(&self) {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, (text, _)) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(text.chars().count());
                }
            }
        }
        let numeric: Vec<bool> = (0..self.headers.len())
            .map(|i| self.rows.iter().all(|r| r.get(i).is_some_and(|(t, _)| t == "-" || t.parse::<f64>().is_ok())))
            .collect();
        let mut out = anstream::stdout().lock();
        let mut line = String::new();
        for (i, h) in self.headers.iter().enumerate() {
            line.push_str(&pad(h, widths[i], numeric[i] && !self.rows.is_empty(), i + 1 == self.headers.len()));
        }
        let _ = writeln!(out, "{}{}{}", HEAD.render(), line.trim_end(), HEAD.render_reset());
        for row in &self.rows {
            let mut line = String::new();
            for (i, (text, style)) in row.iter().enumerate() {
                let padded =
                    pad(text, widths.get(i).copied().unwrap_or(0), numeric.get(i) == Some(&true), i + 1 == row.len());
                line.push_str(&format!("{}{}{}", style.render(), padded, style.render_reset()));
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}

fn pad(text: &str, width: usize, right: bool, last: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(text.chars().count()));
    match (right, last) {
        (true, _) => format!("{fill}{text}  "),
        (false, true) => text.to_owned(),
        (false, false) => format!("{text}{fill}  "),
    }
}

/// `850ms`, `12.3s`, `4m05s`, `2h10m`, `3d4h`.
pub fn duration_ms(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..=999 => format!("{ms}ms"),
        1_000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
        3_600_000..=86_399_999 => format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60),
        _ => format!("{}d{}h", ms / 86_400_000, (ms / 3_600_000) % 24),
    }
}

/// A latency in ms with sensible precision.
pub fn latency_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else if ms >= 1.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.2}ms")
    }
}

/// `p50/p99` of a histogram (`12ms/80ms`), `-` when it is empty.
pub fn percentiles(h: &LatencyHistogram) -> String {
    match (h.quantile_ms(0.5), h.quantile_ms(0.99)) {
        (Some(p50), Some(p99)) => format!("{}/{}", latency_ms(p50), latency_ms(p99)),
        _ => "-".into(),
    }
}

/// A histogram's size, p50 and p99 (ms; `null` when it is empty), for `--json`.
pub fn percentiles_json(h: &LatencyHistogram) -> Value {
    serde_json::json!({ "count": h.count(), "p50Ms": h.quantile_ms(0.5), "p99Ms": h.quantile_ms(0.99) })
}

/// Pretty JSON on stdout.
pub fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    anstream::println!("{text}");
}

/// A one-line summary of a JSON Schema: `{a: number, b?: string}`.
pub fn schema_summary(schema: &Value) -> String {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return type_name(schema);
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<String> = props
        .iter()
        .map(|(name, s)| {
            let opt = if required.contains(&name.as_str()) { "" } else { "?" };
            format!("{name}{opt}: {}", type_name(s))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn type_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    match schema.get("type") {
        Some(Value::String(t)) if t == "array" => {
            format!("{}[]", schema.get("items").map(type_name).unwrap_or_else(|| "any".into()))
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("|"),
        _ => "any".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(12_340), "12.3s");
        assert_eq!(duration_ms(245_000), "4m05s");
        assert_eq!(duration_ms(7_800_000), "2h10m");
    }

    #[test]
    fn schema_summaries() {
        let s = serde_json::json!({"type": "object", "properties": {"a": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["a"]});
        assert_eq!(schema_summary(&s), "{a: number, tags?: string[]}");
    }
}
