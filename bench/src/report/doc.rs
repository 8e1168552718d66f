//! The result files of a run, loaded for the report.

use std::collections::HashMap;

use serde_json::Value;

pub(super) struct Doc {
    pub(super) meta: Value,
    /// Metadata of the files merged in by [`Doc::extend`].
    pub(super) more_meta: Vec<Value>,
    pub(super) rows: Vec<Value>,
    pub(super) by_name: HashMap<String, Value>,
}

impl Doc {
    pub(super) fn load(path: &str) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
        let meta: Value = serde_json::from_str(&text).map_err(|e| format!("parsing {path}: {e}"))?;
        let rows = meta["results"].as_array().cloned().unwrap_or_default();
        let by_name = rows.iter().filter_map(|r| Some((r["scenario"].as_str()?.to_owned(), r.clone()))).collect();
        Ok(Self { meta, more_meta: Vec::new(), rows, by_name })
    }

    pub(super) fn empty() -> Self {
        Self { meta: Value::Null, more_meta: Vec::new(), rows: Vec::new(), by_name: HashMap::new() }
    }

    /// Adds the rows of `other` (a later run of other scenarios); `self`'s metadata stays.
    pub(super) fn extend(&mut self, other: Doc) {
        self.more_meta.push(other.meta);
        for row in other.rows {
            if let Some(name) = row["scenario"].as_str() {
                self.by_name.insert(name.to_owned(), row.clone());
            }
            self.rows.retain(|r| r["scenario"] != row["scenario"]);
            self.rows.push(row);
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&Value> {
        self.by_name.get(name).filter(|r| r["failed"].is_null() && r["calls_per_sec"].is_number())
    }
}
