//! Reads one value of toml's spanned document into the raw structs with serde,
//! and says what did not fit as data ([`Problem`]): the key serde's derive
//! found missing, the key it did not know, the type it asked for and the TOML
//! it got. toml's own deserializer would say the same as an English sentence
//! (`missing field `id``), which is no interface to build diagnostics on.
//!
//! The deserializer is a thin one over [`DeValue`]: TOML's seven types map
//! onto serde's data model one to one, and spans are handed to
//! [`serde_spanned::Spanned`] by its own protocol, as toml does.

use std::fmt;
use std::ops::Range;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    Visitor,
};
use serde_spanned::Spanned;
use serde_spanned::de::{SpannedDeserializer, is_spanned};
use toml::de::{DeString, DeTable, DeValue};

/// Why a value does not have the shape its struct asks for.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Problem {
    /// A table lacks a key its struct requires.
    Missing(&'static str),
    /// A table has a key its struct does not take (`keys`).
    Unknown {
        key: String,
        keys: &'static [&'static str],
    },
    /// A value of another TOML type than the one asked for: `found` as serde
    /// shows a value (`string "one"`), `expected` as the reader says it
    /// (`an integer`).
    WrongType { found: String, expected: String },
    /// Anything else a `Deserialize` implementation refuses, in its words.
    Other(String),
}

/// A [`Problem`] and where it is: the innermost value or key it concerns.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ShapeError {
    pub problem: Problem,
    pub span: Option<Range<usize>>,
}

impl ShapeError {
    fn new(problem: Problem) -> Self {
        ShapeError {
            problem,
            span: None,
        }
    }

    /// The error, located at `span` unless a value inside it already is.
    fn at(mut self, span: &Range<usize>) -> Self {
        self.span.get_or_insert_with(|| span.clone());
        self
    }
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            Problem::Missing(key) => write!(f, "missing key `{key}`"),
            Problem::Unknown { key, .. } => write!(f, "unknown key `{key}`"),
            Problem::WrongType { found, expected } => {
                write!(f, "invalid type: {found}, expected {expected}")
            }
            Problem::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ShapeError {}

impl de::Error for ShapeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        ShapeError::new(Problem::Other(message.to_string()))
    }

    fn invalid_type(found: Unexpected, expected: &dyn de::Expected) -> Self {
        ShapeError::new(Problem::WrongType {
            found: found.to_string(),
            expected: expected.to_string(),
        })
    }

    fn missing_field(key: &'static str) -> Self {
        ShapeError::new(Problem::Missing(key))
    }

    fn unknown_field(key: &str, keys: &'static [&'static str]) -> Self {
        ShapeError::new(Problem::Unknown {
            key: key.to_owned(),
            keys,
        })
    }
}

/// Reads `T` out of `value`.
pub(super) fn read<T: de::DeserializeOwned>(value: Spanned<DeValue<'_>>) -> Result<T, ShapeError> {
    T::deserialize(Value::from(value))
}

/// A value of the document and its span.
struct Value<'i> {
    value: DeValue<'i>,
    span: Range<usize>,
}

impl<'i> From<Spanned<DeValue<'i>>> for Value<'i> {
    fn from(value: Spanned<DeValue<'i>>) -> Self {
        let span = value.span();
        Value {
            value: value.into_inner(),
            span,
        }
    }
}

impl<'i> Value<'i> {
    /// The value as serde shows it in a message.
    fn unexpected(&self) -> Unexpected<'_> {
        match &self.value {
            DeValue::String(text) => Unexpected::Str(text),
            DeValue::Integer(integer) => match integer_value(integer) {
                Some(value) => Unexpected::Signed(value),
                None => Unexpected::Other("integer"),
            },
            DeValue::Float(float) => match float.as_str().parse() {
                Ok(value) => Unexpected::Float(value),
                Err(_) => Unexpected::Other("floating point"),
            },
            DeValue::Boolean(value) => Unexpected::Bool(*value),
            // toml hands a date-time to serde as a map.
            DeValue::Datetime(_) | DeValue::Table(_) => Unexpected::Map,
            DeValue::Array(_) => Unexpected::Seq,
        }
    }

    /// The value, if `is` says it is of the type serde asked for (`expected`).
    fn of_type(self, is: fn(&DeValue<'i>) -> bool, expected: &str) -> Result<Self, ShapeError> {
        if is(&self.value) {
            Ok(self)
        } else {
            Err(self.wrong_type(expected))
        }
    }

    /// The error for a value that is not what serde asked for.
    fn wrong_type(&self, expected: &str) -> ShapeError {
        ShapeError::new(Problem::WrongType {
            found: self.unexpected().to_string(),
            expected: expected.to_owned(),
        })
        .at(&self.span)
    }
}

fn integer_value(integer: &toml::de::DeInteger<'_>) -> Option<i64> {
    i64::from_str_radix(integer.as_str(), integer.radix()).ok()
}

/// `Deserializer` methods that take only a value of one TOML type.
macro_rules! of_type {
    ($($method:ident: $is:ident, $expected:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            self.of_type(DeValue::$is, $expected)?.deserialize_any(visitor)
        }
    )*};
}

impl<'de> IntoDeserializer<'de, ShapeError> for Value<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Value<'de> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let span = self.span.clone();
        match self.value {
            DeValue::String(DeString::Borrowed(text)) => visitor.visit_borrowed_str(text),
            DeValue::String(DeString::Owned(text)) => visitor.visit_string(text),
            DeValue::Integer(integer) => match integer_value(&integer) {
                Some(value) => visitor.visit_i64(value),
                None => Err(ShapeError::new(Problem::Other(format!(
                    "integer {} does not fit in 64 bits",
                    integer.as_str()
                )))),
            },
            DeValue::Float(float) => match float.as_str().parse() {
                Ok(value) => visitor.visit_f64(value),
                Err(_) => Err(ShapeError::new(Problem::Other(format!(
                    "{} is not a floating-point number",
                    float.as_str()
                )))),
            },
            DeValue::Boolean(value) => visitor.visit_bool(value),
            // toml hands a date-time to serde as a map; no field takes one.
            DeValue::Datetime(_) => Err(de::Error::invalid_type(Unexpected::Map, &visitor)),
            DeValue::Array(items) => visitor.visit_seq(Items(items.into_iter())),
            DeValue::Table(table) => visitor.visit_map(Entries::new(table)),
        }
        .map_err(|error| error.at(&span))
    }

    // What serde asks for by name has one TOML type: anything else is
    // refused here, in TOML's words, before a visitor sees it.
    of_type! {
        deserialize_i64: is_integer, "an integer";
        deserialize_str: is_str, "a string";
        deserialize_string: is_str, "a string";
        deserialize_seq: is_array, "an array";
        deserialize_map: is_table, "a table";
    }

    /// A key that is present is `Some`: an absent one never reaches here.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let span = self.span.clone();
        visitor.visit_some(self).map_err(|error| error.at(&span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        if is_spanned(name) {
            let span = self.span.clone();
            return visitor.visit_map(SpannedDeserializer::new(self, span));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        let span = self.span.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|error| error.at(&span))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

/// The elements of an array.
struct Items<I>(I);

impl<'de, I: Iterator<Item = Spanned<DeValue<'de>>>> SeqAccess<'de> for Items<I> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        self.0
            .next()
            .map(|item| seed.deserialize(Value::from(item)))
            .transpose()
    }
}

/// The entries of a table: keys (with their spans) and values.
struct Entries<'i> {
    entries: <DeTable<'i> as IntoIterator>::IntoIter,
    value: Option<Spanned<DeValue<'i>>>,
}

impl<'i> Entries<'i> {
    fn new(table: DeTable<'i>) -> Self {
        Entries {
            entries: table.into_iter(),
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = ShapeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ShapeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        // A key reads as a string: a struct's field name, or a map's key kept
        // with its span (the uplink of `[hosts.net1.uplinks.isp-a]`).
        let span = key.span();
        let key = Value {
            value: DeValue::String(key.into_inner()),
            span,
        };
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ShapeError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value asked for before its key"))?;
        seed.deserialize(Value::from(value))
    }
}

#[cfg(test)]
mod tests {
    use super::{Problem, ShapeError, read};
    use crate::raw::{Sp, Uplink};

    fn uplink(text: &str) -> Result<Uplink, ShapeError> {
        read(toml::de::DeValue::parse(text).expect("TOML"))
    }

    #[test]
    fn a_missing_key_is_named_and_located_at_its_table() {
        let error = uplink("{ table = 7 }").expect_err("id is required");
        assert_eq!(error.problem, Problem::Missing("id"));
        assert_eq!(error.span, Some(0..13));
    }

    #[test]
    fn a_wrong_type_says_what_was_found_and_what_was_asked_for() {
        let error = uplink(r#"{ id = "one" }"#).expect_err("id is an integer");
        assert_eq!(
            error.problem,
            Problem::WrongType {
                found: r#"string "one""#.to_owned(),
                expected: "an integer".to_owned(),
            }
        );
        assert_eq!(error.span, Some(7..12));
        let error = read::<Sp<Vec<Sp<String>>>>(toml::de::DeValue::parse("{}").expect("TOML"))
            .expect_err("a list");
        assert_eq!(error.to_string(), "invalid type: map, expected an array");
    }

    #[test]
    fn an_unknown_key_comes_with_the_keys_of_its_table() {
        let error = uplink("{ id = 1, tabel = 7 }").expect_err("no such key");
        let Problem::Unknown { key, keys } = error.problem else {
            panic!("{error:?}");
        };
        assert_eq!(key, "tabel");
        assert!(keys.contains(&"table"), "{keys:?}");
        assert_eq!(error.span, Some(10..15));
    }

    #[test]
    fn spans_reach_the_values_and_the_keys_they_belong_to() {
        let uplink = uplink("{ id = 1, table = 7 }").expect("an uplink");
        assert_eq!((*uplink.id.get(), uplink.id.span()), (1, 7..8));
        assert_eq!(uplink.table.map(|t| t.span()), Some(18..19));
    }
}
