//! The expansion: the service trait, `XContract`, `XClient<C>` and `XServer<T>`. It is
//! emitted also when the contract has errors (next to them), for the methods that passed:
//! the rest of the user's code still resolves and one mistake gives one error.
//!
//! Every path is fully qualified so that the expansion compiles under
//! `#![no_implicit_prelude]`; local variables use mixed-site hygiene so that they cannot
//! collide with the user's names.

mod client;
mod server;
mod tokens;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ItemTrait};

use crate::model::{ContractModel, MethodKind};
use tokens::{respan, support_path};

/// The generated item names for the trait `Arith`: `ArithContract`, `ArithClient`, `ArithServer`.
pub(super) struct Names {
    pub(super) contract: Ident,
    pub(super) client: Ident,
    pub(super) server: Ident,
}

impl Names {
    pub(super) fn new(item: &ItemTrait) -> Self {
        let ident = &item.ident;
        Self {
            contract: format_ident!("{}Contract", ident),
            client: format_ident!("{}Client", ident),
            server: format_ident!("{}Server", ident),
        }
    }
}

/// The expansion of a contract, complete for the methods that passed the checks.
pub fn expand(model: &ContractModel) -> TokenStream {
    let names = Names::new(&model.item);
    let mut out = service_trait(model);
    out.extend(contract_struct(model, &names));
    out.extend(client::client(model, &names));
    out.extend(server::server(model, &names));
    out
}

fn service_trait(model: &ContractModel) -> TokenStream {
    let ItemTrait { attrs, vis, unsafety, trait_token, ident, supertraits, generics, .. } = &model.item;
    let where_clause = &generics.where_clause;
    let supertraits = supertraits.iter();
    let methods = model.methods.iter().map(|m| {
        let attrs = &m.attrs;
        let (fn_token, ident, inputs, semi) = (&m.sig.fn_token, &m.sig.ident, &m.sig.inputs, &m.semi);
        let output = match &m.kind {
            MethodKind::Method { output, .. } => output.to_token_stream(),
            MethodKind::Notification => quote!(()),
        };
        // Spanned at `async`: a non-`Send` implementation is told that this bound requires it.
        let future = respan(quote!(impl ::core::future::Future), m.sig.asyncness.span());
        let send = respan(quote!(::core::marker::Send), m.sig.asyncness.span());
        quote! {
            #(#attrs)*
            #fn_token #ident(#inputs) -> #future<Output = #output> + #send #semi
        }
    });
    let rejected = &model.rejected;
    let allow = (!rejected.is_empty()).then(|| quote!(#[allow(async_fn_in_trait)]));
    let params = &generics.params;
    let generics = (!params.is_empty()).then(|| quote!(<#params>));
    quote! {
        #(#attrs)*
        #allow
        #vis #unsafety #trait_token #ident #generics:
            ::core::marker::Send + ::core::marker::Sync + 'static #(+ #supertraits)*
        #where_clause
        {
            #(#methods)*
            #(#rejected)*
        }
    }
}

fn contract_struct(model: &ContractModel, names: &Names) -> TokenStream {
    let ContractModel { krate, service, item, .. } = model;
    let sp = support_path(krate);
    let (vis, contract) = (&item.vis, &names.contract);
    let doc = format!(
        " The `{service}` contract of [`{trait_}`]: its service name and method table, without a \
         handler or a client.",
        trait_ = item.ident
    );
    let count = model.methods.len();
    let methods = model.methods.iter().map(|m| {
        let wire = &m.wire_name;
        let rust = syn::ext::IdentExt::unraw(m.ident()).to_string();
        let notification = matches!(m.kind, MethodKind::Notification);
        quote!(#sp::method(#wire, #rust, #notification))
    });
    // Each method's schemas: `Probe` picks schemars' when the type derives `JsonSchema`.
    let schemas = model.methods.iter().map(|m| {
        let wire = &m.wire_name;
        let params = &m.params;
        let result = match &m.kind {
            MethodKind::Method { ok, .. } => quote!((&#sp::Probe::<#ok>::new()).json_schema()),
            _ => quote!(::core::option::Option::None),
        };
        quote!(#sp::MethodSchema::new(#wire, (&#sp::Probe::<#params>::new()).json_schema(), #result))
    });
    // Every distinct params and result type, for `assert_camel_case`.
    let mut types: Vec<TokenStream> = Vec::new();
    for m in &model.methods {
        types.push(m.params.to_token_stream());
        if let MethodKind::Method { ok, .. } = &m.kind {
            types.push(ok.to_token_stream());
        }
    }
    let mut seen = std::collections::HashSet::new();
    types.retain(|ty| seen.insert(ty.to_string()));
    let checks = types.iter().map(|ty| {
        let name = ty.to_string().replace(' ', "");
        quote!((#name, (&#sp::Probe::<#ty>::new()).field_names()))
    });
    let check_doc = format!(
        " Panics, naming them, when a params or result struct of `{service}` has wire field names \
         that are not camelCase (a multi-word field without `#[serde(rename_all = \"camelCase\")]`, which \
         0.1.9 peers do not understand). Call it from a unit test: `#[test] fn wire_names() {{ \
         {contract}::assert_camel_case(); }}`. Only the types' own fields are checked, not those of \
         structs nested in them."
    );
    let camel = quote! {
        #[allow(dead_code)]
        impl #contract {
            #[doc = #check_doc]
            pub fn assert_camel_case() {
                #[allow(unused_imports)]
                use #sp::{ViaDeserialize as _, ViaNoDeserialize as _};
                #sp::assert_all_camel_case(&[#(#checks),*]);
            }
        }
    };
    quote! {
        #camel

        #[doc = #doc]
        #[derive(
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::default::Default
        )]
        #[allow(dead_code)]
        #vis struct #contract;

        impl #sp::Contract for #contract {
            const SERVICE: &'static str = #service;
            fn descriptor() -> &'static #sp::ServiceDescriptor {
                static METHODS: [#sp::MethodDescriptor; #count] = [#(#methods),*];
                static DESCRIPTOR: #sp::ServiceDescriptor =
                    #sp::service(#service, &METHODS);
                &DESCRIPTOR
            }
            fn schemas() -> ::std::vec::Vec<#sp::MethodSchema> {
                #[allow(unused_imports)]
                use #sp::{SchemaViaJsonSchema as _, SchemaViaNone as _};
                ::std::vec![#(#schemas),*]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tokens::fresh_type_param;
    use super::*;
    use syn::parse_quote;

    fn expand_str(attr: TokenStream, item: ItemTrait) -> syn::File {
        let (model, errors) = crate::check::contract(attr, &item);
        assert!(errors.is_none());
        syn::parse2(expand(&model)).expect("the expansion parses")
    }

    #[test]
    fn expansion_parses_and_names_the_items() {
        let item: ItemTrait = parse_quote! {
            pub trait Arith {
                async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
                #[clamator(notification)]
                async fn ping(&self, params: PingParams);
            }
        };
        let file = expand_str(quote!(service = "arith"), item);
        let text = file.to_token_stream().to_string();
        for needle in ["ArithContract", "ArithClient", "ArithServer", "typed_notification", "\"ping\""] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("clamator ("), "helper attribute left in {text}");
    }

    #[test]
    fn type_params_avoid_user_types() {
        let item: ItemTrait = parse_quote! {
            pub trait Odd {
                async fn f(&self, params: C) -> Result<T, RpcError>;
            }
        };
        let (model, _) = crate::check::contract(quote!(service = "odd"), &item);
        assert_eq!(fresh_type_param("C", &model), "C_");
        assert_eq!(fresh_type_param("T", &model), "T_");
        assert_eq!(fresh_type_param("X", &model), "X");
    }

    #[test]
    fn errors_keep_the_client_and_server() {
        let item: ItemTrait = parse_quote! {
            pub trait Arith {
                #[clamator(bogus)]
                async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
                async fn sub(&self, params: AddParams) -> Result<AddResult, RpcError>;
            }
        };
        let (model, errors) = crate::check::contract(quote!(service = "arith"), &item);
        assert!(errors.is_some());
        let file: syn::File = syn::parse2(expand(&model)).unwrap();
        let text = file.to_token_stream().to_string();
        assert!(text.contains("async fn add"), "{text}");
        assert!(text.contains("pub fn sub"), "{text}");
        assert!(text.contains("pub fn new"), "{text}");
        assert!(!text.contains("# [clamator"), "{text}");
    }
}
