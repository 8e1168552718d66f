//! `XClient<C>`: the typed client.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::Ident;

use super::tokens::{fresh_type_param, probe_traits, respan, rules_of, support_path};
use super::Names;
use crate::model::{ContractModel, MethodKind, MethodModel};

pub(super) fn client(model: &ContractModel, names: &Names) -> TokenStream {
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
