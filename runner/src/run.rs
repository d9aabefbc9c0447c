//! `run --all`: the entry point other code calls. Discovers units, reads them (first pass),
//! builds the graph, applies the include/exclude filters, then runs each unit through the queue:
//! full configuration with dependency outputs, prepared working dir, auto-init, the command with
//! injected arguments, and optionally the saved plan as JSON. Returns a [`RunSummary`]; what
//! happens on the way is told to a [`RunSink`] as [`RunEvent`]s (this module never prints). A
//! stop signal ([`crate::cancel`]) lets running units stop gracefully and starts nothing new.

use crate::cancel;
use crate::config::eval::EvalEnv;
use crate::config::{self, HookKind, PartialConfig, UnitConfig, CONFIG_FILE};
use crate::discover;
use crate::events::{RunEvent, RunSink, Silent};
use crate::graph::Graph;
use crate::output;
use crate::schedule::{run_queue, Event, Finish, JobDone, QueueOptions};
use crate::tf::{self, ChangeCounts, TfEnv};
use hcl::{Map, Value};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything a run needs. Build with [`RunOptions::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where discovery starts (`--working-dir`).
    pub working_dir: PathBuf,
    /// The terraform command (`plan`, `apply`, `destroy`, `validate`, `output`, ...).
    pub command: String,
    /// Arguments passed after the command (`-- <tf args>`), e.g. `-detailed-exitcode`.
    pub tf_args: Vec<String>,
    /// `--tf-path`; `None` picks `tofu` if on PATH, else `terraform`.
    pub tf_path: Option<String>,
    /// `--parallelism`; `None` means unlimited.
    pub parallelism: Option<usize>,
    pub fail_fast: bool,
    pub queue_ignore_errors: bool,
    pub queue_exclude_dirs: Vec<String>,
    pub queue_include_dirs: Vec<String>,
    /// `--filter` values (Terragrunt's filter language, see [`crate::filter`]); repeated ones are
    /// a union.
    pub filters: Vec<String>,
    /// Add `-auto-approve` to apply/destroy (Terragrunt does under `run --all`).
    pub auto_approve: bool,
    /// Extra environment for every child terraform process (and for `get_env`).
    pub extra_env: Vec<(String, String)>,
    /// Environment variables removed from child processes.
    pub env_remove: Vec<String>,
    /// `--out-dir`: `plan` saves each unit's binary plan as `<dir>/<unit>/tfplan.tfplan`;
    /// `apply` applies exactly those files (Terragrunt's layout and meaning).
    pub plan_out_dir: Option<PathBuf>,
    /// `--json-out-dir`: `plan` also saves each plan as JSON (`show -json`) in
    /// `<dir>/<unit>/tfplan.json`, for `ralf report`.
    pub json_out_dir: Option<PathBuf>,
    /// Print nothing (library use and tests).
    pub quiet: bool,
}

impl RunOptions {
    pub fn new(working_dir: impl Into<PathBuf>, command: impl Into<String>) -> RunOptions {
        RunOptions {
            working_dir: working_dir.into(),
            command: command.into(),
            tf_args: Vec::new(),
            tf_path: None,
            parallelism: None,
            fail_fast: false,
            queue_ignore_errors: false,
            queue_exclude_dirs: Vec::new(),
            queue_include_dirs: Vec::new(),
            filters: Vec::new(),
            auto_approve: true,
            extra_env: Vec::new(),
            env_remove: Vec::new(),
            plan_out_dir: None,
            json_out_dir: None,
            quiet: false,
        }
    }

    /// Destroy runs dependents first: `destroy`, `apply -destroy`, `plan -destroy`.
    pub fn is_destroy(&self) -> bool {
        self.command == "destroy"
            || (matches!(self.command.as_str(), "apply" | "plan")
                && self.tf_args.iter().any(|a| a == "-destroy"))
    }

    fn detailed_exitcode(&self) -> bool {
        self.tf_args.iter().any(|a| a == "-detailed-exitcode")
    }
}

/// How one unit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitResult {
    Succeeded,
    Failed {
        error: String,
    },
    /// Not run because a unit it waits for failed (`cause` names it) or `--fail-fast` stopped
    /// the run.
    EarlyExit {
        cause: String,
    },
    Excluded {
        reason: String,
    },
}

/// How a unit got past an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// A `retry` rule matched and a later attempt succeeded.
    RetrySucceeded { attempts: u32 },
    /// An `ignore` rule let the error pass.
    ErrorIgnored {
        rule: String,
        message: Option<String>,
    },
}

/// One unit's part of the summary.
#[derive(Debug, Clone)]
pub struct UnitOutcome {
    /// Path relative to the working dir (`.` for the working dir).
    pub name: String,
    pub dir: PathBuf,
    pub result: UnitResult,
    pub counts: Option<ChangeCounts>,
    pub exit_code: Option<i32>,
    /// Everything terraform printed for this unit, in order (an automatic `init` only when it
    /// failed; a successful one is a single line).
    pub output: String,
    /// When it started, relative to the start of the run.
    pub started: Option<Duration>,
    pub duration: Option<Duration>,
    /// How a unit succeeded despite an error (`errors` block), if it did.
    pub recovery: Option<Recovery>,
    /// A stop signal cut this unit short: it failed while stopping (`Failed`) or never started
    /// (`EarlyExit`).
    pub interrupted: bool,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub command: String,
    pub units: Vec<UnitOutcome>,
    /// Aggregate exit code: 1 if any unit failed or exited early; else 2 if `-detailed-exitcode`
    /// was given and any unit reported changes; else 0.
    pub exit_code: i32,
    pub detailed_exitcode: bool,
    /// Wall-clock start of the run (unit `started` offsets are relative to it).
    pub started_at: std::time::SystemTime,
    pub duration: Duration,
    /// Things worth fixing in the tree that did not stop the run.
    pub warnings: Vec<String>,
    /// The signal that stopped the run early, if one did.
    pub stopped_by: Option<i32>,
}

impl RunSummary {
    pub fn unit(&self, name: &str) -> Option<&UnitOutcome> {
        self.units.iter().find(|u| u.name == name)
    }
}

/// Errors that stop a run before any unit starts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Discover(#[from] discover::DiscoverError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
    #[error(transparent)]
    Filter(#[from] crate::filter::FilterError),
    #[error("no units found under {}: no {CONFIG_FILE} in it or below", .0.display())]
    NoUnits(PathBuf),
    #[error(transparent)]
    MissingEnv(#[from] crate::credentials::MissingEnv),
    #[error("cannot create the plan output dir {}: {source}", path.display())]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Discovers, reads and links the units under `working_dir`: the first pass and the graph.
pub fn load_graph(
    working_dir: &Path,
    env: &Arc<EvalEnv>,
) -> Result<(Graph, HashMap<PathBuf, PartialConfig>), RunError> {
    let working_dir = absolute(working_dir);
    let dirs = discover::discover_units(&working_dir)?;
    if dirs.is_empty() {
        return Err(RunError::NoUnits(working_dir));
    }
    let mut partials = Vec::new();
    for d in &dirs {
        partials.push(config::load_partial(&d.join(CONFIG_FILE), env)?);
    }
    let graph = Graph::build(&working_dir, &partials)?;
    let mut by_dir: HashMap<PathBuf, PartialConfig> = partials
        .into_iter()
        .map(|p| (p.unit_dir.clone(), p))
        .collect();
    for n in graph.nodes.iter().filter(|n| n.external) {
        if !by_dir.contains_key(&n.dir) {
            by_dir.insert(
                n.dir.clone(),
                config::load_partial(&n.dir.join(CONFIG_FILE), env)?,
            );
        }
    }
    Ok((graph, by_dir))
}

/// The internal units `filters` select (all of them without filters).
pub fn select_units(
    graph: &Graph,
    partials: &HashMap<PathBuf, PartialConfig>,
    working_dir: &Path,
    filters: &[String],
) -> Result<std::collections::BTreeSet<usize>, RunError> {
    let parsed = filters
        .iter()
        .map(|f| crate::filter::Filter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let facts: Vec<crate::filter::UnitFacts> = graph
        .nodes
        .iter()
        .map(|n| {
            let p = partials.get(&n.dir);
            crate::filter::UnitFacts {
                source: p.and_then(|p| p.source.clone()),
                reads: p.map(|p| p.included_files.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let universe = crate::filter::Universe {
        graph,
        working_dir,
        facts: &facts,
    };
    Ok(crate::filter::select(&parsed, &universe)?)
}

/// An absolute, lexically clean form of `p`.
pub fn absolute(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    config::functions::clean_path(&abs)
}

/// The binary plan file Terragrunt's `--out-dir` layout gives a unit.
pub const PLAN_FILE: &str = "tfplan.tfplan";
/// The JSON plan file Terragrunt's `--json-out-dir` layout gives a unit.
pub const PLAN_JSON_FILE: &str = "tfplan.json";

/// `<dir>/<unit>/<file>`, the unit being its path relative to the working dir (`.`: `dir`
/// itself).
pub fn unit_file(dir: &Path, unit_name: &str, file: &str) -> PathBuf {
    if unit_name == "." {
        dir.join(file)
    } else {
        dir.join(unit_name).join(file)
    }
}

struct Shared<'a> {
    opts: &'a RunOptions,
    env: Arc<EvalEnv>,
    tf: TfEnv,
    partials: &'a HashMap<PathBuf, PartialConfig>,
    sink: &'a dyn RunSink,
    output_cache: Mutex<HashMap<PathBuf, Map<String, Value>>>,
    /// One lock per dependency dir, so that units needing the same outputs fetch them once and
    /// never run `init`/`output` in the same dir at the same time.
    fetch_locks: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

struct Payload {
    result: UnitResult,
    counts: Option<ChangeCounts>,
    exit_code: Option<i32>,
    output: String,
    recovery: Option<Recovery>,
}

/// Runs `opts.command` over every unit under `opts.working_dir`, printing with an
/// [`output::Printer`] in its automatic mode unless `opts.quiet`.
pub fn run(opts: &RunOptions) -> Result<RunSummary, RunError> {
    if opts.quiet {
        run_with(opts, &Silent)
    } else {
        run_with(opts, &output::Printer::new(output::OutputMode::auto()))
    }
}

/// Terragrunt's default parallelism is unlimited. ralf keeps that for commands that mostly
/// wait (apply, destroy wait on Proxmox) and bounds the CPU-bound ones (plan, validate, output,
/// init) by the number of cores, which docs/PERFORMANCE.md measures.
pub fn default_parallelism(command: &str) -> Option<usize> {
    match command {
        "plan" | "validate" | "output" | "init" => {
            std::thread::available_parallelism().ok().map(|n| n.get())
        }
        _ => None,
    }
}

/// The cause given to units a stop signal kept from starting.
fn stop_cause() -> Option<String> {
    cancel::stop_signal().map(|s| {
        format!(
            "ralf received {} before this unit started",
            cancel::signal_name(s)
        )
    })
}

/// Runs `opts.command` over every unit under `opts.working_dir`, telling `sink` what happens.
pub fn run_with(opts: &RunOptions, sink: &dyn RunSink) -> Result<RunSummary, RunError> {
    let t0 = Instant::now();
    let started_at = std::time::SystemTime::now();
    let mut opts = opts.clone();
    opts.working_dir = absolute(&opts.working_dir);
    let env = Arc::new(EvalEnv {
        tf_command: opts.command.clone(),
        tf_args: opts.tf_args.clone(),
        extra_env: opts.extra_env.clone(),
    });
    let (graph, partials) = load_graph(&opts.working_dir, &env)?;
    opts.plan_out_dir = opts.plan_out_dir.as_deref().map(absolute);
    opts.json_out_dir = opts.json_out_dir.as_deref().map(absolute);
    for dir in [&opts.plan_out_dir, &opts.json_out_dir]
        .into_iter()
        .flatten()
    {
        if opts.command == "plan" {
            std::fs::create_dir_all(dir).map_err(|source| RunError::OutDir {
                path: dir.clone(),
                source,
            })?;
        }
    }

    // Filters.
    let selected = select_units(&graph, &partials, &opts.working_dir, &opts.filters)?;
    let mut members = Vec::new();
    let mut excluded: Vec<UnitOutcome> = Vec::new();
    for i in graph.internal() {
        let n = &graph.nodes[i];
        let matches = |pats: &[String]| {
            pats.iter()
                .any(|p| discover::dir_matches(p, &opts.working_dir, &n.name))
        };
        let excluded_by_block = partials
            .get(&n.dir)
            .and_then(|p| p.exclude.as_ref())
            .is_some_and(|e| e.excludes(&opts.command));
        let reason = if excluded_by_block {
            Some("exclude block".to_string())
        } else if matches(&opts.queue_exclude_dirs) {
            Some("--queue-exclude-dir".to_string())
        } else if !opts.queue_include_dirs.is_empty() && !matches(&opts.queue_include_dirs) {
            Some("not matched by --queue-include-dir".to_string())
        } else if !selected.contains(&i) {
            Some("not matched by --filter".to_string())
        } else {
            None
        };
        match reason {
            Some(reason) => excluded.push(UnitOutcome {
                name: n.name.clone(),
                dir: n.dir.clone(),
                result: UnitResult::Excluded { reason },
                counts: None,
                exit_code: None,
                output: String::new(),
                started: None,
                duration: None,
                recovery: None,
                interrupted: false,
            }),
            None => members.push(i),
        }
    }

    // Credentials first: a run missing a required variable starts no unit at all.
    let mut config_files = std::collections::BTreeSet::new();
    for &i in &members {
        let n = &graph.nodes[i];
        let included = partials
            .get(&n.dir)
            .map(|p| p.included_files.clone())
            .unwrap_or_default();
        config_files.extend(crate::credentials::unit_files(
            &n.dir.join(CONFIG_FILE),
            &included,
        ));
    }
    let config_files: Vec<PathBuf> = config_files.into_iter().collect();
    crate::credentials::check(&config_files, |name| {
        opts.extra_env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    })?;

    let mut warnings = Vec::new();
    for &i in &members {
        let n = &graph.nodes[i];
        let config_file = n.dir.join(CONFIG_FILE);
        let includers = partials
            .values()
            .filter(|p| p.included_files.contains(&config_file))
            .count();
        if includers > 0 {
            warnings.push(format!(
                "{} is included by {includers} other unit(s) and is also run as a unit itself; if it \
                 is only a root configuration, pass --queue-exclude-dir={} or rename it to root.hcl",
                config_file.display(),
                n.name
            ));
        }
    }
    for w in &warnings {
        sink.event(RunEvent::Warning(w));
    }

    let shared = Shared {
        opts: &opts,
        env,
        tf: TfEnv {
            tf_path: opts.tf_path.clone().unwrap_or_else(tf::default_tf_path),
            extra_env: opts.extra_env.clone(),
            env_remove: opts.env_remove.clone(),
        },
        partials: &partials,
        sink,
        output_cache: Mutex::new(HashMap::new()),
        fetch_locks: Mutex::new(HashMap::new()),
    };

    let queue = QueueOptions {
        parallelism: opts.parallelism,
        reverse: opts.is_destroy(),
        fail_fast: opts.fail_fast,
        ignore_errors: opts.queue_ignore_errors,
        stop: Some(stop_cause),
    };
    let mut failed = 0usize;
    let mut told_stopping = false;
    let mut running_now: Vec<usize> = Vec::new();
    let mut interrupted = vec![false; graph.nodes.len()];
    let finishes = run_queue(
        &graph,
        &members,
        queue,
        |i| {
            let payload = run_unit(&shared, &graph.nodes[i].name, &graph.nodes[i].dir);
            JobDone {
                ok: matches!(payload.result, UnitResult::Succeeded),
                payload,
            }
        },
        |event| {
            // The units running when a stop signal came are the ones it was forwarded to.
            if let (Some(signal), false) = (cancel::stop_signal(), told_stopping) {
                told_stopping = true;
                let names: Vec<String> = running_now
                    .iter()
                    .map(|&r| graph.nodes[r].name.clone())
                    .collect();
                sink.event(RunEvent::Stopping {
                    signal,
                    running: &names,
                });
            }
            match event {
                Event::Started(i) => {
                    running_now.push(i);
                    sink.event(RunEvent::UnitStarted {
                        unit: &graph.nodes[i].name,
                    })
                }
                Event::Finished(i, finish) => {
                    running_now.retain(|&r| r != i);
                    let mut outcome = outcome_of(&graph.nodes[i].name, &graph.nodes[i].dir, finish);
                    outcome.interrupted = cancel::stop_signal().is_some()
                        && !matches!(outcome.result, UnitResult::Succeeded);
                    interrupted[i] = outcome.interrupted;
                    if !matches!(outcome.result, UnitResult::Succeeded) {
                        failed += 1;
                    }
                    sink.event(RunEvent::UnitFinished(&outcome));
                }
                Event::Tick(running, done, total) => {
                    let names: Vec<String> = running
                        .iter()
                        .map(|&r| graph.nodes[r].name.clone())
                        .collect();
                    sink.event(RunEvent::Progress {
                        command: &opts.command,
                        running: &names,
                        done,
                        total,
                        failed,
                        elapsed: t0.elapsed(),
                    });
                }
            }
        },
    );

    let mut units: Vec<UnitOutcome> = members
        .iter()
        .zip(finishes.iter())
        .map(|(&i, f)| UnitOutcome {
            interrupted: interrupted[i],
            ..outcome_of(&graph.nodes[i].name, &graph.nodes[i].dir, f)
        })
        .collect();
    units.extend(excluded);
    units.sort_by(|a, b| a.name.cmp(&b.name));

    let detailed = opts.detailed_exitcode();
    let any_failed = units.iter().any(|u| {
        matches!(
            u.result,
            UnitResult::Failed { .. } | UnitResult::EarlyExit { .. }
        )
    });
    let any_changes = units.iter().any(|u| u.exit_code == Some(2));
    let stopped_by = cancel::stop_signal();
    let exit_code = if let Some(code) = cancel::exit_code() {
        code
    } else if any_failed {
        1
    } else if detailed && any_changes {
        2
    } else {
        0
    };
    let summary = RunSummary {
        command: std::iter::once(opts.command.clone())
            .chain(opts.tf_args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        units,
        exit_code,
        detailed_exitcode: detailed,
        started_at,
        duration: t0.elapsed(),
        warnings,
        stopped_by,
    };
    sink.event(RunEvent::Finished(&summary));
    Ok(summary)
}

fn outcome_of(name: &str, dir: &Path, finish: &Finish<Payload>) -> UnitOutcome {
    match finish {
        Finish::Ran {
            payload,
            started,
            elapsed,
            ..
        } => UnitOutcome {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            result: payload.result.clone(),
            counts: payload.counts,
            exit_code: payload.exit_code,
            output: payload.output.clone(),
            started: Some(*started),
            duration: Some(*elapsed),
            recovery: payload.recovery.clone(),
            interrupted: false,
        },
        Finish::EarlyExit { cause } | Finish::NotStarted { cause } => UnitOutcome {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            result: UnitResult::EarlyExit {
                cause: cause.clone(),
            },
            counts: None,
            exit_code: None,
            output: String::new(),
            started: None,
            duration: None,
            recovery: None,
            interrupted: matches!(finish, Finish::NotStarted { .. }),
        },
    }
}

fn failed(error: String, output: String, exit_code: Option<i32>) -> Payload {
    Payload {
        result: UnitResult::Failed { error },
        counts: None,
        exit_code,
        output,
        recovery: None,
    }
}

/// Commands that accept `-no-color` (added when output is not a terminal).
const NO_COLOR_COMMANDS: &[&str] = &[
    "apply", "destroy", "import", "init", "output", "plan", "refresh", "show", "validate",
];

/// Commands for which Terragrunt adds `-input=false`.
const NEED_INPUT: &[&str] = &["apply", "import", "init", "plan", "refresh"];

fn run_unit(shared: &Shared<'_>, name: &str, dir: &Path) -> Payload {
    let opts = shared.opts;
    let on_line = |line: &str| shared.sink.event(RunEvent::UnitLine { unit: name, line });
    let fetch = |dep: &config::DependencySpec| -> Result<Map<String, Value>, String> {
        let lock = shared
            .fetch_locks
            .lock()
            .map(|mut l| l.entry(dep.config_path.clone()).or_default().clone())
            .map_err(|_| "internal error: the fetch lock table is poisoned".to_string())?;
        let _held = lock.lock();
        if let Some(hit) = shared
            .output_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&dep.config_path).cloned())
        {
            return Ok(hit);
        }
        let partial = match shared.partials.get(&dep.config_path) {
            Some(p) => p.clone(),
            None => config::load_partial(&dep.config_path.join(CONFIG_FILE), &shared.env)
                .map_err(|e| e.to_string())?,
        };
        let outputs = shared.tf.fetch_outputs(&partial)?;
        if let Ok(mut c) = shared.output_cache.lock() {
            c.insert(dep.config_path.clone(), outputs.clone());
        }
        Ok(outputs)
    };
    let unit: UnitConfig = match config::load_full(&dir.join(CONFIG_FILE), &shared.env, &fetch) {
        Ok(u) => u,
        Err(e) => return failed(e.to_string(), String::new(), None),
    };
    if unit.skip {
        return Payload {
            result: UnitResult::Excluded {
                reason: "skip = true".into(),
            },
            counts: None,
            exit_code: None,
            output: String::new(),
            recovery: None,
        };
    }
    if opts.is_destroy() && unit.prevent_destroy {
        return failed(
            "prevent_destroy = true in its configuration; remove it to destroy this unit".into(),
            String::new(),
            None,
        );
    }
    let run_dir = match tf::prepare(&unit) {
        Ok(d) => d,
        Err(e) => return failed(e, String::new(), None),
    };
    let tf_env = TfEnv {
        tf_path: unit
            .terraform_binary
            .clone()
            .filter(|_| opts.tf_path.is_none())
            .unwrap_or_else(|| shared.tf.tf_path.clone()),
        ..shared.tf.clone()
    };

    let caller_set =
        |key: &str| opts.extra_env.iter().any(|(k, _)| k == key) || std::env::var_os(key).is_some();
    let (mut env, nulls) = tf::input_env(&unit.inputs, &caller_set);
    let null_file = match tf::write_null_vars(&run_dir, &nulls) {
        Ok(f) => f,
        Err(e) => return failed(e, String::new(), None),
    };
    let result = run_unit_commands(opts, &unit, &tf_env, &run_dir, &mut env, &on_line);
    if let Some(f) = null_file {
        let _ = std::fs::remove_file(f);
    }
    if matches!(result.result, UnitResult::Succeeded)
        && matches!(
            opts.command.as_str(),
            "apply" | "destroy" | "import" | "refresh"
        )
    {
        if let Ok(mut c) = shared.output_cache.lock() {
            c.remove(&unit.partial.unit_dir);
        }
    }
    result
}

/// Runs the hooks of `kind` for `command`. `failed_output` is the output of the failed command
/// (after hooks then run only with `run_on_error`; error hooks only when an `on_errors` pattern
/// matches, or when they have none).
#[allow(clippy::too_many_arguments)]
fn run_hooks(
    unit: &UnitConfig,
    tf_env: &TfEnv,
    run_dir: &Path,
    env: &[(String, String)],
    kind: HookKind,
    command: &str,
    failed_output: Option<&str>,
    log: &mut String,
    on_line: &tf::LineSink<'_>,
) -> Result<(), String> {
    for hook in unit.hooks.iter().filter(|h| h.kind == kind && h.enabled) {
        if !hook.commands.iter().any(|c| c == command) {
            continue;
        }
        if kind == HookKind::After && failed_output.is_some() && !hook.run_on_error {
            continue;
        }
        if kind == HookKind::Error {
            let text = failed_output.unwrap_or_default();
            let matches = hook.on_errors.is_empty()
                || hook
                    .on_errors
                    .iter()
                    .any(|p| regex::Regex::new(p).is_ok_and(|re| re.is_match(text)));
            if !matches {
                continue;
            }
        }
        let dir = hook
            .working_dir
            .as_ref()
            .map(|d| run_dir.join(d))
            .unwrap_or_else(|| run_dir.to_path_buf());
        let label = match kind {
            HookKind::Before => "before_hook",
            HookKind::After => "after_hook",
            HookKind::Error => "error_hook",
        };
        let running = format!("ralf: running {label} {:?}\n", hook.name);
        on_line(&running);
        log.push_str(&running);
        let out = tf_env
            .run_program(&dir, &hook.execute, env, on_line)
            .map_err(|e| format!("{label} {:?}: {e}", hook.name))?;
        log.push_str(&out.combined);
        if out.code != 0 {
            return Err(format!(
                "{label} {:?} exited with code {}",
                hook.name, out.code
            ));
        }
    }
    Ok(())
}

fn extra_args_for(
    unit: &UnitConfig,
    command: &str,
    env: &mut Vec<(String, String)>,
) -> Vec<String> {
    let mut args = Vec::new();
    for ea in unit
        .extra_arguments
        .iter()
        .filter(|e| e.commands.iter().any(|c| c == command))
    {
        args.extend(ea.arguments.iter().cloned());
        for f in &ea.required_var_files {
            args.push(format!("-var-file={f}"));
        }
        for f in &ea.optional_var_files {
            let p = unit.partial.unit_dir.join(f);
            if p.is_file() {
                args.push(format!("-var-file={f}"));
            }
        }
        env.extend(ea.env_vars.iter().cloned());
    }
    args
}

/// Whether `command`, failed on its `attempt` with `output`, runs again under one of the unit's
/// `retry` rules (as in Terragrunt, auto-init included). If so, says which rule and attempt in the
/// unit's log and waits the rule's sleep, cut short by Ctrl-C; a stop signal means no retry.
fn wait_for_retry(
    unit: &UnitConfig,
    command: &str,
    attempt: u32,
    output: &str,
    on_line: &tf::LineSink<'_>,
    log: &mut String,
) -> bool {
    let rule = unit
        .errors
        .retry_for(output)
        .filter(|r| attempt < r.max_attempts && cancel::stop_signal().is_none());
    let Some(rule) = rule else { return false };
    let note = format!(
        "ralf: {command} failed with an error that `retry {:?}` matches; attempt {} of {} in {:.0?}\n",
        rule.name,
        attempt + 1,
        rule.max_attempts,
        rule.sleep
    );
    on_line(&note);
    log.push_str(&note);
    let until = Instant::now() + rule.sleep;
    while Instant::now() < until && cancel::stop_signal().is_none() {
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    cancel::stop_signal().is_none()
}

fn run_unit_commands(
    opts: &RunOptions,
    unit: &UnitConfig,
    tf_env: &TfEnv,
    run_dir: &Path,
    env: &mut Vec<(String, String)>,
    on_line: &tf::LineSink<'_>,
) -> Payload {
    let mut log = String::new();
    let command = opts.command.as_str();
    let no_color = opts.quiet || !std::io::stdout().is_terminal();

    // Auto-init.
    if command != "init" {
        let mut init_env = env.clone();
        let mut init_args = vec!["init".to_string(), "-input=false".to_string()];
        init_args.extend(extra_args_for(unit, "init", &mut init_env));
        if let Some(rs) = &unit.partial.remote_state {
            init_args.extend(tf::backend_config_args(rs));
        }
        let fingerprint = tf::init_fingerprint(run_dir, &init_args);
        if tf::needs_init(run_dir, &fingerprint) {
            if no_color {
                init_args.push("-no-color".into());
            }
            // The unit's `retry` rules cover its auto-init too, as in Terragrunt (a shared
            // backend's first init may race another unit's, e.g. pg creating its tables).
            let mut init_attempt = 1u32;
            let init_result = loop {
                let result = tf_env.run_streaming(run_dir, &init_args, &init_env, on_line);
                let retrying = match &result {
                    Ok(out) if out.code != 0 => {
                        wait_for_retry(unit, "init", init_attempt, &out.combined, on_line, &mut log)
                    }
                    _ => false,
                };
                if !retrying {
                    break result;
                }
                init_attempt += 1;
            };
            match init_result {
                Ok(out) => {
                    // A successful init is one line; a failed one is shown whole.
                    if out.code == 0 {
                        log.push_str(&format!(
                            "ralf: ran `{} init` (first run or backend/modules changed)\n",
                            tf_env.tf_path
                        ));
                    } else {
                        log.push_str(&out.combined);
                    }
                    if out.code != 0 {
                        return failed(
                            format!("init exited with code {}", out.code),
                            log,
                            Some(out.code),
                        );
                    }
                    tf::mark_initialised(run_dir, &fingerprint);
                }
                Err(e) => return failed(e, log, None),
            }
        }
    }

    let mut args = vec![command.to_string()];
    args.extend(extra_args_for(unit, command, env));
    if NEED_INPUT.contains(&command) && !opts.tf_args.iter().any(|a| a.starts_with("-input")) {
        args.push("-input=false".into());
    }
    if opts.auto_approve
        && matches!(command, "apply" | "destroy")
        && !opts.tf_args.iter().any(|a| a.starts_with("-auto-approve"))
    {
        args.push("-auto-approve".into());
    }
    if no_color
        && NO_COLOR_COMMANDS.contains(&command)
        && !opts.tf_args.iter().any(|a| a == "-no-color")
    {
        args.push("-no-color".into());
    }
    args.extend(opts.tf_args.iter().cloned());
    let name = crate::discover::rel_path(&opts.working_dir, &unit.partial.unit_dir);
    let saved_plan = opts
        .plan_out_dir
        .as_deref()
        .map(|d| unit_file(d, &name, PLAN_FILE));
    let plan_file = saved_plan
        .clone()
        .unwrap_or_else(|| run_dir.join(".ralf-tfplan"));
    let json_target = opts
        .json_out_dir
        .as_deref()
        .map(|d| unit_file(d, &name, PLAN_JSON_FILE));
    let save_plan = command == "plan" && (saved_plan.is_some() || json_target.is_some());
    if save_plan {
        for f in [Some(&plan_file), json_target.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Some(parent) = f.parent() {
                if let Err(e) = std::fs::create_dir_all(parent) {
                    return failed(format!("creating {}: {e}", parent.display()), log, None);
                }
            }
        }
        args.push(format!("-out={}", plan_file.display()));
    }
    if command == "apply" {
        if let Some(plan) = &saved_plan {
            if !plan.is_file() {
                return failed(
                    format!(
                        "no saved plan at {}; run `ralf run --all plan --out-dir DIR` first, with \
                         the same filters",
                        plan.display()
                    ),
                    log,
                    None,
                );
            }
            // A saved plan is applied as reviewed; terraform refuses it if it is stale.
            args.push(plan.display().to_string());
        }
    }
    if let Err(e) = run_hooks(
        unit,
        tf_env,
        run_dir,
        env,
        HookKind::Before,
        command,
        None,
        &mut log,
        on_line,
    ) {
        return failed(e, log, None);
    }
    let detailed = opts.detailed_exitcode();
    let succeeded = |code: i32| code == 0 || (detailed && code == 2);
    let mut attempt = 1u32;
    let mut recovery = None;
    let out = loop {
        let out = match tf_env.run_streaming(run_dir, &args, env, on_line) {
            Ok(o) => o,
            Err(e) => return failed(e, log, None),
        };
        log.push_str(&out.combined);
        if succeeded(out.code) {
            if attempt > 1 {
                recovery = Some(Recovery::RetrySucceeded { attempts: attempt });
            }
            break out;
        }
        if !wait_for_retry(unit, command, attempt, &out.combined, on_line, &mut log) {
            break out;
        }
        attempt += 1;
    };
    let ignored = (!succeeded(out.code))
        .then(|| unit.errors.ignore_for(&out.combined))
        .flatten();
    if let Some(rule) = ignored {
        let note = format!(
            "ralf: ignoring the error of {command} (`ignore {:?}`){}\n",
            rule.name,
            rule.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
        on_line(&note);
        log.push_str(&note);
        recovery = Some(Recovery::ErrorIgnored {
            rule: rule.name.clone(),
            message: rule.message.clone(),
        });
    }
    let ok = succeeded(out.code) || ignored.is_some();
    let failed_output = (!ok).then_some(out.combined.as_str());
    let after = run_hooks(
        unit,
        tf_env,
        run_dir,
        env,
        HookKind::After,
        command,
        failed_output,
        &mut log,
        on_line,
    );
    if !ok {
        let _ = run_hooks(
            unit,
            tf_env,
            run_dir,
            env,
            HookKind::Error,
            command,
            failed_output,
            &mut log,
            on_line,
        );
    }
    if let (true, Err(e)) = (ok, &after) {
        return failed(e.clone(), log, Some(out.code));
    }
    if !ok {
        let stderr_line = tf::first_error(&out.stderr);
        let error = if stderr_line.is_empty() {
            format!("{} exited with code {}", command, out.code)
        } else {
            format!("{} exited with code {}: {stderr_line}", command, out.code)
        };
        return failed(error, log, Some(out.code));
    }
    let mut counts = tf::parse_counts(&out.combined);
    if save_plan {
        if let Some(target) = &json_target {
            let show = tf_env.run(
                run_dir,
                &[
                    "show".into(),
                    "-json".into(),
                    plan_file.display().to_string(),
                ],
                env,
            );
            match show {
                Ok(s) if s.code == 0 => {
                    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&s.stdout) {
                        let c = crate::report::plan_counts(&json);
                        counts = Some(ChangeCounts {
                            add: c.add,
                            change: c.change,
                            destroy: c.destroy,
                        });
                    }
                    if let Err(e) = std::fs::write(target, s.stdout.trim_end()) {
                        return failed(
                            format!("writing {}: {e}", target.display()),
                            log,
                            Some(out.code),
                        );
                    }
                }
                Ok(s) => {
                    log.push_str(&s.combined);
                    return failed(
                        format!("show -json exited with code {}", s.code),
                        log,
                        Some(out.code),
                    );
                }
                Err(e) => return failed(e, log, Some(out.code)),
            }
        }
        if saved_plan.is_none() {
            let _ = std::fs::remove_file(&plan_file);
        }
    }
    Payload {
        result: UnitResult::Succeeded,
        counts,
        exit_code: Some(out.code),
        output: log,
        recovery,
    }
}
