//! JSON into request types, strictly: serde's derived structs also accept a JSON array of
//! their fields in order (`["a@b.c", "secret"]` as a login), which no client means and the
//! OpenAPI document does not allow. This deserializer walks a parsed `serde_json::Value`
//! and refuses anything but an object where a struct is expected, at any depth. Likewise a
//! tagged enum's tag must be its name: serde also takes a variant's index (`"type": 0`).
//! serde offers no attribute for either, hence this small adapter.
//!
//! It also reads a whole number written with a fraction of zero (`719.0`) where an
//! integer is expected: JSON Schema counts it as an integer, so the OpenAPI document's
//! `type: integer` allows it, and generated clients and fuzzers send it.

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::{Map, Value};

pub struct Strict(pub Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("a number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(StrictSeq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => Err(de::Error::invalid_type(unexpected(&other), &"an object")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    /// A field's or a variant's name: a string, never a number standing for its position.
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::String(name) => visitor.visit_string(name),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a name")),
        }
    }

    whole_numbers! { deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 }

    serde::forward_to_deserialize_any! {
        bool i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        seq tuple tuple_struct map ignored_any
    }
}

/// Integer deserializers that also take a float with no fraction, exactly representable
/// (below ±2^53), as the integer it is; the visitor checks its own type's range.
macro_rules! whole_numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match whole_number(&self.0) {
                Some(number) if number < 0.0 => visitor.visit_i64(number as i64),
                Some(number) => visitor.visit_u64(number as u64),
                None => self.0.$method(visitor),
            }
        }
    )*};
}
use whole_numbers;

/// `value` as a whole number when it is a float such as `719.0`.
fn whole_number(value: &Value) -> Option<f64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let Value::Number(number) = value else { return None };
    let float = number.as_f64().filter(|_| number.is_f64())?;
    // Below 2^53: 9007199254740993.0 reads as 2^53, which would silently change it.
    (float.fract() == 0.0 && float.abs() < EXACT).then_some(float)
}

struct StrictSeq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for StrictSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|item| seed.deserialize(Strict(item))).transpose()
    }
}

struct StrictMap {
    entries: <Map<String, Value> as IntoIterator>::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for StrictMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        seed.deserialize(Strict(self.value.take().unwrap_or(Value::Null)))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Price {
        amount: i64,
        currency: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Line {
        sku: Option<String>,
        prices: Vec<Price>,
    }

    fn parse<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, serde_json::Error> {
        T::deserialize(Strict(serde_json::from_str(json).expect("json")))
    }

    #[test]
    fn objects_parse_as_usual() {
        let line: Line = parse(r#"{"sku": null, "prices": [{"amount": 5, "currency": "EUR"}]}"#).expect("line");
        assert_eq!(
            line,
            Line {
                sku: None,
                prices: vec![Price {
                    amount: 5,
                    currency: "EUR".into()
                }]
            }
        );
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers() {
        let price: Price = parse(r#"{"amount": 719.0, "currency": "EUR"}"#).expect("a whole float");
        assert_eq!(price.amount, 719);
        let price: Price = parse(r#"{"amount": -5e2, "currency": "EUR"}"#).expect("an exponent");
        assert_eq!(price.amount, -500);
        for refused in ["719.5", "1e300", "9007199254740993.0", "9007199254740994.0"] {
            let json = format!(r#"{{"amount": {refused}, "currency": "EUR"}}"#);
            assert!(parse::<Price>(&json).is_err(), "{refused}");
        }
        #[derive(Debug, Deserialize)]
        struct Small {
            quantity: u8,
        }
        assert_eq!(
            parse::<Small>(r#"{"quantity": 255.0}"#).expect("in range").quantity,
            255
        );
        assert!(
            parse::<Small>(r#"{"quantity": 256.0}"#).is_err(),
            "the type's range still holds"
        );
        assert!(parse::<Small>(r#"{"quantity": -1.0}"#).is_err());
    }

    #[test]
    fn arrays_are_not_structs_at_any_depth() {
        assert!(parse::<Price>(r#"[5, "EUR"]"#).is_err());
        assert!(parse::<Line>(r#"{"sku": "A", "prices": [[5, "EUR"]]}"#).is_err());
        assert!(parse::<Price>(r#"{"amount": 5, "currency": "EUR", "extra": 1}"#).is_err());
    }
}
