//! The second pass over a unit: everything evaluated with its dependencies' outputs, the
//! included files merged in, and the result read into a typed [`UnitConfig`].

use super::dependency::{dependency_outputs, eval_dependency_blocks, OutputFetcher};
use super::eval::{EvalEnv, ScopeGuard, Vars};
use super::include::{deep_merge_config, shallow_merge, IncludeMerge};
use super::parse::{
    eval_body_generic, eval_body_tolerant, eval_err, invalid, string_list, ParsedFile,
};
use super::partial::{first_pass, remote_state_from, scope_for};
use super::{
    ConfigError, ExtraArguments, GenerateBlock, Hook, HookKind, PartialConfig, UnitConfig,
};
use hcl::{Map, Value};
use std::path::Path;
use std::sync::Arc;

pub(super) fn load_full_inner(
    config_file: &Path,
    env: &Arc<EvalEnv>,
    fetch: OutputFetcher<'_>,
    outputs_as_mocks: bool,
) -> Result<UnitConfig, ConfigError> {
    let fp = first_pass(config_file, env)?;
    let unit_dir = fp.partial.unit_dir.clone();

    let mut dependency_var = Map::new();
    for dep in fp.partial.dependencies.iter().filter(|d| d.enabled) {
        let outputs = if outputs_as_mocks {
            dep.mock_outputs
                .clone()
                .unwrap_or(Value::Object(Map::new()))
        } else {
            dependency_outputs(dep, &fp.child.path, &env.tf_command, fetch)
                .map_err(|m| eval_err(&fp.child, format!("dependency.{}", dep.name), m))?
        };
        let mut entry = Map::new();
        entry.insert("outputs".into(), outputs);
        entry.insert(
            "config_path".into(),
            Value::String(dep.config_path.to_string_lossy().into_owned()),
        );
        entry.insert("name".into(), Value::String(dep.name.clone()));
        if let Some(m) = &dep.mock_outputs {
            entry.insert("mock_outputs".into(), m.clone());
        }
        dependency_var.insert(dep.name.clone(), Value::Object(entry));
    }

    const SKIP: &[&str] = &["locals", "include", "dependency"];
    let mut include_var = fp.pre_include_var.clone();
    let mut parent_configs: Vec<(IncludeMerge, Map<String, Value>)> = Vec::new();
    for inc in &fp.includes {
        let _g = ScopeGuard::enter(scope_for(&unit_dir, &inc.file, &fp.scope_includes, env));
        let vars = Vars {
            local: inc.locals.clone(),
            dependency: dependency_var.clone(),
            ..Vars::default()
        };
        // A no_merge include only feeds `include.<label>`: what needs its own dependency
        // blocks (which are not edges of this unit) is left out instead of failing the unit.
        let mut cfg = if inc.spec.merge == IncludeMerge::NoMerge {
            eval_body_tolerant(&inc.file, &vars, SKIP)
        } else {
            eval_body_generic(&inc.file, &inc.file.body, &vars, SKIP, "")?
        };
        insert_dependencies(&mut cfg, &inc.file, &vars, &dependency_var)?;
        if inc.spec.expose {
            let mut exposed = cfg.clone();
            exposed.insert("locals".into(), Value::Object(inc.locals.clone()));
            include_var.insert(inc.spec.label.clone(), Value::Object(exposed));
        }
        parent_configs.push((inc.spec.merge, cfg));
    }

    let _g = ScopeGuard::enter(scope_for(&unit_dir, &fp.child, &fp.scope_includes, env));
    let vars = Vars {
        local: fp.child_locals.clone(),
        include: include_var,
        dependency: dependency_var.clone(),
        ..Vars::default()
    };
    let mut child_cfg = eval_body_generic(&fp.child, &fp.child.body, &vars, SKIP, "")?;
    insert_dependencies(&mut child_cfg, &fp.child, &vars, &dependency_var)?;

    let mut merged = Map::new();
    let mut any_deep = false;
    for (strategy, cfg) in parent_configs {
        match strategy {
            IncludeMerge::NoMerge => {}
            IncludeMerge::Shallow => merged = shallow_merge(merged, cfg),
            IncludeMerge::Deep => {
                any_deep = true;
                merged = deep_merge_config(merged, cfg);
            }
        }
    }
    merged = if any_deep {
        deep_merge_config(merged, child_cfg)
    } else {
        shallow_merge(merged, child_cfg)
    };
    merged.insert("locals".into(), Value::Object(fp.child_locals.clone()));

    unit_config_from(&fp.child, fp.partial, merged)
}

pub(super) fn unit_config_from(
    file: &ParsedFile,
    mut partial: PartialConfig,
    raw: Map<String, Value>,
) -> Result<UnitConfig, ConfigError> {
    let inputs = match raw.get("inputs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(invalid(file, format!("inputs must be a map, got {other}"))),
    };
    let terraform = raw.get("terraform").and_then(Value::as_object);
    let mut extra_arguments = Vec::new();
    if let Some(Value::Object(ea)) = terraform.and_then(|t| t.get("extra_arguments")) {
        for (name, v) in ea {
            let m = v.as_object().cloned().unwrap_or_default();
            let env_vars = m
                .get("env_vars")
                .and_then(Value::as_object)
                .map(|e| {
                    e.iter()
                        .map(|(k, v)| (k.clone(), crate::value::display_value(v)))
                        .collect()
                })
                .unwrap_or_default();
            extra_arguments.push(ExtraArguments {
                name: name.clone(),
                commands: string_list(m.get("commands")),
                arguments: string_list(m.get("arguments")),
                env_vars,
                required_var_files: string_list(m.get("required_var_files")),
                optional_var_files: string_list(m.get("optional_var_files")),
            });
        }
    }
    let mut hooks = Vec::new();
    for (key, kind) in [
        ("before_hook", HookKind::Before),
        ("after_hook", HookKind::After),
        ("error_hook", HookKind::Error),
    ] {
        if let Some(Value::Object(hs)) = terraform.and_then(|t| t.get(key)) {
            for (name, v) in hs {
                let m = v.as_object().cloned().unwrap_or_default();
                hooks.push(Hook {
                    kind,
                    name: name.clone(),
                    commands: string_list(m.get("commands")),
                    execute: string_list(m.get("execute")),
                    working_dir: m
                        .get("working_dir")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    run_on_error: matches!(m.get("run_on_error"), Some(Value::Bool(true))),
                    on_errors: string_list(m.get("on_errors")),
                    enabled: !matches!(m.get("if"), Some(Value::Bool(false))),
                });
            }
        }
    }
    if let Some(Value::String(s)) = terraform.and_then(|t| t.get("source")) {
        partial.source = Some(s.clone());
    }
    let mut generate = Vec::new();
    if let Some(Value::Object(g)) = raw.get("generate") {
        for (name, v) in g {
            let m = v.as_object().cloned().unwrap_or_default();
            let s = |k: &str, d: &str| m.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
            let b = |k: &str| matches!(m.get(k), Some(Value::Bool(true)));
            let path = s("path", "");
            if path.is_empty() {
                return Err(invalid(file, format!("generate {name:?} needs a `path`")));
            }
            let if_exists = s("if_exists", "");
            if if_exists.is_empty() {
                return Err(invalid(
                    file,
                    format!("generate {name:?} needs `if_exists` (overwrite, overwrite_terragrunt, skip or error)"),
                ));
            }
            generate.push(GenerateBlock {
                name: name.clone(),
                path,
                if_exists,
                if_disabled: s("if_disabled", "skip"),
                contents: s("contents", ""),
                comment_prefix: s("comment_prefix", "# "),
                disable_signature: b("disable_signature"),
                disable: b("disable"),
            });
        }
    }
    if let Some(v) = raw.get("remote_state") {
        partial.remote_state = Some(remote_state_from(file, v)?);
    }
    Ok(UnitConfig {
        partial,
        inputs,
        extra_arguments,
        hooks,
        terraform_binary: raw
            .get("terraform_binary")
            .and_then(Value::as_str)
            .map(str::to_string),
        generate,
        prevent_destroy: matches!(raw.get("prevent_destroy"), Some(Value::Bool(true))),
        errors: super::errors::ErrorsConfig::from_value(raw.get("errors"))
            .map_err(|m| invalid(file, m))?,
        skip: matches!(raw.get("skip"), Some(Value::Bool(true))),
        raw,
    })
}

/// Adds a file's `dependency` blocks to its evaluated configuration, each with the outputs
/// resolved for this unit.
fn insert_dependencies(
    cfg: &mut Map<String, Value>,
    file: &ParsedFile,
    vars: &Vars,
    dependency_var: &Map<String, Value>,
) -> Result<(), ConfigError> {
    let mut deps = Map::new();
    for (name, attrs) in eval_dependency_blocks(file, vars)? {
        let mut entry = attrs;
        if let Some(Value::Object(d)) = dependency_var.get(&name) {
            if let Some(o) = d.get("outputs") {
                entry.insert("outputs".into(), o.clone());
            }
        }
        deps.insert(name, Value::Object(entry));
    }
    if !deps.is_empty() {
        cfg.insert("dependency".into(), Value::Object(deps));
    }
    Ok(())
}
