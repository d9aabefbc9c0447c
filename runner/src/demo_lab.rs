//! `ralf demo --lab`: the demo on pve-sim's lab, where every container is a real LXC container
//! on this machine. This module starts the embedded lab simulator with the node's SSH server,
//! gives the tree's `lab` environment what its install step needs (an SSH key for the containers,
//! Ansible's settings), runs the failure drill (a broken install of one stack must roll back:
//! the unit and port really gone, the container running), and proves afterwards that nothing
//! the lab made is left. It only orchestrates: the lab itself is `pve_sim::lab`.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::demo::DemoError;
use crate::run::{run, RunOptions, UnitResult};

/// The stack the failure drill breaks: a leaf of the dependency graph (nothing depends on it).
const DRILL_STACK: &str = "stacks/grafana-fz";
const DRILL_CT: u32 = 8012;
const DRILL_ADDRESS: &str = "198.18.80.12";
const DRILL_PORT: u16 = 3000;
const DRILL_UNIT: &str = "grafana-server.service";
/// The bridge the lab creates (pve_sim's default).
const LAB_BRIDGE: &str = "pvesimlab0";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What the lab needs on this machine, or how to get it.
pub fn check_lab_host() -> Result<(), DemoError> {
    pve_sim::lab::check_host().map_err(|e| {
        DemoError::Failed(format!(
            "`ralf demo --lab` runs real LXC containers and cannot here: {e}.\n\
             To get the lab (as root): apt-get install -y lxc debootstrap ansible-core, then \
             `pve-sim lab prepare` (builds the Debian template once, into {}). \
             `ralf demo` without --lab needs none of this.",
            pve_sim::lab::LabConfig::default().template_dir.display()
        ))
    })?;
    if Command::new("ansible-playbook")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err(DemoError::Failed(
            "`ralf demo --lab` installs the stand-in services with Ansible, and \
             `ansible-playbook` was not found: apt-get install -y ansible-core (or pip install ansible-core)"
                .to_string(),
        ));
    }
    Ok(())
}

/// Starts the lab simulator (building the template into the cache if it is missing) and
/// returns it with the environment for the provider, the tree's `lab` env and Ansible.
pub fn start_lab_sim(
    work: &Path,
    iac: &Path,
    task_duration: Duration,
    state_file: &Path,
) -> Result<(pve_sim::BackgroundSim, Vec<(String, String)>), DemoError> {
    check_lab_host()?;
    let lab = pve_sim::lab::LabConfig {
        container_dir: work.join("lab-containers"),
        ..pve_sim::lab::LabConfig::default()
    };
    let prepared =
        pve_sim::lab::template::prepare(&lab.template_dir, pve_sim::lab::template::DEFAULT_MIRROR)
            .map_err(|e| DemoError::Sim(e.to_string()))?;
    if prepared.reused {
        println!("Lab template: {} (cached).", prepared.path.display());
    } else {
        println!(
            "Lab template: built {} in {:.1}s.",
            prepared.path.display(),
            prepared.duration.as_secs_f64()
        );
    }
    let key = work.join("lab-ssh-key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ralf-demo-lab", "-f"])
        .arg(&key)
        .status()
        .map_err(|e| {
            DemoError::Failed(format!(
                "cannot run ssh-keygen (apt-get install openssh-client): {e}"
            ))
        })?;
    if !status.success() {
        return Err(DemoError::Failed("ssh-keygen failed".to_string()));
    }
    let public_path = work.join("lab-ssh-key.pub");
    let public = std::fs::read_to_string(&public_path).map_err(io_err(&public_path))?;
    let private = std::fs::read_to_string(&key).map_err(io_err(&key))?;
    let config = pve_sim::SimConfig {
        task_duration,
        state_file: Some(state_file.to_path_buf()),
        lab: Some(lab),
        ssh: Some(pve_sim::SshServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            user: "root".to_string(),
            authorized_keys: vec![public.trim().to_string()],
        }),
        ..pve_sim::SimConfig::default()
    };
    let token = config.tokens.first().cloned().unwrap_or_default();
    let sim = pve_sim::start_in_background(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| DemoError::Sim(e.to_string()))?;
    let ssh = sim
        .ssh()
        .ok_or_else(|| DemoError::Sim("the node's SSH server did not start".to_string()))?;
    let endpoint = sim.endpoint();
    println!(
        "Started the embedded pve-sim lab at {endpoint} (real LXC containers on bridge {LAB_BRIDGE}, 198.18.0.0/15; node SSH on {}).",
        ssh.addr
    );
    let ansible_dir = iac.join("lab/ansible");
    let known_hosts = work.join("lab-known-hosts");
    let env = vec![
        ("PROXMOX_VE_ENDPOINT".to_string(), endpoint),
        ("PROXMOX_VE_API_TOKEN".to_string(), token),
        (
            "PROXMOX_VE_CA_CERT".to_string(),
            sim.ca_pem().unwrap_or_default(),
        ),
        ("PROXMOX_VE_NODE".to_string(), "pve".to_string()),
        ("PROXMOX_VE_SSH_USERNAME".to_string(), "root".to_string()),
        ("PROXMOX_VE_SSH_PRIVATE_KEY".to_string(), private),
        (
            "PROXMOX_VE_SSH_PORT".to_string(),
            ssh.addr.port().to_string(),
        ),
        ("PROXMOX_VE_SSH_KNOWN_HOSTS".to_string(), ssh.known_hosts),
        ("RALF_ENV".to_string(), "lab".to_string()),
        (
            "TF_VAR_ssh_public_keys".to_string(),
            serde_json::json!([public.trim()]).to_string(),
        ),
        (
            "RALF_LAB_ANSIBLE_DIR".to_string(),
            ansible_dir.display().to_string(),
        ),
        (
            "ANSIBLE_CONFIG".to_string(),
            ansible_dir.join("ansible.cfg").display().to_string(),
        ),
        (
            "ANSIBLE_PRIVATE_KEY_FILE".to_string(),
            key.display().to_string(),
        ),
        (
            "ANSIBLE_SSH_ARGS".to_string(),
            format!(
                "-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={} -o ControlMaster=no",
                known_hosts.display()
            ),
        ),
    ];
    Ok((sim, env))
}

/// `ssh root@node <command>` through the simulator's SSH server, with the demo's key.
fn node_command(env: &[(String, String)], work: &Path, command: &str) -> (i32, String) {
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let known_hosts = work.join("node-known-hosts");
    if std::fs::write(
        &known_hosts,
        format!("{}\n", get("PROXMOX_VE_SSH_KNOWN_HOSTS")),
    )
    .is_err()
    {
        return (-1, String::new());
    }
    let out = Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .arg("-i")
        .arg(work.join("lab-ssh-key"))
        .args(["-p", &get("PROXMOX_VE_SSH_PORT"), "root@127.0.0.1", command])
        .output();
    match out {
        Ok(out) => (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ),
        Err(_) => (-1, String::new()),
    }
}

fn port_open(address: &str, port: u16) -> bool {
    let Ok(addr) = format!("{address}:{port}").parse::<SocketAddr>() else {
        return false;
    };
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

/// The failure drill: reinstall one stack with a broken install (the stand-in listens on the
/// wrong port). Its smoke checks must fail and roll the container back to `pre-install`, so the
/// unit and the port are really gone and the container runs again.
pub fn failure_drill(
    base: &RunOptions,
    env: &[(String, String)],
    work: &Path,
) -> Result<(), DemoError> {
    let mut options = base.clone();
    options.command = "apply".to_string();
    options.queue_include_dirs = vec![DRILL_STACK.to_string()];
    options
        .extra_env
        .push(("TF_VAR_lab_broken_install".into(), "true".into()));
    options
        .extra_env
        .push(("TF_VAR_install_revision".into(), "drill".into()));
    println!("Breaking the install of {DRILL_STACK} (its stand-in listens on the wrong port)...");
    let summary = run(&options)?;
    let failed = summary
        .units
        .iter()
        .any(|u| u.name == DRILL_STACK && matches!(u.result, UnitResult::Failed { .. }));
    let rolled_back = summary
        .units
        .iter()
        .any(|u| u.name == DRILL_STACK && u.output.contains("rolled back"));
    let (status_code, status) = node_command(env, work, &format!("pct status {DRILL_CT}"));
    let (_, active) = node_command(
        env,
        work,
        &format!("pct exec {DRILL_CT} -- systemctl is-active {DRILL_UNIT}"),
    );
    let (unit_file, _) = node_command(
        env,
        work,
        &format!("pct exec {DRILL_CT} -- test -e /etc/systemd/system/{DRILL_UNIT}"),
    );
    let ports_closed =
        !port_open(DRILL_ADDRESS, DRILL_PORT) && !port_open(DRILL_ADDRESS, DRILL_PORT + 1);
    println!(
        "Drill: apply {}; {}; unit {DRILL_UNIT} {} (unit file {}); ports {DRILL_PORT} and {} on {DRILL_ADDRESS} {}; container {}.",
        if failed { "failed as it must" } else { "did NOT fail" },
        if rolled_back { "rolled back to \"pre-install\"" } else { "no rollback seen" },
        if active.is_empty() { "?" } else { active.as_str() },
        if unit_file == 1 { "gone" } else { "still there" },
        DRILL_PORT + 1,
        if ports_closed { "closed" } else { "still open" },
        if status_code == 0 { status.as_str() } else { "status unknown" },
    );
    if failed && active != "active" && unit_file == 1 && ports_closed && status == "status: running"
    {
        Ok(())
    } else {
        for unit in summary.units.iter().filter(|u| u.name == DRILL_STACK) {
            print!("{}", crate::output::unit_block(unit));
        }
        Err(DemoError::Failed(format!(
            "the failure drill on {DRILL_STACK} did not roll back to a clean, running container"
        )))
    }
}

/// After the lab simulator stopped: no container, rootfs, veth or bridge may be left.
pub fn check_nothing_left(work: &Path) -> Result<(), DemoError> {
    let mut left = Vec::new();
    if Path::new("/sys/class/net").join(LAB_BRIDGE).exists() {
        left.push(format!("bridge {LAB_BRIDGE}"));
    }
    let containers = work.join("lab-containers");
    if containers.exists() {
        left.push(format!("container directory {}", containers.display()));
    }
    for entry in std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("veth")
            && name.contains('i')
            && name[4..].starts_with(|c: char| c.is_ascii_digit())
        {
            left.push(format!("veth {name}"));
        }
    }
    println!(
        "Lab after exit: {}",
        if left.is_empty() {
            "no container, rootfs, veth or bridge left".to_string()
        } else {
            left.join(", ")
        }
    );
    if left.is_empty() {
        Ok(())
    } else {
        Err(DemoError::Failed(format!(
            "the lab left behind: {}",
            left.join(", ")
        )))
    }
}
