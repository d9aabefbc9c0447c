//! Reading one HCL file and evaluating its bodies: attributes, labelled blocks and `locals`
//! (Terragrunt's `config/parsing` seam). Knows nothing of includes or dependencies.

use super::eval::{eval_expr, Vars};
use super::ConfigError;
use hcl::{Block, Body, Map, Structure, Value};
use std::path::{Path, PathBuf};

pub(super) struct ParsedFile {
    pub(super) path: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) body: Body,
}

pub(super) fn parse_file(path: &Path) -> Result<ParsedFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let body = hcl::parse(&text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(ParsedFile {
        path: path.to_path_buf(),
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        body,
    })
}

pub(super) fn blocks<'a>(body: &'a Body, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks()
        .filter(move |b| b.identifier.as_str() == ident)
}

pub(super) fn eval_err(file: &ParsedFile, what: impl Into<String>, message: String) -> ConfigError {
    ConfigError::Eval {
        path: file.path.clone(),
        what: what.into(),
        message,
    }
}

pub(super) fn invalid(file: &ParsedFile, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: file.path.clone(),
        message: message.into(),
    }
}

pub(super) fn eval_attr(
    file: &ParsedFile,
    body: &Body,
    name: &str,
    what: &str,
    vars: &Vars,
) -> Result<Option<Value>, ConfigError> {
    match body.attributes().find(|a| a.key.as_str() == name) {
        None => Ok(None),
        Some(attr) => eval_expr(&attr.expr, vars)
            .map(Some)
            .map_err(|m| eval_err(file, format!("{what}.{name}"), m)),
    }
}

/// Evaluates `locals` in dependency order: repeats until every local evaluates or a round makes
/// no progress (then reports the first failure).
pub(super) fn eval_locals(
    file: &ParsedFile,
    base: &Vars,
) -> Result<Map<String, Value>, ConfigError> {
    let mut pending: Vec<(String, hcl::Expression)> = blocks(&file.body, "locals")
        .flat_map(|b| b.body.attributes())
        .map(|a| (a.key.to_string(), a.expr.clone()))
        .collect();
    let mut vars = base.clone();
    vars.local = Map::new();
    while !pending.is_empty() {
        let mut progressed = false;
        let mut still = Vec::new();
        let mut first_error = None;
        for (name, expr) in pending {
            match eval_expr(&expr, &vars) {
                Ok(v) => {
                    vars.local.insert(name, v);
                    progressed = true;
                }
                Err(e) => {
                    if first_error.is_none() {
                        first_error = Some((name.clone(), e));
                    }
                    still.push((name, expr));
                }
            }
        }
        if !progressed {
            let (name, e) = first_error.unwrap_or_default();
            return Err(eval_err(file, format!("local.{name}"), e));
        }
        pending = still;
    }
    Ok(vars.local)
}

/// Evaluates a body into a map: attributes by name; blocks by identifier, then by each label.
pub(super) fn eval_body_generic(
    file: &ParsedFile,
    body: &Body,
    vars: &Vars,
    skip: &[&str],
    what: &str,
) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str();
                if skip.contains(&key) {
                    continue;
                }
                let v = eval_expr(&attr.expr, vars)
                    .map_err(|m| eval_err(file, join_what(what, key), m))?;
                out.insert(key.to_string(), v);
            }
            Structure::Block(block) => {
                let ident = block.identifier.as_str();
                if skip.contains(&ident) {
                    continue;
                }
                let labels: Vec<String> = block
                    .labels
                    .iter()
                    .map(|l| l.as_str().to_string())
                    .collect();
                let inner_what = std::iter::once(join_what(what, ident))
                    .chain(labels.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(".");
                let inner = Value::Object(eval_body_generic(
                    file,
                    &block.body,
                    vars,
                    &[],
                    &inner_what,
                )?);
                insert_labelled(&mut out, ident, &labels, inner);
            }
        }
    }
    Ok(out)
}

/// Like [`eval_body_generic`] on the top level, skipping the entries that do not evaluate.
pub(super) fn eval_body_tolerant(
    file: &ParsedFile,
    vars: &Vars,
    skip: &[&str],
) -> Map<String, Value> {
    let mut out = Map::new();
    for structure in file.body.iter() {
        let single = Body::from(vec![structure.clone()]);
        if let Ok(m) = eval_body_generic(file, &single, vars, skip, "") {
            for (k, v) in m {
                let merged = match (out.get(&k), v) {
                    (Some(Value::Object(a)), Value::Object(b)) => {
                        let mut a = a.clone();
                        a.extend(b);
                        Value::Object(a)
                    }
                    (_, v) => v,
                };
                out.insert(k, merged);
            }
        }
    }
    out
}

pub(super) fn join_what(what: &str, key: &str) -> String {
    if what.is_empty() {
        key.to_string()
    } else {
        format!("{what}.{key}")
    }
}

pub(super) fn insert_labelled(
    out: &mut Map<String, Value>,
    ident: &str,
    labels: &[String],
    value: Value,
) {
    if labels.is_empty() {
        out.insert(ident.to_string(), value);
        return;
    }
    let mut slot = out
        .entry(ident.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    for (i, label) in labels.iter().enumerate() {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Some(map) = slot.as_object_mut() else {
            return;
        };
        if i + 1 == labels.len() {
            map.insert(label.clone(), value);
            return;
        }
        slot = map
            .entry(label.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

pub(super) fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().map(crate::value::display_value).collect(),
        _ => Vec::new(),
    }
}
