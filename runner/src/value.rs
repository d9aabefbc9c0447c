//! Conversions between HCL values (`hcl::Value`, what configurations evaluate to) and JSON
//! (`serde_json::Value`, what `tofu output -json`, state files and plan files speak), and the
//! encoding of `inputs` as `TF_VAR_` environment variables.
//!
//! Numbers travel as their decimal text so that no precision is lost on the JSON side. This module
//! knows nothing about files, units or processes.

use hcl::{Number, Value};
use std::str::FromStr;

/// Converts a JSON value into an HCL value. Integers that fit `i64`/`u64` stay integers; every
/// other number becomes a float.
pub fn json_to_hcl(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(number_from_text(&n.to_string())),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(items) => Value::Array(items.iter().map(json_to_hcl).collect()),
        serde_json::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_hcl(v)))
                .collect(),
        ),
    }
}

/// Parses a decimal number as written in JSON or HCL.
pub fn number_from_text(text: &str) -> Number {
    if let Ok(i) = text.parse::<i64>() {
        return Number::from(i);
    }
    if let Ok(u) = text.parse::<u64>() {
        return Number::from(u);
    }
    let f = text.parse::<f64>().unwrap_or(f64::NAN);
    // A float that is a whole number within i64 range is the same value as that integer; keep
    // it an integer so that `42.0` prints as `42` like Terraform does.
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return Number::from(f as i64);
    }
    Number::from_f64(f).unwrap_or_else(|| Number::from(0))
}

/// Converts an HCL value into JSON.
pub fn hcl_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::Number::from_str(&n.to_string())
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(hcl_to_json).collect()),
        Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), hcl_to_json(v)))
                .collect(),
        ),
    }
}

/// Renders a value as compact JSON text.
pub fn to_json_text(value: &Value) -> String {
    serde_json::to_string(&hcl_to_json(value)).unwrap_or_else(|_| "null".to_string())
}

/// The text of a `TF_VAR_<name>` variable for an input, as Terragrunt writes it: a string is
/// passed verbatim; anything else is JSON in which every `${` becomes `$${`, because OpenTofu and
/// Terraform parse non-string variables from the environment as HCL. `None` for `null`, which an
/// environment variable cannot carry (see [`null_inputs_file`]).
pub fn tf_var_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(to_json_text(other).replace("${", "$${")),
    }
}

/// The content of `.terragrunt-null-vars.auto.tfvars.json` for the inputs whose value is null.
pub fn null_inputs_file<'a>(null_names: impl IntoIterator<Item = &'a String>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = null_names
        .into_iter()
        .map(|name| (name.clone(), serde_json::Value::Null))
        .collect();
    serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default()
}

/// How a value reads in messages and string interpolation: strings bare, numbers and bools in
/// their literal form, collections as JSON.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => to_json_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_passed_raw_and_other_values_as_json_with_escaped_interpolation() {
        assert_eq!(
            tf_var_text(&Value::from("a ${b}")).as_deref(),
            Some("a ${b}")
        );
        assert_eq!(tf_var_text(&Value::from(42)).as_deref(), Some("42"));
        let list = Value::Array(vec![Value::from("${x}"), Value::from(true)]);
        assert_eq!(tf_var_text(&list).as_deref(), Some(r#"["$${x}",true]"#));
        assert_eq!(tf_var_text(&Value::Null), None);
    }

    #[test]
    fn json_numbers_keep_integers_and_fractions() {
        let json: serde_json::Value =
            serde_json::from_str(r#"[42, 1.5, 12345678901234567]"#).expect("literal JSON parses");
        let value = json_to_hcl(&json);
        assert_eq!(to_json_text(&value), "[42,1.5,12345678901234567]");
    }
}
