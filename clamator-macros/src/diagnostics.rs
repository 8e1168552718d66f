//! Error collection: every independent mistake is reported in one compilation, each at the
//! offending tokens.

use proc_macro2::Span;
use quote::ToTokens;

/// The errors found so far.
#[derive(Default)]
pub struct Errors {
    all: Option<syn::Error>,
    count: usize,
}

impl Errors {
    /// Adds an error.
    pub fn push(&mut self, error: syn::Error) {
        self.count += 1;
        match &mut self.all {
            Some(all) => all.combine(error),
            None => self.all = Some(error),
        }
    }

    /// Adds an error at `span`.
    pub fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Adds an error spanning `tokens`.
    pub fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// How many errors were added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The combined error, if any.
    pub fn into_error(self) -> Option<syn::Error> {
        self.all
    }
}
