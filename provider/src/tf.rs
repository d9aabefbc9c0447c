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
