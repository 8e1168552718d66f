//! serde helpers for wire types that serde and Pydantic/Zod write differently, and checks of
//! a contract type's field names. See the crate's "Wire types" table.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Bytes as a standard base64 string (with padding), the way Pydantic writes `bytes` with
/// `model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")` and Zod reads
/// them with `z.string().base64()`. serde alone writes `Vec<u8>` as an array of numbers.
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct Blob {
///     #[serde(with = "clamator::wire::base64")]
///     data: Vec<u8>,
/// }
/// let json = serde_json::to_string(&Blob { data: vec![0, 255, b'h', b'i'] }).unwrap();
/// assert_eq!(json, r#"{"data":"AP9oaQ=="}"#);
/// assert_eq!(serde_json::from_str::<Blob>(&json).unwrap().data, [0, 255, b'h', b'i']);
/// ```
#[cfg(feature = "base64")]
#[cfg_attr(docsrs, doc(cfg(feature = "base64")))]
pub mod base64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64 into bytes; anything else is an error naming the field.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        STANDARD.decode(text.as_bytes()).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// The wire names of a struct's fields, as its `Deserialize` impl declares them, without a
/// value: what `#[serde(rename...)]` made of the Rust names. Empty for other types (numbers,
/// sequences, maps, enums: an enum's variant names are values, not field names).
///
/// ```
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct SlowAdd { sleep_ms: u64, a: f64 }
/// assert_eq!(clamator::wire::field_names::<SlowAdd>(), ["sleepMs", "a"]);
/// ```
pub fn field_names<'de, T: serde::Deserialize<'de>>() -> Vec<&'static str> {
    let mut names = Vec::new();
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// Panics, naming the fields, when `T` is a struct with a field whose wire name is not
/// lowerCamelCase (`sleep_ms`), the 0.1.9 convention: a struct with multi-word fields and no
/// `#[serde(rename_all = "camelCase")]` silently breaks Python and TypeScript peers. Meant for
/// a unit test; a generated `XContract::assert_camel_case()` runs it on every params and
/// result type of a contract.
///
/// ```should_panic
/// # mod clamator { pub use clamator_core::*; pub mod transport { pub use clamator_core::*; } }
/// #[derive(serde::Deserialize)]
/// struct SlowAdd { sleep_ms: u64 }
/// clamator::wire::assert_camel_case::<SlowAdd>(); // panics: `sleep_ms`
/// ```
pub fn assert_camel_case<T: serde::de::DeserializeOwned>() {
    assert_all_camel_case(&[(std::any::type_name::<T>(), field_names::<T>())]);
}

/// The names among `names` that are not lowerCamelCase (`sleep_ms`, `SleepMs`, `sleep-ms`).
fn not_camel_case<'a>(names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|name| {
            let mut chars = name.chars();
            chars.next().is_some_and(|c| c.is_ascii_uppercase()) || chars.any(|c| c == '_' || c == '-')
        })
        .collect()
}

/// [`assert_camel_case`] over several types at once, given as (type name, wire field names):
/// one panic naming every offending field. What a generated `XContract::assert_camel_case()`
/// calls.
pub fn assert_all_camel_case(types: &[(&str, Vec<&'static str>)]) {
    let bad: Vec<String> = types
        .iter()
        .filter_map(|(ty, names)| {
            let bad = not_camel_case(names);
            (!bad.is_empty()).then(|| format!("`{ty}`: {bad:?}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "wire field names that are not camelCase: {}; clamator 0.1.9 peers expect camelCase: add \
         #[serde(rename_all = \"camelCase\")] (or rename the fields)",
        bad.join(", ")
    );
}

/// A deserializer that records the field names a `Deserialize` impl asks for, then fails.
struct FieldNames<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0.extend_from_slice(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Plain {
        sum: f64,
        process_id: u32,
    }

    #[derive(serde::Deserialize)]
    #[serde(tag = "kind", rename_all = "kebab-case")]
    #[allow(dead_code)]
    enum Kinds {
        ById { id: u64 },
        All,
    }

    #[test]
    fn names() {
        assert_eq!(field_names::<Plain>(), ["sum", "process_id"]);
        assert_eq!(field_names::<u64>(), Vec::<&str>::new());
        assert_eq!(field_names::<Vec<Plain>>(), Vec::<&str>::new());
        assert!(std::panic::catch_unwind(assert_camel_case::<Plain>).is_err());
        assert_camel_case::<u64>();
        assert_camel_case::<Kinds>();
    }
}
