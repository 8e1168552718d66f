//! The server side every transport shares: the [`RpcServer`] trait and the
//! [`ServiceRegistry`] that implements the registration and lifecycle rules once.

use std::sync::{Mutex, MutexGuard};

use crate::client::BoxFuture;
use crate::error::ServerError;
use crate::lifecycle::{Lifecycle, State};
use crate::service::ServiceTable;

/// A clamator server over some transport: hosts services, starts, stops.
///
/// Implemented by `MemoryRpcServer` and `RedisRpcServer`. It is object safe (the async
/// methods return [`BoxFuture`]s and registration takes a [`ServiceTable`]), so an
/// application that picks its transport at run time can hold a `Box<dyn RpcServer>` or
/// `Arc<dyn RpcServer>`; `start` and `stop` run once per server, so the boxing costs
/// nothing that matters. The transports' inherent methods of the same names (which take any
/// [`IntoServiceTable`](crate::IntoServiceTable) and return plain futures) are what method
/// syntax picks on a concrete type.
///
/// The rules, the same on every transport (enforced by [`ServiceRegistry`]):
/// services are registered before `start` ([`ServerError::RegisterAfterStart`] after it), a
/// name once per server ([`ServerError::DuplicateService`]); `start` and `stop` are
/// idempotent; `start` or `register_service` after `stop` is [`ServerError::Stopped`].
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{BoxFuture, RpcServer, ServerError, ServiceRegistry, ServiceTable, State};
///
/// /// A toy transport: the registry does all the rule keeping.
/// #[derive(Default)]
/// struct Toy(ServiceRegistry);
///
/// impl RpcServer for Toy {
///     fn register_service(&self, service: ServiceTable) -> Result<(), ServerError> {
///         self.0.register(service)
///     }
///     fn start(&self) -> BoxFuture<'_, Result<(), ServerError>> {
///         Box::pin(async move { self.0.start().map(drop) })
///     }
///     fn stop(&self) -> BoxFuture<'_, ()> {
///         Box::pin(async move { self.0.stop(); })
///     }
///     fn state(&self) -> State {
///         self.0.state()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let server: Box<dyn RpcServer> = Box::new(Toy::default());
/// let echo = clamator::ServiceBuilder::new("echo").raw_method("echo", |p| async move { Ok(p) }).build().unwrap();
/// server.register_service(echo.clone()).unwrap();
/// assert!(matches!(server.register_service(echo), Err(ServerError::DuplicateService(_))));
/// server.start().await.unwrap();
/// server.stop().await;
/// assert_eq!(server.state(), State::Stopped);
/// assert!(matches!(server.start().await, Err(ServerError::Stopped)));
/// # }
/// ```
pub trait RpcServer: Send + Sync {
    /// Hosts a service; see the trait documentation for the errors.
    fn register_service(&self, service: ServiceTable) -> Result<(), ServerError>;

    /// Starts serving. Idempotent; [`ServerError::Stopped`] after `stop`.
    fn start(&self) -> BoxFuture<'_, Result<(), ServerError>>;

    /// Stops serving: no new requests are taken, in-flight handlers get the transport's
    /// grace period. Idempotent.
    fn stop(&self) -> BoxFuture<'_, ()>;

    /// The lifecycle state.
    fn state(&self) -> State;
}

#[derive(Debug, Default)]
struct Registered {
    services: Vec<ServiceTable>,
    /// Between [`ServiceRegistry::begin_start`] and its end: registrations are refused, so
    /// none slips in after the services were read for starting.
    starting: bool,
}

/// The registration and lifecycle rules of a server, implemented once for every transport:
/// which services it hosts, and where it is in idle → started → stopped.
///
/// - [`register`](Self::register) / [`register_with`](Self::register_with): idle only
///   ([`ServerError::RegisterAfterStart`] once started or starting, [`ServerError::Stopped`]
///   after stop), each name once ([`ServerError::DuplicateService`]);
/// - [`start`](Self::start) for a transport with nothing to set up; or
///   [`begin_start`](Self::begin_start), the transport's own setup, then
///   [`finish_start`](Self::finish_start) or, when the setup failed,
///   [`abort_start`](Self::abort_start) (the server stays idle and can be started again);
/// - [`stop`](Self::stop): for good, idempotent.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{ServerError, ServiceBuilder, ServiceRegistry, State};
///
/// let registry = ServiceRegistry::new();
/// let echo = ServiceBuilder::new("echo").raw_method("echo", |p| async move { Ok(p) }).build().unwrap();
/// registry.register(echo.clone()).unwrap();
///
/// let services = registry.begin_start().unwrap().expect("idle, so this call starts it");
/// assert_eq!(services.len(), 1);
/// // ... connect, create consumer groups ...
/// registry.finish_start().unwrap();
/// assert!(registry.begin_start().unwrap().is_none(), "already started");
/// assert!(matches!(registry.register(echo), Err(ServerError::RegisterAfterStart(_))));
///
/// assert_eq!(registry.stop(), State::Started);
/// assert!(matches!(registry.start(), Err(ServerError::Stopped)));
/// ```
#[derive(Debug, Default)]
pub struct ServiceRegistry {
    lifecycle: Lifecycle,
    registered: Mutex<Registered>,
}

impl ServiceRegistry {
    /// An idle registry with no services.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Registered> {
        // Every change under the lock is a single push or flag write: a panic elsewhere
        // cannot leave it half-done, so a poisoned lock is still consistent.
        self.registered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a service, checking the rules.
    pub fn register(&self, service: ServiceTable) -> Result<(), ServerError> {
        self.register_with(service, |_| Ok(()))
    }

    /// Like [`register`](Self::register), with an extra check that runs after the
    /// registry's own and before the service is recorded, under the registry's lock: a
    /// transport claims the name elsewhere there (the memory bus claims it on the bus), and
    /// its error aborts the registration.
    pub fn register_with(
        &self,
        service: ServiceTable,
        claim: impl FnOnce(&ServiceTable) -> Result<(), ServerError>,
    ) -> Result<(), ServerError> {
        let mut registered = self.lock();
        match self.lifecycle.state() {
            State::Idle if !registered.starting => {}
            State::Idle | State::Started => return Err(ServerError::RegisterAfterStart(service.name().to_owned())),
            State::Stopped => return Err(ServerError::Stopped),
        }
        if registered.services.iter().any(|s| s.name() == service.name()) {
            return Err(ServerError::DuplicateService(service.name().to_owned()));
        }
        claim(&service)?;
        registered.services.push(service);
        Ok(())
    }

    /// The registered services, in registration order.
    pub fn services(&self) -> Vec<ServiceTable> {
        self.lock().services.clone()
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.lifecycle.state()
    }

    /// `true` while started.
    pub fn is_started(&self) -> bool {
        self.lifecycle.is_started()
    }

    /// Idle → started, at once. `Ok(true)` when this call started it, `Ok(false)` when it
    /// already was, [`ServerError::Stopped`] after stop.
    pub fn start(&self) -> Result<bool, ServerError> {
        match self.begin_start()? {
            None => Ok(false),
            Some(_) => self.finish_start().map(|()| true),
        }
    }

    /// The first half of a start that has setup to do: `Ok(Some(services))` when the server
    /// is idle (registrations are refused from now on, until
    /// [`finish_start`](Self::finish_start) or [`abort_start`](Self::abort_start)),
    /// `Ok(None)` when it is already started, [`ServerError::Stopped`] after stop.
    ///
    /// Transports serialize their starts (a `start` waiting for another to finish), so at
    /// most one start is begun at a time.
    pub fn begin_start(&self) -> Result<Option<Vec<ServiceTable>>, ServerError> {
        let mut registered = self.lock();
        match self.lifecycle.state() {
            State::Idle => {
                registered.starting = true;
                Ok(Some(registered.services.clone()))
            }
            State::Started => Ok(None),
            State::Stopped => Err(ServerError::Stopped),
        }
    }

    /// Ends a begun start: the server is started. [`ServerError::Stopped`] when it was
    /// stopped in the meantime.
    pub fn finish_start(&self) -> Result<(), ServerError> {
        let mut registered = self.lock();
        registered.starting = false;
        self.lifecycle.start().map(drop).map_err(|()| ServerError::Stopped)
    }

    /// Gives up a begun start (its setup failed): the server stays idle, registrations are
    /// accepted again, and `start` can be tried again.
    pub fn abort_start(&self) {
        self.lock().starting = false;
    }

    /// Moves to stopped for good; returns the state it was in. Idempotent.
    pub fn stop(&self) -> State {
        let _registered = self.lock();
        self.lifecycle.stop()
    }
}
