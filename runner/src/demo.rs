//! `ralf demo`: the one-liner. Deploys the example RALF tree with `run --all apply` (the
//! gatekeeper `stacks/network-health` first, against stand-ins of the network's services from
//! [`crate::standins`]), prints the summary and every smoke result, proves a second
//! `run --all plan` has no changes, writes the Ansible inventory ([`crate::inventory`]), and
//! (unless asked to keep it) destroys everything and checks the cluster is empty.
//!
//! With no `PROXMOX_VE_ENDPOINT` in the environment it starts an embedded `pve-sim` (HTTPS; the
//! provider verifies its certificate through `PROXMOX_VE_CA_CERT`) and deploys the tree's `sim`
//! environment; with one, it deploys to that endpoint with the credentials in the environment.
//! The tree is copied to a work directory first, so the example in the repository stays clean.
//! This module only orchestrates: running units is [`crate::run`], the simulator is `pve_sim`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::run::{run, RunOptions, RunSummary, UnitResult};

/// The provider's registry address, as the example tree's `versions.tf` requires it.
const PROVIDER_ADDRESS: &str = "registry.terraform.io/ralf-homelab/ralf";
const PROVIDER_VERSION: &str = "0.1.0";
/// The embedded simulator's state file in the work directory (read back to prove destroy
/// left the cluster empty).
const SIM_STATE_FILE: &str = "pve-sim-state.json";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The `iac/` tree to deploy; `None` finds `examples/ralf-homelab/iac` above the current
    /// directory or the executable.
    pub tree: Option<PathBuf>,
    /// Where the tree is copied and state is kept; `None` uses `ralf-demo/` next to the binary.
    pub work_dir: Option<PathBuf>,
    /// Leave the deployment in place (and the simulator running until Ctrl-C).
    pub keep: bool,
    pub tf_path: Option<String>,
    pub parallelism: Option<usize>,
    /// Duration of each simulated Proxmox task (realistic: a few hundred ms to seconds).
    pub task_duration: Duration,
    /// Print every unit's whole Terraform output, not only the tables.
    pub verbose: bool,
    /// Deploy the tree's `lab` environment to pve-sim's lab of real LXC containers, with the
    /// failure drill (see [`crate::demo_lab`]).
    pub lab: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot find the example tree examples/ralf-homelab/iac above {0}: pass --tree DIR")]
    TreeNotFound(PathBuf),
    #[error("the provider binary {0} is missing: build it with `cargo build --workspace --bins`")]
    ProviderMissing(PathBuf),
    #[error("cannot prepare the work directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the embedded pve-sim: {0}")]
    Sim(String),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error("{0}")]
    Failed(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn find_tree(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join("examples/ralf-homelab/iac"))
        .find(|p| p.join("root.hcl").is_file())
}

/// Whether an entry of the example tree goes into the demo's copy: not Terraform's working
/// files, caches, lock files or state from earlier runs.
fn is_tree_entry(name: &str) -> bool {
    !matches!(
        name,
        ".terraform" | ".terragrunt-cache" | ".terraform.lock.hcl"
    ) && !name.ends_with(".tfstate")
        && !name.ends_with(".tfstate.backup")
}

/// Copies a tree, leaving out Terraform's working files and state.
fn copy_tree(from: &Path, to: &Path) -> Result<(), DemoError> {
    crate::tf::copy_tree(from, to, &is_tree_entry).map_err(io_err(from))
}

/// A CLI configuration that loads the provider from the build: `dev_overrides` for plan and
/// apply, and a filesystem mirror so `init` works offline.
fn write_cli_config(work: &Path, provider: &Path) -> Result<PathBuf, DemoError> {
    let platform = format!(
        "{}_{}",
        std::env::consts::OS,
        if cfg!(target_arch = "x86_64") {
            "amd64"
        } else {
            "arm64"
        }
    );
    let mirror = work.join("mirror");
    let package = mirror
        .join(PROVIDER_ADDRESS)
        .join(PROVIDER_VERSION)
        .join(&platform);
    std::fs::create_dir_all(&package).map_err(io_err(&package))?;
    let installed = package.join(format!("terraform-provider-ralf_v{PROVIDER_VERSION}"));
    std::fs::copy(provider, &installed).map_err(io_err(&installed))?;
    let provider_dir = provider.parent().unwrap_or(Path::new("."));
    let config = format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_ADDRESS}\" = \"{}\"\n  }}\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{PROVIDER_ADDRESS}\"]\n  }}\n  direct {{\n    exclude = [\"{PROVIDER_ADDRESS}\"]\n  }}\n}}\n",
        provider_dir.display(),
        mirror.display()
    );
    let path = work.join("cli.tfrc");
    std::fs::write(&path, config).map_err(io_err(&path))?;
    Ok(path)
}

/// One smoke-check line per service, read from the stack's local state.
fn smoke_results(summary: &RunSummary, env_name: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for unit in &summary.units {
        let state_file = unit.dir.join(format!("{env_name}.tfstate"));
        let Ok(text) = std::fs::read_to_string(&state_file) else {
            continue;
        };
        let Ok(state) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let resources = state["resources"].as_array().cloned().unwrap_or_default();
        for r in resources.iter().filter(|r| r["type"] == "ralf_smoke_check") {
            // The gatekeeper's checks are data sources: name which one.
            let label = if r["mode"] == "data" {
                format!("{} ({})", unit.name, r["name"].as_str().unwrap_or("?"))
            } else {
                unit.name.clone()
            };
            for instance in r["instances"].as_array().into_iter().flatten() {
                let attrs = &instance["attributes"];
                lines.push(format!(
                    "{label}: {}",
                    attrs["summary"].as_str().unwrap_or("?")
                ));
                for result in attrs["results"].as_array().into_iter().flatten() {
                    lines.push(format!(
                        "    {:<4} {:<8} {:<40} {}",
                        result["status"].as_str().unwrap_or("?"),
                        result["kind"].as_str().unwrap_or("?"),
                        result["target"].as_str().unwrap_or("?"),
                        result["message"].as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    lines
}

/// The message of each "Check block assertion failed" diagnostic in Terraform's output (without
/// colour), one line each.
fn check_warnings(output: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        if !line.contains("Warning: Check block assertion failed") {
            continue;
        }
        // The diagnostic's body up to its end (`╵`): its last paragraph is the message.
        let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
        for line in lines.by_ref() {
            let text = line.trim_start_matches(['│', ' ']).trim_end();
            if line.starts_with('╵') {
                break;
            }
            match paragraphs.last_mut() {
                Some(current) if !text.is_empty() => current.push(text),
                _ => paragraphs.push(Vec::new()),
            }
        }
        if let Some(message) = paragraphs.iter().rev().find(|p| !p.is_empty()) {
            warnings.push(message.join(" "));
        }
    }
    warnings
}

/// Prints the gatekeeper's `check {}` warnings (IP drift, recovery readiness) of one run, or
/// that there were none; nothing when the gatekeeper did not run through.
fn show_gatekeeper_warnings(summary: &RunSummary, when: &str) {
    let Some(gate) = summary
        .units
        .iter()
        .find(|u| u.name == GATEKEEPER && matches!(u.result, UnitResult::Succeeded))
    else {
        return;
    };
    let warnings = check_warnings(&gate.output);
    if warnings.is_empty() {
        println!("Gatekeeper catalogue checks ({when}): no IP drift, every deployed service has its post-install snapshot.");
    }
    for warning in warnings {
        println!("Gatekeeper warning ({when}): {warning}");
    }
}

fn failed_units(summary: &RunSummary) -> Vec<String> {
    summary
        .units
        .iter()
        .filter_map(|u| match &u.result {
            UnitResult::Failed { error } => Some(format!("{}: {error}", u.name)),
            UnitResult::EarlyExit { cause } => Some(format!("{}: not run ({cause})", u.name)),
            _ => None,
        })
        .collect()
}

/// Compares the apply's wall time with the critical path of the dependency graph.
fn print_critical_path(iac: &Path, summary: &RunSummary, env: &[(String, String)]) {
    let eval = std::sync::Arc::new(crate::config::eval::EvalEnv {
        extra_env: env.to_vec(),
        ..Default::default()
    });
    let Ok((graph, _)) = crate::run::load_graph(iac, &eval) else {
        return;
    };
    let durations = summary
        .units
        .iter()
        .filter_map(|u| Some((u.name.clone(), u.duration?)))
        .collect();
    let (length, chain) = graph.critical_path(&durations);
    println!(
        "Wall time {:.1}s; critical path of the dependency graph {:.1}s ({}).",
        summary.duration.as_secs_f64(),
        length.as_secs_f64(),
        chain.join(" -> ")
    );
}

fn banner(text: &str) {
    println!("\n=== {text} ===");
    let _ = std::io::stdout().flush();
}

/// Runs the demo; returns the process exit code.
pub fn run_demo(options: &DemoOptions) -> Result<i32, DemoError> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let tree = match &options.tree {
        Some(t) => t.clone(),
        None => find_tree(&cwd)
            .or_else(|| find_tree(&exe_dir))
            .ok_or_else(|| DemoError::TreeNotFound(cwd.clone()))?,
    };
    let provider = exe_dir.join("terraform-provider-ralf");
    if !provider.is_file() {
        return Err(DemoError::ProviderMissing(provider));
    }
    let work = options
        .work_dir
        .clone()
        .unwrap_or_else(|| exe_dir.join("ralf-demo"));
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(io_err(&work))?;
    }
    let iac = work.join("iac");
    copy_tree(&tree, &iac)?;
    let cli_config = write_cli_config(&work, &provider)?;

    let mut env: Vec<(String, String)> = vec![
        (
            "TF_CLI_CONFIG_FILE".into(),
            cli_config.display().to_string(),
        ),
        ("CHECKPOINT_DISABLE".into(), "1".into()),
        ("TF_IN_AUTOMATION".into(), "1".into()),
    ];
    let real_endpoint = std::env::var("PROXMOX_VE_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    let sim = match real_endpoint {
        Some(endpoint) => {
            println!(
                "Deploying {} to {endpoint} (credentials from the environment).",
                tree.display()
            );
            env.push((
                "RALF_ENV".into(),
                std::env::var("RALF_ENV").unwrap_or_else(|_| "functional".into()),
            ));
            None
        }
        None => {
            let (sim, sim_env) = if options.lab {
                start_lab_sim(&work, &iac, options.task_duration)?
            } else {
                start_embedded_sim(&work, options.task_duration)?
            };
            println!(
                "Deploying a copy of {} from {}.",
                tree.display(),
                iac.display()
            );
            env.extend(sim_env);
            Some(sim)
        }
    };
    let env_name = env
        .iter()
        .find(|(k, _)| k == "RALF_ENV")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    // The gatekeeper's targets on this machine, while the demo runs (not for a real cluster),
    // on free ports the gatekeeper learns from the environment.
    let standins = match &sim {
        Some(_) => start_standins(&iac, &env_name)?,
        None => None,
    };
    if let Some(standins) = &standins {
        env.extend(standins.targets.env());
    }
    let options_for = |command: &str, tf_args: &[&str]| {
        let mut o = RunOptions::new(&iac, command);
        o.tf_args = tf_args.iter().map(|s| s.to_string()).collect();
        o.tf_path = options.tf_path.clone();
        o.parallelism = options.parallelism;
        o.extra_env = env.clone();
        // Each unit's whole Terraform output would bury the result: print tables instead, and
        // the output of units that failed.
        o.quiet = !options.verbose;
        o
    };
    let show = |summary: &RunSummary| {
        if !options.verbose {
            for unit in summary
                .units
                .iter()
                .filter(|u| matches!(u.result, UnitResult::Failed { .. }))
            {
                print!("{}", crate::output::unit_block(unit));
            }
            print!("{}", crate::output::summary_table(summary));
        }
    };

    banner("ralf run --all apply");
    let applied = run(&options_for("apply", &[]))?;
    show(&applied);
    print_critical_path(&iac, &applied, &env);
    banner("Smoke checks");
    for line in smoke_results(&applied, &env_name) {
        println!("{line}");
    }
    show_gatekeeper_warnings(&applied, "apply");
    let failures = failed_units(&applied);
    if !failures.is_empty() {
        return Err(DemoError::Failed(format!(
            "the apply failed for:\n  {}",
            failures.join("\n  ")
        )));
    }

    banner("ralf run --all plan -detailed-exitcode (expecting no changes)");
    let planned = run(&options_for("plan", &["-detailed-exitcode"]))?;
    show(&planned);
    show_gatekeeper_warnings(&planned, "plan");
    match planned.exit_code {
        0 => println!("No changes: the deployment matches the configuration."),
        2 => {
            let changed: Vec<String> = planned
                .units
                .iter()
                .filter(|u| u.exit_code == Some(2))
                .map(|u| u.name.clone())
                .collect();
            return Err(DemoError::Failed(format!(
                "the second plan has changes in: {}",
                changed.join(", ")
            )));
        }
        _ => {
            return Err(DemoError::Failed(format!(
                "the second plan failed:\n  {}",
                failed_units(&planned).join("\n  ")
            )))
        }
    }

    banner("ralf inventory");
    let inventory = crate::inventory::write(&crate::inventory::InventoryOptions {
        working_dir: iac.clone(),
        out_dir: None,
        tf_path: options.tf_path.clone(),
        extra_env: env.clone(),
    })
    .map_err(|e| DemoError::Failed(format!("the inventory could not be written: {e}")))?;
    print!("{}", crate::inventory::summary(&inventory));

    if options.lab && sim.is_some() {
        banner("Failure drill: a broken install rolls back");
        lab_drill(&options_for("apply", &[]), &env, &work)?;
    }

    if options.keep {
        println!(
            "\nKept the deployment in {} (state files next to each stack).",
            iac.display()
        );
        if let Some(standins) = &standins {
            let exports: Vec<String> = standins
                .targets
                .env()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!(
                "The gatekeeper's stand-ins stay up too; to run ralf by hand, export {}.",
                exports.join(" ")
            );
        }
        if sim.is_some() {
            println!("The simulator stays up until you press Ctrl-C.");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        return Ok(0);
    }

    banner("ralf run --all destroy");
    let destroyed = run(&options_for("destroy", &[]))?;
    show(&destroyed);
    let failures = failed_units(&destroyed);
    if !failures.is_empty() {
        return Err(DemoError::Failed(format!(
            "the destroy failed for:\n  {}",
            failures.join("\n  ")
        )));
    }
    if sim.is_some() {
        let path = work.join(SIM_STATE_FILE);
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let state: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            DemoError::Failed(format!(
                "cannot read the simulator state {}: {e}",
                path.display()
            ))
        })?;
        let left = state["containers"].as_object().map_or(0, |c| c.len());
        println!("Cluster after destroy: {left} containers");
        if left > 0 {
            return Err(DemoError::Failed(format!(
                "destroy left {left} containers on the cluster"
            )));
        }
    }
    if options.lab && sim.is_some() {
        drop(sim);
        lab_check_nothing_left(&work)?;
    }
    println!(
        "\nDone: {} services behind the gatekeeper ({} units) applied, smoke-checked, planned again without changes, inventoried and destroyed.",
        inventory.hosts.len(),
        applied.units.len()
    );
    if !options.lab {
        println!("For real LXC containers, Ansible installs and a real failure drill: `ralf demo --lab` (root; apt-get install lxc debootstrap ansible-core; pve-sim lab prepare).");
    }
    Ok(0)
}

/// The gatekeeper's directory in the example tree.
const GATEKEEPER: &str = "stacks/network-health";

/// Serves the gatekeeper's targets on the hosts its `env/<env>.tfvars` names, on free ports
/// ([`crate::standins`]); `None` for a tree without the gatekeeper or that environment.
fn start_standins(
    iac: &Path,
    env_name: &str,
) -> Result<Option<crate::standins::Standins>, DemoError> {
    let file = iac
        .join(GATEKEEPER)
        .join("env")
        .join(format!("{env_name}.tfvars"));
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(None);
    };
    let hosts = crate::standins::StandinHosts::from_tfvars(&text, &file.display().to_string())
        .map_err(|e| DemoError::Failed(e.to_string()))?;
    let standins = crate::standins::start(&hosts).map_err(|e| DemoError::Failed(e.to_string()))?;
    println!(
        "Serving the gatekeeper's network stand-ins: {}.",
        standins.served.join("; ")
    );
    Ok(Some(standins))
}

/// The lab's simulator and environment ([`crate::demo_lab`]).
#[cfg(feature = "embedded-sim")]
fn start_lab_sim(
    work: &Path,
    iac: &Path,
    task_duration: Duration,
) -> Result<(pve_sim::BackgroundSim, Vec<(String, String)>), DemoError> {
    crate::demo_lab::start_lab_sim(work, iac, task_duration, &work.join(SIM_STATE_FILE))
}

#[cfg(feature = "embedded-sim")]
fn lab_drill(base: &RunOptions, env: &[(String, String)], work: &Path) -> Result<(), DemoError> {
    crate::demo_lab::failure_drill(base, env, work)
}

#[cfg(feature = "embedded-sim")]
fn lab_check_nothing_left(work: &Path) -> Result<(), DemoError> {
    crate::demo_lab::check_nothing_left(work)
}

#[cfg(not(feature = "embedded-sim"))]
fn start_lab_sim(
    _work: &Path,
    _iac: &Path,
    _task_duration: Duration,
) -> Result<((), Vec<(String, String)>), DemoError> {
    Err(DemoError::Sim(
        "this ralf was built without the `embedded-sim` feature, which the lab needs".to_string(),
    ))
}

#[cfg(not(feature = "embedded-sim"))]
fn lab_drill(_: &RunOptions, _: &[(String, String)], _: &Path) -> Result<(), DemoError> {
    Ok(())
}

#[cfg(not(feature = "embedded-sim"))]
fn lab_check_nothing_left(_: &Path) -> Result<(), DemoError> {
    Ok(())
}

/// Starts the embedded simulator for a demo without `PROXMOX_VE_ENDPOINT`, and returns it with
/// the environment that points the provider and the tree's `sim` environment at it.
#[cfg(feature = "embedded-sim")]
fn start_embedded_sim(
    work: &Path,
    task_duration: std::time::Duration,
) -> Result<(pve_sim::BackgroundSim, Vec<(String, String)>), DemoError> {
    let config = pve_sim::SimConfig {
        task_duration,
        state_file: Some(work.join(SIM_STATE_FILE)),
        ..pve_sim::SimConfig::default()
    };
    let token = config.tokens.first().cloned().unwrap_or_default();
    let sim = pve_sim::start_in_background(config, ([127, 0, 0, 1], 0).into())
        .map_err(|e| DemoError::Sim(e.to_string()))?;
    let ca = sim.ca_pem().unwrap_or_default();
    let ca_file = work.join("pve-sim-ca.pem");
    std::fs::write(&ca_file, &ca).map_err(io_err(&ca_file))?;
    let endpoint = sim.endpoint();
    println!("Started the embedded pve-sim at {endpoint} (no PROXMOX_VE_ENDPOINT set).");
    let env = vec![
        ("PROXMOX_VE_ENDPOINT".to_string(), endpoint.clone()),
        ("PROXMOX_VE_API_TOKEN".to_string(), token),
        ("PROXMOX_VE_CA_CERT".to_string(), ca),
        ("PROXMOX_VE_NODE".to_string(), "pve".to_string()),
        ("RALF_ENV".to_string(), "sim".to_string()),
        (
            "TF_VAR_sim_endpoint".to_string(),
            endpoint.trim_end_matches('/').to_string(),
        ),
        ("CURL_CA_BUNDLE".to_string(), ca_file.display().to_string()),
    ];
    Ok((sim, env))
}

/// Without the `embedded-sim` feature there is nothing to start: the demo needs a real endpoint.
#[cfg(not(feature = "embedded-sim"))]
fn start_embedded_sim(
    _work: &Path,
    _task_duration: std::time::Duration,
) -> Result<((), Vec<(String, String)>), DemoError> {
    Err(DemoError::Sim(
        "this ralf was built without the `embedded-sim` feature; set PROXMOX_VE_ENDPOINT (and \
         PROXMOX_VE_API_TOKEN) to deploy to a real Proxmox VE, or use a build with default features"
            .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gatekeepers_check_warnings_are_read_from_terraforms_output_one_line_each() {
        let output = "\
data.ralf_containers.node: Read complete after 0s [id=pve]

No changes. Your infrastructure matches the configuration.
╷
│ Warning: Check block assertion failed
│
│   on catalogue.tf line 60, in check \"ip_drift\":
│   60:     condition = length(local.drifted) == 0
│     ├────────────────
│     │ local.drifted is tuple with 1 element
│
│ IP drift against the catalogue (iac/services.hcl): postgresql (CT 2010)
│ expected 127.0.20.10, actual 127.0.20.99.
╵
╷
│ Warning: Check block assertion failed
│
│   on catalogue.tf line 70, in check \"recovery_readiness\":
│   70:     condition = length(local.unready) == 0
│
│ Not recovery-ready, no \"post-install\" snapshot: minio (CT 2012).
╵
╷
│ Warning: Provider development overrides are in effect
│
│ The behavior may therefore not match any released version.
╵
";
        assert_eq!(
            check_warnings(output),
            [
                "IP drift against the catalogue (iac/services.hcl): postgresql (CT 2010) expected 127.0.20.10, actual 127.0.20.99.",
                "Not recovery-ready, no \"post-install\" snapshot: minio (CT 2012).",
            ]
        );
        assert!(check_warnings("No changes.\n").is_empty());
    }

    #[test]
    fn the_copy_leaves_state_and_terraform_working_files_behind() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join("a/.terraform")).unwrap();
        std::fs::write(from.path().join("a/main.tf"), "x").unwrap();
        std::fs::write(from.path().join("a/sim.tfstate"), "{}").unwrap();
        copy_tree(from.path(), &to.path().join("t")).unwrap();
        assert!(to.path().join("t/a/main.tf").is_file());
        assert!(!to.path().join("t/a/sim.tfstate").exists());
        assert!(!to.path().join("t/a/.terraform").exists());
    }
}
