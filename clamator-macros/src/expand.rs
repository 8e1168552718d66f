//! The expansion: the service trait, `XContract`, `XClient<C>` and `XServer<T>`. It is
//! emitted also when the contract has errors (next to them), for the methods that passed:
//! the rest of the user's code still resolves and one mistake gives one error.
//!
//! Every path is fully qualified so that the expansion compiles under
//! `#![no_implicit_prelude]`; local variables use mixed-site hygiene so that they cannot
//! collide with the user's names.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ItemTrait};

use crate::model::{ContractModel, MethodKind, MethodModel};

/// The support module of the core this macro was released with: `__private_0_1_0`. A core of
/// another version has another name, so a mismatch fails loudly (thiserror's scheme).
fn support_path(krate: &syn::Path) -> TokenStream {
    let version = env!("CARGO_PKG_VERSION").replace(['.', '-', '+'], "_");
    let private = format_ident!("__private_{}", version);
    quote!(#krate::#private)
}

/// `(&&Probe::<T>::new()).rules()`: the [`Rules`] of `ty`, picked by autoref specialization
/// in `clamator-core` (validator rules if `ty: Validate`, those of the inner value for an
/// `Option` of such a type, none otherwise).
fn rules_of(sp: &TokenStream, ty: &TokenStream) -> TokenStream {
    quote!((&&#sp::Probe::<#ty>::new()).rules())
}

/// Brings the probe traits into scope for [`rules_of`].
fn probe_traits(sp: &TokenStream) -> TokenStream {
    // Each probe uses one of the three.
    quote!(#[allow(unused_imports)] use #sp::{ViaInto as _, ViaNoConversion as _, ViaOption as _, ViaSerde as _, ViaValidator as _};)
}

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

/// The expansion of a contract, complete for the methods that passed the checks.
pub fn expand(model: &ContractModel) -> TokenStream {
    let names = Names::new(&model.item);
    let mut out = service_trait(model);
    out.extend(contract_struct(model, &names));
    out.extend(client(model, &names));
    out.extend(server(model, &names));
    out
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
        }
    }
}

fn client(model: &ContractModel, names: &Names) -> TokenStream {
    let ContractModel { krate, service, item, .. } = model;
    let sp = support_path(krate);
    let (vis, client) = (&item.vis, &names.client);
    let c = fresh_type_param("C", model);
    let doc = format!(
        " A typed client for the `{service}` service ([`{trait_}`]) over any transport's client `{c}`.",
        trait_ = item.ident
    );
    // A generic trait was rejected: its methods cannot be named without its parameters.
    let methods = model.methods.iter().filter(|_| !model.generic).map(|m| client_method(&sp, service, m));
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        #[allow(dead_code)]
        #vis struct #client<#c> {
            client: #c,
            options: #sp::CallOptions,
        }

        #[allow(dead_code)]
        impl<#c> #client<#c> {
            /// Wraps a transport's client; calls use its default timeout and send no metadata.
            pub fn new(client: #c) -> Self {
                Self { client, options: ::core::default::Default::default() }
            }

            /// A proxy whose calls use `options` (timeout, metadata).
            pub fn with_options(&self, options: #sp::CallOptions) -> Self
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
            pub fn options(&self) -> &#sp::CallOptions {
                &self.options
            }

            /// The transport's client.
            pub fn inner(&self) -> &#c {
                &self.client
            }
        }

        #[allow(dead_code)]
        impl<#c: #sp::RpcClient> #client<#c> {
            #(#methods)*
        }
    }
}

fn client_method(sp: &TokenStream, service: &str, m: &MethodModel) -> TokenStream {
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
    // Spans: a params type missing `Serialize` is reported at the params type, a result type
    // missing `Deserialize` at the result type (once: only `decode` names it).
    let params_rules = rules_of(sp, &params.to_token_stream());
    let traits = respan(probe_traits(sp), span);
    let (body, ok) = match &m.kind {
        MethodKind::Method { ok, .. } => {
            let ok_span = ok.span();
            let fut = Ident::new("fut", Span::mixed_site());
            let rules = Ident::new("rules", Span::mixed_site());
            let mut args = respan(quote!(&self.client, #service, #wire,), span);
            args.extend(arg.to_token_stream());
            args.extend(respan(quote!(, &self.options, #params_rules), span));
            let args = Group::new(Delimiter::Parenthesis, args);
            let send = respan(quote!(#sp::send_call), span);
            let result_rules = respan(rules_of(sp, &ok.to_token_stream()), ok_span);
            let decode = respan(quote!(#sp::decode), ok_span);
            let mut decode_args = Group::new(Delimiter::Parenthesis, quote!(#fut.await?, #rules));
            decode_args.set_span(ok_span);
            let body = quote! {
                #traits
                let #fut = #send #args;
                let #rules = #result_rules;
                async move { #decode #decode_args }
            };
            (body, ok.to_token_stream())
        }
        MethodKind::Notification => {
            let mut args = respan(quote!(&self.client, #service, #wire,), span);
            args.extend(arg.to_token_stream());
            args.extend(respan(quote!(, #params_rules), span));
            let args = Group::new(Delimiter::Parenthesis, args);
            let notify = respan(quote!(#sp::notify), span);
            (quote!(#traits #notify #args), quote!(()))
        }
    };
    // The return type's own tokens are at the params type too (except the user's result type,
    // which keeps its spans), so that no diagnostic lands on the whole attribute.
    let future = respan(quote!(impl ::core::future::Future<Output = ::core::result::Result<), span);
    let error = respan(quote!(, #sp::Error>> + ::core::marker::Send + '_), span);
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
    let sp = support_path(krate);
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
        let params_rules = rules_of(&sp, &params.to_token_stream());
        let (wrap, rules) = match (&m.kind, m.context) {
            (MethodKind::Method { ok, .. }, context) => {
                let result_rules = rules_of(&sp, &ok.to_token_stream());
                let wrap =
                    if context { quote!(typed_method_with_context_and_rules) } else { quote!(typed_method_with_rules) };
                (wrap, quote!(#params_rules, #result_rules,))
            }
            (MethodKind::Notification, false) => (quote!(typed_notification_with_rules), quote!(#params_rules,)),
            (MethodKind::Notification, true) => {
                (quote!(typed_notification_with_context_and_rules), quote!(#params_rules,))
            }
        };
        // Spanned like the client's calls: trait-bound errors land on the params type.
        let span = params.span();
        let k = respan(sp.clone(), span);
        let traits = respan(probe_traits(&sp), span);
        let rules = respan(rules, span);
        let call = if m.context {
            quote_spanned!(span=> <#t as #trait_>::#ident(&*#h, &#ctx, #arg).await)
        } else {
            quote_spanned!(span=> <#t as #trait_>::#ident(&*#h, #arg).await)
        };
        // The handler's error becomes an `RpcError` through `ErrorProbe`: an error type that
        // does not convert is one error, at the return type, saying how to fix it.
        let call = match &m.kind {
            MethodKind::Method { output, .. } => {
                let (v, e) = (Ident::new("value", Span::mixed_site()), Ident::new("error", Span::mixed_site()));
                let output_span = output.span();
                let probe = respan(quote!(#k::ErrorProbe::of), output_span);
                let mut probe_arg = Group::new(Delimiter::Parenthesis, quote!(&#e));
                probe_arg.set_span(output_span);
                let converter = Ident::new("converter", output_span);
                let mut convert = Group::new(Delimiter::Parenthesis, quote!((&#probe #probe_arg).#converter()));
                convert.set_span(output_span);
                quote_spanned! {span=>
                    match #call {
                        ::core::result::Result::Ok(#v) => ::core::result::Result::Ok(#v),
                        ::core::result::Result::Err(#e) => ::core::result::Result::Err(#convert(#e)),
                    }
                }
            }
            MethodKind::Notification => call,
        };
        let arg_pattern = if m.context {
            quote_spanned!(span=> #ctx: #k::Context, #arg: #params)
        } else {
            quote_spanned!(span=> #arg: #params)
        };
        quote_spanned! {span=> {
            #traits
            let #h = ::core::clone::Clone::clone(&#handler);
            #k::#wrap(#rules move |#arg_pattern| {
                let #h = ::core::clone::Clone::clone(&#h);
                async move { #call }
            })
        }}
    });
    let bind = (!model.methods.is_empty()).then(|| quote!(let #handler = self.0;));
    // A generic trait was rejected: `T: Trait` cannot be written without its parameters.
    let table = (!model.generic).then(|| {
        quote! {
            impl<#t: #trait_> #sp::IntoServiceTable for #server<#t> {
                fn into_service_table(self) -> #sp::ServiceTable {
                    #bind
                    #sp::ServiceTable::from_descriptor(
                        <#contract as #sp::Contract>::descriptor(),
                        ::std::vec![#(#handlers),*],
                    )
                }
            }
        }
    });
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

        #table
    }
}

#[cfg(test)]
mod tests {
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
