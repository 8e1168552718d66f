//! [`LocalClient`]: calls service tables directly, in the caller's task, with no bus.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::client::{CallOptions, ClientCore, RpcClient, DEFAULT_TIMEOUT};
use crate::context::{Context, Metadata};
use crate::envelope::{Call, Id, Response};
use crate::error::{Error, RpcError, ServerError, TransportError};
use crate::service::{IntoServiceTable, ServiceTable};

/// A client that runs calls on [`ServiceTable`]s in the calling task: no bus, no server, no
/// lifecycle to manage. Meant for unit tests of services and of code that takes an
/// [`RpcClient`].
///
/// Every call goes through the same path as over a transport: the typed layer
/// ([`call`](crate::call), generated proxies) validates params before "sending", the names
/// are checked, and the table's dispatcher decodes and validates params, runs the handler
/// and validates its result, so error codes and messages are the transports' own. What is
/// missing is the queue: nothing is serialized to text.
///
/// - several services: [`with_service`](Self::with_service) once per table (a name twice is
///   [`ServerError::DuplicateService`]);
/// - a service it does not host: `-32601 Method not found` (as on the memory bus);
/// - timeouts: the client's default (30 s, [`with_default_timeout`](Self::with_default_timeout))
///   or the call's [`CallOptions`]; a handler still running then is dropped and the call fails
///   with [`TransportError::Timeout`];
/// - notifications run to completion before [`notify_value`](RpcClient::notify_value)
///   returns (a transport only hands them over), so a test can check their effects at once;
///   one for an unknown service is dropped, as on the memory bus.
///
/// Cloning is cheap and shares the services.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{call, CallOptions, Error, LocalClient, RpcClient, RpcError, ServiceBuilder};
/// use serde::{Deserialize, Serialize};
/// use validator::Validate;
///
/// #[derive(Serialize, Deserialize, Validate)]
/// struct Add { a: i64, b: i64 }
/// #[derive(Serialize, Deserialize, Validate)]
/// struct Sum { sum: i64 }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let arith = ServiceBuilder::new("arith")
///     .method("add", |p: Add| async move { Ok::<_, RpcError>(Sum { sum: p.a + p.b }) })
///     .build()?;
/// let client = LocalClient::new().with_service(arith)?;
/// let r: Sum = call(&client, "arith", "add", &Add { a: 2, b: 3 }, CallOptions::default()).await?;
/// assert_eq!(r.sum, 5);
///
/// let unknown = client.call_value("nope", "add", serde_json::json!({}), CallOptions::default()).await;
/// assert!(matches!(unknown, Err(Error::Rpc(e)) if e.code == -32601));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LocalClient {
    services: Arc<HashMap<String, ServiceTable>>,
    core: Arc<ClientCore>,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        f.debug_struct("LocalClient")
            .field("services", &names)
            .field("default_timeout", &self.core.default_timeout())
            .finish()
    }
}

impl Default for LocalClient {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalClient {
    /// A client hosting no service yet, with the default 30 s call timeout.
    pub fn new() -> Self {
        Self::with_core(HashMap::new(), DEFAULT_TIMEOUT)
    }

    fn with_core(services: HashMap<String, ServiceTable>, timeout: Duration) -> Self {
        let core = ClientCore::new(timeout);
        // Always started: there is nothing to connect to.
        let _ = core.start();
        Self { services: Arc::new(services), core: Arc::new(core), next_id: Arc::new(AtomicU64::new(1)) }
    }

    /// Adds a service. Errors: [`ServerError::DuplicateService`] when one of that name is
    /// already there.
    pub fn with_service(self, service: impl IntoServiceTable) -> Result<Self, ServerError> {
        let table = service.into_service_table();
        let mut services = Arc::unwrap_or_clone(self.services);
        if services.contains_key(table.name()) {
            return Err(ServerError::DuplicateService(table.name().to_owned()));
        }
        services.insert(table.name().to_owned(), table);
        Ok(Self::with_core(services, self.core.default_timeout()))
    }

    /// The same services, with calls timing out after `timeout` unless overridden per call.
    #[must_use]
    pub fn with_default_timeout(self, timeout: Duration) -> Self {
        Self::with_core(Arc::unwrap_or_clone(self.services), timeout)
    }

    /// The names of the hosted services, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.services.keys().cloned().collect();
        names.sort();
        names
    }
}

/// The one place the local client hands a call to a service's dispatcher, with the
/// context a transport would build: the call's deadline and the caller's metadata.
fn dispatch(
    table: &ServiceTable,
    call: Call,
    deadline: Option<tokio::time::Instant>,
    metadata: Metadata,
) -> impl Future<Output = Option<Response>> + Send + '_ {
    let ctx = Context::default().with_deadline(deadline).with_metadata(metadata);
    table.dispatch_with(ctx, call)
}

impl RpcClient for LocalClient {
    async fn call_value<'a>(
        &'a self,
        service: &'a str,
        method: &'a str,
        params: Value,
        options: CallOptions,
    ) -> Result<Value, Error> {
        let id = Id::from(self.next_id.fetch_add(1, Ordering::Relaxed));
        let call = self.core.prepare(service, method, params, Some(id))?;
        let Some(table) = self.services.get(service) else {
            return Err(RpcError::method_not_found().into());
        };
        // A request always gets a reply from the dispatcher; `None` cannot happen, and is
        // reported as what it would look like over a transport.
        let timeout = self.core.timeout_for(&options);
        let deadline = tokio::time::Instant::now() + timeout;
        let reply =
            async { dispatch(table, call, Some(deadline), options.metadata).await.ok_or(TransportError::Stopped) };
        self.core.await_reply(reply, timeout).await
    }

    async fn notify_value<'a>(&'a self, service: &'a str, method: &'a str, params: Value) -> Result<(), Error> {
        let call = self.core.prepare(service, method, params, None)?;
        match self.services.get(service) {
            Some(table) => {
                dispatch(table, call, None, Metadata::new()).await;
            }
            None => {
                tracing::debug!(service, method, "notification for a service the local client does not host dropped")
            }
        }
        Ok(())
    }
}
