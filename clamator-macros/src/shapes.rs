//! Recognising type shapes in a signature: the `T` of a result type, and `&Context`.

use syn::{GenericArgument, PathArguments, Type};

/// The `T` of `Result<T, E>` or of a one-argument alias such as `anyhow::Result<T>` (any
/// path ending in `Result`), or `None` when `ty` has another shape. The error type is checked
/// by the compiler (`E: Into<RpcError>`), with a message at its span.
pub fn result_ok_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungroup(ty) else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    let mut args = args.args.iter();
    match (args.next(), args.next(), args.next()) {
        (Some(GenericArgument::Type(ok)), None | Some(GenericArgument::Type(_)), None) => Some(ok),
        _ => None,
    }
}

/// `true` for `&Context` (any path ending in `Context`, shared reference).
pub fn is_context_ref(ty: &Type) -> bool {
    match ungroup(ty) {
        Type::Reference(r) if r.mutability.is_none() => is_context(&r.elem),
        _ => false,
    }
}

/// `true` for a path ending in `Context`.
pub fn is_context(ty: &Type) -> bool {
    matches!(ungroup(ty), Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Context"))
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => ungroup(&group.elem),
        Type::Paren(paren) => ungroup(&paren.elem),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::parse_quote;

    #[test]
    fn result_types() {
        let ty: Type = parse_quote!(Result<AddResult, RpcError>);
        let ok: Type = parse_quote!(AddResult);
        assert_eq!(result_ok_type(&ty), Some(&ok));
        let ty: Type = parse_quote!(::core::result::Result<Vec<u8>, clamator::RpcError>);
        let ok: Type = parse_quote!(Vec<u8>);
        assert_eq!(result_ok_type(&ty), Some(&ok));
        let ty: Type = parse_quote!(anyhow::Result<Vec<u8>>);
        assert_eq!(result_ok_type(&ty), Some(&ok));
        let ty: Type = parse_quote!(Result<Vec<u8>, HandlerError>);
        assert_eq!(result_ok_type(&ty), Some(&ok));
        for ty in [
            parse_quote!(AddResult),
            parse_quote!(Option<AddResult>),
            parse_quote!(Result<AddResult, RpcError, X>),
            parse_quote!(<X as Y>::Result<A, RpcError>),
        ] {
            assert_eq!(result_ok_type(&ty), None, "{}", ty.to_token_stream());
        }
    }
}
