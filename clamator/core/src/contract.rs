//! The contract model: what a service is called and which methods it has.

use std::borrow::Cow;

/// Whether a method answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodKind {
    /// A request/response method: the caller waits for a result or an error.
    Method,
    /// A notification: fire and forget, never a reply, whatever happens.
    Notification,
}

/// One method of a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodDescriptor {
    /// The wire name (`slowAdd`).
    pub name: Cow<'static, str>,
    /// The Rust name (`slow_add`), or the wire name for runtime-built services.
    pub rust_name: Cow<'static, str>,
    /// Method or notification.
    pub kind: MethodKind,
}

/// A service contract: its wire name and its method table, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDescriptor {
    /// The service name (`arith`); the first segment of every `method` on the wire.
    pub name: Cow<'static, str>,
    /// The methods, in declaration order.
    pub methods: Cow<'static, [MethodDescriptor]>,
}

impl ServiceDescriptor {
    /// The method with wire name `name`.
    pub fn method(&self, name: &str) -> Option<&MethodDescriptor> {
        self.methods.iter().find(|m| m.name == name)
    }
}

/// Implemented by the marker type `#[clamator::contract]` generates (`ArithContract`):
/// the contract's descriptor, available without a handler or a client.
pub trait Contract {
    /// The service name.
    const SERVICE: &'static str;
    /// The full descriptor.
    fn descriptor() -> &'static ServiceDescriptor;

    /// The JSON Schemas of every method's params and result, in declaration order (feature
    /// `schemas`; a type that does not derive `schemars::JsonSchema` has `None`). Empty for
    /// implementations that do not say.
    fn schemas() -> Vec<crate::MethodSchema> {
        Vec::new()
    }
}
