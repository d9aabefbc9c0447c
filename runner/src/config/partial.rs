//! The first pass over a unit: includes, `locals`, `dependency` blocks without outputs,
//! `dependencies`, `terraform.source`, `remote_state` and `exclude` (Terragrunt's
//! `config/config_partial.go`), enough to build the graph.

use super::dependency::{dependency_spec, eval_dependency_blocks};
use super::eval::{eval_expr, EvalEnv, Scope, ScopeGuard, Vars};
use super::functions::clean_path;
use super::include::{eval_includes, IncludeMerge, IncludedFile};
use super::parse::{
    blocks, eval_attr, eval_body_generic, eval_locals, invalid, parse_file, string_list, ParsedFile,
};
use super::{ConfigError, ExcludeRule, PartialConfig, RemoteState, CONFIG_FILE};
use hcl::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(super) struct FirstPass {
    pub(super) child: ParsedFile,
    pub(super) includes: Vec<IncludedFile>,
    pub(super) scope_includes: Vec<(String, PathBuf)>,
    pub(super) child_locals: Map<String, Value>,
    pub(super) pre_include_var: Map<String, Value>,
    pub(super) partial: PartialConfig,
}

pub(super) fn scope_for(
    unit_dir: &Path,
    file: &ParsedFile,
    includes: &[(String, PathBuf)],
    env: &Arc<EvalEnv>,
) -> Scope {
    Scope {
        terragrunt_dir: unit_dir.to_path_buf(),
        file_dir: file.dir.clone(),
        includes: includes.to_vec(),
        env: env.clone(),
    }
}

pub(super) fn first_pass(config_file: &Path, env: &Arc<EvalEnv>) -> Result<FirstPass, ConfigError> {
    let config_file = clean_path(config_file);
    let unit_dir = config_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let child = parse_file(&config_file)?;
    let include_specs = {
        let _g = ScopeGuard::enter(scope_for(&unit_dir, &child, &[], env));
        eval_includes(&child)?
    };
    let scope_includes: Vec<(String, PathBuf)> = include_specs
        .iter()
        .map(|i| (i.label.clone(), i.path.clone()))
        .collect();

    let mut includes = Vec::new();
    let mut pre_include_var = Map::new();
    for spec in include_specs {
        let file = parse_file(&spec.path).map_err(|e| match e {
            ConfigError::Read { source, .. } => invalid(
                &child,
                format!(
                    "include {:?}: cannot read {}: {source}",
                    spec.label,
                    spec.path.display()
                ),
            ),
            other => other,
        })?;
        if blocks(&file.body, "include").next().is_some() {
            return Err(invalid(
                &file,
                format!(
                    "is included by {} and has include blocks itself; only one level of includes \
                     is allowed",
                    config_file.display()
                ),
            ));
        }
        let _g = ScopeGuard::enter(scope_for(&unit_dir, &file, &scope_includes, env));
        let locals = eval_locals(&file, &Vars::default())?;
        if spec.expose {
            let mut exposed = Map::new();
            let vars = Vars {
                local: locals.clone(),
                ..Vars::default()
            };
            // What evaluates without dependency outputs is visible to the child's locals.
            for attr in file.body.attributes() {
                if let Ok(v) = eval_expr(&attr.expr, &vars) {
                    exposed.insert(attr.key.to_string(), v);
                }
            }
            exposed.insert("locals".into(), Value::Object(locals.clone()));
            pre_include_var.insert(spec.label.clone(), Value::Object(exposed));
        }
        includes.push(IncludedFile { spec, file, locals });
    }

    let _g = ScopeGuard::enter(scope_for(&unit_dir, &child, &scope_includes, env));
    let child_vars = Vars {
        include: pre_include_var.clone(),
        ..Vars::default()
    };
    let child_locals = eval_locals(&child, &child_vars)?;
    let child_vars = Vars {
        local: child_locals.clone(),
        ..child_vars
    };

    // Dependency blocks and `dependencies` paths: included files first, the child overrides.
    let mut dep_blocks: Vec<(String, Map<String, Value>, bool)> = Vec::new();
    let mut dependency_paths = Vec::new();
    let mut source = None;
    let mut remote_state_value: Option<Value> = None;
    for inc in includes
        .iter()
        .filter(|i| i.spec.merge != IncludeMerge::NoMerge)
    {
        let _g = ScopeGuard::enter(scope_for(&unit_dir, &inc.file, &scope_includes, env));
        let vars = Vars {
            local: inc.locals.clone(),
            ..Vars::default()
        };
        for (name, attrs) in eval_dependency_blocks(&inc.file, &vars)? {
            dep_blocks.retain(|(n, _, _)| *n != name);
            dep_blocks.push((name, attrs, false));
        }
        collect_first_pass_extras(
            &inc.file,
            &vars,
            &unit_dir,
            &mut dependency_paths,
            &mut source,
            &mut remote_state_value,
        )?;
    }
    for (name, attrs) in eval_dependency_blocks(&child, &child_vars)? {
        dep_blocks.retain(|(n, _, _)| *n != name);
        dep_blocks.push((name, attrs, true));
    }
    collect_first_pass_extras(
        &child,
        &child_vars,
        &unit_dir,
        &mut dependency_paths,
        &mut source,
        &mut remote_state_value,
    )?;

    let mut dependencies = Vec::new();
    for (name, attrs, _) in &dep_blocks {
        dependencies.push(dependency_spec(&child, &unit_dir, name, attrs)?);
    }
    for dep in dependencies.iter().filter(|d| d.enabled) {
        if !dep.config_path.join(CONFIG_FILE).is_file() {
            return Err(invalid(
                &child,
                format!(
                    "dependency {:?} points to {}, which has no {CONFIG_FILE}; fix config_path or \
                     create the unit",
                    dep.name,
                    dep.config_path.display()
                ),
            ));
        }
    }
    for path in &dependency_paths {
        if !path.join(CONFIG_FILE).is_file() {
            return Err(invalid(
                &child,
                format!(
                    "dependencies.paths names {}, which has no {CONFIG_FILE}; fix the path or \
                     create the unit",
                    path.display()
                ),
            ));
        }
    }
    let exclude = match blocks(&child.body, "exclude").next() {
        None => None,
        Some(b) => {
            let m = eval_body_generic(&child, &b.body, &child_vars, &[], "exclude")?;
            Some(ExcludeRule {
                when: matches!(m.get("if"), Some(Value::Bool(true))),
                actions: string_list(m.get("actions")),
            })
        }
    };
    let remote_state = match &remote_state_value {
        Some(v) => Some(remote_state_from(&child, v)?),
        None => None,
    };
    Ok(FirstPass {
        partial: PartialConfig {
            unit_dir,
            dependencies,
            dependency_paths,
            source,
            remote_state,
            included_files: scope_includes.iter().map(|(_, p)| p.clone()).collect(),
            exclude,
        },
        child,
        includes,
        scope_includes,
        child_locals,
        pre_include_var,
    })
}

/// `dependencies.paths`, `terraform.source` and `remote_state` as far as they evaluate without
/// dependency outputs (later files override earlier ones, paths accumulate).
pub(super) fn collect_first_pass_extras(
    file: &ParsedFile,
    vars: &Vars,
    unit_dir: &Path,
    dependency_paths: &mut Vec<PathBuf>,
    source: &mut Option<String>,
    remote_state: &mut Option<Value>,
) -> Result<(), ConfigError> {
    for block in blocks(&file.body, "dependencies") {
        if let Some(v) = eval_attr(file, &block.body, "paths", "dependencies", vars)? {
            for p in string_list(Some(&v)) {
                let dir = clean_path(&unit_dir.join(p));
                if !dependency_paths.contains(&dir) {
                    dependency_paths.push(dir);
                }
            }
        }
    }
    for block in blocks(&file.body, "terraform") {
        if let Ok(Some(Value::String(s))) =
            eval_attr(file, &block.body, "source", "terraform", vars)
        {
            *source = Some(s);
        }
    }
    for block in blocks(&file.body, "remote_state") {
        if let Ok(m) = eval_body_generic(file, &block.body, vars, &[], "remote_state") {
            *remote_state = Some(Value::Object(m));
        }
    }
    if let Some(attr) = file
        .body
        .attributes()
        .find(|a| a.key.as_str() == "remote_state")
    {
        if let Ok(v) = eval_expr(&attr.expr, vars) {
            *remote_state = Some(v);
        }
    }
    Ok(())
}

pub(super) fn remote_state_from(file: &ParsedFile, v: &Value) -> Result<RemoteState, ConfigError> {
    let m = v
        .as_object()
        .ok_or_else(|| invalid(file, "remote_state must be a block or an object"))?;
    let backend = m
        .get("backend")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(file, "remote_state needs a string `backend`"))?
        .to_string();
    let config = m
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let generate = match m.get("generate") {
        Some(Value::Object(g)) => Some((
            g.get("path")
                .and_then(Value::as_str)
                .unwrap_or("backend.tf")
                .to_string(),
            g.get("if_exists")
                .and_then(Value::as_str)
                .unwrap_or("overwrite_terragrunt")
                .to_string(),
        )),
        _ => None,
    };
    Ok(RemoteState {
        backend,
        config,
        generate,
        disable_init: matches!(m.get("disable_init"), Some(Value::Bool(true))),
    })
}
