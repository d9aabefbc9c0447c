//! Reading `terragrunt.hcl` files the way Terragrunt does.
//!
//! Two passes: [`load_partial`] evaluates only what the graph needs (`include`, `locals`,
//! `dependency` blocks without outputs, `dependencies`, `terraform.source`, `remote_state`), for
//! every unit up front; [`load_full`] evaluates a unit completely when its turn comes, with the
//! outputs of its dependencies supplied by the caller. Included files are merged with the
//! `no_merge` / `shallow` / `deep` strategies and exposed as `include.<label>`.
//!
//! This module knows the configuration language, not how terraform is run or where outputs come
//! from: dependency outputs arrive through a callback.

pub mod eval;
pub mod functions;

use eval::{eval_expr, EvalEnv, Scope, ScopeGuard, Vars};
use functions::{clean_path, deep_merge};
use hcl::{Block, Body, Map, Structure, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file name that makes a directory a unit.
pub const CONFIG_FILE: &str = "terragrunt.hcl";

/// What went wrong while reading a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: HCL syntax error: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: cannot evaluate {what}: {message}", path.display())]
    Eval {
        path: PathBuf,
        what: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

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

/// `remote_state { backend, config, generate }`.
#[derive(Debug, Clone)]
pub struct RemoteState {
    pub backend: String,
    pub config: Map<String, Value>,
    /// `(path, if_exists)` when the backend block is generated.
    pub generate: Option<(String, String)>,
    pub disable_init: bool,
}

/// `terraform { extra_arguments "<name>" { ... } }`.
#[derive(Debug, Clone, Default)]
pub struct ExtraArguments {
    pub name: String,
    pub commands: Vec<String>,
    pub arguments: Vec<String>,
    pub env_vars: Vec<(String, String)>,
    pub required_var_files: Vec<String>,
    pub optional_var_files: Vec<String>,
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Before,
    After,
    Error,
}

/// `terraform { before_hook | after_hook | error_hook "<name>" { ... } }`.
#[derive(Debug, Clone)]
pub struct Hook {
    pub kind: HookKind,
    pub name: String,
    pub commands: Vec<String>,
    /// Program and arguments.
    pub execute: Vec<String>,
    pub working_dir: Option<String>,
    pub run_on_error: bool,
    /// Regular expressions matched against the failed command's output (error hooks).
    pub on_errors: Vec<String>,
    /// `if = false` disables the hook.
    pub enabled: bool,
}

/// `generate "<name>" { ... }`.
#[derive(Debug, Clone)]
pub struct GenerateBlock {
    pub name: String,
    pub path: String,
    pub if_exists: String,
    pub if_disabled: String,
    pub contents: String,
    pub comment_prefix: String,
    pub disable_signature: bool,
    pub disable: bool,
}

/// What the first pass learns about a unit: enough to build the graph and to find its state.
#[derive(Debug, Clone)]
pub struct PartialConfig {
    pub unit_dir: PathBuf,
    pub dependencies: Vec<DependencySpec>,
    /// Absolute directories from `dependencies { paths }`.
    pub dependency_paths: Vec<PathBuf>,
    pub source: Option<String>,
    pub remote_state: Option<RemoteState>,
    /// Absolute paths of the files this unit includes.
    pub included_files: Vec<PathBuf>,
    /// The unit's `exclude` block, if any.
    pub exclude: Option<ExcludeRule>,
}

/// `exclude { if = ..., actions = [...] }`: leaves the unit out of runs of those commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludeRule {
    pub when: bool,
    pub actions: Vec<String>,
}

impl ExcludeRule {
    /// Whether the unit is left out of a run of `command`.
    pub fn excludes(&self, command: &str) -> bool {
        self.when
            && self.actions.iter().any(|a| {
                a == "all" || a == command || (a == "all_except_output" && command != "output")
            })
    }
}

impl PartialConfig {
    /// Every unit this one must run after, from both `dependency` and `dependencies`, sorted.
    pub fn all_dependency_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .dependencies
            .iter()
            .filter(|d| d.enabled)
            .map(|d| d.config_path.clone())
            .chain(self.dependency_paths.iter().cloned())
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }
}

/// A unit's complete, merged configuration.
#[derive(Debug, Clone)]
pub struct UnitConfig {
    pub partial: PartialConfig,
    pub inputs: Map<String, Value>,
    pub extra_arguments: Vec<ExtraArguments>,
    pub hooks: Vec<Hook>,
    pub terraform_binary: Option<String>,
    pub generate: Vec<GenerateBlock>,
    pub prevent_destroy: bool,
    pub skip: bool,
    /// The whole merged configuration, as `read_terragrunt_config` would return it.
    pub raw: Map<String, Value>,
}

/// Include merge strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncludeMerge {
    NoMerge,
    Shallow,
    Deep,
}

#[derive(Debug)]
struct IncludeSpec {
    label: String,
    path: PathBuf,
    expose: bool,
    merge: IncludeMerge,
}

struct ParsedFile {
    path: PathBuf,
    dir: PathBuf,
    body: Body,
}

fn parse_file(path: &Path) -> Result<ParsedFile, ConfigError> {
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

fn blocks<'a>(body: &'a Body, ident: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks()
        .filter(move |b| b.identifier.as_str() == ident)
}

fn eval_err(file: &ParsedFile, what: impl Into<String>, message: String) -> ConfigError {
    ConfigError::Eval {
        path: file.path.clone(),
        what: what.into(),
        message,
    }
}

fn invalid(file: &ParsedFile, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: file.path.clone(),
        message: message.into(),
    }
}

fn eval_attr(
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

fn eval_includes(file: &ParsedFile) -> Result<Vec<IncludeSpec>, ConfigError> {
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

/// Evaluates `locals` in dependency order: repeats until every local evaluates or a round makes
/// no progress (then reports the first failure).
fn eval_locals(file: &ParsedFile, base: &Vars) -> Result<Map<String, Value>, ConfigError> {
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
fn eval_body_generic(
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
fn eval_body_tolerant(file: &ParsedFile, vars: &Vars, skip: &[&str]) -> Map<String, Value> {
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

fn join_what(what: &str, key: &str) -> String {
    if what.is_empty() {
        key.to_string()
    } else {
        format!("{what}.{key}")
    }
}

fn insert_labelled(out: &mut Map<String, Value>, ident: &str, labels: &[String], value: Value) {
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

/// Labelled blocks evaluated to maps, in file order.
type NamedBlocks = Vec<(String, Map<String, Value>)>;

/// Evaluates the attributes of each `dependency` block (not `outputs`).
fn eval_dependency_blocks(file: &ParsedFile, vars: &Vars) -> Result<NamedBlocks, ConfigError> {
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

fn dependency_spec(
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

fn deep_merge_maps_only(base: &Value, over: &Value) -> Value {
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

struct IncludedFile {
    spec: IncludeSpec,
    file: ParsedFile,
    locals: Map<String, Value>,
}

struct FirstPass {
    child: ParsedFile,
    includes: Vec<IncludedFile>,
    scope_includes: Vec<(String, PathBuf)>,
    child_locals: Map<String, Value>,
    pre_include_var: Map<String, Value>,
    partial: PartialConfig,
}

fn scope_for(
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

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().map(crate::value::display_value).collect(),
        _ => Vec::new(),
    }
}

fn first_pass(config_file: &Path, env: &Arc<EvalEnv>) -> Result<FirstPass, ConfigError> {
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
fn collect_first_pass_extras(
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

fn remote_state_from(file: &ParsedFile, v: &Value) -> Result<RemoteState, ConfigError> {
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

/// First pass over the unit whose configuration is `config_file`.
pub fn load_partial(config_file: &Path, env: &Arc<EvalEnv>) -> Result<PartialConfig, ConfigError> {
    Ok(first_pass(config_file, env)?.partial)
}

/// Complete evaluation of a unit. `fetch` supplies each enabled, non-skipped dependency's
/// outputs; mock rules are applied here.
pub fn load_full(
    config_file: &Path,
    env: &Arc<EvalEnv>,
    fetch: OutputFetcher<'_>,
) -> Result<UnitConfig, ConfigError> {
    load_full_inner(config_file, env, fetch, false)
}

fn load_full_inner(
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
        let mut deps = Map::new();
        for (name, attrs) in eval_dependency_blocks(&inc.file, &vars)? {
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
    let mut deps = Map::new();
    for (name, attrs) in eval_dependency_blocks(&fp.child, &vars)? {
        let mut entry = attrs;
        if let Some(Value::Object(d)) = dependency_var.get(&name) {
            if let Some(o) = d.get("outputs") {
                entry.insert("outputs".into(), o.clone());
            }
        }
        deps.insert(name, Value::Object(entry));
    }
    if !deps.is_empty() {
        child_cfg.insert("dependency".into(), Value::Object(deps));
    }

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

/// Shallow merge of `over` onto `base`: top-level attributes of `over` win; `inputs`,
/// `dependency` and `generate` merge by key; `dependencies.paths` concatenate; in `terraform`,
/// `extra_arguments` and hooks merge by name.
fn shallow_merge(mut base: Map<String, Value>, over: Map<String, Value>) -> Map<String, Value> {
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
fn deep_merge_config(mut base: Map<String, Value>, over: Map<String, Value>) -> Map<String, Value> {
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

fn unit_config_from(
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
        skip: matches!(raw.get("skip"), Some(Value::Bool(true))),
        raw,
    })
}

/// `read_terragrunt_config(path)`: the whole configuration of another file as a map. Its
/// dependencies are not fetched: they read as their mocks, or as empty outputs.
pub fn read_config_as_value(path: &Path, env: &Arc<EvalEnv>) -> Result<Value, ConfigError> {
    let no_fetch = |_: &DependencySpec| Ok(Map::new());
    let cfg = load_full_inner(path, env, &no_fetch, true)?;
    Ok(Value::Object(cfg.raw))
}

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
