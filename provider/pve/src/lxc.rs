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
//! This module knows nothing about Terraform.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::api::{segment, Method, Params, PveClient, Replay, Secret};
use super::error::PveError;
use super::normalise::{
    bytes_to_gib_ceil, format_tags, normalise_description, normalise_dns_list, normalise_tags,
    value_bool, value_text, value_u64, Features, NetIf, RootFs, Startup,
};
use super::retry::Deadline;

/// The container's root disk as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// Storage id for the root disk (`local-lvm`).
    pub storage: String,
    /// Size in GiB; grows in place, never shrinks.
    pub size: u64,
}

/// The container's first network interface (`net0`, named `eth0`) as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub bridge: String,
    /// `10.10.40.30/24` or `dhcp`; `None` leaves IPv4 unconfigured.
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub vlan: Option<u32>,
    pub firewall: bool,
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
    pub network: Option<NetworkSpec>,
    pub features: FeaturesSpec,
}

impl ContainerSpec {
    /// A spec with SPEC.md's defaults: 1 core, 1024 MiB memory, 512 MiB swap, unprivileged,
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
            network: None,
            features: FeaturesSpec {
                nesting: true,
                keyctl: false,
                fuse: false,
            },
        }
    }

    /// Why these credentials cannot set this spec's feature flags, if they cannot (Proxmox's
    /// root@pam rule, proxmox.md section 5). Callers can run this at plan time.
    pub fn root_only_conflict(&self, client_is_root_pam: bool) -> Option<String> {
        if client_is_root_pam {
            return None;
        }
        let features = self.features.to_features();
        if !self.unprivileged && (features.nesting || features.keyctl || features.fuse) {
            return Some(format!(
                "container {}: feature flags on a privileged container can only be set by root@pam \
                 logged in with a password (Proxmox VE refuses them to every API token, even \
                 root@pam's). Configure the provider with username = \"root@pam\" and password, \
                 or set unprivileged = true",
                self.ct_id
            ));
        }
        let flags = features.root_only_flags();
        if flags.is_empty() {
            return None;
        }
        Some(format!(
            "container {}: the feature flag(s) {} can only be set by root@pam logged in with a \
             password (Proxmox VE allows only nesting to other users and refuses them to every API \
             token, even root@pam's). Configure the provider with username = \"root@pam\" and \
             password instead of api_token, or set {} = false",
            self.ct_id,
            flags.join(", "),
            flags.join(" = false and ")
        ))
    }
}

impl FeaturesSpec {
    fn to_features(self) -> Features {
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

/// `net0` as read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkState {
    pub bridge: Option<String>,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub vlan: Option<u32>,
    pub firewall: bool,
    pub mac_address: Option<String>,
    /// The whole `net0` value as Proxmox returned it (keeps keys this client does not manage).
    pub raw: String,
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
    /// The whole `startup` value (order plus up/down delays).
    pub startup_raw: Option<String>,
    pub tags: BTreeSet<String>,
    pub description: Option<String>,
    pub protection: bool,
    pub nameserver: Option<String>,
    pub searchdomain: Option<String>,
    pub disk: Option<DiskState>,
    pub network: Option<NetworkState>,
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
        let net = text("net0").map(|raw| (NetIf::parse(&raw), raw));
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
            startup_raw: text("startup"),
            tags: text("tags")
                .map(|t| normalise_tags([t.as_str()]))
                .unwrap_or_default(),
            description: text("description").and_then(|d| normalise_description(&d)),
            protection: flag("protection"),
            nameserver: text("nameserver").and_then(|n| normalise_dns_list(&n)),
            searchdomain: text("searchdomain").and_then(|s| normalise_dns_list(&s)),
            ipv4_address: net.as_ref().and_then(|(n, _)| n.ipv4_address()),
            network: net.map(|(n, raw)| NetworkState {
                bridge: n.bridge,
                ip: n.ip,
                gateway: n.gateway,
                vlan: n.vlan,
                firewall: n.firewall,
                mac_address: n.hwaddr,
                raw,
            }),
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

fn lxc_path(node: &str, ct_id: u32) -> String {
    format!("/nodes/{}/lxc/{ct_id}", segment(node))
}

fn is_already_running(error: &PveError) -> bool {
    error
        .server_message()
        .is_some_and(|m| m.contains("already running"))
}

fn is_not_running(error: &PveError) -> bool {
    error
        .server_message()
        .is_some_and(|m| m.contains("not running"))
}

/// The config keys an update sends: values to set, keys to delete.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ConfigChanges {
    pub set: Vec<(&'static str, String)>,
    pub delete: Vec<&'static str>,
}

impl ConfigChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }

    fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.set.push((key, value.into()));
    }

    fn set_or_delete(&mut self, key: &'static str, value: Option<String>) {
        match value {
            Some(v) if !v.is_empty() => self.set(key, v),
            _ => self.delete.push(key),
        }
    }

    /// Whether a change touches a key Proxmox only applies on reboot when the CT is running.
    pub fn keys(&self) -> Vec<&'static str> {
        self.set
            .iter()
            .map(|(k, _)| *k)
            .chain(self.delete.iter().copied())
            .collect()
    }
}

/// The net0 value for `desired`, keeping the generated MAC and unmanaged keys of `prior`.
fn desired_net0(prior: Option<&NetworkState>, desired: &NetworkSpec) -> String {
    let mut net = prior
        .map(|p| NetIf::parse(&p.raw))
        .unwrap_or_else(|| NetIf {
            name: "eth0".to_string(),
            ..NetIf::default()
        });
    if net.hwaddr.is_none() {
        net.hwaddr = prior.and_then(|p| p.mac_address.clone());
    }
    net.bridge = Some(desired.bridge.clone());
    net.ip = desired.ip.clone();
    net.gateway = desired.gateway.clone();
    net.vlan = desired.vlan;
    net.firewall = desired.firewall;
    net.format()
}

fn network_differs(prior: &NetworkState, desired: &NetworkSpec) -> bool {
    prior.bridge.as_deref() != Some(desired.bridge.as_str())
        || prior.ip != desired.ip
        || prior.gateway != desired.gateway
        || prior.vlan != desired.vlan
        || prior.firewall != desired.firewall
}

/// Which config keys differ between what is there and what is wanted (disk size and power state
/// are handled separately). Errors for changes that cannot be made in place.
pub(crate) fn config_changes(
    prior: &ContainerState,
    desired: &ContainerSpec,
) -> Result<ConfigChanges, PveError> {
    if prior.unprivileged != desired.unprivileged {
        return Err(PveError::Invalid {
            message: format!(
                "container {}: unprivileged cannot be changed on an existing container (Proxmox \
                 makes it read-only after create); the container must be replaced",
                desired.ct_id
            ),
        });
    }
    let mut changes = ConfigChanges::default();
    if prior.hostname.as_deref() != Some(desired.hostname.as_str()) {
        changes.set("hostname", desired.hostname.clone());
    }
    if prior.cores != Some(desired.cores) {
        changes.set("cores", desired.cores.to_string());
    }
    if prior.memory != desired.memory {
        changes.set("memory", desired.memory.to_string());
    }
    if prior.swap != desired.swap {
        changes.set("swap", desired.swap.to_string());
    }
    if prior.start_on_boot != desired.start_on_boot {
        changes.set("onboot", if desired.start_on_boot { "1" } else { "0" });
    }
    if prior.startup_order != desired.startup_order {
        let mut startup = prior
            .startup_raw
            .as_deref()
            .map(Startup::parse)
            .unwrap_or_default();
        startup.order = desired.startup_order;
        if desired.startup_order.is_none() {
            startup.other.clear();
        }
        changes.set_or_delete("startup", startup.format());
    }
    let tags = normalise_tags(desired.tags.iter().map(String::as_str));
    if prior.tags != tags {
        changes.set_or_delete("tags", Some(format_tags(&tags)));
    }
    let description = desired
        .description
        .as_deref()
        .and_then(normalise_description);
    if prior.description != description {
        changes.set_or_delete("description", description);
    }
    if prior.protection != desired.protection {
        changes.set("protection", if desired.protection { "1" } else { "0" });
    }
    // DNS settings left unset are not managed: Proxmox fills them from the node on create.
    let nameserver = desired.nameserver.as_deref().and_then(normalise_dns_list);
    if nameserver.is_some() && prior.nameserver != nameserver {
        changes.set_or_delete("nameserver", nameserver);
    }
    let searchdomain = desired.searchdomain.as_deref().and_then(normalise_dns_list);
    if searchdomain.is_some() && prior.searchdomain != searchdomain {
        changes.set_or_delete("searchdomain", searchdomain);
    }
    match (&prior.network, &desired.network) {
        (Some(p), Some(d)) if network_differs(p, d) => {
            changes.set("net0", desired_net0(Some(p), d));
        }
        (None, Some(d)) => changes.set("net0", desired_net0(None, d)),
        (Some(_), None) => changes.delete.push("net0"),
        _ => {}
    }
    if prior.features != desired.features {
        let mut features = prior
            .features_raw
            .as_deref()
            .map(Features::parse)
            .unwrap_or_default();
        features.nesting = desired.features.nesting;
        features.keyctl = desired.features.keyctl;
        features.fuse = desired.features.fuse;
        changes.set_or_delete("features", Some(features.format()));
    }
    Ok(changes)
}

/// The new disk size in GiB if the disk must grow; an error for a shrink or a storage change.
pub(crate) fn disk_growth(
    prior: &ContainerState,
    desired: &ContainerSpec,
) -> Result<Option<u64>, PveError> {
    let Some(disk) = &prior.disk else {
        return Ok(None);
    };
    if disk.storage != desired.disk.storage {
        return Err(PveError::Invalid {
            message: format!(
                "container {}: the root disk is on storage `{}`; moving it to `{}` is not done in \
                 place, the container must be replaced",
                desired.ct_id, disk.storage, desired.disk.storage
            ),
        });
    }
    if desired.disk.size < disk.size {
        return Err(PveError::Invalid {
            message: format!(
                "container {}: the root disk is {} GiB and cannot shrink to {} GiB (Proxmox VE \
                 can only grow disks). Keep size >= {} or replace the container",
                desired.ct_id, disk.size, desired.disk.size, disk.size
            ),
        });
    }
    if desired.disk.size > disk.size {
        Ok(Some(desired.disk.size))
    } else {
        Ok(None)
    }
}

/// The create parameters (`POST /nodes/{node}/lxc`).
pub(crate) fn create_params(spec: &ContainerSpec) -> Params {
    let mut params = Params::new()
        .num("vmid", spec.ct_id)
        .text("ostemplate", spec.template.clone())
        .text("hostname", spec.hostname.clone())
        .num("cores", spec.cores)
        .num("memory", spec.memory)
        .num("swap", spec.swap)
        .flag("unprivileged", spec.unprivileged)
        .flag("onboot", spec.start_on_boot)
        .text(
            "rootfs",
            format!("{}:{}", spec.disk.storage, spec.disk.size),
        );
    if spec.protection {
        params.push("protection", "1");
    }
    if let Some(order) = spec.startup_order {
        params.push("startup", format!("order={order}"));
    }
    let tags = normalise_tags(spec.tags.iter().map(String::as_str));
    if !tags.is_empty() {
        params.push("tags", format_tags(&tags));
    }
    if let Some(description) = spec.description.as_deref().and_then(normalise_description) {
        params.push("description", description);
    }
    if let Some(ns) = spec.nameserver.as_deref().and_then(normalise_dns_list) {
        params.push("nameserver", ns);
    }
    if let Some(sd) = spec.searchdomain.as_deref().and_then(normalise_dns_list) {
        params.push("searchdomain", sd);
    }
    let keys: Vec<&str> = spec
        .ssh_public_keys
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .collect();
    if !keys.is_empty() {
        params.push("ssh-public-keys", keys.join("\n"));
    }
    if let Some(password) = &spec.password {
        params.push("password", password.expose());
    }
    if let Some(network) = &spec.network {
        params.push("net0", desired_net0(None, network));
    }
    let features = spec.features.to_features().format();
    if !features.is_empty() {
        params.push("features", features);
    }
    params
}

/// Whether a container found after a create with an unknown outcome is the one asked for: same
/// hostname, cores, memory, swap, unprivileged, root storage, net0 bridge and ip, description,
/// and an OS type that matches the template's file name.
pub(crate) fn is_the_container_we_asked_for(state: &ContainerState, spec: &ContainerSpec) -> bool {
    let template_file = spec
        .template
        .rsplit('/')
        .next()
        .unwrap_or(&spec.template)
        .to_ascii_lowercase();
    let ostype_matches = state
        .ostype
        .as_deref()
        .is_none_or(|os| os == "unmanaged" || template_file.starts_with(&os.to_ascii_lowercase()));
    let network_matches = match (&state.network, &spec.network) {
        (Some(n), Some(s)) => n.bridge.as_deref() == Some(s.bridge.as_str()) && n.ip == s.ip,
        (None, None) => true,
        _ => false,
    };
    state.hostname.as_deref() == Some(spec.hostname.as_str())
        && state.cores == Some(spec.cores)
        && state.memory == spec.memory
        && state.swap == spec.swap
        && state.unprivileged == spec.unprivileged
        && state.disk.as_ref().map(|d| d.storage.as_str()) == Some(spec.disk.storage.as_str())
        && network_matches
        && state.description == spec.description.as_deref().and_then(normalise_description)
        && ostype_matches
}

impl PveClient {
    /// Reads one container with exactly two API calls (`config` and `status/current`, sent
    /// concurrently). `None` when it does not exist.
    pub async fn read(&self, node: &str, ct_id: u32) -> Result<Option<ContainerState>, PveError> {
        self.read_within(node, ct_id, &self.default_deadline())
            .await
    }

    /// [`PveClient::read`] bounded by the caller's deadline.
    pub async fn read_within(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Option<ContainerState>, PveError> {
        let base = lxc_path(node, ct_id);
        let config_path = format!("{base}/config");
        let status_path = format!("{base}/status/current");
        let none = Params::new();
        let (config, status) = tokio::join!(
            self.get(&config_path, &none, deadline),
            self.get(&status_path, &none, deadline)
        );
        let config = match config {
            Ok(config) => config,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let status = match status {
            Ok(status) => status,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(ContainerState::from_api(
            node, ct_id, &config, &status,
        )))
    }

    /// The raw config only (one call); `None` when the container does not exist.
    pub(crate) async fn read_config(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Option<Value>, PveError> {
        match self
            .get(
                &format!("{}/config", lxc_path(node, ct_id)),
                &Params::new(),
                deadline,
            )
            .await
        {
            Ok(config) => Ok(Some(config)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the container, waits for the task, starts it if `started`, and returns its state.
    pub async fn create(
        &self,
        spec: &ContainerSpec,
        deadline: &Deadline,
    ) -> Result<ApplyOutcome, PveError> {
        if let Some(reason) = spec.root_only_conflict(self.can_change_root_only_options()) {
            return Err(PveError::Invalid { message: reason });
        }
        let mut warnings = Vec::new();
        self.create_container(spec, deadline, &mut warnings).await?;
        let exists = |source: PveError| PveError::ContainerExists {
            node: spec.node.clone(),
            ct_id: spec.ct_id,
            source: Box::new(source),
        };
        if spec.started {
            let outcome = self
                .start(&spec.node, spec.ct_id, deadline)
                .await
                .map_err(exists)?;
            if let Some(outcome) = outcome {
                warnings.extend(outcome.warnings);
            }
        }
        let mut state = self
            .read_within(&spec.node, spec.ct_id, deadline)
            .await
            .map_err(exists)?
            .ok_or_else(|| {
                exists(PveError::StillWaiting {
                    message: "the container vanished right after it was created".into(),
                })
            })?;
        state.pending_reboot = Some(false);
        Ok(ApplyOutcome {
            state,
            rebooted: false,
            warnings,
        })
    }

    /// The create call and its task, with the adopt-if-ours handling of unknown outcomes.
    async fn create_container(
        &self,
        spec: &ContainerSpec,
        deadline: &Deadline,
        warnings: &mut Vec<String>,
    ) -> Result<(), PveError> {
        let path = format!("/nodes/{}/lxc", segment(&spec.node));
        let params = create_params(spec);
        let policy = self.retry_policy().clone();
        let mut attempt: u32 = 0;
        let mut outcome_was_unknown = false;
        let mut unknown_outcomes: u32 = 0;
        loop {
            let answer = self
                .call(Method::Post, &path, &params, Replay::Unsafe, deadline)
                .await;
            match answer {
                Ok(envelope) => {
                    let upid = envelope.data.as_str().ok_or_else(|| PveError::Protocol {
                        call: super::error::Call::new("POST", &path),
                        message: "expected a task id (UPID) as the answer".into(),
                    })?;
                    let outcome = self.wait_task(upid, deadline).await?;
                    warnings.extend(outcome.warnings);
                    return Ok(());
                }
                Err(error) if error.outcome_unknown() => {
                    outcome_was_unknown = true;
                    unknown_outcomes += 1;
                    if unknown_outcomes > policy.max_attempts {
                        return Err(error);
                    }
                    tracing::debug!(ct_id = spec.ct_id, error = %error, "create outcome unknown");
                }
                Err(PveError::AlreadyExists { .. }) if outcome_was_unknown => {}
                Err(error) => return Err(error),
            }
            // The outcome is unknown: look before doing anything again.
            match self.settle_unknown_create(spec, deadline).await? {
                Settled::Ours => {
                    tracing::info!(
                        ct_id = spec.ct_id,
                        "create answer was lost; adopted the container it created"
                    );
                    return Ok(());
                }
                Settled::Absent => {
                    if !policy.pause(attempt, deadline).await {
                        return Err(super::api::deadline_exceeded(
                            format!("creating container {}", spec.ct_id),
                            deadline,
                            PveError::StillWaiting {
                                message: "the connection dropped during create and the \
                                          container does not exist"
                                    .into(),
                            },
                        ));
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// After a create whose answer was lost: wait while the container is being created
    /// (`lock: create`), then adopt it if it is ours, fail if it is someone else's, or report
    /// that it does not exist (so the create can be sent again).
    async fn settle_unknown_create(
        &self,
        spec: &ContainerSpec,
        deadline: &Deadline,
    ) -> Result<Settled, PveError> {
        let policy = self.retry_policy().clone();
        let mut poll = 0;
        loop {
            let Some(state) = self.read_within(&spec.node, spec.ct_id, deadline).await? else {
                return Ok(Settled::Absent);
            };
            if state.lock.as_deref() == Some("create") {
                if deadline.is_expired() {
                    return Err(super::api::deadline_exceeded(
                        format!("creating container {}", spec.ct_id),
                        deadline,
                        PveError::StillWaiting {
                            message: "the container is still being created (lock: create)".into(),
                        },
                    ));
                }
                tokio::time::sleep(policy.poll_delay(poll).min(deadline.remaining())).await;
                poll += 1;
                continue;
            }
            if is_the_container_we_asked_for(&state, spec) {
                return Ok(Settled::Ours);
            }
            return Err(PveError::Invalid {
                message: format!(
                    "the connection dropped while creating container {ct} on node {node}, and \
                     container {ct} now exists but does not match what was asked for (hostname \
                     {found:?}, wanted {wanted:?}); it was not adopted. Check who created it; \
                     import it or choose another ct_id",
                    ct = spec.ct_id,
                    node = spec.node,
                    found = state.hostname,
                    wanted = spec.hostname
                ),
            });
        }
    }

    /// Brings the container to `desired`: config PUT with the digest for changed keys only,
    /// resize when the disk grows, start/stop for `started`, and a reboot only when changes are
    /// still pending on a running container that was not just started.
    ///
    /// `prior` should be a recent [`PveClient::read`]: its values decide what is sent and its
    /// digest guards the PUT. If the container changed since (digest conflict) or the answer is
    /// lost, it is read again and what is still to change is sent again. The power state is
    /// always read fresh.
    pub async fn update(
        &self,
        prior: &ContainerState,
        desired: &ContainerSpec,
        deadline: &Deadline,
    ) -> Result<ApplyOutcome, PveError> {
        let node = desired.node.as_str();
        let ct_id = desired.ct_id;
        let growth = disk_growth(prior, desired)?;
        let first_changes = config_changes(prior, desired)?;
        if first_changes.keys().contains(&"features") {
            if let Some(reason) = desired.root_only_conflict(self.can_change_root_only_options()) {
                return Err(PveError::Invalid { message: reason });
            }
        }
        let mut warnings = Vec::new();
        let changed_config = self
            .put_config_changes(prior, desired, first_changes, deadline)
            .await?;
        if let Some(size) = growth {
            let outcome = self
                .run_task(
                    Method::Put,
                    &format!("{}/resize", lxc_path(node, ct_id)),
                    &Params::new()
                        .text("disk", "rootfs")
                        .text("size", format!("{size}G")),
                    Replay::Safe,
                    deadline,
                    |e| {
                        e.server_message()
                            .is_some_and(|m| m.contains("already at specified size"))
                    },
                )
                .await?;
            if let Some(outcome) = outcome {
                warnings.extend(outcome.warnings);
            }
        }
        let mut started_now = false;
        // The power state decides start/stop/reboot, so read it now rather than trust `prior`.
        let running = self.is_running(node, ct_id, deadline).await?;
        if desired.started && !running {
            if let Some(outcome) = self.start(node, ct_id, deadline).await? {
                warnings.extend(outcome.warnings);
            }
            started_now = true;
        } else if !desired.started && running {
            if let Some(outcome) = self.shutdown(node, ct_id, deadline).await? {
                warnings.extend(outcome.warnings);
            }
        }
        let mut rebooted = false;
        let mut pending = false;
        if changed_config && desired.started && !started_now {
            pending = !self
                .pending_changes(node, ct_id, deadline)
                .await?
                .is_empty();
            if pending {
                if let Some(outcome) = self.reboot(node, ct_id, deadline).await? {
                    warnings.extend(outcome.warnings);
                }
                rebooted = true;
                pending = false;
            }
        }
        let mut state = self
            .read_within(node, ct_id, deadline)
            .await?
            .ok_or_else(|| PveError::NotFound {
                call: super::error::Call::new("GET", &format!("{}/config", lxc_path(node, ct_id))),
                message: format!("container {ct_id} disappeared during the update"),
            })?;
        state.pending_reboot = Some(pending);
        Ok(ApplyOutcome {
            state,
            rebooted,
            warnings,
        })
    }

    /// PUTs the config changes with the digest; on a digest conflict or a lost answer, reads the
    /// container again and recomputes what is still to change. Returns whether anything was sent.
    async fn put_config_changes(
        &self,
        prior: &ContainerState,
        desired: &ContainerSpec,
        first_changes: ConfigChanges,
        deadline: &Deadline,
    ) -> Result<bool, PveError> {
        const MAX_ROUNDS: u32 = 5;
        let path = format!("{}/config", lxc_path(&desired.node, desired.ct_id));
        let mut changes = first_changes;
        let mut digest = prior.digest.clone();
        let mut sent = false;
        let mut round = 0;
        loop {
            if changes.is_empty() {
                return Ok(sent);
            }
            let mut params = Params::new();
            for (key, value) in &changes.set {
                params.push(key, value.clone());
            }
            if !changes.delete.is_empty() {
                params.push("delete", changes.delete.join(","));
            }
            if let Some(digest) = &digest {
                params.push("digest", digest.clone());
            }
            tracing::debug!(ct_id = desired.ct_id, keys = ?changes.keys(), "updating container config");
            match self
                .call(Method::Put, &path, &params, Replay::Unsafe, deadline)
                .await
            {
                Ok(_) => return Ok(true),
                Err(error)
                    if (matches!(error, PveError::Conflict { .. }) || error.outcome_unknown())
                        && round + 1 < MAX_ROUNDS
                        && !deadline.is_expired() =>
                {
                    tracing::debug!(error = %error, "config changed or answer lost; re-reading");
                    sent = true;
                    round += 1;
                    let current = self
                        .read_within(&desired.node, desired.ct_id, deadline)
                        .await?
                        .ok_or_else(|| PveError::NotFound {
                            call: super::error::Call::new("GET", &path),
                            message: format!(
                                "container {} disappeared during the update",
                                desired.ct_id
                            ),
                        })?;
                    digest = current.digest.clone();
                    changes = config_changes(&current, desired)?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Whether the container runs now (`GET .../status/current`).
    pub async fn is_running(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<bool, PveError> {
        let status = self
            .get(
                &format!("{}/status/current", lxc_path(node, ct_id)),
                &Params::new(),
                deadline,
            )
            .await?;
        Ok(status.get("status").and_then(Value::as_str) == Some("running"))
    }

    /// The keys with changes waiting for a reboot (`GET .../pending`).
    pub async fn pending_changes(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Vec<String>, PveError> {
        let data = self
            .get(
                &format!("{}/pending", lxc_path(node, ct_id)),
                &Params::new(),
                deadline,
            )
            .await?;
        Ok(data
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|item| {
                        item.get("pending").is_some()
                            || item
                                .get("delete")
                                .and_then(value_u64)
                                .is_some_and(|d| d > 0)
                    })
                    .filter_map(|item| item.get("key").and_then(value_text))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Stops (if running) and destroys the container with `purge=1` and
    /// `destroy-unreferenced-disks=1`. Already gone is success. Refuses if protection is set.
    pub async fn delete(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<(), PveError> {
        let path = lxc_path(node, ct_id);
        for _round in 0..5 {
            let Some(config) = self.read_config(node, ct_id, deadline).await? else {
                return Ok(());
            };
            if config.get("protection").and_then(value_bool) == Some(true) {
                return Err(PveError::Protected {
                    call: super::error::Call::new("DELETE", &path),
                    message: format!("can't remove CT {ct_id} - protection mode enabled"),
                });
            }
            let status = match self
                .get(&format!("{path}/status/current"), &Params::new(), deadline)
                .await
            {
                Ok(status) => status,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            if status.get("status").and_then(Value::as_str) == Some("running") {
                match self.stop(node, ct_id, deadline).await {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let params = Params::new()
                .flag("purge", true)
                .flag("destroy-unreferenced-disks", true);
            let result = self
                .run_task(
                    Method::Delete,
                    &path,
                    &params,
                    Replay::Safe,
                    deadline,
                    |e| e.is_not_found(),
                )
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e)
                    if e.server_message()
                        .is_some_and(|m| m.contains("container is running"))
                        && !deadline.is_expired() =>
                {
                    continue;
                }
                Err(e @ PveError::TaskFailed { .. }) => {
                    // The destroy task may fail after removing the config; gone is gone.
                    if self.read_config(node, ct_id, deadline).await?.is_none() {
                        return Ok(());
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(PveError::Invalid {
            message: format!(
                "container {ct_id} on node {node} kept being started again while we tried to \
                 destroy it; stop whatever starts it and destroy again"
            ),
        })
    }

    /// Starts the container; already running is success (`Ok(None)`).
    pub async fn start(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Option<super::task::TaskOutcome>, PveError> {
        self.run_task(
            Method::Post,
            &format!("{}/status/start", lxc_path(node, ct_id)),
            &Params::new(),
            Replay::Safe,
            deadline,
            is_already_running,
        )
        .await
    }

    /// Stops the container at once (no shutdown); not running is success (`Ok(None)`).
    pub async fn stop(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Option<super::task::TaskOutcome>, PveError> {
        self.run_task(
            Method::Post,
            &format!("{}/status/stop", lxc_path(node, ct_id)),
            &Params::new(),
            Replay::Safe,
            deadline,
            is_not_running,
        )
        .await
    }

    /// Shuts the container down cleanly, forcing a stop after at most 60 s (or what is left of
    /// the deadline); not running is success (`Ok(None)`).
    pub async fn shutdown(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Option<super::task::TaskOutcome>, PveError> {
        let timeout = deadline.remaining().as_secs().clamp(1, 60);
        self.run_task(
            Method::Post,
            &format!("{}/status/shutdown", lxc_path(node, ct_id)),
            &Params::new()
                .flag("forceStop", true)
                .num("timeout", timeout),
            Replay::Safe,
            deadline,
            is_not_running,
        )
        .await
    }

    /// Reboots the running container (applies pending changes); not running is success.
    pub async fn reboot(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Option<super::task::TaskOutcome>, PveError> {
        let timeout = deadline.remaining().as_secs().clamp(1, 60);
        self.run_task(
            Method::Post,
            &format!("{}/status/reboot", lxc_path(node, ct_id)),
            &Params::new().num("timeout", timeout),
            Replay::Safe,
            deadline,
            is_not_running,
        )
        .await
    }
}

enum Settled {
    Ours,
    Absent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> ContainerSpec {
        let mut spec = ContainerSpec::new(
            "pve",
            4010,
            "mail",
            "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
        );
        spec.memory = 2048;
        spec.tags = ["ralf".to_string(), "Mail".to_string()].into();
        spec.description = Some("Maddy mail".into());
        spec.network = Some(NetworkSpec {
            bridge: "vmbr0".into(),
            ip: Some("10.10.40.10/24".into()),
            gateway: Some("10.10.40.1".into()),
            vlan: Some(40),
            firewall: true,
        });
        spec.features.keyctl = true;
        spec
    }

    /// What Proxmox returns for `spec()` after create.
    fn config_as_read_back() -> Value {
        json!({
            "arch": "amd64",
            "cores": 1,
            "description": "Maddy mail\n",
            "digest": "0123456789abcdef0123456789abcdef01234567",
            "features": "keyctl=1,nesting=1",
            "hostname": "mail",
            "memory": 2048,
            "net0": "name=eth0,bridge=vmbr0,firewall=1,gw=10.10.40.1,hwaddr=BC:24:11:12:34:56,ip=10.10.40.10/24,tag=40,type=veth",
            "onboot": 1,
            "ostype": "ubuntu",
            "rootfs": "local-lvm:vm-4010-disk-0,size=8G",
            "swap": 512,
            "tags": "mail;ralf",
            "unprivileged": 1
        })
    }

    fn state() -> ContainerState {
        ContainerState::from_api(
            "pve",
            4010,
            &config_as_read_back(),
            &json!({"status": "running", "vmid": 4010, "ha": {"managed": 0}}),
        )
    }

    #[test]
    fn read_back_config_is_normalised_to_the_users_representation() {
        let state = state();
        assert_eq!(state.hostname.as_deref(), Some("mail"));
        assert_eq!(state.description.as_deref(), Some("Maddy mail"));
        assert_eq!(state.tags, ["mail".to_string(), "ralf".to_string()].into());
        let disk = state.disk.clone().unwrap();
        assert_eq!(
            (disk.storage.as_str(), disk.size, disk.volume.as_str()),
            ("local-lvm", 8, "local-lvm:vm-4010-disk-0")
        );
        let net = state.network.clone().unwrap();
        assert_eq!(net.mac_address.as_deref(), Some("BC:24:11:12:34:56"));
        assert_eq!(net.vlan, Some(40));
        assert_eq!(state.ipv4_address.as_deref(), Some("10.10.40.10"));
        assert!(state.features.nesting && state.features.keyctl && !state.features.fuse);
        assert!(state.started() && state.start_on_boot && state.unprivileged);
        assert_eq!(state.id(), "pve/4010");
        assert_eq!(state.pending_reboot, None);
    }

    #[test]
    fn an_unchanged_configuration_needs_no_change() {
        let changes = config_changes(&state(), &spec()).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(disk_growth(&state(), &spec()).unwrap(), None);
    }

    #[test]
    fn only_changed_keys_are_sent_and_removed_optionals_are_deleted() {
        let mut desired = spec();
        desired.memory = 4096;
        desired.description = None;
        desired.tags.insert("prod".into());
        let changes = config_changes(&state(), &desired).unwrap();
        assert_eq!(
            changes.set,
            vec![
                ("memory", "4096".to_string()),
                ("tags", "mail;prod;ralf".to_string())
            ]
        );
        assert_eq!(changes.delete, vec!["description"]);
    }

    #[test]
    fn a_network_change_keeps_the_generated_mac_address() {
        let mut desired = spec();
        if let Some(net) = desired.network.as_mut() {
            net.ip = Some("10.10.40.11/24".into());
        }
        let changes = config_changes(&state(), &desired).unwrap();
        assert_eq!(
            changes.set,
            vec![(
                "net0",
                "name=eth0,bridge=vmbr0,firewall=1,gw=10.10.40.1,hwaddr=BC:24:11:12:34:56,ip=10.10.40.11/24,tag=40,type=veth"
                    .to_string()
            )]
        );
    }

    #[test]
    fn the_disk_grows_but_never_shrinks() {
        let mut desired = spec();
        desired.disk.size = 16;
        assert_eq!(disk_growth(&state(), &desired).unwrap(), Some(16));
        desired.disk.size = 4;
        let error = disk_growth(&state(), &desired).unwrap_err().to_string();
        assert!(error.contains("cannot shrink to 4 GiB"), "{error}");
    }

    #[test]
    fn unprivileged_cannot_change_in_place() {
        let mut desired = spec();
        desired.unprivileged = false;
        assert!(config_changes(&state(), &desired).is_err());
    }

    #[test]
    fn create_parameters_use_proxmox_encodings() {
        let mut spec = spec();
        spec.ssh_public_keys = vec!["ssh-ed25519 AAAA one".into(), "ssh-ed25519 BBBB two".into()];
        spec.password = Some(Secret::new("hunter22"));
        let params = create_params(&spec);
        assert_eq!(params.get("vmid"), Some("4010"));
        assert_eq!(params.get("rootfs"), Some("local-lvm:8"));
        assert_eq!(params.get("unprivileged"), Some("1"));
        assert_eq!(params.get("onboot"), Some("1"));
        assert_eq!(params.get("tags"), Some("mail;ralf"));
        assert_eq!(params.get("features"), Some("keyctl=1,nesting=1"));
        assert_eq!(
            params.get("net0"),
            Some("name=eth0,bridge=vmbr0,firewall=1,gw=10.10.40.1,ip=10.10.40.10/24,tag=40")
        );
        assert_eq!(
            params.get("ssh-public-keys"),
            Some("ssh-ed25519 AAAA one\nssh-ed25519 BBBB two")
        );
        assert_eq!(params.get("start"), None);
        assert!(!format!("{spec:?}").contains("hunter22"));
    }

    #[test]
    fn root_only_feature_flags_are_refused_before_calling_proxmox_for_tokens() {
        let reason = spec().root_only_conflict(false).unwrap();
        assert!(reason.contains("keyctl"), "{reason}");
        assert!(reason.contains("root@pam"), "{reason}");
        assert!(spec().root_only_conflict(true).is_none());
        let mut nesting_only = spec();
        nesting_only.features.keyctl = false;
        assert!(nesting_only.root_only_conflict(false).is_none());
    }

    #[test]
    fn a_found_container_is_adopted_only_if_it_is_the_one_asked_for() {
        assert!(is_the_container_we_asked_for(&state(), &spec()));
        let mut other = spec();
        other.hostname = "someone-else".into();
        assert!(!is_the_container_we_asked_for(&state(), &other));
        let mut debian = spec();
        debian.template = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst".into();
        assert!(!is_the_container_we_asked_for(&state(), &debian));
    }
}
