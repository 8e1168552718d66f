//! The server side of discovery: the per-method counters of every hosted service, and the
//! heartbeat that writes them, with what the server hosts, under the prefix.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clamator_core::{MethodKind, ServiceDescriptor};
use redis::aio::ConnectionLike;

use super::document::{InstanceInfo, MethodInfo, MethodSchemas};
use super::stats::ServiceStats;
use super::{instance_key, instances_key, services_key, INDEX_TTL, LIBRARY};

/// One hosted service: its method table, counters and schemas.
struct Hosted {
    descriptor: ServiceDescriptor,
    stats: Arc<ServiceStats>,
}

/// What a server publishes, and how often.
pub(crate) struct Publisher {
    prefix: String,
    instance_id: String,
    version: Option<String>,
    interval: Option<Duration>,
    concurrency: usize,
    services: Mutex<Vec<Hosted>>,
    /// Schemas by service, then method.
    schemas: Mutex<HashMap<String, HashMap<String, MethodSchemas>>>,
    started_at_ms: Mutex<Option<i64>>,
}

impl Publisher {
    pub(crate) fn new(
        prefix: &str,
        instance_id: &str,
        version: Option<String>,
        interval: Option<Duration>,
        concurrency: usize,
    ) -> Self {
        Self {
            prefix: prefix.to_owned(),
            instance_id: instance_id.to_owned(),
            version,
            interval,
            concurrency,
            services: Mutex::new(Vec::new()),
            schemas: Mutex::new(HashMap::new()),
            started_at_ms: Mutex::new(None),
        }
    }

    /// The heartbeat interval; `None` when discovery is off.
    pub(crate) fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// How long a published document outlives its last heartbeat: three intervals.
    fn ttl(&self) -> Duration {
        self.interval.unwrap_or_default() * 3
    }

    /// Counters for a service about to be hosted (built once; the workers keep them).
    pub(crate) fn track(&self, descriptor: &ServiceDescriptor) -> Arc<ServiceStats> {
        let stats = Arc::new(ServiceStats::new(descriptor));
        let hosted = Hosted { descriptor: descriptor.clone(), stats: Arc::clone(&stats) };
        self.services.lock().unwrap_or_else(|e| e.into_inner()).push(hosted);
        stats
    }

    /// Records the schemas of one method, published from the next heartbeat on.
    pub(crate) fn set_schemas(&self, service: &str, method: &str, schemas: MethodSchemas) {
        let mut all = self.schemas.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(service.to_owned()).or_default().insert(method.to_owned(), schemas);
    }

    /// The documents to publish now.
    pub(crate) fn documents(&self, now_ms: i64) -> Vec<InstanceInfo> {
        let started = *self.started_at_ms.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(now_ms);
        let schemas = self.schemas.lock().unwrap_or_else(|e| e.into_inner());
        let services = self.services.lock().unwrap_or_else(|e| e.into_inner());
        services
            .iter()
            .map(|hosted| {
                let name = hosted.descriptor.name.to_string();
                let described = schemas.get(&name);
                let methods = hosted
                    .descriptor
                    .methods
                    .iter()
                    .map(|m| {
                        let given = described.and_then(|d| d.get(&*m.name)).cloned().unwrap_or_default();
                        MethodInfo {
                            name: m.name.to_string(),
                            kind: match m.kind {
                                MethodKind::Method => "method".to_owned(),
                                MethodKind::Notification => "notification".to_owned(),
                            },
                            params_schema: given.params,
                            result_schema: given.result,
                            stats: hosted.stats.snapshot(&m.name),
                        }
                    })
                    .collect();
                InstanceInfo {
                    consumer: crate::keys::consumer_name(&name, &self.instance_id),
                    service: name,
                    instance: self.instance_id.clone(),
                    library: LIBRARY.to_owned(),
                    library_version: env!("CARGO_PKG_VERSION").to_owned(),
                    version: self.version.clone(),
                    started_at_ms: started,
                    heartbeat_at_ms: now_ms,
                    heartbeat_interval_ms: self.interval.unwrap_or_default().as_millis() as u64,
                    concurrency: self.concurrency,
                    methods,
                }
            })
            .collect()
    }

    /// One heartbeat: per service, the instance document (with a TTL of three intervals),
    /// the instance's score in the service's index and the service's in the services index,
    /// and the pruning of instances whose heartbeat stopped. Every command names one key.
    pub(crate) async fn publish<C: ConnectionLike + Send>(&self, conn: &mut C, now_ms: i64) {
        let ttl_ms = self.ttl().as_millis() as i64;
        let index_ttl_ms = INDEX_TTL.as_millis() as i64;
        let mut pipe = redis::pipe();
        for doc in self.documents(now_ms) {
            let json = match serde_json::to_string(&doc) {
                Ok(json) => json,
                Err(e) => {
                    tracing::warn!(service = %doc.service, error = %e, "discovery document not serializable");
                    continue;
                }
            };
            let instances = instances_key(&self.prefix, &doc.service);
            pipe.cmd("SET")
                .arg(instance_key(&self.prefix, &doc.service, &self.instance_id))
                .arg(json)
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
            pipe.cmd("ZADD").arg(&instances).arg(now_ms).arg(&self.instance_id).ignore();
            pipe.cmd("ZREMRANGEBYSCORE").arg(&instances).arg("-inf").arg(format!("({}", now_ms - ttl_ms)).ignore();
            pipe.cmd("PEXPIRE").arg(&instances).arg(index_ttl_ms).ignore();
            let services = services_key(&self.prefix);
            pipe.cmd("ZADD").arg(&services).arg(now_ms).arg(&doc.service).ignore();
            pipe.cmd("ZREMRANGEBYSCORE").arg(&services).arg("-inf").arg(format!("({}", now_ms - index_ttl_ms)).ignore();
            pipe.cmd("PEXPIRE").arg(&services).arg(index_ttl_ms).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(conn).await {
            if crate::connection::is_connection_error(&e) {
                tracing::debug!(error = %e, "discovery heartbeat failed; the next one retries");
            } else {
                tracing::warn!(error = %e, "discovery heartbeat refused (ACL without the discovery commands?)");
            }
        }
    }

    /// Takes this instance out of discovery (on `stop`).
    pub(crate) async fn unpublish<C: ConnectionLike + Send>(&self, conn: &mut C) {
        let names: Vec<String> = self
            .services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|h| h.descriptor.name.to_string())
            .collect();
        let mut pipe = redis::pipe();
        for service in names {
            pipe.cmd("DEL").arg(instance_key(&self.prefix, &service, &self.instance_id)).ignore();
            pipe.cmd("ZREM").arg(instances_key(&self.prefix, &service)).arg(&self.instance_id).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(conn).await {
            tracing::debug!(error = %e, "discovery: could not remove this instance; its entries expire");
        }
    }
}
