//! Reads one value of the spanned [`document`] into the raw structs with serde,
//! and says what did not fit as data ([`Problem`]): the key serde's derive
//! found missing, the key it did not know, the type it asked for and the TOML
//! it got. toml's own deserializer would say the same as an English sentence
//! (`missing field `id``), which is no interface to build diagnostics on.
//!
//! The deserializer is a thin one over [`Value`]: TOML's seven types map
//! onto serde's data model one to one, and spans are handed to
//! [`serde_spanned::Spanned`] by its own protocol, as toml does.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected,
    Visitor,
};
use serde_spanned::de::{SpannedDeserializer, is_spanned};

use super::document::{self, Entry, Item, Value};

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

/// Reads `T` out of `item`.
pub(super) fn read<T: de::DeserializeOwned>(item: Item<'_>) -> Result<T, ShapeError> {
    T::deserialize(Spanned(item))
}

/// A value of the document and its span, as serde reads it.
struct Spanned<'i>(Item<'i>);

impl<'i> Spanned<'i> {
    /// The value as serde shows it in a message.
    fn unexpected(&self) -> Unexpected<'_> {
        match &self.0.value {
            Value::String(text) => Unexpected::Str(text),
            Value::Integer(value) => Unexpected::Signed(*value),
            Value::Float(float) => match float.parse() {
                Ok(value) => Unexpected::Float(value),
                Err(_) => Unexpected::Other("floating point"),
            },
            Value::Boolean(value) => Unexpected::Bool(*value),
            // toml hands a date-time to serde as a map.
            Value::Datetime(_) | Value::Table(_) => Unexpected::Map,
            Value::Array(_) => Unexpected::Seq,
        }
    }

    /// The value, if `is` says it is of the type serde asked for (`expected`).
    fn of_type(self, is: fn(&Value<'i>) -> bool, expected: &str) -> Result<Self, ShapeError> {
        if is(&self.0.value) {
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
        .at(&self.0.span.range())
    }
}

/// `Deserializer` methods that take only a value of one TOML type.
macro_rules! of_type {
    ($($method:ident: $is:pat, $expected:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
            self.of_type(|value| matches!(value, $is), $expected)?.deserialize_any(visitor)
        }
    )*};
}

impl<'de> IntoDeserializer<'de, ShapeError> for Spanned<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Spanned<'de> {
    type Error = ShapeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let Item { value, span } = self.0;
        let span = span.range();
        match value {
            Value::String(Cow::Borrowed(text)) => visitor.visit_borrowed_str(text),
            Value::String(Cow::Owned(text)) => visitor.visit_string(text),
            Value::Integer(value) => visitor.visit_i64(value),
            Value::Float(float) => match float.parse() {
                Ok(value) => visitor.visit_f64(value),
                Err(_) => Err(ShapeError::new(Problem::Other(format!(
                    "{float} is not a floating-point number"
                )))),
            },
            Value::Boolean(value) => visitor.visit_bool(value),
            // toml hands a date-time to serde as a map; no field takes one.
            Value::Datetime(_) => Err(de::Error::invalid_type(Unexpected::Map, &visitor)),
            Value::Array(array) => visitor.visit_seq(Items(array.items.into_iter())),
            Value::Table(table) => visitor.visit_map(Entries::new(*table)),
        }
        .map_err(|error| error.at(&span))
    }

    // What serde asks for by name has one TOML type: anything else is
    // refused here, in TOML's words, before a visitor sees it.
    of_type! {
        deserialize_i64: Value::Integer(_), "an integer";
        deserialize_str: Value::String(_), "a string";
        deserialize_string: Value::String(_), "a string";
        deserialize_seq: Value::Array(_), "an array";
        deserialize_map: Value::Table(_), "a table";
    }

    /// A key that is present is `Some`: an absent one never reaches here.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ShapeError> {
        let span = self.0.span.range();
        visitor.visit_some(self).map_err(|error| error.at(&span))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        if is_spanned(name) {
            let span = self.0.span.range();
            return visitor.visit_map(SpannedDeserializer::new(self, span));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, ShapeError> {
        let span = self.0.span.range();
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

impl<'de, I: Iterator<Item = Item<'de>>> SeqAccess<'de> for Items<I> {
    type Error = ShapeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ShapeError> {
        self.0
            .next()
            .map(|item| seed.deserialize(Spanned(item)))
            .transpose()
    }
}

/// The entries of a table: keys (with their spans) and values.
struct Entries<'i> {
    entries: std::vec::IntoIter<Entry<'i>>,
    value: Option<Item<'i>>,
}

impl<'i> Entries<'i> {
    fn new(table: document::Table<'i>) -> Self {
        Entries {
            entries: table.into_entries().into_iter(),
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
        let Some(Entry { key, value }) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        // A key reads as a string: a struct's field name, or a map's key kept
        // with its span (the uplink of `[hosts.net1.uplinks.isp-a]`).
        let key = Item {
            value: Value::String(key.name),
            span: key.span,
        };
        seed.deserialize(Spanned(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ShapeError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value asked for before its key"))?;
        seed.deserialize(Spanned(value))
    }
}

#[cfg(test)]
mod tests {
    use super::{Problem, ShapeError, read};
    use crate::raw::document::parse_value;
    use crate::raw::{Sp, Uplink};

    fn uplink(text: &str) -> Result<Uplink, ShapeError> {
        read(parse_value(text).expect("TOML"))
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
        let error =
            read::<Sp<Vec<Sp<String>>>>(parse_value("{}").expect("TOML")).expect_err("a list");
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
