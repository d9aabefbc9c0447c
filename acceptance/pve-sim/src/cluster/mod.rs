//! The simulated cluster as data: nodes, storages, containers with their config, pending
//! changes, snapshots and guest services, and the task records. Everything here is plain,
//! serialisable state plus the rules that only need that state (locks, digests, storage
//! capabilities). It must not know about HTTP, authentication or the admin API.

pub mod config;
pub mod storage;
pub mod tasks;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

pub use tasks::{Task, TaskStatus};

/// The whole cluster.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Cluster {
    pub nodes: Vec<String>,
    pub containers: BTreeMap<u32, Container>,
    #[serde(default)]
    pub tasks: BTreeMap<String, Task>,
    /// Order in which tasks were started (for listing and pruning).
    #[serde(default)]
    pub task_order: Vec<String>,
    /// Counter for task pids.
    #[serde(default)]
    pub next_pid: u32,
    /// Whether the `local` dir storage also holds container directories (`rootdir`), as an
    /// administrator can enable with `pvesm set local --content ...,rootdir`. Off by default.
    #[serde(default)]
    pub local_rootdir: bool,
    /// Counter that makes generated MAC addresses unique within this cluster.
    #[serde(default)]
    pub mac_counter: u32,
    /// Template volume ids of the appliance index that are not (yet) on `local`: removed with
    /// `DELETE .../content/{volume}`, or set missing through `/sim/settings`; a download
    /// (`POST /nodes/{node}/aplinfo`) puts them back.
    #[serde(default)]
    pub missing_templates: BTreeSet<String>,
}

/// One LXC container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Container {
    pub vmid: u32,
    pub node: String,
    /// The current config section (normalised values; no lock, parent or digest).
    pub conf: BTreeMap<String, String>,
    /// Values waiting for the next start or reboot.
    #[serde(default)]
    pub pending: BTreeMap<String, String>,
    /// Keys whose deletion waits for the next start or reboot.
    #[serde(default)]
    pub pending_delete: BTreeSet<String>,
    #[serde(default)]
    pub lock: Option<String>,
    /// The snapshot the container is "on".
    #[serde(default)]
    pub parent: Option<String>,
    /// Snapshots in creation order.
    #[serde(default)]
    pub snapshots: Vec<Snapshot>,
    #[serde(default)]
    pub running: bool,
    /// Unix time of the last start.
    #[serde(default)]
    pub started_at: Option<i64>,
    #[serde(default)]
    pub guest: GuestServices,
}

/// A container snapshot: a copy of the config and of the guest services.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub name: String,
    pub snaptime: i64,
    pub description: String,
    pub parent: Option<String>,
    pub conf: BTreeMap<String, String>,
    #[serde(default)]
    pub guest: GuestServices,
    /// `prepare` or `delete` while a snapshot task works on it.
    #[serde(default)]
    pub snapstate: Option<String>,
}

/// What runs inside a container: systemd unit states and served ports.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct GuestServices {
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    #[serde(default)]
    pub ports: Vec<GuestPort>,
}

/// A port a guest serves while running.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GuestPort {
    pub port: u16,
    /// `tcp` (accepts connections) or `http` (answers every request with `status` and `body`).
    pub kind: String,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: Option<String>,
}

impl Container {
    /// The message Proxmox gives when a config lock blocks an operation.
    pub fn lock_error(&self) -> Option<String> {
        self.lock.as_ref().map(|l| format!("CT is locked ({l})"))
    }

    /// The config as GET config shows it: current values with pending values merged in,
    /// unless `current` is asked for.
    pub fn effective_conf(&self, current_only: bool) -> BTreeMap<String, String> {
        let mut conf = self.conf.clone();
        if !current_only {
            for key in &self.pending_delete {
                conf.remove(key);
            }
            for (k, v) in &self.pending {
                conf.insert(k.clone(), v.clone());
            }
        }
        conf
    }

    /// Applies all pending changes (on start or reboot).
    pub fn apply_pending(&mut self) {
        for key in std::mem::take(&mut self.pending_delete) {
            self.conf.remove(&key);
        }
        for (k, v) in std::mem::take(&mut self.pending) {
            self.conf.insert(k, v);
        }
    }

    /// SHA1 over the config file as Proxmox would write it; changes on every write.
    pub fn digest(&self) -> String {
        let mut text = String::new();
        let section = |text: &mut String, conf: &BTreeMap<String, String>| {
            for (k, v) in conf {
                if k == "description" {
                    for line in v.lines() {
                        text.push('#');
                        text.push_str(line);
                        text.push('\n');
                    }
                } else {
                    text.push_str(&format!("{k}: {v}\n"));
                }
            }
        };
        section(&mut text, &self.conf);
        if let Some(lock) = &self.lock {
            text.push_str(&format!("lock: {lock}\n"));
        }
        if let Some(parent) = &self.parent {
            text.push_str(&format!("parent: {parent}\n"));
        }
        if !self.pending.is_empty() || !self.pending_delete.is_empty() {
            text.push_str("\n[pve:pending]\n");
            section(&mut text, &self.pending);
            if !self.pending_delete.is_empty() {
                let keys: Vec<&str> = self.pending_delete.iter().map(String::as_str).collect();
                text.push_str(&format!("delete: {}\n", keys.join(",")));
            }
        }
        for snap in &self.snapshots {
            text.push_str(&format!("\n[{}]\n", snap.name));
            section(&mut text, &snap.conf);
            if let Some(parent) = &snap.parent {
                text.push_str(&format!("parent: {parent}\n"));
            }
            text.push_str(&format!("snaptime: {}\n", snap.snaptime));
        }
        let mut hasher = Sha1::new();
        hasher.update(text.as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The IPv4 address of `net0` (without prefix), if static.
    pub fn net0_ipv4(&self) -> Option<Ipv4Addr> {
        let net0 = self.conf.get("net0")?;
        let ip = config::property_value(net0, "ip")?;
        let addr = ip.split_once('/').map_or(ip.as_str(), |(a, _)| a);
        addr.parse().ok()
    }

    /// `hostname`, or `CT<vmid>` when unset.
    pub fn name(&self) -> String {
        self.conf
            .get("hostname")
            .map(|h| h.split_whitespace().collect::<String>())
            .unwrap_or_else(|| format!("CT{}", self.vmid))
    }

    pub fn snapshot(&self, name: &str) -> Option<&Snapshot> {
        self.snapshots.iter().find(|s| s.name == name)
    }

    /// Whether this is only the `lock: create` reservation of a create in progress.
    pub fn is_being_created(&self) -> bool {
        self.lock.as_deref() == Some("create") && self.conf.is_empty()
    }

    /// The rootfs size in bytes (4 GiB if unknown, as Proxmox reports).
    pub fn rootfs_bytes(&self) -> u64 {
        self.conf
            .get("rootfs")
            .and_then(|r| config::property_value(r, "size"))
            .and_then(|s| config::parse_size(&s))
            .unwrap_or(4 * 1024 * 1024 * 1024)
    }
}

impl Cluster {
    pub fn new(nodes: Vec<String>) -> Cluster {
        Cluster {
            nodes,
            next_pid: 0x0001_0000,
            ..Cluster::default()
        }
    }

    /// The Proxmox 500 text for a container that does not exist on `node`.
    pub fn missing_config(node: &str, vmid: u32) -> String {
        format!("Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
    }

    /// The container `vmid` on `node`, or Proxmox's "does not exist" message.
    pub fn container(&self, node: &str, vmid: u32) -> Result<&Container, String> {
        match self.containers.get(&vmid) {
            Some(ct) if ct.node == node => Ok(ct),
            _ => Err(Self::missing_config(node, vmid)),
        }
    }

    pub fn container_mut(&mut self, node: &str, vmid: u32) -> Result<&mut Container, String> {
        match self.containers.get_mut(&vmid) {
            Some(ct) if ct.node == node => Ok(ct),
            _ => Err(Self::missing_config(node, vmid)),
        }
    }

    /// A fresh MAC address under the Proxmox OUI `BC:24:11`.
    pub fn generate_mac(&mut self) -> String {
        self.mac_counter = self.mac_counter.wrapping_add(1);
        let random: u32 = rand::random::<u32>() & 0x00ff_f000;
        let value = (random | (self.mac_counter & 0xfff)) & 0x00ff_ffff;
        format!(
            "BC:24:11:{:02X}:{:02X}:{:02X}",
            (value >> 16) & 0xff,
            (value >> 8) & 0xff,
            value & 0xff
        )
    }

    /// Guest ports that should be served now: running containers whose net0 IPv4 lies in
    /// 127.0.0.0/8.
    pub fn desired_guest_ports(&self) -> Vec<(std::net::SocketAddrV4, u32, GuestPort)> {
        let mut out = Vec::new();
        for ct in self.containers.values() {
            if !ct.running {
                continue;
            }
            let Some(ip) = ct.net0_ipv4() else { continue };
            if !ip.is_loopback() {
                continue;
            }
            for port in &ct.guest.ports {
                out.push((
                    std::net::SocketAddrV4::new(ip, port.port),
                    ct.vmid,
                    port.clone(),
                ));
            }
        }
        out
    }
}

/// Unix time now, in seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
