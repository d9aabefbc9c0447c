//! pve-sim's own parameter table must agree with Proxmox's schema: names, types, formats,
//! ranges, lengths, enums, required-ness and `requires`, for every method of every path in
//! `../shared/reference/pve-api-schema.json` (relative to the workspace root), when that file
//! exists. Without the file the test compares nothing and says so loudly.

use std::collections::BTreeSet;
use std::path::PathBuf;

use pve_sim::schema::{api_schema, Format, MethodSchema, ParamSpec};
use serde_json::Value;

/// Parameters the table has but the trimmed reference file lacks: its trimming dropped every
/// key named `description`, including the `description` parameters.
const TRIMMED_FROM_REFERENCE: &[&str] = &["description"];

fn reference_path() -> PathBuf {
    // acceptance/pve-sim/ -> the repository -> the folder holding it and `shared/`.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .join("shared/reference/pve-api-schema.json")
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn flag(v: &Value) -> bool {
    v.as_u64() == Some(1) || v.as_bool() == Some(true)
}

fn compare_param(where_: &str, ours: &ParamSpec, theirs: &Value, problems: &mut Vec<String>) {
    let mut diff = |what: &str, a: String, b: String| {
        if a != b {
            problems.push(format!("{where_}: {what}: ours {a}, schema {b}"));
        }
    };
    diff(
        "type",
        ours.ty.as_str().to_string(),
        theirs["type"].as_str().unwrap_or("").to_string(),
    );
    diff(
        "optional",
        ours.optional.to_string(),
        flag(&theirs["optional"]).to_string(),
    );
    diff(
        "minimum",
        format!("{:?}", ours.minimum),
        format!("{:?}", number(&theirs["minimum"])),
    );
    diff(
        "maximum",
        format!("{:?}", ours.maximum),
        format!("{:?}", number(&theirs["maximum"])),
    );
    diff(
        "maxLength",
        format!("{:?}", ours.max_length),
        format!("{:?}", theirs["maxLength"].as_u64().map(|v| v as usize)),
    );
    diff(
        "minLength",
        format!("{:?}", ours.min_length),
        format!("{:?}", theirs["minLength"].as_u64().map(|v| v as usize)),
    );
    let their_enum: Option<Vec<String>> = theirs["enum"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    let our_enum: Option<Vec<String>> = ours
        .enumeration
        .as_ref()
        .map(|e| e.iter().map(|s| s.to_string()).collect());
    diff("enum", format!("{our_enum:?}"), format!("{their_enum:?}"));
    diff(
        "requires",
        format!("{:?}", ours.requires),
        format!("{:?}", theirs["requires"].as_str()),
    );
    diff(
        "default_key",
        ours.default_key.to_string(),
        flag(&theirs["default_key"]).to_string(),
    );
    match (&ours.format, &theirs["format"]) {
        (None, Value::Null) => {}
        (Some(Format::Named(name)), Value::String(theirs)) => {
            diff("format", name.to_string(), theirs.clone());
        }
        (Some(Format::PropertyString(keys)), Value::Object(sub)) => {
            let ours_names: BTreeSet<&str> = keys.iter().map(|k| k.name).collect();
            let their_names: BTreeSet<&str> = sub.keys().map(String::as_str).collect();
            diff(
                "property keys",
                format!("{ours_names:?}"),
                format!("{their_names:?}"),
            );
            for key in keys {
                if let Some(t) = sub.get(key.name) {
                    compare_param(&format!("{where_}.{}", key.name), key, t, problems);
                }
            }
        }
        (ours, theirs) => {
            problems.push(format!("{where_}: format: ours {ours:?}, schema {theirs}"))
        }
    }
}

fn compare_method(
    ours: &MethodSchema,
    theirs: &Value,
    problems: &mut Vec<String>,
    trimmed: &mut Vec<String>,
) {
    let where_ = format!("{} {}", ours.method, ours.path);
    let allow_token = theirs["allowtoken"].as_u64() != Some(0);
    if allow_token != ours.allow_token {
        problems.push(format!(
            "{where_}: allowtoken: ours {}, schema {allow_token}",
            ours.allow_token
        ));
    }
    let empty = serde_json::Map::new();
    let props = theirs["parameters"]["properties"]
        .as_object()
        .unwrap_or(&empty);
    for (name, spec) in props {
        match ours.params.iter().find(|p| p.name == name) {
            Some(p) => compare_param(&format!("{where_} {name}"), p, spec, problems),
            None => problems.push(format!(
                "{where_}: parameter {name} is missing from pve-sim's table"
            )),
        }
    }
    for p in &ours.params {
        if !props.contains_key(p.name) {
            if TRIMMED_FROM_REFERENCE.contains(&p.name) {
                trimmed.push(format!("{where_} {}", p.name));
            } else {
                problems.push(format!(
                    "{where_}: parameter {} is not in Proxmox's schema",
                    p.name
                ));
            }
        }
    }
}

#[test]
fn parameter_table_matches_proxmox_schema_reference() {
    let path = reference_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "\n!!! COMPARED NOTHING: the Proxmox schema reference {} does not exist here, so pve-sim's \
             parameter table was NOT checked against it. !!!\n",
            path.display()
        );
        return;
    };
    let reference: Value = serde_json::from_str(&text).expect("the schema reference is JSON");
    let paths = reference["paths"].as_object().expect("a paths object");
    let mut problems = Vec::new();
    let mut trimmed = Vec::new();
    let mut compared = 0;
    for (path_pattern, methods) in paths {
        for (method, spec) in methods.as_object().expect("methods object") {
            match api_schema()
                .iter()
                .find(|m| m.method == method && m.path == path_pattern)
            {
                Some(ours) => {
                    compare_method(ours, spec, &mut problems, &mut trimmed);
                    compared += 1;
                }
                None => problems.push(format!(
                    "{method} {path_pattern} is missing from pve-sim's table"
                )),
            }
        }
    }
    for ours in api_schema() {
        let known = paths
            .get(ours.path)
            .and_then(|m| m.get(ours.method))
            .is_some();
        if !known {
            problems.push(format!(
                "{} {} is in pve-sim's table but not in the reference",
                ours.method, ours.path
            ));
        }
    }
    eprintln!(
        "compared {compared} methods against {}; parameters the reference lacks because its trimming \
         removed them: {trimmed:?}",
        path.display()
    );
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(compared >= 40, "only {compared} methods compared");
}
