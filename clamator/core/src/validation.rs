//! Field-level validation errors, in the shape clamator peers put in `data.errors`:
//! one entry per failing field, each with `loc` (path), `msg` and `type`.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::names::to_camel_case;

/// One segment of a field path: an object key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LocSegment {
    /// A list index.
    Index(u64),
    /// An object key (the wire name, camelCase).
    Field(String),
}

impl fmt::Display for LocSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocSegment::Index(i) => write!(f, "{i}"),
            LocSegment::Field(s) => f.write_str(s),
        }
    }
}

/// One failing field, as carried in `data.errors` of `-32602 Invalid params` and
/// `-32603 Result validation failed`.
///
/// Python peers (Pydantic) add more keys (`input`, `ctx`, `url`); they are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    /// The path to the field, wire names (camelCase) and list indexes.
    pub loc: Vec<LocSegment>,
    /// A human-readable message.
    pub msg: String,
    /// A machine-readable kind: `missing`, `invalid_type`, or the validator rule that
    /// failed (`length`, `range`, `email`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Any other keys: `input` (the offending value), `ctx` (the rule's parameters), ...
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl FieldError {
    /// An entry with no extra keys.
    pub fn new(loc: Vec<LocSegment>, msg: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { loc, msg: msg.into(), kind: kind.into(), extra: serde_json::Map::new() }
    }

    /// The path as `a.b.0.c`.
    pub fn path(&self) -> String {
        self.loc.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.loc.is_empty() {
            write!(f, "{} ({})", self.msg, self.kind)
        } else {
            write!(f, "{}: {} ({})", self.path(), self.msg, self.kind)
        }
    }
}

pub(crate) fn summarize(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Deserializes `value` into `T` and runs its validation rules, collecting every failure.
///
/// This is what the dispatcher does with incoming params (and the client with results).
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use serde::Deserialize;
/// use validator::Validate;
///
/// #[derive(Debug, Deserialize, Validate)]
/// #[serde(rename_all = "camelCase")]
/// struct Params {
///     #[validate(range(min = 1))]
///     sleep_ms: u64,
/// }
///
/// let errors = clamator::decode_and_validate::<Params>(serde_json::json!({"sleepMs": 0}))
///     .unwrap_err();
/// assert_eq!(errors[0].path(), "sleepMs");
/// assert_eq!(errors[0].kind, "range");
///
/// let errors = clamator::decode_and_validate::<Params>(serde_json::json!({})).unwrap_err();
/// assert_eq!(errors[0].path(), "sleepMs");
/// assert_eq!(errors[0].kind, "missing");
/// ```
pub fn decode_and_validate<T: DeserializeOwned + Validate>(value: Value) -> Result<T, Vec<FieldError>> {
    decode_with_rules(value, Rules::validator())
}

/// Deserializes `value` into `T` and runs `rules` on it: [`decode_and_validate`] for a type
/// with or without `validator` rules.
pub fn decode_with_rules<T: DeserializeOwned>(value: Value, rules: Rules<T>) -> Result<T, Vec<FieldError>> {
    // Decoded in place first; only a failure is decoded again, with the path of the field
    // that failed, for the error (tracking paths clones every member name).
    let decoded: T = match T::deserialize(&value) {
        Ok(decoded) => decoded,
        Err(_) => serde_path_to_error::deserialize(value).map_err(|e| vec![from_serde(&e)])?,
    };
    rules.check(&decoded)?;
    Ok(decoded)
}

/// Runs `value`'s validation rules and converts failures to [`FieldError`]s.
pub fn validate<T: Validate + ?Sized>(value: &T) -> Result<(), Vec<FieldError>> {
    value.validate().map_err(|e| from_validator(&e))
}

/// The checks clamator runs on a value at an edge, after (or before) serde: a type's
/// `validator` rules, or none when the type has no rules.
///
/// `#[clamator::contract]` picks one for every params and result type at compile time:
/// [`Rules::validator`] for a type that implements [`validator::Validate`] (and for an
/// `Option` of one), [`Rules::none`] for any other type (`u64`, `()`, `String`, an enum,
/// a `Vec` of plain values, ...). Hand-written services choose with the `*_with_rules`
/// functions ([`typed_method_with_rules`](crate::typed_method_with_rules), ...).
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::Rules;
/// use validator::Validate;
///
/// #[derive(Validate)]
/// struct Name { #[validate(length(min = 1))] text: String }
///
/// assert!(Rules::<Name>::validator().check(&Name { text: String::new() }).is_err());
/// assert!(Rules::<u64>::none().check(&7).is_ok());
/// ```
pub struct Rules<T: ?Sized> {
    check: fn(&T) -> Result<(), Vec<FieldError>>,
}

impl<T: ?Sized> Rules<T> {
    /// No checks beyond what serde does.
    pub fn none() -> Self {
        Self { check: |_| Ok(()) }
    }

    /// Checks with a function of your own.
    pub fn custom(check: fn(&T) -> Result<(), Vec<FieldError>>) -> Self {
        Self { check }
    }

    /// Runs the checks.
    pub fn check(&self, value: &T) -> Result<(), Vec<FieldError>> {
        (self.check)(value)
    }
}

impl<T: Validate + ?Sized> Rules<T> {
    /// The type's `validator` rules.
    pub fn validator() -> Self {
        Self { check: validate::<T> }
    }
}

impl<T: Validate> Rules<Option<T>> {
    /// The `validator` rules of the value inside, when there is one.
    pub fn validator_if_some() -> Self {
        Self { check: |value| value.as_ref().map_or(Ok(()), validate::<T>) }
    }
}

impl<T: ?Sized> Clone for Rules<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Rules<T> {}

impl<T: ?Sized> fmt::Debug for Rules<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules").finish_non_exhaustive()
    }
}

fn from_serde(err: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    use serde_path_to_error::Segment;
    let mut loc: Vec<LocSegment> = err
        .path()
        .iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(LocSegment::Index(*index as u64)),
            Segment::Map { key } => Some(LocSegment::Field(key.clone())),
            Segment::Enum { variant } => Some(LocSegment::Field(variant.clone())),
            Segment::Unknown => None,
        })
        .collect();
    let msg = err.inner().to_string();
    let kind = if let Some(field) = backticked(&msg, "missing field `") {
        loc.push(LocSegment::Field(field.to_owned()));
        "missing"
    } else if msg.starts_with("invalid type") {
        "invalid_type"
    } else if let Some(field) = backticked(&msg, "unknown field `") {
        loc.push(LocSegment::Field(field.to_owned()));
        "extra_forbidden"
    } else if msg.starts_with("invalid value") {
        "invalid_value"
    } else if msg.starts_with("invalid length") {
        "invalid_length"
    } else if msg.starts_with("unknown variant") {
        "unknown_variant"
    } else {
        "value_error"
    };
    FieldError::new(loc, msg, kind)
}

fn backticked<'m>(msg: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = msg.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// Converts `validator` errors into entries, sorted by path. Field names are converted to
/// camelCase, the wire convention; a field renamed otherwise keeps its camelCased Rust name.
pub fn from_validator(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk(errors, &mut Vec::new(), &mut out);
    out.sort_by(|a, b| a.loc.cmp(&b.loc));
    out
}

fn walk(errors: &ValidationErrors, prefix: &mut Vec<LocSegment>, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        // `__all__`: struct-level rules; `_tmp_validator`: what validator names a
        // collection's own entry (a `Vec<T>` result) before its indexes.
        let is_struct_level = field == "__all__" || field == "_tmp_validator";
        if !is_struct_level {
            prefix.push(LocSegment::Field(to_camel_case(field)));
        }
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let mut entry = FieldError::new(prefix.clone(), describe(e), e.code.to_string());
                    let mut ctx = serde_json::Map::new();
                    for (k, v) in &e.params {
                        if k == "value" {
                            entry.extra.insert("input".into(), v.clone());
                        } else {
                            ctx.insert(k.to_string(), v.clone());
                        }
                    }
                    if !ctx.is_empty() {
                        entry.extra.insert("ctx".into(), Value::Object(ctx));
                    }
                    out.push(entry);
                }
            }
            ValidationErrorsKind::Struct(inner) => walk(inner, prefix, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    prefix.push(LocSegment::Index(*index as u64));
                    walk(inner, prefix, out);
                    prefix.pop();
                }
            }
        }
        if !is_struct_level {
            prefix.pop();
        }
    }
}

fn describe(e: &validator::ValidationError) -> String {
    if let Some(message) = &e.message {
        return message.to_string();
    }
    let mut params: Vec<_> = e.params.iter().filter(|(k, _)| *k != "value").collect();
    params.sort_by(|a, b| a.0.cmp(b.0));
    if params.is_empty() {
        format!("failed the `{}` rule", e.code)
    } else {
        let rendered: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("failed the `{}` rule ({})", e.code, rendered.join(", "))
    }
}
