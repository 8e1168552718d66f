//! How generated code names the `clamator` crate.

use proc_macro2::Span;
use proc_macro_crate::{crate_name, FoundCrate};
use syn::{parse_quote, Ident, Path};

/// The path to the `clamator` facade as the calling crate sees it: `::clamator`, or `::rpc`
/// when the dependency is renamed (`rpc = { package = "clamator", ... }`).
///
/// `FoundCrate::Itself` also maps to `::clamator`: the facade never invokes the macro in its
/// own library code, while its doctests and examples (for which proc-macro-crate reports
/// `Itself`) are separate crates where `crate` would name the wrong crate.
pub fn clamator_path() -> Path {
    match crate_name("clamator") {
        Ok(FoundCrate::Name(name)) => {
            let ident = Ident::new(&name, Span::call_site());
            parse_quote!(::#ident)
        }
        Ok(FoundCrate::Itself) | Err(_) => parse_quote!(::clamator),
    }
}
