//! Semantic validation: the options (already parsed by `options`) and the trait become a
//! [`ContractModel`] plus the errors found, each pointing at the offending tokens. The model
//! is best-effort: a rejected method is left out of the generated client and server (and kept
//! as written in the trait), so that one mistake gives one error.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::{FnArg, ItemTrait, Path, ReturnType, TraitItem, TraitItemFn};

use crate::crate_path::clamator_path;
use crate::diagnostics::Errors;
use crate::model::{ContractModel, MethodKind, MethodModel};
use crate::names::{check_wire_name, default_wire_name, is_valid_service_name};
use crate::options::{contract_options, is_helper, method_options};
use crate::shapes::{is_context, is_context_ref, not_an_object, result_ok_type};

/// Removes the `#[clamator(...)]` helper attributes from the trait and its methods.
pub fn strip_helper_attrs(item: &mut ItemTrait) {
    item.attrs.retain(|a| !is_helper(a));
    for it in &mut item.items {
        if let TraitItem::Fn(method) = it {
            method.attrs.retain(|a| !is_helper(a));
        }
    }
}

/// The contract options, checked: the service name (empty when missing or invalid; the
/// error is reported) and the crate path.
fn contract_args(attr: TokenStream, errors: &mut Errors) -> (String, Option<Path>) {
    let Some(options) = contract_options(attr, errors) else { return (String::new(), None) };
    let mut service = String::new();
    if let Some(lit) = options.string("service") {
        let name = lit.value();
        if is_valid_service_name(&name) {
            service = name;
        } else {
            errors.spanned(lit, format!("invalid service name `{name}`: service names must match ^[a-z][a-z0-9-]*$"));
        }
    } else if !options.given("service") {
        errors.error(
            Span::call_site(),
            "missing service name: write #[clamator::contract(service = \"name\")], the name matching ^[a-z][a-z0-9-]*$",
        );
    }
    let krate = options.string("crate").and_then(|lit| match lit.parse::<Path>() {
        Ok(krate) => Some(krate),
        Err(_) => {
            errors.spanned(lit, format!("`crate` must be a path, e.g. `::clamator`; got `{}`", lit.value()));
            None
        }
    });
    (service, krate)
}

fn parse_method(method: &TraitItemFn, errors: &mut Errors) -> Option<(MethodModel, Span)> {
    let before = errors.count();
    let options = method_options(&method.attrs, errors);
    let sig = &method.sig;

    // Wire name.
    let rust_name = sig.ident.unraw().to_string();
    let (wire_name, name_span) = match options.string("name") {
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
        Some(FnArg::Typed(arg)) => {
            if let Some(shape) = not_an_object(&arg.ty) {
                errors.spanned(
                    &arg.ty,
                    format!(
                        "params must be a JSON object on the wire (clamator 0.1.9 peers send and validate named \
                         params), and {shape} is not one: wrap it in a struct, e.g. `struct GetParams {{ id: u64 }}` \
                         (a struct with no fields when there is nothing to pass)"
                    ),
                );
            }
            Some((*arg.ty).clone())
        }
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
    let kind = if options.flag("notification") {
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

    if errors.count() != before {
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

/// Checks `#[clamator::contract(<attr>)] <item>`: the model of everything that is right,
/// and the errors, if any.
pub fn contract(attr: TokenStream, item: &ItemTrait) -> (ContractModel, Option<syn::Error>) {
    let mut errors = Errors::default();
    let (service, krate) = contract_args(attr, &mut errors);

    for attr in item.attrs.iter().filter(|a| is_helper(a)) {
        errors.spanned(attr, "#[clamator(...)] goes on methods; contract options go in #[clamator::contract(...)]");
    }
    let generic = !item.generics.params.is_empty();
    if generic {
        errors.spanned(&item.generics, "contract traits cannot be generic");
    }

    let mut methods = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for it in &item.items {
        let TraitItem::Fn(method) = it else {
            errors.spanned(it, "contract traits contain only `async fn` methods");
            rejected.push(it.clone());
            continue;
        };
        let Some((model, name_span)) = parse_method(method, &mut errors) else {
            rejected.push(it.clone());
            continue;
        };
        if let Some(first) = seen.get(&model.wire_name) {
            errors.error(name_span, format!("duplicate method name `{}`: `{first}` already uses it", model.wire_name));
            rejected.push(it.clone());
            continue;
        }
        seen.insert(model.wire_name.clone(), model.ident().unraw().to_string());
        methods.push(model);
    }

    let mut item = item.clone();
    strip_helper_attrs(&mut item);
    for it in &mut rejected {
        if let TraitItem::Fn(method) = it {
            method.attrs.retain(|a| !is_helper(a));
            // Kept only so that the user's impl still matches; `const` would be one more error.
            method.sig.constness = None;
        }
    }
    let model = ContractModel { krate: krate.unwrap_or_else(clamator_path), service, item, methods, rejected, generic };
    (model, errors.into_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn messages(attr: TokenStream, item: ItemTrait) -> Vec<String> {
        match contract(attr, &item).1 {
            None => Vec::new(),
            Some(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
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
        let (model, errors) = contract(quote::quote!(service = "arith", crate = "my::rpc"), &item);
        assert!(errors.is_none());
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
