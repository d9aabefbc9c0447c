//! `pve-sim`: command-line glue over the `pve_sim` library. Runs the simulator (with `--lab`,
//! on real LXC containers), or (called as `pct` or `pve-sim pct ...`) the `pct` emulation, or
//! (`pve-sim bench`) the benchmark, or (`pve-sim lab ...`) builds and cleans the lab.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "pve-sim",
    version,
    about = "A Proxmox VE API simulator (api2/json over HTTPS)"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8006")]
    listen: SocketAddr,
    /// Keep the cluster in this file across restarts (written atomically after every change).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Comma-separated node names of the cluster.
    #[arg(long, value_delimiter = ',', default_value = "pve")]
    nodes: Vec<String>,
    /// An API token `user@realm!tokenid=secret` (repeatable). Default: root@pam!ralf=ralf-secret.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// A ticket-login user `user@realm:password` (repeatable). Default: root@pam:ralf-password.
    #[arg(long = "user")]
    users: Vec<String>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Write the PEM of the CA that signed the HTTPS certificate to this file.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// How long every asynchronous task runs, in milliseconds.
    #[arg(long, default_value_t = 50)]
    task_duration_ms: u64,
    /// Delay every 401 answer by this many milliseconds (Proxmox uses 3000).
    #[arg(long, default_value_t = 0)]
    auth_failure_delay_ms: u64,
    /// Run containers as real LXC containers (the lab; needs root, lxc and a template from
    /// `pve-sim lab prepare`).
    #[arg(long)]
    lab: bool,
    #[command(flatten)]
    lab_dirs: LabDirs,
    /// Serve the node's SSH (`pct exec`, for service checks) on this address.
    #[arg(long)]
    ssh_listen: Option<SocketAddr>,
    /// The public keys that may log in to the node's SSH as root (an authorized_keys file).
    #[arg(long, requires = "ssh_listen")]
    ssh_authorized_keys: Option<PathBuf>,
    /// Start without this template (a file name such as
    /// `debian-12-standard_12.7-1_amd64.tar.zst`, or its volume id; repeatable), so that a
    /// client can download it through the appliance list (`POST /nodes/{node}/aplinfo`).
    #[arg(long = "missing-template")]
    missing_templates: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where the lab keeps templates and containers.
#[derive(clap::Args, Debug, Clone)]
struct LabDirs {
    /// The lab's template cache (kept across runs).
    #[arg(long, env = "PVE_SIM_LAB_CACHE", default_value = pve_sim::lab::DEFAULT_TEMPLATE_DIR, global = true)]
    lab_cache: PathBuf,
    /// Where the lab's containers live while it runs (emptied on reset, removed on exit).
    #[arg(long, default_value = pve_sim::lab::DEFAULT_CONTAINER_DIR, global = true)]
    lab_dir: PathBuf,
}

impl LabDirs {
    fn config(&self) -> pve_sim::lab::LabConfig {
        pve_sim::lab::LabConfig {
            template_dir: self.lab_cache.clone(),
            container_dir: self.lab_dir.clone(),
            ..pve_sim::lab::LabConfig::default()
        }
    }
}

#[derive(Subcommand, Debug)]
enum LabAction {
    /// Build the lab's Debian 12 template with debootstrap, unless the cache holds it.
    Prepare {
        /// The Debian mirror for debootstrap.
        #[arg(long, default_value = pve_sim::lab::template::DEFAULT_MIRROR)]
        mirror: String,
    },
    /// List the templates in the cache, as `local:vztmpl/...` volumes.
    Templates,
    /// Remove the containers and the bridge a killed lab left behind.
    Clean,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build, list and clean the lab of real LXC containers.
    Lab {
        #[command(subcommand)]
        action: LabAction,
    },
    /// Measure GET config throughput and latency with many containers.
    Bench {
        /// Number of containers to create.
        #[arg(long, default_value_t = 1000)]
        containers: u32,
        /// Number of GET config requests to send.
        #[arg(long, default_value_t = 20000)]
        requests: u32,
        /// Concurrent client connections.
        #[arg(long, default_value_t = 8)]
        concurrency: u32,
        /// Use plain HTTP instead of HTTPS.
        #[arg(long)]
        plain_http: bool,
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let program = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    if program == "pct" {
        return run_pct(&args[1..]);
    }
    if args.get(1).map(String::as_str) == Some("pct") {
        return run_pct(&args[2..]);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pve-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_pct(args: &[String]) -> ExitCode {
    let target = match pve_sim::pct::PctTarget::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(255);
        }
    };
    let out = pve_sim::pct::run(args, &target);
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    ExitCode::from(out.code.clamp(0, 255) as u8)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    if let Some(Command::Lab { action }) = &cli.command {
        return run_lab(action, &cli.lab_dirs.config());
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the tokio runtime")?;
    if let Some(Command::Bench {
        containers,
        requests,
        concurrency,
        plain_http,
    }) = cli.command
    {
        let report = runtime.block_on(pve_sim::bench::run(pve_sim::bench::BenchOptions {
            containers,
            requests,
            concurrency,
            plain_http,
        }))?;
        println!("{report}");
        return Ok(());
    }
    let ssh = match cli.ssh_listen {
        Some(listen) => {
            let keys = match &cli.ssh_authorized_keys {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => anyhow::bail!(
                    "--ssh-listen needs --ssh-authorized-keys FILE (the keys that may log in)"
                ),
            };
            Some(pve_sim::SshServerConfig {
                listen,
                user: "root".to_string(),
                authorized_keys: keys.lines().map(str::to_string).collect(),
            })
        }
        None => None,
    };
    let defaults = pve_sim::SimConfig::default();
    let config = pve_sim::SimConfig {
        nodes: cli.nodes,
        tokens: if cli.tokens.is_empty() {
            defaults.tokens
        } else {
            cli.tokens
        },
        users: if cli.users.is_empty() {
            defaults.users
        } else {
            cli.users
        },
        plain_http: cli.plain_http,
        state_file: cli.state,
        task_duration: Duration::from_millis(cli.task_duration_ms),
        auth_failure_delay: Duration::from_millis(cli.auth_failure_delay_ms),
        lab: cli.lab.then(|| cli.lab_dirs.config()),
        ssh,
        missing_templates: cli.missing_templates,
        ..defaults
    };
    runtime.block_on(async move {
        let sim = pve_sim::RunningSim::start(config, cli.listen).await?;
        if let (Some(path), Some(pem)) = (&cli.cert_out, sim.ca_pem()) {
            std::fs::write(path, pem)
                .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
        }
        println!("pve-sim listening on {}", sim.endpoint());
        if let Some(ssh) = sim.ssh() {
            println!(
                "node SSH on {} (known_hosts: {})",
                ssh.addr, ssh.known_hosts
            );
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_exit_signal().await?;
        tracing::info!("shutting down");
        sim.shutdown().await;
        anyhow::Ok(())
    })
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM, so both remove what the lab made.
async fn wait_for_exit_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot wait for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot wait for Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}

fn run_lab(action: &LabAction, config: &pve_sim::lab::LabConfig) -> anyhow::Result<()> {
    match action {
        LabAction::Prepare { mirror } => {
            let prepared = pve_sim::lab::template::prepare(&config.template_dir, mirror)?;
            let volid = format!(
                "local:vztmpl/{}",
                prepared
                    .path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
            );
            if prepared.reused {
                println!("{volid}: reused from {}", prepared.path.display());
            } else {
                println!(
                    "{volid}: built in {:.1}s ({:.1} MiB) at {}",
                    prepared.duration.as_secs_f64(),
                    prepared.size as f64 / 1048576.0,
                    prepared.path.display()
                );
            }
        }
        LabAction::Templates => {
            for t in pve_sim::lab::template::list(&config.template_dir) {
                println!("{}\t{}", t.volid, t.size);
            }
        }
        LabAction::Clean => {
            let removed = pve_sim::lab::clean(config);
            if removed.is_empty() {
                println!("nothing to clean");
            }
            for what in removed {
                println!("removed {what}");
            }
        }
    }
    Ok(())
}
