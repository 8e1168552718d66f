//! The bus: which server hosts which service.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use clamator_core::{ServerError, ServiceTable};

use crate::server::ServerShared;

/// A service registered on the bus, with the server that hosts it.
#[derive(Clone)]
pub(crate) struct Hosted {
    pub(crate) table: ServiceTable,
    pub(crate) server: Arc<ServerShared>,
}

/// The in-process bus that servers and clients share. Cloning is cheap and gives a handle to
/// the same bus.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } pub mod memory { pub use clamator_over_memory::*; } }
/// let bus = clamator::memory::MemoryBus::new();
/// let same = bus.clone();
/// assert!(bus.services().is_empty() && same.services().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct MemoryBus {
    services: Arc<RwLock<HashMap<String, Hosted>>>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus").field("services", &self.services()).finish()
    }
}

impl MemoryBus {
    /// A new, empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the services registered on the bus, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    pub(crate) fn register(&self, hosted: Hosted) -> Result<(), ServerError> {
        let mut services = self.services.write().unwrap_or_else(|e| e.into_inner());
        let name = hosted.table.name().to_owned();
        if services.contains_key(&name) {
            return Err(ServerError::DuplicateService(name));
        }
        services.insert(name, hosted);
        Ok(())
    }

    pub(crate) fn unregister(&self, server: &Arc<ServerShared>) {
        let mut services = self.services.write().unwrap_or_else(|e| e.into_inner());
        services.retain(|_, hosted| !Arc::ptr_eq(&hosted.server, server));
    }

    pub(crate) fn lookup(&self, service: &str) -> Option<Hosted> {
        self.read().get(service).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Hosted>> {
        // A panic while holding the lock cannot leave the map half-written (every write is a
        // single insert or retain), so a poisoned lock is still consistent.
        self.services.read().unwrap_or_else(|e| e.into_inner())
    }
}
