//! `ralf`: the command line over the `ralf_runner` library. Parses flags (and their `TG_*` /
//! deprecated `TERRAGRUNT_*` environment spellings), calls the library, and turns the summary
//! into an exit code. No runner logic lives here.

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ralf_runner::config::eval::EvalEnv;
use ralf_runner::output::{OutputMode, Printer};
use ralf_runner::run::run_with;
use ralf_runner::{report, RunOptions};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "ralf",
    version,
    about = "A Terragrunt-compatible runner: runs the units of an iac/ tree with tofu or terraform",
    after_help = "Terraform flags (single dash, e.g. -detailed-exitcode, -auto-approve, -destroy) may be \
                  given after the command or after `--`:\n  ralf run --all plan -- -detailed-exitcode\n  \
                  ralf run --all -- apply -destroy\n  ralf run --all plan --out-dir plans --json-out-dir plans && ralf report plans --output comment.md
  ralf run --all apply --out-dir plans"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a tofu/terraform command in every unit, in dependency order.
    Run(RunArgs),
    /// Same as `run --all` (Terragrunt's older spelling).
    #[command(name = "run-all")]
    RunAll(RunArgs),
    /// Print the dependency graph and its waves.
    Graph(GraphArgs),
    /// List the units, one path per line (Terragrunt's `find`).
    Find(FindArgs),
    /// Same as `find` (Terragrunt's `list`).
    List(FindArgs),
    /// Dependency graph commands (Terragrunt's `dag`).
    #[command(subcommand)]
    Dag(DagCmd),
    /// Turn plan JSON files (from `run --all plan --json-out-dir DIR`) and a run report into one
    /// Markdown PR comment.
    Report(ReportArgs),
    /// Deploy the example RALF tree to an embedded pve-sim (or PROXMOX_VE_ENDPOINT), show the
    /// smoke results, plan again expecting no changes, then destroy.
    Demo(DemoArgs),
    /// Install a release of the provider into a filesystem or network mirror (no registry needed).
    Provider(ralf_runner::install::ProviderArgs),
    /// After an apply: write the Ansible inventory (ansible/inventory/hosts.yml, one group per
    /// service group) and runtime.env (<SERVICE>_IP, <SERVICE>_PORT) from the units' outputs.
    Inventory(InventoryArgs),
}

#[derive(Args, Debug)]
struct InventoryArgs {
    /// The tree whose units were applied [env: TG_WORKING_DIR]. Default: cwd.
    #[arg(long)]
    working_dir: Option<PathBuf>,
    /// Where hosts.yml and runtime.env go. Default: ansible/inventory/ in the working dir.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// The tofu/terraform binary, for units whose state is not local [env: TG_TF_PATH].
    #[arg(long)]
    tf_path: Option<String>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// The iac/ tree to deploy. Default: examples/ralf-homelab/iac above the current directory.
    #[arg(long)]
    tree: Option<PathBuf>,
    /// Where to copy the tree and keep state. Default: ralf-demo/ next to the ralf binary.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the deployment (and the simulator, until Ctrl-C) instead of destroying it.
    #[arg(long)]
    keep: bool,
    /// The tofu/terraform binary. Default: tofu if on PATH, else terraform.
    #[arg(long)]
    tf_path: Option<String>,
    /// Units running at once at most. Default: unlimited.
    #[arg(long)]
    parallelism: Option<usize>,
    /// Duration of each simulated Proxmox task in milliseconds.
    #[arg(long, default_value_t = 200)]
    task_ms: u64,
    /// Print every unit's whole Terraform output, not only the tables and smoke results.
    #[arg(long)]
    verbose: bool,
    /// Deploy to pve-sim's lab of real LXC containers (root, lxc, ansible-core), with Ansible
    /// installs and a failure drill.
    #[arg(long)]
    lab: bool,
}

#[derive(Subcommand, Debug)]
enum DagCmd {
    /// The dependency graph in DOT; an arrow points from a unit to its dependency.
    Graph(GraphArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FindFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct FindArgs {
    /// Where to discover units [env: TG_WORKING_DIR]. Default: cwd.
    #[arg(long)]
    working_dir: Option<PathBuf>,
    /// Only units these filters select (Terragrunt's filter language); repeatable.
    #[arg(long)]
    filter: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: FindFormat,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
    /// In dependency order (dependencies first) instead of by path.
    #[arg(long)]
    dag: bool,
    /// With JSON: each unit's dependencies.
    #[arg(long)]
    dependencies: bool,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Run in every unit under the working dir (required for now; ralf always runs all units).
    #[arg(long)]
    all: bool,
    /// Where to discover units [env: TG_WORKING_DIR, TERRAGRUNT_WORKING_DIR]. Default: cwd.
    #[arg(long)]
    working_dir: Option<PathBuf>,
    /// Units running at once at most [env: TG_PARALLELISM, TERRAGRUNT_PARALLELISM]. Default: the
    /// number of cores for plan, validate, output and init (CPU-bound); unlimited otherwise
    /// (apply and destroy wait on Proxmox).
    #[arg(long)]
    parallelism: Option<usize>,
    /// The tofu/terraform binary [env: TG_TF_PATH, TERRAGRUNT_TFPATH]. Default: tofu if on PATH, else terraform.
    #[arg(long)]
    tf_path: Option<String>,
    /// Stop starting units after the first failure [env: TG_FAIL_FAST].
    #[arg(long)]
    fail_fast: bool,
    /// Run dependents even when a dependency failed [env: TG_QUEUE_IGNORE_ERRORS, TERRAGRUNT_IGNORE_DEPENDENCY_ERRORS].
    #[arg(long)]
    queue_ignore_errors: bool,
    /// Leave out units matching this path or glob, relative to the working dir; repeatable
    /// [env: TG_QUEUE_EXCLUDE_DIR, TERRAGRUNT_EXCLUDE_DIR, comma-separated].
    #[arg(long)]
    queue_exclude_dir: Vec<String>,
    /// Run only units matching this path or glob; repeatable
    /// [env: TG_QUEUE_INCLUDE_DIR, TERRAGRUNT_INCLUDE_DIR, comma-separated].
    #[arg(long)]
    queue_include_dir: Vec<String>,
    /// Run only the units these filters select: paths and names with globs (`./prod/**`,
    /// `app*`), graph expressions (`...vpc` for vpc and its dependents, `app...` for app and its
    /// dependencies, `^` to leave the target out), git changes (`[main...HEAD]`), `|` to refine,
    /// `!` to exclude; repeatable (a union) [env: TG_FILTER, comma-separated].
    #[arg(long)]
    filter: Vec<String>,
    /// Run the unit in the working dir and every unit that depends on it, directly or not,
    /// discovered up to the git root (Terragrunt's `run --graph`).
    #[arg(long)]
    graph: bool,
    /// Never prompt (ralf never does; accepted for compatibility) [env: TG_NON_INTERACTIVE, TERRAGRUNT_NON_INTERACTIVE].
    #[arg(long)]
    non_interactive: bool,
    /// Do not add -auto-approve to apply/destroy.
    #[arg(long)]
    no_auto_approve: bool,
    /// With `plan`: save every unit's binary plan as DIR/<unit>/tfplan.tfplan. With `apply`:
    /// apply exactly those saved plans (a stale one is refused by terraform, per unit)
    /// [env: TG_OUT_DIR].
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// With `plan`: also save every unit's plan as JSON (`show -json`) in
    /// DIR/<unit>/tfplan.json, for `ralf report` [env: TG_JSON_OUT_DIR].
    #[arg(long, value_name = "DIR")]
    json_out_dir: Option<PathBuf>,
    /// Print each unit's whole output in one block when it finishes (the default on a
    /// terminal, under a live status line). Off a terminal, lines stream with a `[unit]` prefix.
    #[arg(long, conflicts_with = "stream_output")]
    grouped_output: bool,
    /// Stream every line with a `[unit]` prefix as it arrives, also on a terminal.
    #[arg(long)]
    stream_output: bool,
    /// Write a run report (one row per unit: Name, Started, Ended, Result, Reason, Cause) as
    /// JSON, or as CSV when FILE ends in .csv [env: TG_REPORT_FILE].
    #[arg(long, value_name = "FILE")]
    report_file: Option<PathBuf>,
    /// The tofu/terraform command, e.g. plan, apply, destroy, validate, output.
    command: Option<String>,
    /// Arguments for tofu/terraform (after `--`).
    #[arg(last = true)]
    tf_args: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

#[derive(Args, Debug)]
struct GraphArgs {
    #[arg(long, value_enum, default_value = "text")]
    format: GraphFormat,
    /// Where to discover units. Default: cwd.
    #[arg(long)]
    working_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// The --json-out-dir of `run --all plan` (DIR/<unit>/tfplan.json).
    dir: PathBuf,
    /// The --report-file of the same run (JSON or CSV): failed and early-exit units appear in the
    /// comment with their error.
    #[arg(long, value_name = "FILE")]
    report_file: Option<PathBuf>,
    /// Write the Markdown here instead of stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// The hidden marker the comment starts with (`<!-- NAME -->`), which a CI step searches
    /// for to update its earlier comment instead of adding another.
    #[arg(long, value_name = "NAME", default_value = report::DEFAULT_MARKER)]
    marker: String,
    /// Exit 3 when the plans destroy or replace anything (the comment is still written).
    #[arg(long)]
    fail_on_destroy: bool,
}

/// The top of the git work tree holding `dir`.
fn git_root(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(dir)
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `ralf graph` / `ralf dag graph`.
fn graph_command(g: GraphArgs) -> anyhow::Result<i32> {
    let wd = match g.working_dir {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    let (graph, _) = ralf_runner::run::load_graph(&wd, &Arc::new(EvalEnv::default()))?;
    let text = match g.format {
        GraphFormat::Text => graph.render_text(),
        GraphFormat::Dot => graph.render_dot(),
        GraphFormat::Mermaid => graph.render_mermaid(),
    };
    print!("{text}");
    Ok(0)
}

/// `ralf find` / `ralf list`: the units, filtered, by path or in dependency order.
fn find_command(f: FindArgs) -> anyhow::Result<i32> {
    let wd = match f.working_dir {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    let wd = ralf_runner::run::absolute(&wd);
    let (graph, partials) = ralf_runner::run::load_graph(&wd, &Arc::new(EvalEnv::default()))?;
    let selected = ralf_runner::run::select_units(&graph, &partials, &wd, &f.filter)?;
    let members: Vec<usize> = selected.into_iter().collect();
    let order: Vec<usize> = if f.dag {
        graph.waves(&members, false).into_iter().flatten().collect()
    } else {
        let mut m = members;
        m.sort_by(|a, b| graph.nodes[*a].name.cmp(&graph.nodes[*b].name));
        m
    };
    if f.json || matches!(f.format, FindFormat::Json) {
        let rows: Vec<serde_json::Value> = order
            .iter()
            .map(|&i| {
                let mut row = serde_json::json!({"type": "unit", "path": graph.nodes[i].name});
                if f.dependencies {
                    row["dependencies"] = graph.nodes[i]
                        .deps
                        .iter()
                        .map(|&d| graph.nodes[d].name.clone())
                        .collect::<Vec<_>>()
                        .into();
                }
                row
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for i in order {
            println!("{}", graph.nodes[i].name);
        }
    }
    Ok(0)
}

/// `ralf inventory`: the files, and one line per group.
fn inventory_command(a: InventoryArgs) -> anyhow::Result<i32> {
    let working_dir = match a
        .working_dir
        .or_else(|| env_first(&["TG_WORKING_DIR", "TERRAGRUNT_WORKING_DIR"]).map(PathBuf::from))
    {
        Some(d) => d,
        None => std::env::current_dir().context("cannot determine the current directory")?,
    };
    let written = ralf_runner::inventory::write(&ralf_runner::inventory::InventoryOptions {
        working_dir,
        out_dir: a.out_dir,
        tf_path: a
            .tf_path
            .or_else(|| env_first(&["TG_TF_PATH", "TERRAGRUNT_TFPATH"])),
        extra_env: Vec::new(),
    })?;
    print!("{}", ralf_runner::inventory::summary(&written));
    Ok(0)
}

/// `ralf report`: the comment, and the exit code `--fail-on-destroy` asks for.
fn report_command(r: ReportArgs) -> anyhow::Result<i32> {
    let runs = match &r.report_file {
        Some(path) => report::read_run_report(path)?,
        None => Vec::new(),
    };
    let plans = match report::read_plan_dir(&r.dir) {
        Ok(plans) => plans,
        // A run whose every unit failed leaves no plan; its report still explains why.
        Err(report::ReportError::Empty(_)) if runs.iter().any(|u| u.is_problem()) => Vec::new(),
        Err(report::ReportError::ReadDir { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound
                && runs.iter().any(|u| u.is_problem()) =>
        {
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let options = report::CommentOptions { marker: r.marker };
    let md = report::render_comment(&plans, &runs, &options);
    match r.output {
        Some(path) => {
            std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => print!("{md}"),
    }
    let destroys = report::destroyed_resources(&plans);
    if r.fail_on_destroy && destroys > 0 {
        eprintln!("ralf: the plans destroy {destroys} resource(s) and --fail-on-destroy is set");
        return Ok(3);
    }
    Ok(0)
}

fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

fn env_flag(names: &[&str]) -> bool {
    env_first(names)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

fn env_list(names: &[&str]) -> Vec<String> {
    env_first(names)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Moves terraform's single-dash flags (`-destroy`, `-detailed-exitcode`, ...) given before `--`
/// behind it, so that clap sees only ralf's own flags.
fn split_tf_flags(argv: Vec<String>) -> Vec<String> {
    let Some(sub) = argv.get(1) else { return argv };
    if sub != "run" && sub != "run-all" {
        return argv;
    }
    let (before, after) = match argv.iter().position(|a| a == "--") {
        Some(i) => (argv[..i].to_vec(), argv[i + 1..].to_vec()),
        None => (argv.clone(), Vec::new()),
    };
    let mut ralf = Vec::new();
    let mut tf = Vec::new();
    for a in before {
        let single_dash = a.starts_with('-') && !a.starts_with("--") && a.len() > 2;
        if single_dash {
            tf.push(a);
        } else {
            ralf.push(a);
        }
    }
    tf.extend(after);
    if !tf.is_empty() {
        ralf.push("--".into());
        ralf.extend(tf);
    }
    ralf
}

fn run_command(args: RunArgs, all: bool) -> anyhow::Result<i32> {
    if !all {
        bail!("ralf runs whole trees only: use `ralf run --all <command>` (or `ralf run-all <command>`)");
    }
    let mut tf_args = args.tf_args;
    let command = match args.command {
        Some(c) => c,
        None if !tf_args.is_empty() => tf_args.remove(0),
        None => bail!("no command given: try `ralf run --all plan`"),
    };
    let working_dir = match args
        .working_dir
        .or_else(|| env_first(&["TG_WORKING_DIR", "TERRAGRUNT_WORKING_DIR"]).map(PathBuf::from))
    {
        Some(d) => d,
        None => std::env::current_dir().context("cannot determine the current directory")?,
    };
    let mut filters = args.filter;
    filters.extend(env_list(&["TG_FILTER"]));
    let working_dir = if args.graph {
        let unit = ralf_runner::run::absolute(&working_dir);
        let root = git_root(&unit).with_context(|| {
            format!(
                "run --graph looks for dependents up to the git root, and {} is not in a git \
                 repository",
                unit.display()
            )
        })?;
        filters.push(format!(
            "...{{{}}}",
            ralf_runner::discover::rel_path(&root, &unit)
        ));
        root
    } else {
        working_dir
    };
    let mut opts = RunOptions::new(working_dir, command);
    opts.filters = filters;
    opts.tf_args = tf_args;
    opts.tf_path = args
        .tf_path
        .or_else(|| env_first(&["TG_TF_PATH", "TERRAGRUNT_TFPATH", "TERRAGRUNT_TF_PATH"]));
    opts.parallelism = match args.parallelism {
        Some(p) => Some(p),
        None => match env_first(&["TG_PARALLELISM", "TERRAGRUNT_PARALLELISM"]) {
            Some(v) => Some(v.parse().with_context(|| {
                format!("TG_PARALLELISM / TERRAGRUNT_PARALLELISM must be a number, got {v:?}")
            })?),
            None => None,
        },
    };
    if opts.parallelism == Some(0) {
        bail!("--parallelism must be at least 1 (leave it out for the default)");
    }
    if opts.parallelism.is_none() {
        opts.parallelism = ralf_runner::run::default_parallelism(&opts.command);
    }
    opts.fail_fast = args.fail_fast || env_flag(&["TG_FAIL_FAST", "TERRAGRUNT_FAIL_FAST"]);
    opts.queue_ignore_errors = args.queue_ignore_errors
        || env_flag(&[
            "TG_QUEUE_IGNORE_ERRORS",
            "TERRAGRUNT_IGNORE_DEPENDENCY_ERRORS",
        ]);
    opts.queue_exclude_dirs = args.queue_exclude_dir;
    opts.queue_exclude_dirs.extend(env_list(&[
        "TG_QUEUE_EXCLUDE_DIR",
        "TERRAGRUNT_EXCLUDE_DIR",
    ]));
    opts.queue_include_dirs = args.queue_include_dir;
    opts.queue_include_dirs.extend(env_list(&[
        "TG_QUEUE_INCLUDE_DIR",
        "TERRAGRUNT_INCLUDE_DIR",
    ]));
    let _non_interactive =
        args.non_interactive || env_flag(&["TG_NON_INTERACTIVE", "TERRAGRUNT_NON_INTERACTIVE"]);
    opts.auto_approve = !args.no_auto_approve;
    opts.plan_out_dir = args
        .out_dir
        .or_else(|| env_first(&["TG_OUT_DIR", "TERRAGRUNT_OUT_DIR"]).map(PathBuf::from));
    opts.json_out_dir = args
        .json_out_dir
        .or_else(|| env_first(&["TG_JSON_OUT_DIR", "TERRAGRUNT_JSON_OUT_DIR"]).map(PathBuf::from));
    if opts.plan_out_dir.is_some() && !matches!(opts.command.as_str(), "plan" | "apply") {
        bail!(
            "--out-dir saves plans (`plan`) and applies them (`apply`); it does not work with {:?}",
            opts.command
        );
    }
    if opts.json_out_dir.is_some() && opts.command != "plan" {
        bail!(
            "--json-out-dir saves plans as JSON and works with `plan` only, not {:?}",
            opts.command
        );
    }
    let mode = if args.grouped_output {
        OutputMode::Grouped
    } else if args.stream_output {
        OutputMode::Stream
    } else {
        OutputMode::auto()
    };
    ralf_runner::cancel::install_signal_handlers()
        .context("cannot install the SIGINT/SIGTERM handlers")?;
    let summary = run_with(&opts, &Printer::new(mode))?;
    let report_file = args
        .report_file
        .or_else(|| env_first(&["TG_REPORT_FILE", "TERRAGRUNT_REPORT_FILE"]).map(PathBuf::from));
    if let Some(path) = report_file {
        let text = if path.extension().is_some_and(|e| e == "csv") {
            ralf_runner::output::report_csv(&summary)
        } else {
            ralf_runner::output::report_json(&summary)
        };
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write the run report {}", path.display()))?;
    }
    Ok(summary.exit_code)
}

fn main() -> std::process::ExitCode {
    let argv = split_tf_flags(std::env::args().collect());
    // Usage errors exit 1, not clap's 2: 2 is what `-detailed-exitcode` uses for "changes
    // present". Help and version still exit 0.
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let result = match cli.command {
        Cmd::Run(a) => {
            let all = a.all || a.graph;
            run_command(a, all)
        }
        Cmd::RunAll(a) => run_command(a, true),
        Cmd::Find(f) | Cmd::List(f) => find_command(f),
        Cmd::Dag(DagCmd::Graph(g)) => graph_command(GraphArgs {
            format: GraphFormat::Dot,
            ..g
        }),
        Cmd::Graph(g) => graph_command(g),
        Cmd::Demo(d) => ralf_runner::demo::run_demo(&ralf_runner::demo::DemoOptions {
            tree: d.tree,
            work_dir: d.work_dir,
            keep: d.keep,
            tf_path: d.tf_path,
            parallelism: d.parallelism,
            task_duration: std::time::Duration::from_millis(d.task_ms),
            verbose: d.verbose,
            lab: d.lab,
        })
        .map_err(anyhow::Error::from),
        Cmd::Provider(p) => ralf_runner::install::run_cli(p).map_err(anyhow::Error::from),
        Cmd::Report(r) => report_command(r),
        Cmd::Inventory(a) => inventory_command(a),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("ralf: error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
