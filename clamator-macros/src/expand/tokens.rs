//! Token helpers shared by the expansion: the support module's path, the probes, spans and
//! fresh type parameter names.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use syn::Ident;

use crate::model::{ContractModel, MethodKind};

/// The support module of the core this macro was released with: `__private_0_1_0`. A core of
/// another version has another name, so a mismatch fails loudly (thiserror's scheme).
pub(super) fn support_path(krate: &syn::Path) -> TokenStream {
    let version = env!("CARGO_PKG_VERSION").replace(['.', '-', '+'], "_");
    let private = format_ident!("__private_{}", version);
    quote!(#krate::#private)
}

/// `(&&Probe::<T>::new()).rules()`: the [`Rules`] of `ty`, picked by autoref specialization
/// in `clamator-core` (validator rules if `ty: Validate`, those of the inner value for an
/// `Option` of such a type, none otherwise).
pub(super) fn rules_of(sp: &TokenStream, ty: &TokenStream) -> TokenStream {
    quote!((&&#sp::Probe::<#ty>::new()).rules())
}

/// Brings the probe traits into scope for [`rules_of`].
pub(super) fn probe_traits(sp: &TokenStream) -> TokenStream {
    // Each probe uses one of the three.
    quote!(#[allow(unused_imports)] use #sp::{ViaInto as _, ViaNoConversion as _, ViaOption as _, ViaSerde as _, ViaValidator as _};)
}

/// `tokens` with every span set to `span`: a support function named this way is reported
/// at the user's params type when that type misses a trait the function needs.
pub(super) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(group) = &tt {
                let mut new = Group::new(group.delimiter(), respan(group.stream(), span));
                new.set_span(span);
                tt = TokenTree::Group(new);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// A generic parameter name (`C`, `T`) that no params or result type mentions.
pub(super) fn fresh_type_param(base: &str, model: &ContractModel) -> Ident {
    fn mentions(tokens: TokenStream, name: &str) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(ident) => ident == name,
            TokenTree::Group(group) => mentions(group.stream(), name),
            _ => false,
        })
    }
    let mut name = base.to_owned();
    while model.methods.iter().any(|m| {
        let ok = match &m.kind {
            MethodKind::Method { output, .. } => output.to_token_stream(),
            MethodKind::Notification => TokenStream::new(),
        };
        mentions(m.params.to_token_stream(), &name) || mentions(ok, &name)
    }) {
        name.push('_');
    }
    Ident::new(&name, Span::call_site())
}
