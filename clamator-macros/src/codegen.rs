//! The expansion: the service trait, `XContract`, `XClient<C>` and `XServer<T>`; and the
//! fallback emitted next to the errors when the contract is rejected.
//!
//! Every path is fully qualified so that the expansion compiles under
//! `#![no_implicit_prelude]`; local variables use mixed-site hygiene so that they cannot
//! collide with the user's names.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ItemTrait};

use crate::model::{ContractModel, MethodKind, MethodModel};
use crate::parse::strip_helper_attrs;

/// The generated item names for the trait `Arith`: `ArithContract`, `ArithClient`, `ArithServer`.
struct Names {
    contract: Ident,
    client: Ident,
    server: Ident,
}

impl Names {
    fn new(item: &ItemTrait) -> Self {
        let ident = &item.ident;
        Self {
            contract: format_ident!("{}Contract", ident),
            client: format_ident!("{}Client", ident),
            server: format_ident!("{}Server", ident),
        }
    }
}

/// The full expansion of a valid contract.
pub fn expand(model: &ContractModel) -> TokenStream {
    let names = Names::new(&model.item);
    let mut out = service_trait(model);
    out.extend(contract_struct(model, &names));
    out.extend(client(model, &names));
    out.extend(server(model, &names));
    out
}

/// The errors, plus the trait as written and placeholder types, so that the rest of the
/// user's code still resolves and one mistake yields one error.
pub fn fallback(item: &ItemTrait, errors: &syn::Error) -> TokenStream {
    let mut item = item.clone();
    strip_helper_attrs(&mut item);
    let Names { contract, client, server } = Names::new(&item);
    let vis = &item.vis;
    let errors = errors.to_compile_error();
    quote! {
        #errors
        #[allow(async_fn_in_trait)]
        #item
        #[allow(dead_code)]
        #vis struct #contract;
        #[allow(dead_code)]
        #vis struct #client<C>(::core::marker::PhantomData<C>);
        #[allow(dead_code)]
        #vis struct #server<T>(::core::marker::PhantomData<T>);
    }
}

/// `tokens` with every span set to `span`: a support function named this way is reported
/// at the user's params type when that type misses a trait the function needs.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
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
fn fresh_type_param(base: &str, model: &ContractModel) -> Ident {
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
    quote! {
        #(#attrs)*
        #vis #unsafety #trait_token #ident:
            ::core::marker::Send + ::core::marker::Sync + 'static #(+ #supertraits)*
        #where_clause
        {
            #(#methods)*
        }
    }
}

fn contract_struct(model: &ContractModel, names: &Names) -> TokenStream {
    let ContractModel { krate, service, item, .. } = model;
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
        quote!(#krate::__private::method(#wire, #rust, #notification))
    });
    quote! {
        #[doc = #doc]
        #[derive(
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::default::Default
        )]
        #[allow(dead_code)]
        #vis struct #contract;

        impl #krate::__private::Contract for #contract {
            const SERVICE: &'static str = #service;
            fn descriptor() -> &'static #krate::__private::ServiceDescriptor {
                static METHODS: [#krate::__private::MethodDescriptor; #count] = [#(#methods),*];
                static DESCRIPTOR: #krate::__private::ServiceDescriptor =
                    #krate::__private::service(#service, &METHODS);
                &DESCRIPTOR
            }
        }
    }
}

fn client(model: &ContractModel, names: &Names) -> TokenStream {
    let ContractModel { krate, service, item, .. } = model;
    let (vis, client) = (&item.vis, &names.client);
    let c = fresh_type_param("C", model);
    let doc = format!(
        " A typed client for the `{service}` service ([`{trait_}`]) over any transport's client `{c}`.",
        trait_ = item.ident
    );
    let methods = model.methods.iter().map(|m| client_method(krate, service, m));
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        #[allow(dead_code)]
        #vis struct #client<#c> {
            client: #c,
            options: #krate::__private::CallOptions,
        }

        #[allow(dead_code)]
        impl<#c> #client<#c> {
            /// Wraps a transport's client; calls use its default timeout and send no metadata.
            pub fn new(client: #c) -> Self {
                Self { client, options: ::core::default::Default::default() }
            }

            /// A proxy whose calls use `options` (timeout, metadata).
            pub fn with_options(&self, options: #krate::__private::CallOptions) -> Self
            where
                #c: ::core::clone::Clone,
            {
                Self { client: ::core::clone::Clone::clone(&self.client), options }
            }

            /// A proxy whose calls time out after `timeout` instead of the client's default.
            pub fn with_timeout(&self, timeout: ::core::time::Duration) -> Self
            where
                #c: ::core::clone::Clone,
            {
                self.with_options(::core::clone::Clone::clone(&self.options).with_timeout(timeout))
            }

            /// A proxy whose calls carry one more metadata entry (`authorization`, say).
            pub fn with_metadata(
                &self,
                key: impl ::core::convert::Into<::std::string::String>,
                value: impl ::core::convert::Into<::std::string::String>,
            ) -> Self
            where
                #c: ::core::clone::Clone,
            {
                self.with_options(::core::clone::Clone::clone(&self.options).with_metadata(key, value))
            }

            /// The options every call of this proxy uses.
            pub fn options(&self) -> &#krate::__private::CallOptions {
                &self.options
            }

            /// The transport's client.
            pub fn inner(&self) -> &#c {
                &self.client
            }
        }

        #[allow(dead_code)]
        impl<#c: #krate::__private::RpcClient> #client<#c> {
            #(#methods)*
        }
    }
}

fn client_method(krate: &syn::Path, service: &str, m: &MethodModel) -> TokenStream {
    let (ident, params, wire) = (m.ident(), &m.params, &m.wire_name);
    let span = params.span();
    // Located (and resolved) at the params type: rustc reports unmet bounds of an argument at
    // its span, and would move a macro-hygiene span out to the whole attribute.
    let arg = Ident::new("params", span);
    let mut docs: Vec<TokenStream> = m.docs().map(ToTokens::to_token_stream).collect();
    if docs.is_empty() {
        let doc = match m.kind {
            MethodKind::Method { .. } => format!(" Calls `{service}.{wire}`."),
            MethodKind::Notification => format!(" Sends the `{service}.{wire}` notification."),
        };
        docs.push(quote!(#[doc = #doc]));
    }
    // Spans: a params type missing `Serialize` or `Validate` is reported at the params type,
    // a result type missing `Deserialize` or `Validate` at the result type.
    let (call, ok, ok_span) = match &m.kind {
        MethodKind::Method { ok, .. } => (quote!(call), ok.to_token_stream(), ok.span()),
        MethodKind::Notification => (quote!(notify), quote!(()), span),
    };
    let timeout = matches!(m.kind, MethodKind::Method { .. }).then(|| quote!(, &self.options));
    let path = respan(quote!(#krate::__private::#call), ok_span);
    let mut args = respan(quote!(&self.client, #service, #wire,), ok_span);
    args.extend(arg.to_token_stream());
    args.extend(respan(quote!(#timeout), ok_span));
    let mut args = Group::new(Delimiter::Parenthesis, args);
    args.set_span(ok_span);
    let body = quote!(#path #args);
    // The return type's own tokens are at the params type too (except the user's result type,
    // which keeps its spans), so that no diagnostic lands on the whole attribute.
    let future = respan(quote!(impl ::core::future::Future<Output = ::core::result::Result<), span);
    let error = respan(quote!(, #krate::__private::Error>> + ::core::marker::Send + '_), span);
    let output = quote!(#future #ok #error);
    quote! {
        #(#docs)*
        pub fn #ident(&self, #arg: #params) -> #output {
            #body
        }
    }
}

fn server(model: &ContractModel, names: &Names) -> TokenStream {
    let ContractModel { krate, service, item, .. } = model;
    let (vis, trait_, server, contract) = (&item.vis, &item.ident, &names.server, &names.contract);
    let t = fresh_type_param("T", model);
    let doc = format!(
        " Hosts `{t}`, an implementation of [`{trait_}`], as the `{service}` service: pass it to a \
         transport server's `register_service`."
    );
    let server_name = server.to_string();
    let handler = Ident::new("handler", Span::mixed_site());
    let h = Ident::new("h", Span::mixed_site());
    let arg = Ident::new("params", Span::mixed_site());
    let ctx = Ident::new("ctx", Span::mixed_site());
    let handlers = model.methods.iter().map(|m| {
        let (ident, params) = (m.ident(), &m.params);
        let wrap = match (&m.kind, m.context) {
            (MethodKind::Method { .. }, false) => quote!(typed_method),
            (MethodKind::Method { .. }, true) => quote!(typed_method_with_context),
            (MethodKind::Notification, false) => quote!(typed_notification),
            (MethodKind::Notification, true) => quote!(typed_notification_with_context),
        };
        // Spanned like the client's calls: trait-bound errors land on the params type.
        let span = params.span();
        let k = respan(krate.to_token_stream(), span);
        if m.context {
            quote_spanned! {span=> {
                let #h = ::core::clone::Clone::clone(&#handler);
                #k::__private::#wrap(move |#ctx: #k::__private::Context, #arg: #params| {
                    let #h = ::core::clone::Clone::clone(&#h);
                    async move { <#t as #trait_>::#ident(&*#h, &#ctx, #arg).await }
                })
            }}
        } else {
            quote_spanned! {span=> {
                let #h = ::core::clone::Clone::clone(&#handler);
                #k::__private::#wrap(move |#arg: #params| {
                    let #h = ::core::clone::Clone::clone(&#h);
                    async move { <#t as #trait_>::#ident(&*#h, #arg).await }
                })
            }}
        }
    });
    let bind = (!model.methods.is_empty()).then(|| quote!(let #handler = self.0;));
    quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis struct #server<#t>(::std::sync::Arc<#t>);

        #[allow(dead_code)]
        impl<#t> #server<#t> {
            /// Hosts `handler`.
            pub fn new(handler: #t) -> Self {
                Self(::std::sync::Arc::new(handler))
            }

            /// Hosts a handler shared with the rest of the program.
            pub fn from_arc(handler: ::std::sync::Arc<#t>) -> Self {
                Self(handler)
            }
        }

        impl<#t> ::core::clone::Clone for #server<#t> {
            fn clone(&self) -> Self {
                Self(::core::clone::Clone::clone(&self.0))
            }
        }

        impl<#t> ::core::fmt::Debug for #server<#t> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#server_name).finish_non_exhaustive()
            }
        }

        impl<#t: #trait_> #krate::__private::IntoServiceTable for #server<#t> {
            fn into_service_table(self) -> #krate::__private::ServiceTable {
                #bind
                #krate::__private::ServiceTable::from_descriptor(
                    <#contract as #krate::__private::Contract>::descriptor(),
                    ::std::vec![#(#handlers),*],
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expand_str(attr: TokenStream, item: ItemTrait) -> syn::File {
        let model = crate::parse::contract(attr, &item).unwrap();
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
        let model = crate::parse::contract(quote!(service = "odd"), &item).unwrap();
        assert_eq!(fresh_type_param("C", &model), "C_");
        assert_eq!(fresh_type_param("T", &model), "T_");
        assert_eq!(fresh_type_param("X", &model), "X");
    }

    #[test]
    fn fallback_keeps_the_trait() {
        let item: ItemTrait = parse_quote! {
            pub trait Arith {
                #[clamator(bogus)]
                async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
            }
        };
        let errors = crate::parse::contract(quote!(service = "arith"), &item).unwrap_err();
        let file: syn::File = syn::parse2(fallback(&item, &errors)).unwrap();
        let text = file.to_token_stream().to_string();
        assert!(text.contains("compile_error"));
        assert!(text.contains("async fn add"));
        assert!(!text.contains("# [clamator"), "{text}");
    }
}
