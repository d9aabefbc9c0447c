//! The seam between the simulated API and what runs a container: the emulated backend (the
//! default: containers are bookkeeping, guest ports are served on loopback) or the lab backend
//! (real LXC containers, see [`crate::lab`]). Task handlers call a backend after their checks
//! pass and before they record the outcome, so a backend error fails the task with its text.
//!
//! It must not know about HTTP or the cluster's bookkeeping rules.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::cluster::storage::{Template, TEMPLATES};
use crate::pct::PctOutput;

/// How a running container is brought down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopMode {
    /// `stop`: kill at once (`lxc-stop -k`).
    Kill,
    /// `shutdown`: ask its init to power off, within a timeout.
    Shutdown,
}

/// What a container is made of at create: its config and the create-only secrets Proxmox
/// applies inside it (never stored in the config).
#[derive(Clone)]
pub(crate) struct CreateSpec {
    pub vmid: u32,
    pub ostemplate: String,
    pub conf: BTreeMap<String, String>,
    pub ssh_public_keys: Option<String>,
    pub password: Option<String>,
}

/// Runs containers for the simulated API. Every method returns the task's error text on
/// failure.
#[async_trait]
pub(crate) trait GuestBackend: Send + Sync {
    /// The OS templates on `local` (`vztmpl`).
    fn templates(&self) -> Vec<Template>;
    /// Whether `pct exec` runs inside real containers (else it is emulated from the
    /// declared guest services).
    fn runs_real_containers(&self) -> bool;
    async fn create(&self, spec: &CreateSpec) -> Result<(), String>;
    async fn start(&self, vmid: u32, conf: &BTreeMap<String, String>) -> Result<(), String>;
    async fn stop(&self, vmid: u32, mode: StopMode) -> Result<(), String>;
    async fn destroy(&self, vmid: u32) -> Result<(), String>;
    async fn snapshot(&self, vmid: u32, name: &str) -> Result<(), String>;
    async fn rollback(&self, vmid: u32, name: &str) -> Result<(), String>;
    async fn delete_snapshot(&self, vmid: u32, name: &str) -> Result<(), String>;
    /// Runs a command inside a running container (`pct exec`).
    async fn exec(&self, vmid: u32, command: &[String]) -> Result<PctOutput, String>;
    /// Removes the containers the backend made (on reset).
    fn clean_up(&self);
    /// Removes everything the backend made, containers and network (on exit).
    fn close(&self);
}

/// The default backend: nothing runs; the cluster's bookkeeping is the whole container.
pub(crate) struct Emulated;

#[async_trait]
impl GuestBackend for Emulated {
    fn templates(&self) -> Vec<Template> {
        TEMPLATES.to_vec()
    }
    fn runs_real_containers(&self) -> bool {
        false
    }
    async fn create(&self, _spec: &CreateSpec) -> Result<(), String> {
        Ok(())
    }
    async fn start(&self, _vmid: u32, _conf: &BTreeMap<String, String>) -> Result<(), String> {
        Ok(())
    }
    async fn stop(&self, _vmid: u32, _mode: StopMode) -> Result<(), String> {
        Ok(())
    }
    async fn destroy(&self, _vmid: u32) -> Result<(), String> {
        Ok(())
    }
    async fn snapshot(&self, _vmid: u32, _name: &str) -> Result<(), String> {
        Ok(())
    }
    async fn rollback(&self, _vmid: u32, _name: &str) -> Result<(), String> {
        Ok(())
    }
    async fn delete_snapshot(&self, _vmid: u32, _name: &str) -> Result<(), String> {
        Ok(())
    }
    async fn exec(&self, vmid: u32, _command: &[String]) -> Result<PctOutput, String> {
        Err(format!(
            "CT {vmid}: the emulated backend answers pct exec from the declared guest services"
        ))
    }
    fn clean_up(&self) {}
    fn close(&self) {}
}
