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

pub mod dependency;
pub mod errors;
pub mod eval;
mod full;
pub mod functions;
mod include;
mod parse;
mod partial;

pub use dependency::{dependency_outputs, mocks_allowed, DependencySpec, MockMerge, OutputFetcher};
use eval::EvalEnv;
use hcl::{Map, Value};
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
    /// The `errors` block (or Terragrunt's default retries).
    pub errors: errors::ErrorsConfig,
    pub skip: bool,
    /// The whole merged configuration, as `read_terragrunt_config` would return it.
    pub raw: Map<String, Value>,
}

/// First pass over the unit whose configuration is `config_file`.
pub fn load_partial(config_file: &Path, env: &Arc<EvalEnv>) -> Result<PartialConfig, ConfigError> {
    Ok(partial::first_pass(config_file, env)?.partial)
}

/// Complete evaluation of a unit. `fetch` supplies each enabled, non-skipped dependency's
/// outputs; mock rules are applied here.
pub fn load_full(
    config_file: &Path,
    env: &Arc<EvalEnv>,
    fetch: OutputFetcher<'_>,
) -> Result<UnitConfig, ConfigError> {
    full::load_full_inner(config_file, env, fetch, false)
}

/// `read_terragrunt_config(path)`: the whole configuration of another file as a map. Its
/// dependencies are not fetched: they read as their mocks, or as empty outputs.
pub fn read_config_as_value(path: &Path, env: &Arc<EvalEnv>) -> Result<Value, ConfigError> {
    let no_fetch = |_: &DependencySpec| Ok(Map::new());
    let cfg = full::load_full_inner(path, env, &no_fetch, true)?;
    Ok(Value::Object(cfg.raw))
}
