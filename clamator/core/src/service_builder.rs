//! [`ServiceBuilder`]: services assembled at run time from async closures.

use std::borrow::Cow;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use validator::Validate;

use crate::context::Context;
use crate::contract::{MethodDescriptor, MethodKind, ServiceDescriptor};
use crate::error::{ContractError, RpcError};
use crate::names::{is_valid_method_name, is_valid_service_name};
use crate::service::{typed_method, typed_method_with_context, typed_notification, Handler, ServiceTable};
use crate::validation::Rules;

/// Builds a service at run time from async closures: the "custom commands" case, for
/// methods that are not known when the program is compiled. It can be hosted beside
/// macro-generated services on one server.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::{RpcError, ServiceBuilder};
/// use serde::{Deserialize, Serialize};
/// use validator::Validate;
///
/// #[derive(Deserialize, Validate)]
/// struct Greet { #[validate(length(min = 1))] name: String }
/// #[derive(Serialize, Validate)]
/// struct Greeting { text: String }
///
/// let service = ServiceBuilder::new("greeter")
///     .method("greet", |p: Greet| async move {
///         Ok::<_, RpcError>(Greeting { text: format!("hello, {}", p.name) })
///     })
///     .raw_method("echo", |params| async move { Ok(params) })
///     .build()
///     .expect("valid names");
/// assert_eq!(service.name(), "greeter");
/// assert_eq!(service.descriptor().methods.len(), 2);
/// ```
pub struct ServiceBuilder {
    name: String,
    methods: Vec<MethodDescriptor>,
    handlers: Vec<Handler>,
    errors: Vec<ContractError>,
}

impl ServiceBuilder {
    /// Starts a service named `name` (checked in [`build`](Self::build)).
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), methods: Vec::new(), handlers: Vec::new(), errors: Vec::new() }
    }

    /// Adds a typed method; params and result are validated as for generated services.
    #[must_use]
    pub fn method<P, R, E, F, Fut>(self, name: impl Into<String>, f: F) -> Self
    where
        P: DeserializeOwned + Validate + Send + 'static,
        R: Serialize + Validate + 'static,
        E: Into<RpcError> + 'static,
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        self.push(name.into(), MethodKind::Method, typed_method(f))
    }

    /// Adds a typed method whose params and result are checked with the given [`Rules`]
    /// instead of `validator` rules: for types without a `Validate` impl.
    ///
    /// ```
    /// # mod clamator { pub use clamator_core::*; }
    /// use clamator::{RpcError, Rules, ServiceBuilder};
    /// use std::collections::HashMap;
    ///
    /// let service = ServiceBuilder::new("stats")
    ///     .method_with_rules("total", Rules::none(), Rules::none(), |p: HashMap<String, u64>| async move {
    ///         Ok::<u64, RpcError>(p.values().sum())
    ///     })
    ///     .build()
    ///     .expect("valid names");
    /// assert_eq!(service.descriptor().methods[0].name, "total");
    /// ```
    #[must_use]
    pub fn method_with_rules<P, R, E, F, Fut>(
        self,
        name: impl Into<String>,
        params_rules: Rules<P>,
        result_rules: Rules<R>,
        f: F,
    ) -> Self
    where
        P: DeserializeOwned + Send + 'static,
        R: Serialize + 'static,
        E: Into<RpcError> + 'static,
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        self.push(name.into(), MethodKind::Method, crate::typed::typed_method_with_rules(params_rules, result_rules, f))
    }

    /// Adds a typed method that also takes the request's [`Context`].
    #[must_use]
    pub fn method_with_context<P, R, E, F, Fut>(self, name: impl Into<String>, f: F) -> Self
    where
        P: DeserializeOwned + Validate + Send + 'static,
        R: Serialize + Validate + 'static,
        E: Into<RpcError> + 'static,
        F: Fn(Context, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        self.push(name.into(), MethodKind::Method, typed_method_with_context(f))
    }

    /// Adds a typed notification handler.
    #[must_use]
    pub fn notification<P, F, Fut>(self, name: impl Into<String>, f: F) -> Self
    where
        P: DeserializeOwned + Validate + Send + 'static,
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.push(name.into(), MethodKind::Notification, typed_notification(f))
    }

    /// Adds a method over raw JSON: no decoding or validation beyond the envelope's.
    #[must_use]
    pub fn raw_method<F, Fut>(self, name: impl Into<String>, f: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        let handler = Handler::plain(move |params| Box::pin(f(params)));
        self.push(name.into(), MethodKind::Method, handler)
    }

    fn push(mut self, name: String, kind: MethodKind, handler: Handler) -> Self {
        if !is_valid_method_name(&name) {
            self.errors.push(ContractError::InvalidMethodName(name));
        } else if self.methods.iter().any(|m| m.name == name) {
            self.errors.push(ContractError::DuplicateMethod(name));
        } else {
            let name: Cow<'static, str> = Cow::Owned(name);
            self.methods.push(MethodDescriptor { rust_name: name.clone(), name, kind });
            self.handlers.push(handler);
        }
        self
    }

    /// Checks the names and produces the table; the first mistake is reported.
    pub fn build(mut self) -> Result<ServiceTable, ContractError> {
        if !is_valid_service_name(&self.name) {
            return Err(ContractError::InvalidServiceName(self.name));
        }
        if !self.errors.is_empty() {
            return Err(self.errors.swap_remove(0));
        }
        let descriptor = ServiceDescriptor { name: Cow::Owned(self.name), methods: Cow::Owned(self.methods) };
        Ok(ServiceTable::from_descriptor(&descriptor, self.handlers))
    }
}
