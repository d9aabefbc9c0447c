//! The lab backend: every simulated container is a real LXC container on this machine, made
//! from a vztmpl tarball that [`template::prepare`] builds with debootstrap. Each container has
//! its own network namespace, joined by a veth to a bridge the lab creates; addresses come
//! from the RFC 2544 benchmarking range 198.18.0.0/15, which exists only on that bridge and in
//! those namespaces (no NAT, no route off the machine, forwarding off on the bridge).
//! Everything the lab made is removed on reset and on exit.
//!
//! It knows how to drive LXC (`lxc-start`, `lxc-stop`, `lxc-attach`) and what Proxmox's
//! `PVE::LXC::Setup` writes into a Debian container; it must not know about HTTP or the
//! cluster's bookkeeping.

mod container;
mod network;
mod process;
pub mod template;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::backend::{CreateSpec, GuestBackend, StopMode};
use crate::cluster::storage::Template;
use crate::pct::PctOutput;

pub use network::LabNetwork;

/// Where the lab keeps its templates and containers, and its network.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// Built templates (`*.tar.zst`), kept across runs: `pve-sim lab prepare` fills it.
    pub template_dir: PathBuf,
    /// Container directories (`<vmid>/config`, `<vmid>/rootfs`, `<vmid>/snapshots/<name>`);
    /// emptied on reset and removed on exit.
    pub container_dir: PathBuf,
    pub network: LabNetwork,
}

/// The template cache unless `PVE_SIM_LAB_CACHE` says otherwise.
pub const DEFAULT_TEMPLATE_DIR: &str = "/var/cache/pve-sim/lab-templates";
/// Where containers live unless configured otherwise.
pub const DEFAULT_CONTAINER_DIR: &str = "/var/lib/pve-sim/lab";

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            template_dir: std::env::var_os("PVE_SIM_LAB_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_TEMPLATE_DIR)),
            container_dir: PathBuf::from(DEFAULT_CONTAINER_DIR),
            network: LabNetwork::default(),
        }
    }
}

/// Why the lab cannot run here, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("the lab needs LXC: `{0}` was not found. Install it with `apt-get install -y lxc debootstrap` (as root), then build a template with `pve-sim lab prepare`")]
    ToolMissing(&'static str),
    #[error("the lab runs real containers and must run as root (it creates a bridge and LXC containers)")]
    NotRoot,
    #[error("the lab has no template in {0}: build one with `pve-sim lab prepare` (debootstrap, about a minute; reused afterwards)")]
    NoTemplate(PathBuf),
    #[error("the lab bridge {0} already exists: another lab pve-sim runs, or one was killed; `pve-sim lab clean` removes what it left")]
    BridgeExists(String),
    #[error("{0}")]
    Command(String),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Checks that this machine can run the lab (tools installed, root).
pub fn check_host() -> Result<(), LabError> {
    for tool in [
        "lxc-start",
        "lxc-stop",
        "lxc-attach",
        "lxc-info",
        "ip",
        "tar",
    ] {
        if process::which(tool).is_none() {
            return Err(LabError::ToolMissing(tool));
        }
    }
    if !process::is_root() {
        return Err(LabError::NotRoot);
    }
    Ok(())
}

/// The running lab: its bridge exists while this value lives.
pub(crate) struct LabBackend {
    config: LabConfig,
}

impl LabBackend {
    /// Checks the host, creates the bridge and the container directory.
    pub fn start(config: LabConfig) -> Result<LabBackend, LabError> {
        check_host()?;
        if template::list(&config.template_dir).is_empty() {
            return Err(LabError::NoTemplate(config.template_dir.clone()));
        }
        std::fs::create_dir_all(&config.container_dir).map_err(|source| LabError::Io {
            path: config.container_dir.clone(),
            source,
        })?;
        config.network.create()?;
        Ok(LabBackend { config })
    }

    fn ct(&self, vmid: u32) -> container::LabContainer {
        container::LabContainer::new(&self.config.container_dir, vmid)
    }
}

/// Removes the containers and the bridge a lab with this config left behind (`pve-sim lab
/// clean`, and every exit).
pub fn clean(config: &LabConfig) -> Vec<String> {
    let mut removed = container::remove_all(&config.container_dir);
    if config.network.remove() {
        removed.push(format!("bridge {}", config.network.bridge));
    }
    removed
}

/// Whether `addr` lies in the lab range of `network`: a container's own address must not be
/// the bridge's, a gateway may be.
fn in_lab_range(network: &LabNetwork, addr: Ipv4Addr, gateway: bool) -> bool {
    if gateway {
        network.range.contains(addr)
    } else {
        network.contains(addr)
    }
}

#[async_trait]
impl GuestBackend for LabBackend {
    fn templates(&self) -> Vec<Template> {
        template::list(&self.config.template_dir)
    }

    fn runs_real_containers(&self) -> bool {
        true
    }

    async fn create(&self, spec: &CreateSpec) -> Result<(), String> {
        let file = spec
            .ostemplate
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let tarball = self.config.template_dir.join(&file);
        if file.is_empty() || !tarball.is_file() {
            return Err(format!(
                "unable to create CT {} - can't find file '{}'",
                spec.vmid, spec.ostemplate
            ));
        }
        let lower = template::extracted(&tarball)
            .await
            .map_err(|e| format!("unable to create CT {} - {e}", spec.vmid))?;
        let ct = self.ct(spec.vmid);
        if let Err(e) = ct.create(&lower, spec).await {
            ct.remove().await;
            return Err(format!("unable to create CT {} - {e}", spec.vmid));
        }
        Ok(())
    }

    async fn start(&self, vmid: u32, conf: &BTreeMap<String, String>) -> Result<(), String> {
        let nets = container::parse_nets(conf)?;
        for net in &nets {
            let addresses = net.ip.iter().map(|(a, _)| (*a, false));
            for (addr, gateway) in addresses.chain(net.gateway.map(|g| (g, true))) {
                if !in_lab_range(&self.config.network, addr, gateway) {
                    return Err(format!(
                        "CT {vmid}: address {addr} of {} is outside the lab range {}: the lab gives containers only addresses on its own bridge",
                        net.key, self.config.network.range
                    ));
                }
            }
        }
        let ct = self.ct(vmid);
        ct.write_config(conf, &nets, &self.config.network)?;
        ct.setup_inside(conf, &nets)?;
        ct.start()
            .await
            .map_err(|e| format!("startup for container '{vmid}' failed: {e}"))
    }

    async fn stop(&self, vmid: u32, mode: StopMode) -> Result<(), String> {
        self.ct(vmid).stop(mode).await
    }

    async fn destroy(&self, vmid: u32) -> Result<(), String> {
        let ct = self.ct(vmid);
        ct.stop(StopMode::Kill).await?;
        ct.remove().await;
        Ok(())
    }

    async fn snapshot(&self, vmid: u32, name: &str) -> Result<(), String> {
        self.ct(vmid).snapshot(name).await
    }

    async fn rollback(&self, vmid: u32, name: &str) -> Result<(), String> {
        let ct = self.ct(vmid);
        ct.stop(StopMode::Kill).await?;
        ct.rollback(name).await
    }

    async fn delete_snapshot(&self, vmid: u32, name: &str) -> Result<(), String> {
        self.ct(vmid).delete_snapshot(name).await
    }

    async fn exec(&self, vmid: u32, command: &[String]) -> Result<PctOutput, String> {
        self.ct(vmid).exec(command).await
    }

    fn clean_up(&self) {
        for what in container::remove_all(&self.config.container_dir) {
            tracing::info!("lab: removed {what}");
        }
    }

    fn close(&self) {
        for what in clean(&self.config) {
            tracing::info!("lab: removed {what}");
        }
        let _ = std::fs::remove_dir(&self.config.container_dir);
    }
}

impl Drop for LabBackend {
    fn drop(&mut self) {
        self.close();
    }
}

/// `dir` joined with a name that must be a plain file name (no `/`, no `..`).
fn child(dir: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!("invalid name '{name}'"));
    }
    Ok(dir.join(name))
}
