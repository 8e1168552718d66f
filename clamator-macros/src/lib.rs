//! The `#[clamator::contract]` attribute macro. Use it through the `clamator` crate, which
//! re-exports it as `clamator::contract`.
//!
//! The macro turns a trait of `async fn`s into a clamator contract:
//!
//! ```ignore
//! use clamator::RpcError;
//!
//! #[clamator::contract(service = "arith")]
//! pub trait Arith {
//!     /// Adds.
//!     async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
//!     // wire name "slowAdd": lowerCamelCase of the Rust name
//!     async fn slow_add(&self, params: SlowAddParams) -> Result<AddResult, RpcError>;
//!     #[clamator(name = "div")]
//!     async fn divide(&self, params: DivParams) -> Result<DivResult, RpcError>;
//!     #[clamator(notification)]
//!     async fn ping(&self, params: PingParams);
//! }
//!
//! struct Calc;
//! impl Arith for Calc {
//!     async fn add(&self, p: AddParams) -> Result<AddResult, RpcError> {
//!         Ok(AddResult { sum: p.a + p.b })
//!     }
//!     // ...
//! }
//!
//! server.register_service(ArithServer::new(Calc))?;
//! let arith = ArithClient::new(client);
//! let sum = arith.add(AddParams { a: 1.0, b: 2.0 }).await?.sum;
//! ```
//!
//! It generates:
//!
//! - the trait itself, with `Send + Sync + 'static` supertraits and each method rewritten to
//!   `fn m(&self, params: P) -> impl Future<Output = ...> + Send`, so that implementations
//!   (plain `async fn`s) must produce `Send` futures;
//! - `ArithContract`, implementing `clamator::Contract` (service name and method table);
//! - `ArithClient<C>`, a typed proxy over any `C: RpcClient`, one method per contract method;
//! - `ArithServer<T>`, wrapping a `T: Arith` for a transport server's `register_service`.
//!
//! A method may take the request's context before its params, `async fn m(&self, ctx:
//! &clamator::Context, params: P)`, and may return `Result<T, E>` for any `E: Into<RpcError>`
//! (`RpcError`, `clamator::HandlerError` for `?` on any error, your own enum with a
//! `From` impl, or `anyhow::Result<T>` with the `anyhow` feature). The generated client's
//! methods never take the context: `XClient::with_metadata` / `with_options` set what travels
//! with the call.
//!
//! Contract options: `service = "name"` (required, `^[a-z][a-z0-9-]*$`) and
//! `crate = "path::to::clamator"` (for re-exports; a renamed dependency is found on its own).
//! Method options, in `#[clamator(...)]`: `notification` (fire-and-forget, no return type) and
//! `name = "wireName"` (`^[a-z][a-zA-Z0-9]*$`).
//!
//! A contract that breaks a rule is reported with a compile error at the offending tokens;
//! the trait, the client and the server are still emitted, with every method that passed, so
//! that one mistake yields one error.
//!
//! Modules: `options` (one generic parser for the option lists), `check` (the semantic rules,
//! producing a best-effort `model`), `expand` (the code), `names` and `shapes` (helpers). The
//! full user-facing reference is `docs/contract.md`, shown on `clamator::contract`.

use proc_macro::TokenStream;
use quote::quote;

mod check;
mod crate_path;
mod diagnostics;
mod expand;
mod model;
mod names;
mod options;
mod shapes;

/// Declares a clamator contract. The reference (options, generated items, rules, examples)
/// is on `clamator::contract`, the re-export in the `clamator` crate, where this macro is
/// meant to be used from.
#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let item_trait: syn::ItemTrait = match syn::parse2(item.clone()) {
        Ok(item_trait) => item_trait,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[clamator::contract] applies to a trait: `pub trait Arith { async fn add(&self, params: \
                 AddParams) -> Result<AddResult, RpcError>; }`",
            )
            .to_compile_error();
            return quote!(#error #item).into();
        }
    };
    let (model, errors) = check::contract(attr.into(), &item_trait);
    let errors = errors.map(|e| e.to_compile_error());
    let expansion = expand::expand(&model);
    quote!(#errors #expansion).into()
}
