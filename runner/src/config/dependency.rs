//! `dependency` blocks: their specification, and the rules that turn a dependency's real
//! outputs and its mocks into `dependency.<name>.outputs` (Terragrunt's `config/dependency.go`).
//! The outputs themselves arrive through an [`OutputFetcher`]; this module never runs terraform.

use super::eval::Vars;
use super::functions::clean_path;
use super::parse::{blocks, eval_body_generic, invalid, ParsedFile};
use super::{ConfigError, CONFIG_FILE};
use hcl::{Body, Map, Structure, Value};
use std::path::{Path, PathBuf};

/// How mocks combine with real outputs (`mock_outputs_merge_strategy_with_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockMerge {
    NoMerge,
    Shallow,
    DeepMapOnly,
}

/// One `dependency "<name>"` block, evaluated without outputs.
#[derive(Debug, Clone)]
pub struct DependencySpec {
    pub name: String,
    /// Absolute directory of the dependency unit.
    pub config_path: PathBuf,
    pub enabled: bool,
    pub skip_outputs: bool,
    pub mock_outputs: Option<Value>,
    pub mock_allowed_commands: Option<Vec<String>>,
    pub mock_merge: MockMerge,
}

/// Labelled blocks evaluated to maps, in file order.
pub(super) type NamedBlocks = Vec<(String, Map<String, Value>)>;

/// Evaluates the attributes of each `dependency` block (not `outputs`).
pub(super) fn eval_dependency_blocks(
    file: &ParsedFile,
    vars: &Vars,
) -> Result<NamedBlocks, ConfigError> {
    let mut out = Vec::new();
    for block in blocks(&file.body, "dependency") {
        let name = block
            .labels
            .first()
            .map(|l| l.as_str().to_string())
            .ok_or_else(|| invalid(file, "a dependency block needs a name label"))?;
        // Only `config_path` must evaluate in the first pass; an attribute that needs what is
        // not known yet (e.g. mocks built from another dependency's outputs) is left out.
        let what = format!("dependency.{name}");
        let mut attrs = Map::new();
        for structure in block.body.iter() {
            let single = Body::from(vec![structure.clone()]);
            match eval_body_generic(file, &single, vars, &[], &what) {
                Ok(m) => attrs.extend(m),
                Err(e) => {
                    let is_path = matches!(structure, Structure::Attribute(a) if a.key.as_str() == "config_path");
                    if is_path {
                        return Err(e);
                    }
                }
            }
        }
        out.push((name, attrs));
    }
    Ok(out)
}

pub(super) fn dependency_spec(
    file: &ParsedFile,
    unit_dir: &Path,
    name: &str,
    attrs: &Map<String, Value>,
) -> Result<DependencySpec, ConfigError> {
    let raw_path = match attrs.get("config_path") {
        Some(Value::String(p)) => p.clone(),
        _ => {
            return Err(invalid(
                file,
                format!("dependency {name:?} needs a string `config_path`"),
            ))
        }
    };
    let mut config_path = clean_path(&unit_dir.join(&raw_path));
    if config_path
        .extension()
        .is_some_and(|e| e == "hcl" || e == "json")
    {
        config_path = config_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
    }
    let bool_attr = |k: &str, default: bool| match attrs.get(k) {
        Some(Value::Bool(b)) => *b,
        _ => default,
    };
    let mock_allowed_commands = match attrs.get("mock_outputs_allowed_terraform_commands") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        Some(other) => {
            return Err(invalid(
                file,
                format!("dependency {name:?}: mock_outputs_allowed_terraform_commands must be a list, got {other}"),
            ))
        }
    };
    let mock_merge = match attrs.get("mock_outputs_merge_strategy_with_state") {
        Some(Value::String(s)) => match s.as_str() {
            "no_merge" => MockMerge::NoMerge,
            "shallow" => MockMerge::Shallow,
            "deep_map_only" => MockMerge::DeepMapOnly,
            other => {
                return Err(invalid(
                    file,
                    format!(
                    "dependency {name:?}: unknown mock_outputs_merge_strategy_with_state {other:?}"
                ),
                ))
            }
        },
        _ if bool_attr("mock_outputs_merge_with_state", false) => MockMerge::Shallow,
        _ => MockMerge::NoMerge,
    };
    Ok(DependencySpec {
        name: name.to_string(),
        config_path,
        enabled: bool_attr("enabled", true),
        skip_outputs: bool_attr("skip_outputs", false),
        mock_outputs: attrs.get("mock_outputs").filter(|v| !v.is_null()).cloned(),
        mock_allowed_commands,
        mock_merge,
    })
}

/// Whether mocks may stand in for outputs under `command`: mocks are set and the allowed list is
/// missing, empty, or names the command (Terragrunt's rule, empty list included).
pub fn mocks_allowed(spec: &DependencySpec, command: &str) -> bool {
    spec.mock_outputs.is_some()
        && match &spec.mock_allowed_commands {
            None => true,
            Some(list) if list.is_empty() => true,
            Some(list) => list.iter().any(|c| c == command),
        }
}

/// The `dependency.<name>.outputs` value for a dependency: applies `skip_outputs`, the mock rules
/// and the merge strategy to what `fetch` returns (the dependency's outputs; empty when it has
/// none, i.e. was never applied).
pub fn dependency_outputs(
    spec: &DependencySpec,
    unit_config: &Path,
    command: &str,
    fetch: OutputFetcher<'_>,
) -> Result<Value, String> {
    let mocks = || {
        spec.mock_outputs
            .clone()
            .unwrap_or(Value::Object(Map::new()))
    };
    if spec.skip_outputs {
        return Ok(mocks());
    }
    let fetched = fetch(spec).map_err(|e| {
        format!(
            "resolving dependency {:?} outputs from {}: {e}",
            spec.name,
            spec.config_path.display()
        )
    })?;
    let allowed = mocks_allowed(spec, command);
    if fetched.is_empty() {
        if allowed {
            return Ok(mocks());
        }
        return Err(format!(
            "{}/{CONFIG_FILE} is a dependency of {} but detected no outputs. Either the target \
             module has not been applied yet, or the module has no outputs. If this is expected, \
             set `skip_outputs = true` on dependency {:?}, or give it `mock_outputs` (allowed for \
             {command:?}), or use a `dependencies` block if you only need ordering.",
            spec.config_path.display(),
            unit_config.display(),
            spec.name
        ));
    }
    let state = Value::Object(fetched);
    if !allowed {
        return Ok(state);
    }
    Ok(match spec.mock_merge {
        MockMerge::NoMerge => state,
        MockMerge::Shallow => {
            let mut merged = match mocks() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if let Value::Object(s) = state {
                for (k, v) in s {
                    merged.insert(k, v);
                }
            }
            Value::Object(merged)
        }
        MockMerge::DeepMapOnly => deep_merge_maps_only(&mocks(), &state),
    })
}

pub(super) fn deep_merge_maps_only(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = match out.get(k) {
                    Some(existing) => deep_merge_maps_only(existing, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (_, o) => o.clone(),
    }
}

/// How to obtain a dependency's outputs during a full load.
pub type OutputFetcher<'a> = &'a dyn Fn(&DependencySpec) -> Result<Map<String, Value>, String>;

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mocks: Option<Value>, allowed: Option<Vec<&str>>, merge: MockMerge) -> DependencySpec {
        DependencySpec {
            name: "vpc".into(),
            config_path: PathBuf::from("/iac/vpc"),
            enabled: true,
            skip_outputs: false,
            mock_outputs: mocks,
            mock_allowed_commands: allowed.map(|a| a.into_iter().map(String::from).collect()),
            mock_merge: merge,
        }
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn state(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn mock_rules_follow_terragrunt_including_the_empty_allowed_list() {
        let mocks = Some(obj(&[("id", Value::from("mock"))]));
        assert!(mocks_allowed(
            &spec(mocks.clone(), None, MockMerge::NoMerge),
            "apply"
        ));
        assert!(mocks_allowed(
            &spec(mocks.clone(), Some(vec![]), MockMerge::NoMerge),
            "apply"
        ));
        assert!(mocks_allowed(
            &spec(mocks.clone(), Some(vec!["plan"]), MockMerge::NoMerge),
            "plan"
        ));
        assert!(!mocks_allowed(
            &spec(mocks, Some(vec!["plan"]), MockMerge::NoMerge),
            "apply"
        ));
        assert!(!mocks_allowed(
            &spec(None, None, MockMerge::NoMerge),
            "plan"
        ));
    }

    #[test]
    fn merge_strategies_combine_mocks_with_real_outputs() {
        let mocks = obj(&[
            ("a", Value::from("mock-a")),
            ("m", obj(&[("x", Value::from(1)), ("y", Value::from(2))])),
        ]);
        let real = state(&[("m", obj(&[("x", Value::from(10))]))]);
        let fetch = |_: &DependencySpec| Ok(real.clone());
        let cfg = Path::new("/iac/app/terragrunt.hcl");
        let run = |merge| {
            dependency_outputs(&spec(Some(mocks.clone()), None, merge), cfg, "plan", &fetch)
                .expect("outputs")
        };
        assert_eq!(
            run(MockMerge::NoMerge),
            obj(&[("m", obj(&[("x", Value::from(10))]))])
        );
        assert_eq!(
            run(MockMerge::Shallow),
            obj(&[
                ("a", Value::from("mock-a")),
                ("m", obj(&[("x", Value::from(10))]))
            ])
        );
        assert_eq!(
            run(MockMerge::DeepMapOnly),
            obj(&[
                ("a", Value::from("mock-a")),
                ("m", obj(&[("x", Value::from(10)), ("y", Value::from(2))]))
            ])
        );
    }
}
