//! The checked contract: what `check` produces and `expand` consumes.

use syn::{Attribute, Ident, ItemTrait, Path, Signature, Token, TraitItem, Type};

/// A contract trait, as far as it passed the checks.
#[derive(Debug)]
pub struct ContractModel {
    /// How generated code names the `clamator` crate (`::clamator` by default).
    pub krate: Path,
    /// The service name (`arith`).
    pub service: String,
    /// The trait as the user wrote it; only its header (attributes, visibility, name,
    /// supertraits, where clause) is reused, with `#[clamator(...)]` attributes removed.
    pub item: ItemTrait,
    /// The methods that passed every check, in declaration order.
    pub methods: Vec<MethodModel>,
    /// Trait items that were rejected (an error is reported for each): kept in the trait as
    /// written, left out of the client, server and method table.
    pub rejected: Vec<TraitItem>,
    /// The trait has generic parameters (rejected): no client or server methods can be made.
    pub generic: bool,
}

/// One method of the contract.
#[derive(Debug)]
pub struct MethodModel {
    /// The method's attributes without `#[clamator(...)]` (docs, `cfg`s, lints, ...).
    pub attrs: Vec<Attribute>,
    /// The signature as written.
    pub sig: Signature,
    /// The closing `;`, kept so that the rewritten method spans the user's source.
    pub semi: Token![;],
    /// The wire name (`slowAdd`).
    pub wire_name: String,
    /// The type of the params argument.
    pub params: Type,
    /// Whether the method takes a `&Context` before its params.
    pub context: bool,
    /// Method or notification.
    pub kind: MethodKind,
}

impl MethodModel {
    /// The Rust name.
    pub fn ident(&self) -> &Ident {
        &self.sig.ident
    }

    /// Only the `#[doc]` attributes: what the client method carries over.
    pub fn docs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs.iter().filter(|a| a.path().is_ident("doc"))
    }
}

/// Whether a method answers.
#[derive(Debug)]
pub enum MethodKind {
    /// A request/response method.
    Method {
        /// The return type as written (`Result<AddResult, RpcError>`).
        output: Box<Type>,
        /// The success type (`AddResult`).
        ok: Box<Type>,
    },
    /// A fire-and-forget notification.
    Notification,
}
