//! cty's JSON encoding of [`Value`]s. Terraform uses it for stored state (`RawState.json`), which
//! the provider must read back under its current schema on every run.
//!
//! Facts (go-cty `cty/json`): null is `null`; numbers are JSON numbers of any precision; sets,
//! lists and tuples are arrays; maps and objects are JSON objects; a `dynamic` value is
//! `{"type": <type JSON>, "value": <value>}`. JSON cannot carry unknown values.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::value::{Number, Type, Value};

#[derive(Debug, thiserror::Error)]
#[error("invalid JSON value at {path}: {message}")]
pub struct JsonError {
    pub path: String,
    pub message: String,
}

/// How strictly object attributes are matched against the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndefinedAttributes {
    /// An attribute the type does not declare is an error.
    Refuse,
    /// Attributes the type does not declare are dropped (reading state written by an older schema).
    Ignore,
}

/// Decodes JSON text as a value of type `ty`.
pub fn decode(text: &[u8], ty: &Type, undefined: UndefinedAttributes) -> Result<Value, JsonError> {
    let json: Json = serde_json::from_slice(text).map_err(|e| JsonError {
        path: "(root)".into(),
        message: e.to_string(),
    })?;
    from_json(&json, ty, undefined, &mut String::new())
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, JsonError> {
    Err(JsonError {
        path: if path.is_empty() {
            "(root)".into()
        } else {
            path.into()
        },
        message: message.into(),
    })
}

/// Converts an already-parsed JSON document into a value of type `ty`.
pub fn from_json(
    json: &Json,
    ty: &Type,
    undefined: UndefinedAttributes,
    path: &mut String,
) -> Result<Value, JsonError> {
    if json.is_null() {
        return Ok(Value::Null);
    }
    match ty {
        Type::String => match json {
            Json::String(s) => Ok(Value::String(s.clone())),
            // cty converts primitives to strings on the way in, as Terraform does.
            Json::Number(n) => Ok(Value::String(n.to_string())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => err(path, "expected a string"),
        },
        Type::Number => match json {
            Json::Number(n) => Number::parse(&n.to_string())
                .map(Value::Number)
                .ok_or_else(|| JsonError {
                    path: path.clone(),
                    message: format!("{n} is not a number"),
                }),
            Json::String(s) => Number::parse(s)
                .map(Value::Number)
                .ok_or_else(|| JsonError {
                    path: path.clone(),
                    message: format!("{s:?} is not a number"),
                }),
            _ => err(path, "expected a number"),
        },
        Type::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => err(path, "expected a bool"),
        },
        Type::List(elem) | Type::Set(elem) => {
            let Json::Array(items) = json else {
                return err(path, "expected an array");
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let saved = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(from_json(item, elem, undefined, path)?);
                path.truncate(saved);
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(out)
            } else {
                Value::List(out)
            })
        }
        Type::Tuple(elems) => {
            let Json::Array(items) = json else {
                return err(path, "expected an array");
            };
            if items.len() != elems.len() {
                return err(
                    path,
                    format!(
                        "a tuple of {} elements is required ({} given)",
                        elems.len(),
                        items.len()
                    ),
                );
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(elems).enumerate() {
                let saved = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(from_json(item, t, undefined, path)?);
                path.truncate(saved);
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(elem) => {
            let Json::Object(entries) = json else {
                return err(path, "expected an object");
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let saved = path.len();
                path.push_str(&format!("[{k:?}]"));
                out.insert(k.clone(), from_json(v, elem, undefined, path)?);
                path.truncate(saved);
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let Json::Object(entries) = json else {
                return err(path, "expected an object");
            };
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                let Some(t) = attrs.get(k) else {
                    if undefined == UndefinedAttributes::Ignore {
                        continue;
                    }
                    return err(path, format!("unsupported attribute {k:?}"));
                };
                let saved = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                out.insert(k.clone(), from_json(v, t, undefined, path)?);
                path.truncate(saved);
            }
            for name in attrs.keys() {
                out.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => {
            let Json::Object(wrapper) = json else {
                return err(path, "a dynamic value must be {\"type\":..,\"value\":..}");
            };
            let (Some(type_json), Some(inner)) = (wrapper.get("type"), wrapper.get("value")) else {
                return err(path, "a dynamic value must have \"type\" and \"value\"");
            };
            let concrete = Type::from_json(type_json).map_err(|m| JsonError {
                path: path.clone(),
                message: m,
            })?;
            let value = from_json(inner, &concrete, undefined, path)?;
            Ok(Value::Dynamic(Box::new(concrete), Box::new(value)))
        }
    }
}

/// Encodes a wholly known value as JSON (unknown values have no JSON form).
pub fn to_json(value: &Value) -> Result<Json, JsonError> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Unknown(_) => return err("(value)", "value is not known"),
        Value::String(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => match n {
            Number::Float(f) if !f.is_finite() => {
                return err("(value)", "infinity has no JSON form")
            }
            other => serde_json::from_str(&other.to_string()).map_err(|e| JsonError {
                path: "(value)".into(),
                message: e.to_string(),
            })?,
        },
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) | Value::Object(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, JsonError>>()?,
        ),
        Value::Dynamic(t, v) => serde_json::json!({ "type": t.to_json(), "value": to_json(v)? }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty() -> Type {
        Type::object([
            ("id", Type::String),
            ("count", Type::Number),
            ("tags", Type::set(Type::String)),
        ])
    }

    #[test]
    fn state_from_an_older_schema_drops_removed_attributes_and_nulls_new_ones() {
        let v = decode(
            br#"{"id":"a","removed":1,"tags":["x"]}"#,
            &ty(),
            UndefinedAttributes::Ignore,
        )
        .unwrap();
        assert_eq!(v.get("id"), &Value::string("a"));
        assert_eq!(v.get("count"), &Value::Null);
        assert_eq!(v.get("tags"), &Value::Set(vec!["x".into()]));
        assert!(v.entries().unwrap().get("removed").is_none());
    }

    #[test]
    fn strict_decoding_names_the_undefined_attribute() {
        let e = decode(br#"{"zzz":1}"#, &ty(), UndefinedAttributes::Refuse).unwrap_err();
        assert!(e.message.contains("\"zzz\""));
    }

    #[test]
    fn big_numbers_keep_their_precision() {
        let v = decode(
            br#"{"count": 123456789012345678901234567890}"#,
            &ty(),
            UndefinedAttributes::Ignore,
        )
        .unwrap();
        assert_eq!(
            v.get("count"),
            &Value::Number(Number::Decimal("123456789012345678901234567890".into()))
        );
        assert_eq!(
            to_json(v.get("count")).unwrap().to_string(),
            "123456789012345678901234567890"
        );
    }

    #[test]
    fn dynamic_values_use_the_type_value_wrapper() {
        let v = decode(
            br#"{"type":["list","string"],"value":["a"]}"#,
            &Type::Dynamic,
            UndefinedAttributes::Refuse,
        )
        .unwrap();
        assert_eq!(
            v,
            Value::Dynamic(
                Box::new(Type::list(Type::String)),
                Box::new(Value::List(vec!["a".into()]))
            )
        );
        assert_eq!(
            to_json(&v).unwrap(),
            serde_json::json!({"type":["list","string"],"value":["a"]})
        );
    }

    #[test]
    fn unknown_values_have_no_json_form() {
        assert!(to_json(&Value::unknown()).is_err());
    }
}
