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

/// When `ty` is written as a type that serde never makes a JSON object of (a number, a
/// string, a bool, a sequence, an `Option`, a tuple or `()`, a reference...), a description
/// of it for the error message. Aliases and newtypes are not seen here; the client refuses
/// their values at run time (`params must be a JSON object`).
pub fn not_an_object(ty: &Type) -> Option<String> {
    const SCALARS: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64", "bool",
        "char", "str", "String",
    ];
    const SEQUENCES: &[&str] = &["Vec", "VecDeque", "HashSet", "BTreeSet", "LinkedList", "BinaryHeap"];
    let quoted = || format!("`{}`", quote::ToTokens::to_token_stream(ty).to_string().replace(' ', ""));
    match ungroup(ty) {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Some("`()` (JSON `null`)".to_owned()),
        Type::Tuple(_) | Type::Array(_) | Type::Slice(_) => Some(format!("{} (a JSON array)", quoted())),
        Type::Reference(_) | Type::Ptr(_) => Some(format!("{} (a reference; params are owned values)", quoted())),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?.ident.to_string();
            if SCALARS.contains(&last.as_str()) {
                Some(format!(
                    "{} (a JSON {})",
                    quoted(),
                    if last == "bool" {
                        "boolean"
                    } else if matches!(last.as_str(), "char" | "str" | "String") {
                        "string"
                    } else {
                        "number"
                    }
                ))
            } else if SEQUENCES.contains(&last.as_str()) {
                Some(format!("{} (a JSON array)", quoted()))
            } else if last == "Option" {
                Some(format!("{} (`null` when `None`)", quoted()))
            } else {
                None
            }
        }
        _ => None,
    }
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
    fn params_shapes() {
        for ty in [
            parse_quote!(u64),
            parse_quote!(String),
            parse_quote!(()),
            parse_quote!((u8, u8)),
            parse_quote!(Vec<Item>),
            parse_quote!(Option<Params>),
            parse_quote!(&'static str),
            parse_quote!([u8; 4]),
        ] {
            let ty: Type = ty;
            assert!(not_an_object(&ty).is_some(), "{}", ty.to_token_stream());
        }
        for ty in [parse_quote!(AddParams), parse_quote!(Box<AddParams>), parse_quote!(HashMap<String, u64>)] {
            let ty: Type = ty;
            assert!(not_an_object(&ty).is_none(), "{}", ty.to_token_stream());
        }
        assert_eq!(not_an_object(&parse_quote!(u64)).unwrap(), "`u64` (a JSON number)");
    }

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
