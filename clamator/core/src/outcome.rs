//! Failure as data: a result that is either a success or an expected refusal, told apart by a
//! boolean `ok` field, as the clamator docs recommend for refusals that are not errors.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A result union discriminated by a boolean `ok`: `{"ok": true, ...fields of T}` or
/// `{"ok": false, ...fields of E}`.
///
/// It is the wire shape of a Pydantic `RootModel[Success | Refusal]` whose models declare
/// `ok: Literal[True]` / `ok: Literal[False]`, and of a Zod
/// `z.discriminatedUnion('ok', [...])` with `ok: z.literal(true)` / `z.literal(false)`. serde
/// has no boolean tags, which is what this type supplies: declare `T` and `E` as plain structs
/// (without an `ok` field) and return `Outcome<T, E>`.
///
/// Use it for expected refusals the caller should branch on (`not-found`, `already-running`);
/// keep `Err(RpcError)` for failures. `T` and `E` must serialize as JSON objects (structs or
/// maps). When both implement `validator::Validate`, the variant's rules are checked at every
/// edge like any other result's (derive `Validate` on both, with or without rules).
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// use clamator::Outcome;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Started { run_id: String }
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Refused { reason: String }
///
/// let ok: Outcome<Started, Refused> = Outcome::Success(Started { run_id: "r1".into() });
/// assert_eq!(serde_json::to_value(&ok).unwrap(), serde_json::json!({"ok": true, "runId": "r1"}));
///
/// let no: Outcome<Started, Refused> =
///     serde_json::from_value(serde_json::json!({"ok": false, "reason": "not-found"})).unwrap();
/// assert_eq!(no, Outcome::Refusal(Refused { reason: "not-found".into() }));
/// assert_eq!(no.into_result().unwrap_err().reason, "not-found");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome<T, E> {
    /// `{"ok": true, ...}`.
    Success(T),
    /// `{"ok": false, ...}`.
    Refusal(E),
}

impl<T, E> Outcome<T, E> {
    /// `true` for [`Outcome::Success`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Success(_))
    }

    /// The outcome as a `Result`.
    pub fn into_result(self) -> Result<T, E> {
        match self {
            Self::Success(value) => Ok(value),
            Self::Refusal(refusal) => Err(refusal),
        }
    }
}

impl<T, E> From<Result<T, E>> for Outcome<T, E> {
    fn from(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Self::Success(value),
            Err(refusal) => Self::Refusal(refusal),
        }
    }
}

#[derive(Serialize)]
struct Tagged<'a, V> {
    ok: bool,
    #[serde(flatten)]
    value: &'a V,
}

impl<T: Serialize, E: Serialize> Serialize for Outcome<T, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Success(value) => Tagged { ok: true, value }.serialize(serializer),
            Self::Refusal(value) => Tagged { ok: false, value }.serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned, E: DeserializeOwned> Deserialize<'de> for Outcome<T, E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        let ok = match map.remove("ok") {
            Some(Value::Bool(ok)) => ok,
            Some(other) => return Err(D::Error::custom(format!("`ok` must be true or false, got {other}"))),
            None => return Err(D::Error::missing_field("ok")),
        };
        let rest = Value::Object(map);
        if ok {
            T::deserialize(rest).map(Self::Success).map_err(D::Error::custom)
        } else {
            E::deserialize(rest).map(Self::Refusal).map_err(D::Error::custom)
        }
    }
}

impl<T: validator::Validate, E: validator::Validate> validator::Validate for Outcome<T, E> {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        match self {
            Self::Success(value) => value.validate(),
            Self::Refusal(refusal) => refusal.validate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        n: u32,
    }

    #[test]
    fn wire_shape() {
        let ok: Outcome<Strict, Strict> = Outcome::Success(Strict { n: 1 });
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"ok":true,"n":1}"#);
        let back: Outcome<Strict, Strict> = serde_json::from_str(r#"{"n":2,"ok":false}"#).unwrap();
        assert_eq!(back, Outcome::Refusal(Strict { n: 2 }));
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in [json!({"n": 1}), json!({"ok": "yes", "n": 1}), json!({"ok": true}), json!([true])] {
            assert!(serde_json::from_value::<Outcome<Strict, Strict>>(bad.clone()).is_err(), "{bad}");
        }
    }
}
