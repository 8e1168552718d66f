//! Finding non-finite floats before they reach the wire.
//!
//! JSON has no `Infinity` or `NaN`, and `serde_json` silently writes them as `null`: a
//! result `{"sum": null}` for an overflowing `a + b` would be a lie. A non-finite float turns
//! into `null` in a serialized [`Value`], so the value is only searched (with
//! [`first_non_finite`]) when it holds a `null` somewhere: the common case costs one walk.

use std::fmt;

use serde::ser::{self, Serialize};
use serde_json::Value;

use crate::validation::LocSegment;

/// Where a non-finite float sits, and what it is (`inf`, `-inf`, `NaN`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NonFinite {
    pub(crate) loc: Vec<LocSegment>,
    pub(crate) value: f64,
}

impl NonFinite {
    /// The location as a dotted path (`sum`, `items.2.x`; `(root)` for the value itself).
    pub(crate) fn path(&self) -> String {
        if self.loc.is_empty() {
            return "(root)".to_owned();
        }
        self.loc.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
    }

    /// A sentence for error messages.
    pub(crate) fn message(&self) -> String {
        format!("non-finite number ({}) at {}: JSON cannot represent it", self.value, self.path())
    }
}

/// `true` when `value` holds a `null` anywhere.
fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

/// Checks `original`, already serialized as `serialized`: the first non-finite float, if any.
pub(crate) fn check<T: Serialize + ?Sized>(original: &T, serialized: &Value) -> Option<NonFinite> {
    if has_null(serialized) {
        first_non_finite(original)
    } else {
        None
    }
}

/// The first non-finite float `value` serializes, with its location.
pub(crate) fn first_non_finite<T: Serialize + ?Sized>(value: &T) -> Option<NonFinite> {
    let mut finder = Finder { path: Vec::new(), found: None };
    // An error from the value's own `Serialize` (not ours) is not our business here: the
    // caller's real serialization reports it.
    let _ = value.serialize(&mut finder);
    finder.found
}

struct Finder {
    path: Vec<LocSegment>,
    found: Option<NonFinite>,
}

/// Stops the walk at the first finding (or at an error of the value's own serializer).
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stop")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl Finder {
    fn float(&mut self, v: f64) -> Result<(), Stop> {
        if v.is_finite() {
            return Ok(());
        }
        self.found = Some(NonFinite { loc: self.path.clone(), value: v });
        Err(Stop)
    }

    fn nested<T: Serialize + ?Sized>(&mut self, segment: LocSegment, value: &T) -> Result<(), Stop> {
        self.path.push(segment);
        let result = value.serialize(&mut *self);
        self.path.pop();
        result
    }
}

/// A sequence or map in progress: counts elements for their index.
struct Compound<'a> {
    finder: &'a mut Finder,
    index: usize,
    key: Option<String>,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let i = self.index;
        self.index += 1;
        self.finder.nested(LocSegment::Index(i as u64), value)
    }
}

macro_rules! ok_scalars {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<(), Stop> { Ok(()) })*
    };
}

impl<'a> ser::Serializer for &'a mut Finder {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    ok_scalars!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8], serialize_unit_struct: &'static str,
    );

    fn serialize_f32(self, v: f32) -> Result<(), Stop> {
        self.float(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Stop> {
        self.float(v)
    }

    fn serialize_none(self) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Stop> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.nested(LocSegment::Field(variant.to_owned()), value)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        Ok(Compound { finder: self, index: 0, key: None })
    }

    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Stop> {
        Ok(Compound { finder: self, index: 0, key: None })
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        Ok(Compound { finder: self, index: 0, key: None })
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.path.push(LocSegment::Field(variant.to_owned()));
        Ok(Compound { finder: self, index: 0, key: Some(String::new()) })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        Ok(Compound { finder: self, index: 0, key: None })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        Ok(Compound { finder: self, index: 0, key: None })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.path.push(LocSegment::Field(variant.to_owned()));
        Ok(Compound { finder: self, index: 0, key: Some(String::new()) })
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.element(value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finder.path.pop();
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        // Keys are names: render them as JSON would (a string, or a number as text).
        self.key = Some(match serde_json::to_value(key) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(_) => String::new(),
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let key = self.key.take().unwrap_or_default();
        self.finder.nested(LocSegment::Field(key), value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.finder.nested(LocSegment::Field(key.to_owned()), value)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Stop> {
        self.finder.nested(LocSegment::Field(key.to_owned()), value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finder.path.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Sum {
        sum: f64,
    }

    #[derive(Serialize)]
    struct Outer {
        items: Vec<Sum>,
        #[serde(rename = "byName")]
        by_name: BTreeMap<String, f32>,
        note: Option<String>,
    }

    #[test]
    fn finds_the_first_non_finite_float_with_its_path() {
        let ok = Sum { sum: 1.5 };
        assert_eq!(first_non_finite(&ok), None);
        let bad = Sum { sum: f64::INFINITY };
        let found = first_non_finite(&bad).unwrap();
        assert_eq!(found.path(), "sum");
        assert_eq!(found.message(), "non-finite number (inf) at sum: JSON cannot represent it");

        let outer = Outer {
            items: vec![Sum { sum: 1.0 }, Sum { sum: f64::NAN }],
            by_name: BTreeMap::from([("x".to_owned(), 1.0)]),
            note: None,
        };
        assert_eq!(first_non_finite(&outer).unwrap().path(), "items.1.sum");
        let outer = Outer {
            items: vec![],
            by_name: BTreeMap::from([("x".to_owned(), f32::NEG_INFINITY)]),
            note: Some("n".into()),
        };
        assert_eq!(first_non_finite(&outer).unwrap().path(), "byName.x");
        assert_eq!(first_non_finite(&f64::NAN).unwrap().path(), "(root)");
    }

    #[test]
    fn the_serialized_value_is_searched_only_when_it_holds_a_null() {
        let bad = Sum { sum: f64::INFINITY };
        let value = serde_json::to_value(&bad).unwrap();
        assert_eq!(value, serde_json::json!({ "sum": null }), "what serde_json does on its own");
        assert!(check(&bad, &value).is_some());
        let good = Sum { sum: 2.0 };
        assert!(check(&good, &serde_json::to_value(&good).unwrap()).is_none());
    }
}
