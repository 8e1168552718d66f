//! `XServer<T>`: the server wrapper and its method table.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::Ident;

use super::tokens::{fresh_type_param, probe_traits, respan, rules_of, support_path};
use super::Names;
use crate::model::{ContractModel, MethodKind};

pub(super) fn server(model: &ContractModel, names: &Names) -> TokenStream {
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
