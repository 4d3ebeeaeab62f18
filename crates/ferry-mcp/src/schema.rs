//! Checking a tool's arguments against its input schema before the callback runs: the
//! JSON Schema keywords tool schemas use (`type`, `properties`, `required`,
//! `additionalProperties`, `items`, `enum`, `minimum`/`maximum`, `minLength`/`maxLength`).
//! Other keywords are accepted and not checked.

use serde_json::{Map, Value};

/// Checks that `schema` is usable as a tool's input schema: an object schema whose known
/// keywords have the right shapes.
pub(crate) fn check_schema(schema: &Map<String, Value>) -> Result<(), String> {
    match schema.get("type") {
        Some(Value::String(kind)) if kind == "object" => {}
        None => {}
        Some(other) => return Err(format!("\"type\" must be \"object\", not {other}")),
    }
    if let Some(properties) = schema.get("properties")
        && !properties.is_object()
    {
        return Err("\"properties\" must be an object".into());
    }
    if let Some(required) = schema.get("required")
        && !required
            .as_array()
            .is_some_and(|names| names.iter().all(Value::is_string))
    {
        return Err("\"required\" must be an array of property names".into());
    }
    Ok(())
}

/// Checks `value` against `schema`; the error names the first problem and where it is
/// (`$.city`, `$.tags[2]`).
pub(crate) fn validate(value: &Value, schema: &Map<String, Value>) -> Result<(), String> {
    check(value, schema, "$")
}

fn check(value: &Value, schema: &Map<String, Value>, at: &str) -> Result<(), String> {
    if let Some(kind) = schema.get("type") {
        let kinds: Vec<&str> = match kind {
            Value::String(kind) => vec![kind.as_str()],
            Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !kinds.is_empty() && !kinds.iter().any(|kind| is_of_type(value, kind)) {
            return Err(format!(
                "{at} must be {}, not {}",
                kinds.join(" or "),
                describe(value)
            ));
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let listed: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return Err(format!("{at} must be one of {}", listed.join(", ")));
    }
    if let Some(number) = value.as_f64() {
        if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
            && number < minimum
        {
            return Err(format!("{at} must be at least {minimum}"));
        }
        if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
            && number > maximum
        {
            return Err(format!("{at} must be at most {maximum}"));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if let Some(minimum) = schema.get("minLength").and_then(Value::as_u64)
            && length < minimum
        {
            return Err(format!("{at} must be at least {minimum} characters long"));
        }
        if let Some(maximum) = schema.get("maxLength").and_then(Value::as_u64)
            && length > maximum
        {
            return Err(format!("{at} must be at most {maximum} characters long"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    return Err(format!("{at}.{name} is required"));
                }
            }
        }
        for (name, item) in object {
            let path = format!("{at}.{name}");
            match properties.and_then(|properties| properties.get(name)) {
                Some(Value::Object(property)) => check(item, property, &path)?,
                Some(_) => {}
                None => {
                    if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                        return Err(format!("{path} is not an accepted argument"));
                    }
                }
            }
        }
    }
    if let (Some(items), Some(Value::Object(item_schema))) = (value.as_array(), schema.get("items"))
    {
        for (index, item) in items.iter().enumerate() {
            check(item, item_schema, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}

fn is_of_type(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|number| number.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Map<String, Value> {
        json!({
            "type": "object",
            "properties": {
                "city": { "type": "string", "minLength": 2 },
                "days": { "type": "integer", "minimum": 1, "maximum": 7 },
                "units": { "enum": ["C", "F"] },
                "tags": { "type": "array", "items": { "type": "string" } }
            },
            "required": ["city"],
            "additionalProperties": false
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    #[test]
    fn arguments_are_checked_with_the_place_of_the_problem() {
        let schema = schema();
        assert_eq!(
            validate(
                &json!({ "city": "Oulu", "days": 3, "units": "C", "tags": ["a"] }),
                &schema
            ),
            Ok(())
        );
        let cases = [
            (json!({}), "$.city is required"),
            (json!({ "city": 5 }), "$.city must be string, not a number"),
            (
                json!({ "city": "X" }),
                "$.city must be at least 2 characters long",
            ),
            (
                json!({ "city": "Oulu", "days": 1.5 }),
                "$.days must be integer, not a number",
            ),
            (
                json!({ "city": "Oulu", "days": 9 }),
                "$.days must be at most 7",
            ),
            (
                json!({ "city": "Oulu", "units": "K" }),
                "$.units must be one of \"C\", \"F\"",
            ),
            (
                json!({ "city": "Oulu", "tags": ["a", 2] }),
                "$.tags[1] must be string, not a number",
            ),
            (
                json!({ "city": "Oulu", "extra": 1 }),
                "$.extra is not an accepted argument",
            ),
            (json!([]), "$ must be object, not an array"),
        ];
        for (value, expected) in cases {
            assert_eq!(
                validate(&value, &schema),
                Err(expected.to_owned()),
                "{value}"
            );
        }
    }

    #[test]
    fn schemas_must_describe_objects() {
        assert!(check_schema(&schema()).is_ok());
        let array = json!({ "type": "array" })
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(check_schema(&array).is_err());
        let bad_required = json!({ "required": "city" })
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(check_schema(&bad_required).is_err());
    }
}
