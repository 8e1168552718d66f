//! What a handler knows about the request it serves: [`Context`].

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use crate::envelope::Id;

/// Caller metadata: string keys to string values, sent beside the request (over Redis, in the
/// entry's `metadata` field; 0.1.9 peers ignore it). Keys are lower-case by convention
/// (`authorization`, `traceparent`).
pub type Metadata = BTreeMap<String, String>;

/// Typed values that middleware attaches to a request for the layers and the handler after
/// it: the caller's authenticated identity, a trace context, a database transaction. One
/// value per type.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::Extensions;
///
/// #[derive(Debug, PartialEq)]
/// struct User(String);
///
/// let mut ext = Extensions::new();
/// ext.insert(User("ada".into()));
/// assert_eq!(ext.get::<User>(), Some(&User("ada".into())));
/// assert!(ext.get::<u32>().is_none());
/// ```
#[derive(Default)]
pub struct Extensions {
    /// Allocated at the first insert: most requests carry none.
    /// Boxed, so that a context without extensions stays small (8 bytes, not 48).
    #[allow(clippy::box_collection)]
    map: Option<Box<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>,
}

impl Extensions {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value`; returns the value of that type it replaces.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        let map = self.map.get_or_insert_with(Box::default);
        map.insert(TypeId::of::<T>(), Box::new(value)).and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map.as_ref()?.get(&TypeId::of::<T>()).and_then(|v| v.downcast_ref())
    }

    /// The value of type `T`, mutably.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.map.as_mut()?.get_mut(&TypeId::of::<T>()).and_then(|v| v.downcast_mut())
    }

    /// Takes the value of type `T` out.
    pub fn remove<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.map.as_mut()?.remove(&TypeId::of::<T>()).and_then(|v| v.downcast().ok().map(|b| *b))
    }

    /// How many values are stored.
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, |m| m.len())
    }

    /// `true` when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions").field("len", &self.len()).finish_non_exhaustive()
    }
}

/// The request a handler serves, as the transport and the middleware know it: its id,
/// service and method, how many times it was delivered, its deadline, the caller's
/// metadata, and typed extensions set by middleware.
///
/// A handler takes it as an extra `&Context` argument before its params; a handler that does
/// not need it is written without it:
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{Context, RpcError};
/// # use serde::{Deserialize, Serialize};
/// # use validator::Validate;
/// # #[derive(Serialize, Deserialize, Validate)] pub struct AddParams { a: f64, b: f64 }
/// # #[derive(Serialize, Deserialize, Validate)] pub struct AddResult { sum: f64 }
///
/// async fn add(ctx: &Context, p: AddParams) -> Result<AddResult, RpcError> {
///     if ctx.remaining().is_some_and(|left| left.is_zero()) {
///         return Err(RpcError::new(-31000, "too late"));
///     }
///     tracing::info!(request = ?ctx.id(), attempt = ctx.attempt(), caller = ?ctx.metadata().get("caller"), "adding");
///     Ok(AddResult { sum: p.a + p.b })
/// }
/// ```
#[derive(Debug)]
pub struct Context {
    id: Option<Id>,
    service: Cow<'static, str>,
    method: Cow<'static, str>,
    attempt: u32,
    deadline: Option<Instant>,
    queue_wait: Option<Duration>,
    /// `None` when empty: most requests carry none, and an empty map still costs a drop.
    metadata: Option<Box<Metadata>>,
    extensions: Extensions,
}

/// What a transport passes to [`ServiceTable::dispatch_with`](crate::ServiceTable::dispatch_with)
/// before adding what it knows: first delivery, no deadline, no metadata. The dispatching
/// table fills in the request id and the service and method names (from its own method
/// table, so that a request costs no copy of them).
impl Default for Context {
    fn default() -> Self {
        Self::new("", "")
    }
}

impl Context {
    /// A context for a call of `service.method`, first delivery, no deadline, no metadata.
    pub fn new(service: impl Into<Cow<'static, str>>, method: impl Into<Cow<'static, str>>) -> Self {
        Self {
            id: None,
            service: service.into(),
            method: method.into(),
            attempt: 1,
            deadline: None,
            queue_wait: None,
            metadata: None,
            extensions: Extensions::new(),
        }
    }

    /// Sets the names (the dispatching table does).
    pub(crate) fn set_names(&mut self, service: Cow<'static, str>, method: Cow<'static, str>) {
        self.service = service;
        self.method = method;
    }

    /// Sets the id (the dispatching table does).
    pub(crate) fn set_id(&mut self, id: Option<Id>) {
        self.id = id;
    }

    /// With the request id (`None` for a notification).
    #[must_use]
    pub fn with_id(mut self, id: Option<Id>) -> Self {
        self.id = id;
        self
    }

    /// With the delivery attempt (1 for the first delivery).
    #[must_use]
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt.max(1);
        self
    }

    /// With the caller's deadline, on this process's clock.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// With how long the request waited in the transport before this delivery.
    #[must_use]
    pub fn with_queue_wait(mut self, waited: Option<Duration>) -> Self {
        self.queue_wait = waited;
        self
    }

    /// With the caller's metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = (!metadata.is_empty()).then(|| Box::new(metadata));
        self
    }

    /// The request id; `None` for a notification.
    pub fn id(&self) -> Option<&Id> {
        self.id.as_ref()
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The method's wire name.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// How many times the transport delivered this request, this delivery included (1 on
    /// the first; more after a server died or stalled with it: Redis).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// When the caller stops waiting, on this process's clock; `None` when the request
    /// carries no deadline (a notification, or a caller that sends none, such as 0.1.9).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left before the deadline (zero once passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// How long the request waited in the transport before this delivery, when known
    /// (Redis: from the entry's id to the handler's start, on Redis's clock).
    pub fn queue_wait(&self) -> Option<Duration> {
        self.queue_wait
    }

    /// The caller's metadata.
    pub fn metadata(&self) -> &Metadata {
        static EMPTY: Metadata = Metadata::new();
        self.metadata.as_deref().unwrap_or(&EMPTY)
    }

    /// The caller's metadata, mutably (for middleware).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        self.metadata.get_or_insert_with(Box::default)
    }

    /// Values set by middleware.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Values set by middleware, mutably.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builder_and_accessors() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut metadata = Metadata::new();
        metadata.insert("caller".into(), "billing".into());
        let mut ctx = Context::new("arith", "add")
            .with_id(Some(Id::String("r1".into())))
            .with_attempt(0)
            .with_deadline(Some(deadline))
            .with_metadata(metadata);
        assert_eq!((ctx.service(), ctx.method(), ctx.attempt()), ("arith", "add", 1));
        assert_eq!(ctx.id(), Some(&Id::String("r1".into())));
        let left = ctx.remaining().unwrap();
        assert!(left <= Duration::from_secs(5) && left > Duration::from_secs(4));
        assert_eq!(ctx.metadata()["caller"], "billing");
        ctx.extensions_mut().insert(7u32);
        assert_eq!(ctx.extensions().get::<u32>(), Some(&7));
        assert_eq!(ctx.extensions_mut().remove::<u32>(), Some(7));
        assert!(ctx.extensions().is_empty());
        assert_eq!(Context::new("a", "b").remaining(), None);
    }
}
