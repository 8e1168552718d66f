//! A service that counts how many times each call ran, keyed by a call-unique param, so a
//! test can account for every call: ran once, ran twice (at-least-once redelivery), or never.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator::{RpcError, ServiceBuilder, ServiceTable};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// Params of `tally.hit`: a key unique to the call, and how long the handler takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
#[serde(rename_all = "camelCase")]
pub struct HitParams {
    pub key: String,
    #[serde(default)]
    pub sleep_ms: u64,
}

/// Result of `tally.hit`: the key, and how many times it has run so far (this run included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct HitResult {
    pub key: String,
    pub runs: usize,
}

/// Executions per key, shared between the service and the test.
#[derive(Debug, Clone, Default)]
pub struct Executions {
    runs: Arc<Mutex<HashMap<String, usize>>>,
}

impl Executions {
    /// The `tally` service (method `hit`) recording into this counter.
    pub fn service(&self) -> ServiceTable {
        self.service_named("tally")
    }

    /// The same service under another name (method `hit`), sharing this counter.
    pub fn service_named(&self, name: &str) -> ServiceTable {
        let runs = Arc::clone(&self.runs);
        ServiceBuilder::new(name)
            .method("hit", move |p: HitParams| {
                let runs = Arc::clone(&runs);
                async move {
                    let n = {
                        let mut runs = runs.lock().unwrap();
                        let n = runs.entry(p.key.clone()).or_insert(0);
                        *n += 1;
                        *n
                    };
                    if p.sleep_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(p.sleep_ms)).await;
                    }
                    Ok::<_, RpcError>(HitResult { key: p.key, runs: n })
                }
            })
            .build()
            .expect("valid names")
    }

    /// How many times `key` ran.
    pub fn count(&self, key: &str) -> usize {
        self.runs.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    /// Every key that ran, with its count.
    pub fn snapshot(&self) -> HashMap<String, usize> {
        self.runs.lock().unwrap().clone()
    }
}
