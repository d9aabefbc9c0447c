//! Small helpers the resource modules share to read Terraform values and build diagnostics.

use tfplugin::{AttributePath, Value};

/// A known, non-null string.
pub fn opt_string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

pub fn opt_bool(v: &Value) -> Option<bool> {
    v.as_bool()
}

pub fn opt_i64(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// A path starting at a top-level attribute.
pub fn path(name: &str) -> AttributePath {
    AttributePath::root(name)
}

/// Strings of a list or set of strings (unknown or null elements skipped).
pub fn strings(v: &Value) -> Vec<String> {
    v.elements()
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// A map of strings as pairs (unknown or null values skipped).
pub fn string_map(v: &Value) -> std::collections::BTreeMap<String, String> {
    v.entries()
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `value` with every unknown (at any depth) replaced by null: what a partial state records for
/// values an interrupted apply never learned. Terraform refuses unknowns in any returned state.
pub fn without_unknowns(value: &Value) -> Value {
    match value {
        v if v.is_unknown() => Value::Null,
        Value::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(k, v)| (k.clone(), without_unknowns(v)))
                .collect(),
        ),
        Value::List(items) => Value::List(items.iter().map(without_unknowns).collect()),
        Value::Set(items) => Value::Set(items.iter().map(without_unknowns).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), without_unknowns(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
