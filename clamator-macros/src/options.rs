//! Option parsing: one generic parser for `key = "value"` / `flag` lists, used for the
//! contract's `#[clamator::contract(...)]` arguments and each method's `#[clamator(...)]`.
//! It reports unknown, duplicate and malformed options; what the values mean is checked in
//! `check`.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::diagnostics::Errors;

/// The name of the helper attribute on methods.
pub const HELPER: &str = "clamator";

/// What an option takes.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `name`, no value.
    Flag,
    /// `name = "string"`.
    Str,
}

/// One option a list accepts.
pub struct Spec {
    /// The option's name.
    pub name: &'static str,
    /// What it takes.
    pub kind: Kind,
}

/// A parsed option value.
pub enum OptionValue {
    /// A flag.
    Flag,
    /// A string value.
    Str(LitStr),
}

/// The options found, by name. Each name appears at most once.
#[derive(Default)]
pub struct Options {
    values: HashMap<&'static str, OptionValue>,
    /// Names given with a malformed value (so that "missing X" is not also reported).
    malformed: Vec<&'static str>,
}

impl Options {
    /// The string value of `name`.
    pub fn string(&self, name: &str) -> Option<&LitStr> {
        match self.values.get(name) {
            Some(OptionValue::Str(lit)) => Some(lit),
            _ => None,
        }
    }

    /// Whether the flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(OptionValue::Flag))
    }

    /// Whether `name` was given at all (possibly with a malformed value).
    pub fn given(&self, name: &str) -> bool {
        self.values.contains_key(name) || self.malformed.contains(&name)
    }
}

fn expected(specs: &[Spec]) -> String {
    let list: Vec<String> = specs
        .iter()
        .map(|s| match s.kind {
            Kind::Flag => format!("`{}`", s.name),
            Kind::Str => format!("`{} = \"...\"`", s.name),
        })
        .collect();
    match list.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => "nothing".to_owned(),
    }
}

/// Parses a list of options into `options`; `what` names the list in messages ("contract",
/// "method").
fn parse_metas<'m>(
    metas: impl IntoIterator<Item = &'m Meta>,
    specs: &[Spec],
    what: &str,
    options: &mut Options,
    errors: &mut Errors,
) {
    for meta in metas {
        let path = meta.path();
        let Some(spec) = specs.iter().find(|s| path.is_ident(s.name)) else {
            let name = path.to_token_stream().to_string().replace(' ', "");
            errors.spanned(path, format!("unknown {what} option `{name}`; expected {}", expected(specs)));
            continue;
        };
        if options.given(spec.name) {
            errors.spanned(path, format!("duplicate {what} option `{}`", spec.name));
            continue;
        }
        let value = match (spec.kind, meta) {
            (Kind::Flag, Meta::Path(_)) => Some(OptionValue::Flag),
            (Kind::Flag, _) => {
                errors.spanned(meta, format!("`{0}` takes no value: write `{0}`", spec.name));
                None
            }
            (Kind::Str, Meta::NameValue(nv)) => match &nv.value {
                Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => Some(OptionValue::Str(lit.clone())),
                other => {
                    errors.spanned(other, format!("expected a string: `{} = \"...\"`", spec.name));
                    None
                }
            },
            (Kind::Str, _) => {
                errors.spanned(meta, format!("expected `{} = \"...\"`", spec.name));
                None
            }
        };
        match value {
            Some(value) => {
                options.values.insert(spec.name, value);
            }
            None => options.malformed.push(spec.name),
        }
    }
}

/// The options of `#[clamator::contract(<attr>)]`. `None` when the list is unreadable (the
/// error is reported; nothing else should be).
pub fn contract_options(attr: TokenStream, errors: &mut Errors) -> Option<Options> {
    const SPECS: &[Spec] = &[Spec { name: "service", kind: Kind::Str }, Spec { name: "crate", kind: Kind::Str }];
    match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => {
            let mut options = Options::default();
            parse_metas(&metas, SPECS, "contract", &mut options, errors);
            Some(options)
        }
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

/// The options of a method's `#[clamator(...)]` attributes (all of them together).
pub fn method_options(attrs: &[Attribute], errors: &mut Errors) -> Options {
    const SPECS: &[Spec] = &[Spec { name: "notification", kind: Kind::Flag }, Spec { name: "name", kind: Kind::Str }];
    let mut options = Options::default();
    for attr in attrs.iter().filter(|a| is_helper(a)) {
        match &attr.meta {
            Meta::List(list) => match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
                Ok(metas) => parse_metas(&metas, SPECS, "method", &mut options, errors),
                Err(error) => errors.push(error),
            },
            other => errors.spanned(other, format!("expected #[clamator({})]", expected(SPECS))),
        }
    }
    options
}

/// `true` for a `#[clamator(...)]` helper attribute.
pub fn is_helper(attr: &Attribute) -> bool {
    attr.path().is_ident(HELPER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn contract(attr: TokenStream) -> (Option<Options>, usize) {
        let mut errors = Errors::default();
        let options = contract_options(attr, &mut errors);
        (options, errors.count())
    }

    #[test]
    fn options() {
        let (options, n) = contract(quote!(service = "arith", crate = "my::rpc"));
        let options = options.unwrap();
        assert_eq!(n, 0);
        assert_eq!(options.string("service").unwrap().value(), "arith");
        assert_eq!(options.string("crate").unwrap().value(), "my::rpc");
        assert_eq!(contract(quote!(service = "a", service = "b")).1, 1);
        assert_eq!(contract(quote!(flavor = "x")).1, 1);
        assert_eq!(contract(quote!(service)).1, 1);
        assert!(contract(quote!(service = 3)).0.unwrap().given("service"));
        assert!(contract(quote!("arith")).0.is_none());
    }

    #[test]
    fn method_flags() {
        let attrs: Vec<Attribute> = vec![
            syn::parse_quote!(#[clamator(notification)]),
            syn::parse_quote!(#[clamator(name = "x")]),
            syn::parse_quote!(#[doc = "ignored"]),
        ];
        let mut errors = Errors::default();
        let options = method_options(&attrs, &mut errors);
        assert_eq!(errors.count(), 0);
        assert!(options.flag("notification"));
        assert_eq!(options.string("name").unwrap().value(), "x");
        let attrs: Vec<Attribute> = vec![syn::parse_quote!(#[clamator(notification = "yes", bogus)])];
        let mut errors = Errors::default();
        method_options(&attrs, &mut errors);
        assert_eq!(errors.count(), 2);
    }
}
