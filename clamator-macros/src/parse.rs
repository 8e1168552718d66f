//! Parsing and validation: the attribute arguments and the trait become a [`ContractModel`],
//! or a list of `syn::Error`s, each pointing at the offending tokens.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Expr, ExprLit, FnArg, ItemTrait, Lit, LitStr, Meta, Path, ReturnType, Token, TraitItem, TraitItemFn,
};

use crate::crate_path::clamator_path;
use crate::model::{ContractModel, MethodKind, MethodModel};
use crate::names::{check_wire_name, default_wire_name, is_valid_service_name};
use crate::shapes::{is_context, is_context_ref, result_ok_type};

/// The name of the helper attribute on methods.
const HELPER: &str = "clamator";

/// Collects errors so that every independent mistake is reported in one compilation.
#[derive(Default)]
struct Errors {
    all: Option<syn::Error>,
    count: usize,
}

impl Errors {
    fn push(&mut self, error: syn::Error) {
        self.count += 1;
        match &mut self.all {
            Some(all) => all.combine(error),
            None => self.all = Some(error),
        }
    }

    fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    fn finish(self) -> syn::Result<()> {
        self.all.map_or(Ok(()), Err)
    }
}

fn is_helper(attr: &Attribute) -> bool {
    attr.path().is_ident(HELPER)
}

/// Removes the `#[clamator(...)]` helper attributes from the trait and its methods.
pub fn strip_helper_attrs(item: &mut ItemTrait) {
    item.attrs.retain(|a| !is_helper(a));
    for it in &mut item.items {
        if let TraitItem::Fn(method) = it {
            method.attrs.retain(|a| !is_helper(a));
        }
    }
}

/// The options of `#[clamator::contract(...)]`.
struct ContractArgs {
    service: Option<String>,
    krate: Option<Path>,
}

fn string_value<'a>(meta: &'a Meta, what: &str, errors: &mut Errors) -> Option<&'a LitStr> {
    if let Meta::NameValue(nv) = meta {
        if let Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) = &nv.value {
            return Some(lit);
        }
        errors.spanned(&nv.value, format!("expected a string: `{what} = \"...\"`"));
    } else {
        errors.spanned(meta, format!("expected `{what} = \"...\"`"));
    }
    None
}

fn parse_contract_args(attr: TokenStream, errors: &mut Errors) -> ContractArgs {
    let mut args = ContractArgs { service: None, krate: None };
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(error);
            // Do not also report a missing `service`: the arguments were unreadable.
            args.service = Some(String::new());
            return args;
        }
    };
    let mut service_seen = false;
    for meta in &metas {
        let path = meta.path();
        if path.is_ident("service") {
            if std::mem::replace(&mut service_seen, true) {
                errors.spanned(path, "duplicate contract option `service`");
                continue;
            }
            // Even when the value is wrong, `service` was given: no "missing service" error.
            args.service = Some(String::new());
            let Some(lit) = string_value(meta, "service", errors) else { continue };
            let name = lit.value();
            if is_valid_service_name(&name) {
                args.service = Some(name);
            } else {
                errors
                    .spanned(lit, format!("invalid service name `{name}`: service names must match ^[a-z][a-z0-9-]*$"));
            }
        } else if path.is_ident("crate") {
            if args.krate.is_some() {
                errors.spanned(path, "duplicate contract option `crate`");
                continue;
            }
            let Some(lit) = string_value(meta, "crate", errors) else { continue };
            match lit.parse::<Path>() {
                Ok(krate) => args.krate = Some(krate),
                Err(_) => {
                    errors.spanned(lit, format!("`crate` must be a path, e.g. `::clamator`; got `{}`", lit.value()))
                }
            }
        } else {
            let name = path.to_token_stream().to_string().replace(' ', "");
            errors.spanned(
                path,
                format!("unknown contract option `{name}`; expected `service = \"...\"` or `crate = \"...\"`"),
            );
        }
    }
    if !service_seen && args.service.is_none() {
        errors.error(
            Span::call_site(),
            "missing service name: write #[clamator::contract(service = \"name\")], the name matching ^[a-z][a-z0-9-]*$",
        );
    }
    args
}

/// The options of a method's `#[clamator(...)]` attributes.
#[derive(Default)]
struct MethodOptions {
    notification: bool,
    name: Option<LitStr>,
}

fn parse_method_options(attrs: &[Attribute], errors: &mut Errors) -> MethodOptions {
    let mut options = MethodOptions::default();
    for attr in attrs.iter().filter(|a| is_helper(a)) {
        let metas = match &attr.meta {
            Meta::List(list) => match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
                Ok(metas) => metas,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            },
            other => {
                errors.spanned(other, "expected #[clamator(notification)] or #[clamator(name = \"...\")]");
                continue;
            }
        };
        for meta in &metas {
            let path = meta.path();
            if path.is_ident("notification") {
                if !matches!(meta, Meta::Path(_)) {
                    errors.spanned(meta, "`notification` takes no value: write #[clamator(notification)]");
                } else if std::mem::replace(&mut options.notification, true) {
                    errors.spanned(path, "duplicate method option `notification`");
                }
            } else if path.is_ident("name") {
                if options.name.is_some() {
                    errors.spanned(path, "duplicate method option `name`");
                } else if let Some(lit) = string_value(meta, "name", errors) {
                    options.name = Some(lit.clone());
                }
            } else {
                let name = path.to_token_stream().to_string().replace(' ', "");
                errors.spanned(
                    path,
                    format!("unknown method option `{name}`; expected `notification` or `name = \"...\"`"),
                );
            }
        }
    }
    options
}

fn parse_method(method: &TraitItemFn, errors: &mut Errors) -> Option<(MethodModel, Span)> {
    let before = errors.count;
    let options = parse_method_options(&method.attrs, errors);
    let sig = &method.sig;

    // Wire name.
    let rust_name = sig.ident.unraw().to_string();
    let (wire_name, name_span) = match &options.name {
        Some(lit) => {
            let name = lit.value();
            if let Some(message) = check_wire_name(&name, None) {
                errors.spanned(lit, message);
            }
            (name, lit.span())
        }
        None => {
            let name = default_wire_name(&rust_name);
            if let Some(message) = check_wire_name(&name, Some(&rust_name)) {
                errors.spanned(&sig.ident, message);
            }
            (name, sig.ident.span())
        }
    };

    // Names the generated client already uses.
    if ["new", "with_timeout", "inner"].contains(&rust_name.as_str()) {
        errors.spanned(
            &sig.ident,
            format!(
                "`{rust_name}` is taken by the generated client's own `{rust_name}`; rename the Rust method and \
                 keep the wire name with #[clamator(name = \"{wire_name}\")]"
            ),
        );
    }
    for attr in method.attrs.iter().filter(|a| a.path().is_ident("cfg")) {
        errors.spanned(attr, "contract methods cannot be `#[cfg]`-gated: a contract is the same in every build");
    }

    // Qualifiers.
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, "contract methods cannot be `const`");
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, "contract methods cannot be `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "contract methods cannot have an ABI");
    }
    if sig.asyncness.is_none() {
        errors.spanned(sig.fn_token, "contract methods must be `async fn`");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "contract methods cannot be generic: params and result types must be concrete types",
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(where_clause, "contract methods cannot have a where clause");
    }
    if let Some(body) = &method.default {
        errors.spanned(
            body,
            "contract methods cannot have a default body: the contract only declares them; implement them in \
             `impl Trait for YourType`",
        );
    }

    // Arguments: `&self` then exactly one params argument.
    let mut inputs = sig.inputs.iter().peekable();
    match inputs.peek() {
        Some(FnArg::Receiver(receiver)) => {
            if receiver.reference.is_none() || receiver.mutability.is_some() || receiver.colon_token.is_some() {
                errors.spanned(receiver, "contract methods take `&self`");
            }
            inputs.next();
        }
        _ => errors.spanned(&sig.ident, "contract methods take `&self` as their first argument"),
    }
    // An optional `&Context`, then exactly one params argument.
    let mut context = false;
    if let Some(FnArg::Typed(arg)) = inputs.peek() {
        if is_context_ref(&arg.ty) {
            context = true;
            inputs.next();
        } else if is_context(&arg.ty) {
            errors.spanned(&arg.ty, "take the context by reference: `ctx: &Context`");
            inputs.next();
        }
    }
    let params = match inputs.next() {
        Some(FnArg::Typed(arg)) => Some((*arg.ty).clone()),
        Some(FnArg::Receiver(receiver)) => {
            errors.spanned(receiver, "`self` must be the first argument");
            None
        }
        None => {
            errors.error(
                sig.paren_token.span.join(),
                "missing params argument: contract methods take exactly one, `params: SomeParams` (use a struct \
                 with no fields when there is nothing to pass), optionally after `ctx: &Context`",
            );
            None
        }
    };
    let extra: Vec<&FnArg> = inputs.collect();
    if let Some(FnArg::Typed(arg)) = extra.first().filter(|_| extra.len() == 1) {
        if is_context_ref(&arg.ty) || is_context(&arg.ty) {
            errors.spanned(arg, "the context comes first: `async fn m(&self, ctx: &Context, params: P)`");
        } else {
            errors.spanned(
                arg,
                "contract methods take exactly one params argument after `&self` (and an optional `ctx: &Context`): \
                 group the values in one params struct",
            );
        }
    } else if !extra.is_empty() {
        errors.spanned(
            quote::quote!(#(#extra),*),
            "contract methods take exactly one params argument after `&self` (and an optional `ctx: &Context`): \
             group the values in one params struct",
        );
    }

    // Return type.
    let kind = if options.notification {
        if let ReturnType::Type(arrow, ty) = &sig.output {
            errors.spanned(
                quote::quote!(#arrow #ty),
                "notifications return nothing: remove the return type (they are fire-and-forget and never answer)",
            );
        }
        Some(MethodKind::Notification)
    } else {
        match &sig.output {
            ReturnType::Default => {
                errors.spanned(
                    &sig.ident,
                    "contract methods return `Result<T, E>` (E: Into<RpcError>, such as `RpcError` or \
                     `HandlerError`); mark fire-and-forget methods #[clamator(notification)]",
                );
                None
            }
            ReturnType::Type(_, ty) => match result_ok_type(ty) {
                Some(ok) => Some(MethodKind::Method { output: ty.clone(), ok: Box::new(ok.clone()) }),
                None => {
                    errors.spanned(
                        ty,
                        "contract methods return `Result<T, E>` (E: Into<RpcError>, such as `RpcError` or `HandlerError`)",
                    );
                    None
                }
            },
        }
    };

    if errors.count != before {
        return None;
    }
    let model = MethodModel {
        attrs: method.attrs.iter().filter(|a| !is_helper(a)).cloned().collect(),
        sig: sig.clone(),
        semi: method.semi_token.unwrap_or_default(),
        wire_name,
        params: params?,
        context,
        kind: kind?,
    };
    Some((model, name_span))
}

/// Parses and checks `#[clamator::contract(<attr>)] <item>`.
pub fn contract(attr: TokenStream, item: &ItemTrait) -> syn::Result<ContractModel> {
    let mut errors = Errors::default();
    let args = parse_contract_args(attr, &mut errors);

    for attr in item.attrs.iter().filter(|a| is_helper(a)) {
        errors.spanned(attr, "#[clamator(...)] goes on methods; contract options go in #[clamator::contract(...)]");
    }
    if !item.generics.params.is_empty() {
        errors.spanned(&item.generics, "contract traits cannot be generic");
    }

    let mut methods = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for it in &item.items {
        let TraitItem::Fn(method) = it else {
            errors.spanned(it, "contract traits contain only `async fn` methods");
            continue;
        };
        let Some((model, name_span)) = parse_method(method, &mut errors) else { continue };
        if let Some(first) = seen.get(&model.wire_name) {
            errors.error(name_span, format!("duplicate method name `{}`: `{first}` already uses it", model.wire_name));
            continue;
        }
        seen.insert(model.wire_name.clone(), model.ident().unraw().to_string());
        methods.push(model);
    }

    errors.finish()?;
    let mut item = item.clone();
    strip_helper_attrs(&mut item);
    Ok(ContractModel {
        krate: args.krate.unwrap_or_else(clamator_path),
        service: args.service.unwrap_or_default(),
        item,
        methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn messages(attr: TokenStream, item: ItemTrait) -> Vec<String> {
        match contract(attr, &item) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn good_contract() {
        let item: ItemTrait = parse_quote! {
            pub trait Arith {
                /// Adds.
                async fn add(&self, params: AddParams) -> Result<AddResult, RpcError>;
                async fn slow_add(&self, params: AddParams) -> Result<AddResult, RpcError>;
                #[clamator(name = "div")]
                async fn divide(&self, params: DivParams) -> Result<DivResult, RpcError>;
                #[clamator(notification)]
                async fn ping(&self, params: PingParams);
            }
        };
        let model = contract(quote::quote!(service = "arith", crate = "my::rpc"), &item).unwrap();
        assert_eq!(model.service, "arith");
        assert_eq!(model.krate, parse_quote!(my::rpc));
        let names: Vec<_> = model.methods.iter().map(|m| m.wire_name.as_str()).collect();
        assert_eq!(names, ["add", "slowAdd", "div", "ping"]);
        assert!(matches!(model.methods[3].kind, MethodKind::Notification));
        assert_eq!(model.methods[0].docs().count(), 1);
        assert!(model.methods[2].attrs.iter().all(|a| !a.path().is_ident("clamator")));
    }

    #[test]
    fn one_error_per_mistake() {
        let item: ItemTrait = parse_quote! {
            trait T {
                fn a(&self, p: P) -> Result<R, RpcError>;
                async fn b(self, p: P) -> Result<R, RpcError>;
                async fn c(&self) -> Result<R, RpcError>;
                async fn d(&self, p: P, q: Q) -> Result<R, RpcError>;
                async fn e(&self, p: P) -> R;
                #[clamator(notification)]
                async fn f(&self, p: P) -> Result<R, RpcError>;
                #[clamator(name = "a")]
                async fn g(&self, p: P) -> Result<R, RpcError>;
                #[clamator(notification, bogus)]
                async fn h(&self, p: P);
                async fn i<X>(&self, p: P) -> Result<R, RpcError>;
                async fn j(&self, p: P) -> Result<R, RpcError> { todo!() }
                async fn inner(&self, p: P) -> Result<R, RpcError>;
                #[cfg(test)]
                async fn k(&self, p: P) -> Result<R, RpcError>;
            }
        };
        let errors = messages(quote::quote!(service = "t"), item);
        assert_eq!(errors.len(), 11, "{errors:#?}");
        // `a` is rejected (not async), so `g`'s name "a" is no duplicate.
        let item: ItemTrait = parse_quote! {
            trait T {
                async fn a(&self, p: P) -> Result<R, RpcError>;
                #[clamator(name = "a")]
                async fn g(&self, p: P) -> Result<R, RpcError>;
            }
        };
        let errors = messages(quote::quote!(service = "t"), item);
        assert_eq!(errors, ["duplicate method name `a`: `a` already uses it"]);
    }

    #[test]
    fn contract_options() {
        let item: ItemTrait = parse_quote!(
            trait T {}
        );
        assert_eq!(messages(quote::quote!(), item.clone()).len(), 1);
        assert_eq!(messages(quote::quote!(service = "Bad"), item.clone()).len(), 1);
        assert_eq!(messages(quote::quote!(service = "ok", flavor = "x"), item.clone()).len(), 1);
        assert_eq!(messages(quote::quote!(flavor = "x"), item.clone()).len(), 2);
        assert_eq!(messages(quote::quote!(service = 3), item.clone()).len(), 1);
        assert_eq!(messages(quote::quote!("arith"), item).len(), 1);
    }
}
