//! `include` blocks: reading them, and merging an included file's configuration into the
//! child's with the `no_merge` / `shallow` / `deep` strategies (Terragrunt's `config/include.go`).

use super::eval::Vars;
use super::functions::{clean_path, deep_merge};
use super::parse::{blocks, eval_attr, invalid, string_list, ParsedFile};
use super::ConfigError;
use hcl::{Map, Value};
use std::path::PathBuf;

/// Include merge strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IncludeMerge {
    NoMerge,
    Shallow,
    Deep,
}

#[derive(Debug)]
pub(super) struct IncludeSpec {
    pub(super) label: String,
    pub(super) path: PathBuf,
    pub(super) expose: bool,
    pub(super) merge: IncludeMerge,
}

pub(super) struct IncludedFile {
    pub(super) spec: IncludeSpec,
    pub(super) file: ParsedFile,
    pub(super) locals: Map<String, Value>,
}

pub(super) fn eval_includes(file: &ParsedFile) -> Result<Vec<IncludeSpec>, ConfigError> {
    let mut out = Vec::new();
    for block in blocks(&file.body, "include") {
        let label = block
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        let what = format!("include {label:?}");
        let vars = Vars::default();
        let path = match eval_attr(file, &block.body, "path", &what, &vars)? {
            Some(Value::String(p)) => p,
            _ => return Err(invalid(file, format!("{what} needs a string `path`"))),
        };
        let path = clean_path(&file.dir.join(path));
        let expose = matches!(
            eval_attr(file, &block.body, "expose", &what, &vars)?,
            Some(Value::Bool(true))
        );
        let merge = match eval_attr(file, &block.body, "merge_strategy", &what, &vars)? {
            None => IncludeMerge::Shallow,
            Some(Value::String(s)) => match s.as_str() {
                "no_merge" => IncludeMerge::NoMerge,
                "shallow" => IncludeMerge::Shallow,
                "deep" => IncludeMerge::Deep,
                other => {
                    return Err(invalid(
                        file,
                        format!(
                            "{what}: unknown merge_strategy {other:?} (no_merge, shallow, deep)"
                        ),
                    ))
                }
            },
            Some(other) => {
                return Err(invalid(
                    file,
                    format!("{what}: merge_strategy must be a string, got {other}"),
                ))
            }
        };
        out.push(IncludeSpec {
            label,
            path,
            expose,
            merge,
        });
    }
    Ok(out)
}

/// Shallow merge of `over` onto `base`: top-level attributes of `over` win; `inputs`,
/// `dependency` and `generate` merge by key; `dependencies.paths` concatenate; in `terraform`,
/// `extra_arguments` and hooks merge by name.
pub(super) fn shallow_merge(
    mut base: Map<String, Value>,
    over: Map<String, Value>,
) -> Map<String, Value> {
    for (k, v) in over {
        let merged = match (k.as_str(), base.get(&k), v) {
            ("inputs" | "dependency" | "generate", Some(Value::Object(b)), Value::Object(o)) => {
                let mut m = b.clone();
                m.extend(o);
                Value::Object(m)
            }
            ("dependencies", Some(Value::Object(b)), Value::Object(o)) => {
                let mut m = b.clone();
                let paths: Vec<Value> = string_list(b.get("paths"))
                    .into_iter()
                    .chain(string_list(o.get("paths")))
                    .map(Value::String)
                    .collect();
                m.extend(o);
                m.insert("paths".into(), Value::Array(paths));
                Value::Object(m)
            }
            ("terraform", Some(Value::Object(b)), Value::Object(o)) => {
                let mut m = b.clone();
                for (tk, tv) in o {
                    let nv = match (tk.as_str(), m.get(&tk), tv) {
                        (
                            "extra_arguments" | "before_hook" | "after_hook" | "error_hook",
                            Some(Value::Object(x)),
                            Value::Object(y),
                        ) => {
                            let mut n = x.clone();
                            n.extend(y);
                            Value::Object(n)
                        }
                        (_, _, tv) => tv,
                    };
                    m.insert(tk, nv);
                }
                Value::Object(m)
            }
            (_, _, v) => v,
        };
        base.insert(k, merged);
    }
    base
}

/// Deep merge of `over` onto `base`; `remote_state` is replaced whole and `generate` blocks by
/// name, as Terragrunt never deep-merges those.
pub(super) fn deep_merge_config(
    mut base: Map<String, Value>,
    over: Map<String, Value>,
) -> Map<String, Value> {
    for (k, v) in over {
        let merged = match (k.as_str(), base.get(&k), v) {
            ("remote_state" | "locals", _, v) => v,
            ("generate", Some(Value::Object(b)), Value::Object(o)) => {
                let mut m = b.clone();
                m.extend(o);
                Value::Object(m)
            }
            (_, Some(b), v) => deep_merge(b, &v),
            (_, None, v) => v,
        };
        base.insert(k, merged);
    }
    base
}
