//! Result coercion: what a resolver's JSON becomes for a field of a given type, as the
//! GraphQL specification says (§3.5 Scalars, "Result Coercion"; §6.4.3 Value Completion).
//!
//! A value that cannot represent the field's type is a field error, never a silent
//! conversion: an object for a `String` field, `1.5` or `2^31` for an `Int`, a name that is
//! not one of an enum's values, a number where an object or a list is expected. The lossless
//! conversions the reference implementation makes are kept (a whole number for a `String`
//! or `ID`, `true` for an `Int`, a numeric string for a `Float`). Resolvers written for
//! aiwebengine return JSON text for objects and lists: such a string is read as JSON first.

use std::collections::{HashMap, HashSet};

use async_graphql::dynamic::FieldValue;
use async_graphql::parser::types::{BaseType, Type};
use async_graphql::{Name, Number, Value};
use serde_json::Value as Json;

/// The named types of a schema that coercion needs to know: object types and the values of
/// each enum. Any other name is a scalar (built in, or custom: any JSON passes).
#[derive(Debug, Default)]
pub(crate) struct TypeTable {
    pub objects: HashSet<String>,
    pub enums: HashMap<String, HashSet<String>>,
}

impl TypeTable {
    /// Whether a value of type `shape` is an object or a list (and JSON text stands for it).
    fn wants_structure(&self, shape: &Type) -> bool {
        match &shape.base {
            BaseType::List(_) => true,
            BaseType::Named(name) => self.objects.contains(name.as_str()),
        }
    }

    /// `value` as the value of a field of type `shape`: `None` for null (the executor then
    /// applies non-null), or the field error that says why it cannot be.
    pub(crate) fn complete(
        &self,
        value: Json,
        shape: &Type,
    ) -> Result<Option<FieldValue<'static>>, String> {
        let value = match value {
            Json::String(text) if self.wants_structure(shape) => {
                serde_json::from_str(&text).unwrap_or(Json::String(text))
            }
            other => other,
        };
        if value.is_null() {
            return Ok(None);
        }
        match &shape.base {
            BaseType::List(inner) => {
                let Json::Array(items) = value else {
                    return Err(format!(
                        "expected a list for {}, got {}",
                        type_name(shape),
                        describe(&value)
                    ));
                };
                let mut completed = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    let item = self
                        .complete(item, inner)
                        .map_err(|error| format!("item {index}: {error}"))?;
                    if item.is_none() && !inner.nullable {
                        return Err(format!(
                            "item {index} is null, but the list's items are {}",
                            type_name(inner)
                        ));
                    }
                    completed.push(item.unwrap_or(FieldValue::NULL));
                }
                Ok(Some(FieldValue::list(completed)))
            }
            BaseType::Named(name) if self.objects.contains(name.as_str()) => match value {
                Json::Object(_) => Ok(Some(FieldValue::owned_any(value))),
                other => Err(format!(
                    "expected an object for type {name}, got {}",
                    describe(&other)
                )),
            },
            BaseType::Named(name) => {
                let leaf = match self.enums.get(name.as_str()) {
                    Some(values) => coerce_enum(name, values, value)?,
                    None => coerce_scalar(name, value)?,
                };
                Ok(Some(FieldValue::value(leaf)))
            }
        }
    }
}

/// A scalar's value: the built-in scalars by their rules, custom ones as any JSON.
fn coerce_scalar(name: &str, value: Json) -> Result<Value, String> {
    match name {
        "Int" => coerce_int(&value).map(|int| Value::Number(int.into())),
        "Float" => coerce_float(&value).and_then(|float| {
            Number::from_f64(float)
                .map(Value::Number)
                .ok_or_else(|| cannot("Float", &value))
        }),
        "String" => coerce_string(&value).map(Value::String),
        "Boolean" => coerce_boolean(&value).map(Value::Boolean),
        "ID" => match &value {
            Json::String(text) => Ok(Value::String(text.clone())),
            Json::Number(number) if number.is_i64() || number.is_u64() => {
                Ok(Value::String(number.to_string()))
            }
            _ => Err(cannot("ID", &value)),
        },
        _ => Value::from_json(value).map_err(|error| format!("{name}: {error}")),
    }
}

fn coerce_int(value: &Json) -> Result<i32, String> {
    let number = match value {
        Json::Bool(flag) => return Ok(i32::from(*flag)),
        Json::Number(number) => number.as_f64(),
        Json::String(text) if !text.trim().is_empty() => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(number) = number else {
        return Err(cannot("Int", value));
    };
    if number.fract() != 0.0 || !number.is_finite() {
        return Err(format!(
            "Int cannot represent non-integer value: {}",
            compact(value)
        ));
    }
    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&number) {
        return Err(format!(
            "Int cannot represent non 32-bit signed integer value: {}",
            compact(value)
        ));
    }
    // Whole and within i32: exact.
    #[allow(clippy::cast_possible_truncation)]
    Ok(number as i32)
}

fn coerce_float(value: &Json) -> Result<f64, String> {
    let number = match value {
        Json::Bool(flag) => Some(f64::from(u8::from(*flag))),
        Json::Number(number) => number.as_f64(),
        Json::String(text) if !text.trim().is_empty() => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    number
        .filter(|number| number.is_finite())
        .ok_or_else(|| cannot("Float", value))
}

fn coerce_string(value: &Json) -> Result<String, String> {
    match value {
        Json::String(text) => Ok(text.clone()),
        Json::Bool(flag) => Ok(flag.to_string()),
        Json::Number(number) => Ok(number.to_string()),
        _ => Err(cannot("String", value)),
    }
}

fn coerce_boolean(value: &Json) -> Result<bool, String> {
    match value {
        Json::Bool(flag) => Ok(*flag),
        Json::Number(number) => number
            .as_f64()
            .filter(|number| number.is_finite())
            .map(|number| number != 0.0)
            .ok_or_else(|| cannot("Boolean", value)),
        _ => Err(cannot("Boolean", value)),
    }
}

fn coerce_enum(name: &str, values: &HashSet<String>, value: Json) -> Result<Value, String> {
    match value {
        Json::String(text) if values.contains(&text) => Ok(Value::Enum(Name::new(text))),
        other => Err(format!(
            "Enum \"{name}\" cannot represent value: {}",
            compact(&other)
        )),
    }
}

fn cannot(scalar: &str, value: &Json) -> String {
    format!("{scalar} cannot represent value: {}", compact(value))
}

/// The value as JSON, cut short: error messages quote it.
fn compact(value: &Json) -> String {
    let mut text = value.to_string();
    if text.len() > 80 {
        let mut end = 77;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

fn describe(value: &Json) -> String {
    let kind = match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    };
    format!("{kind} ({})", compact(value))
}

fn type_name(shape: &Type) -> String {
    shape.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(text: &str) -> Type {
        Type::new(text).unwrap()
    }

    fn table() -> TypeTable {
        let mut table = TypeTable::default();
        table.objects.insert("User".into());
        table
            .enums
            .insert("Role".into(), ["ADMIN", "GUEST"].map(String::from).into());
        table
    }

    fn leaf(value: Json, ty: &str) -> Result<Value, String> {
        match table().complete(value, &shape(ty))? {
            Some(value) => Ok(value.as_value().cloned().unwrap_or(Value::Null)),
            None => Ok(Value::Null),
        }
    }

    #[test]
    fn strings_take_text_numbers_and_booleans_not_structures() {
        assert_eq!(leaf(json!("a"), "String"), Ok(Value::String("a".into())));
        assert_eq!(leaf(json!(7), "String"), Ok(Value::String("7".into())));
        assert_eq!(
            leaf(json!(true), "String"),
            Ok(Value::String("true".into()))
        );
        let error = leaf(json!({ "a": 1 }), "String").unwrap_err();
        assert_eq!(error, r#"String cannot represent value: {"a":1}"#);
        assert!(leaf(json!([1]), "String!").is_err());
    }

    #[test]
    fn ints_must_be_whole_and_32_bit() {
        assert_eq!(leaf(json!(5), "Int"), Ok(Value::Number(5.into())));
        assert_eq!(leaf(json!(true), "Int"), Ok(Value::Number(1.into())));
        assert_eq!(leaf(json!("12"), "Int"), Ok(Value::Number(12.into())));
        assert!(leaf(json!(1.5), "Int").unwrap_err().contains("non-integer"));
        assert!(
            leaf(json!(2_147_483_648_i64), "Int")
                .unwrap_err()
                .contains("32-bit")
        );
        assert!(leaf(json!("x"), "Int").is_err());
        assert!(leaf(json!({}), "Int").is_err());
    }

    #[test]
    fn floats_booleans_and_ids() {
        assert!(leaf(json!("2.5"), "Float").is_ok());
        assert!(leaf(json!("abc"), "Float").is_err());
        assert_eq!(leaf(json!(0), "Boolean"), Ok(Value::Boolean(false)));
        assert!(leaf(json!("true"), "Boolean").is_err());
        assert_eq!(leaf(json!(42), "ID"), Ok(Value::String("42".into())));
        assert!(leaf(json!(4.2), "ID").is_err());
        assert!(leaf(json!(false), "ID").is_err());
    }

    #[test]
    fn enums_take_only_their_values() {
        assert_eq!(
            leaf(json!("ADMIN"), "Role"),
            Ok(Value::Enum(Name::new("ADMIN")))
        );
        let error = leaf(json!("ROOT"), "Role").unwrap_err();
        assert_eq!(error, r#"Enum "Role" cannot represent value: "ROOT""#);
    }

    #[test]
    fn objects_and_lists_must_be_what_they_say() {
        let table = table();
        assert!(table.complete(json!({ "id": 1 }), &shape("User")).is_ok());
        // aiwebengine resolvers return JSON text.
        assert!(table.complete(json!("{\"id\": 1}"), &shape("User")).is_ok());
        let error = table.complete(json!(3), &shape("User")).err().unwrap();
        assert_eq!(error, "expected an object for type User, got a number (3)");
        let error = table.complete(json!("x"), &shape("[Int]")).err().unwrap();
        assert!(error.starts_with("expected a list for [Int]"), "{error}");
        let error = table
            .complete(json!([1, "x"]), &shape("[Int]"))
            .err()
            .unwrap();
        assert!(error.starts_with("item 1: Int cannot"), "{error}");
        let error = table
            .complete(json!([1, null]), &shape("[Int!]"))
            .err()
            .unwrap();
        assert!(error.starts_with("item 1 is null"), "{error}");
        assert!(table.complete(json!([1, null]), &shape("[Int]")).is_ok());
        assert!(
            table
                .complete(Json::Null, &shape("Int!"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn custom_scalars_take_any_json() {
        assert!(leaf(json!({ "any": [1, 2] }), "JSON").is_ok());
    }
}
