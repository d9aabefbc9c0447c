//! LXC containers: the desired container ([`ContainerSpec`]), what is read back, normalised to
//! the user's representation ([`ContainerState`]), and create / read / update / delete / power.
//!
//! Guarantees the resources rely on:
//! - a read costs exactly two API calls (`config` + `status/current`, concurrently);
//! - a create whose outcome is unknown (dropped connection) is never blindly repeated: the
//!   container is read back and adopted only if it is the one asked for;
//! - a failure after the container exists is [`PveError::ContainerExists`], so it stays in state;
//! - updates send only changed keys, with the digest; the disk grows but never shrinks; a reboot
//!   happens only when changes are still pending on a running container.
//!
//! This module knows nothing about Terraform. It is split along four seams: this file holds
//! the model (what is asked for, what is read back), [`slots`] the indexed options (networks,
//! mount points, devices, detached volumes), [`diff`] the pure encodings and differences
//! (no I/O), and [`ops`] the operations of one container's handle ([`Lxc`], from
//! [`PveClient::lxc`]), which builds every path of that container itself.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::api::Secret;
use super::normalise::{
    bytes_to_gib_ceil, normalise_description, normalise_dns_list, normalise_tags, value_bool,
    value_text, value_u64, Features, RootFs, Startup,
};

mod diff;
mod ops;
pub mod slots;

pub use ops::Lxc;
pub use slots::{
    DeviceSpec, MountPointSpec, MountPointState, MountSource, NetworkSpec, NetworkState, Slots,
};

/// The container's root disk as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// Storage id for the root disk (`local-lvm`).
    pub storage: String,
    /// Size in GiB; grows in place, never shrinks.
    pub size: u64,
}

/// Feature flags. Proxmox lets only `root@pam` (password login) set flags other than nesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeaturesSpec {
    pub nesting: bool,
    pub keyctl: bool,
    pub fuse: bool,
}

/// The desired container, as the `ralf_lxc_service` arguments say. It is the complete desired
/// configuration: an optional value that is `None` (or an empty set) means "not set", and an
/// update removes it from the container if it is there.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub node: String,
    pub ct_id: u32,
    pub hostname: String,
    /// A vztmpl volume id (`local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst`).
    pub template: String,
    pub cores: u32,
    /// MiB.
    pub memory: u64,
    /// MiB.
    pub swap: u64,
    pub unprivileged: bool,
    pub started: bool,
    pub start_on_boot: bool,
    pub startup_order: Option<u32>,
    /// Seconds before the next guest starts.
    pub startup_up_delay: Option<u32>,
    /// Seconds the shutdown may take before the container is stopped.
    pub startup_down_delay: Option<u32>,
    /// CPU time limit in cores (`1.5`); `None`: unlimited.
    pub cpu_limit: Option<f64>,
    /// CPU weight against other guests; `None`: Proxmox's default.
    pub cpu_units: Option<u32>,
    /// `host`, or a zone name (`Europe/Berlin`); `None` leaves it as it is.
    pub timezone: Option<String>,
    /// The OS type for Proxmox's set-up scripts; `None` leaves what Proxmox derived from the
    /// template.
    pub ostype: Option<String>,
    pub tags: BTreeSet<String>,
    pub description: Option<String>,
    pub protection: bool,
    /// DNS servers; `None` leaves them as they are (Proxmox copies the node's on create).
    pub nameserver: Option<String>,
    /// DNS search domain; `None` leaves it as it is (Proxmox copies the node's on create).
    pub searchdomain: Option<String>,
    /// Create-only (Proxmox never returns them).
    pub ssh_public_keys: Vec<String>,
    /// Create-only (Proxmox never returns it).
    pub password: Option<Secret>,
    pub disk: DiskSpec,
    /// Network interfaces, each at its own `net<index>`.
    pub networks: Vec<NetworkSpec>,
    /// Mount points, each at its own `mp<index>`.
    pub mount_points: Vec<MountPointSpec>,
    /// Devices passed through, each at its own `dev<index>`.
    pub devices: Vec<DeviceSpec>,
    /// Whether removing a volume mount point also deletes its volume (otherwise Proxmox keeps
    /// it as `unused<n>`).
    pub delete_detached_volumes: bool,
    pub features: FeaturesSpec,
}

impl ContainerSpec {
    /// A spec with the documented defaults (docs/resources/lxc_service.md): 1 core, 1024 MiB memory, 512 MiB swap, unprivileged,
    /// started, start on boot, 8 GiB on `local-lvm`, nesting on, no network.
    pub fn new(node: &str, ct_id: u32, hostname: &str, template: &str) -> ContainerSpec {
        ContainerSpec {
            node: node.to_string(),
            ct_id,
            hostname: hostname.to_string(),
            template: template.to_string(),
            cores: 1,
            memory: 1024,
            swap: 512,
            unprivileged: true,
            started: true,
            start_on_boot: true,
            startup_order: None,
            startup_up_delay: None,
            startup_down_delay: None,
            cpu_limit: None,
            cpu_units: None,
            timezone: None,
            ostype: None,
            tags: BTreeSet::new(),
            description: None,
            protection: false,
            nameserver: None,
            searchdomain: None,
            ssh_public_keys: Vec::new(),
            password: None,
            disk: DiskSpec {
                storage: "local-lvm".to_string(),
                size: 8,
            },
            networks: Vec::new(),
            mount_points: Vec::new(),
            devices: Vec::new(),
            delete_detached_volumes: false,
            features: FeaturesSpec {
                nesting: true,
                keyctl: false,
                fuse: false,
            },
        }
    }

    /// The options of this spec that Proxmox lets only `root@pam` itself set (pve-container's
    /// `check_ct_modify_config_perm` in src/PVE/LXC.pm): feature flags other than nesting (and
    /// any flag on a privileged container), bind mounts and device passthrough. Empty when
    /// there are none. Each entry names the option as the user wrote it.
    pub fn root_only_options(&self) -> Vec<String> {
        let mut options = Vec::new();
        let features = self.features.to_features();
        if !self.unprivileged && features.nesting {
            options.push("features.nesting (on a privileged container)".to_string());
        }
        options.extend(
            features
                .root_only_flags()
                .into_iter()
                .map(|f| format!("features.{f}")),
        );
        options.extend(
            self.mount_points
                .iter()
                .filter(|m| m.is_bind())
                .map(|m| format!("mount point {} (a bind mount)", m.path)),
        );
        options.extend(self.devices.iter().map(|d| format!("device {}", d.path)));
        options
    }

    /// Why these credentials cannot set this spec's root-only options, if they cannot. Callers
    /// can run this at plan time.
    pub fn root_only_conflict(&self, client_is_root_pam: bool) -> Option<String> {
        if client_is_root_pam {
            return None;
        }
        let options = self.root_only_options();
        if options.is_empty() {
            return None;
        }
        Some(format!(
            "container {}: {} can only be set by root@pam logged in with a password (Proxmox VE \
             refuses them to every other user and to every API token, even root@pam's). Either \
             configure the provider with username = \"root@pam\" and password instead of \
             api_token, or turn on root_only_over_ssh in the provider block so these settings are \
             applied with `pct set` on the node over the provider's ssh connection, or remove them",
            self.ct_id,
            options.join(", ")
        ))
    }
}

impl FeaturesSpec {
    pub(crate) fn to_features(self) -> Features {
        Features {
            nesting: self.nesting,
            keyctl: self.keyctl,
            fuse: self.fuse,
            other: Default::default(),
        }
    }
}

/// The root disk as read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiskState {
    pub storage: String,
    /// GiB, rounded up.
    pub size: u64,
    pub size_bytes: u64,
    /// Volume id, `local-lvm:vm-4010-disk-0`.
    pub volume: String,
}

/// The container as read back, normalised to the user's representation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerState {
    pub node: String,
    pub ct_id: u32,
    pub hostname: Option<String>,
    /// `ubuntu`, `debian` ... (set by Proxmox from the template).
    pub ostype: Option<String>,
    /// `None` means no limit (all host cores).
    pub cores: Option<u32>,
    /// MiB (Proxmox's default 512 when unset).
    pub memory: u64,
    /// MiB (Proxmox's default 512 when unset).
    pub swap: u64,
    pub unprivileged: bool,
    /// `running` or `stopped`.
    pub status: String,
    pub start_on_boot: bool,
    pub startup_order: Option<u32>,
    pub startup_up_delay: Option<u32>,
    pub startup_down_delay: Option<u32>,
    /// The whole `startup` value (order plus up/down delays).
    pub startup_raw: Option<String>,
    pub cpu_limit: Option<f64>,
    pub cpu_units: Option<u32>,
    pub timezone: Option<String>,
    pub tags: BTreeSet<String>,
    pub description: Option<String>,
    pub protection: bool,
    pub nameserver: Option<String>,
    pub searchdomain: Option<String>,
    pub disk: Option<DiskState>,
    /// Networks, mount points, devices and detached volumes, by index.
    pub slots: Slots,
    /// Static IPv4 of net0 without prefix; `None` for dhcp (reading it would need a third call).
    pub ipv4_address: Option<String>,
    pub features: FeaturesSpec,
    /// The whole `features` value (keeps flags this client does not manage).
    pub features_raw: Option<String>,
    /// A lock held by a running operation (`create`, `snapshot`, `backup` ...).
    pub lock: Option<String>,
    /// SHA1 of the config file, sent back on update for optimistic concurrency.
    pub digest: Option<String>,
    /// Whether changes wait for a reboot: `None` when not checked (a plain read does not, to stay
    /// at two API calls); create and update fill it in.
    pub pending_reboot: Option<bool>,
}

impl ContainerState {
    /// Whether the container is running.
    pub fn started(&self) -> bool {
        self.status == "running"
    }

    /// `net0`, the first network interface.
    pub fn net0(&self) -> Option<&NetworkState> {
        self.slots.networks.get(&0)
    }

    /// `<node>/<ct_id>`, the resource id.
    pub fn id(&self) -> String {
        format!("{}/{}", self.node, self.ct_id)
    }

    /// Builds the state from `GET .../config` and `GET .../status/current`.
    pub fn from_api(node: &str, ct_id: u32, config: &Value, status: &Value) -> ContainerState {
        let empty = Map::new();
        let cfg = config.as_object().unwrap_or(&empty);
        let text = |key: &str| cfg.get(key).and_then(value_text);
        let flag = |key: &str| cfg.get(key).and_then(value_bool).unwrap_or(false);
        let startup = text("startup").map(|s| Startup::parse(&s));
        let features = text("features")
            .map(|f| Features::parse(&f))
            .unwrap_or_default();
        let slots = Slots::read(
            cfg.iter()
                .filter_map(|(k, v)| value_text(v).map(|t| (k.as_str(), t))),
        );
        let disk = text("rootfs")
            .and_then(|r| RootFs::parse(&r))
            .map(|rootfs| {
                let size_bytes = rootfs.size_bytes.unwrap_or(0);
                DiskState {
                    storage: rootfs.storage.clone(),
                    size: bytes_to_gib_ceil(size_bytes),
                    size_bytes,
                    volume: rootfs.volume.clone(),
                }
            });
        let status_text = status
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("stopped")
            .to_string();
        let lock = text("lock")
            .or_else(|| status.get("lock").and_then(value_text))
            .filter(|l| !l.is_empty());
        ContainerState {
            node: node.to_string(),
            ct_id,
            hostname: text("hostname"),
            ostype: text("ostype"),
            cores: cfg.get("cores").and_then(value_u64).map(|c| c as u32),
            memory: cfg.get("memory").and_then(value_u64).unwrap_or(512),
            swap: cfg.get("swap").and_then(value_u64).unwrap_or(512),
            unprivileged: flag("unprivileged"),
            status: status_text,
            start_on_boot: flag("onboot"),
            startup_order: startup.as_ref().and_then(|s| s.order),
            startup_up_delay: startup.as_ref().and_then(|s| s.up),
            startup_down_delay: startup.as_ref().and_then(|s| s.down),
            startup_raw: text("startup"),
            // `cpulimit` 0 means no limit (Proxmox's default).
            cpu_limit: text("cpulimit")
                .and_then(|c| c.trim().parse::<f64>().ok())
                .filter(|c| *c > 0.0),
            cpu_units: cfg.get("cpuunits").and_then(value_u64).map(|c| c as u32),
            timezone: text("timezone"),
            tags: text("tags")
                .map(|t| normalise_tags([t.as_str()]))
                .unwrap_or_default(),
            description: text("description").and_then(|d| normalise_description(&d)),
            protection: flag("protection"),
            nameserver: text("nameserver").and_then(|n| normalise_dns_list(&n)),
            searchdomain: text("searchdomain").and_then(|s| normalise_dns_list(&s)),
            ipv4_address: slots.networks.get(&0).and_then(NetworkState::ipv4_address),
            slots,
            disk,
            features: FeaturesSpec {
                nesting: features.nesting,
                keyctl: features.keyctl,
                fuse: features.fuse,
            },
            features_raw: text("features"),
            lock,
            digest: text("digest"),
            pending_reboot: None,
        }
    }
}

/// The result of a create or an update.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyOutcome {
    pub state: ContainerState,
    /// Whether the update rebooted the container to apply pending changes.
    pub rebooted: bool,
    /// Warnings of the tasks that ran (`WARN:` lines), to show the user.
    pub warnings: Vec<String>,
}

/// Alias kept for callers that think in terms of updates.
pub type UpdateOutcome = ApplyOutcome;
