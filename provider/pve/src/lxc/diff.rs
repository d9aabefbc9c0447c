//! Pure container logic, no I/O: the create parameters, the config keys an update sends, the
//! disk growth, and whether a found container is the one asked for.

use super::slots::{create_slot_params, slot_changes};
use super::{ContainerSpec, ContainerState};
use crate::api::Params;
use crate::error::PveError;
use crate::normalise::{
    format_tags, normalise_description, normalise_dns_list, normalise_tags, Features, Startup,
};

/// The config keys an update sends: values to set, keys to delete; plus the disks to grow and
/// the volumes detached by removing their mount points.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ConfigChanges {
    pub set: Vec<(String, String)>,
    pub delete: Vec<String>,
    /// `(disk key, GiB)`: `rootfs` or `mp<n>`, grown with a resize after the config PUT.
    pub grow: Vec<(String, u64)>,
    /// Volume ids whose mount points are removed (Proxmox keeps them as `unused<n>`).
    pub detached: Vec<String>,
}

impl ConfigChanges {
    /// Whether there are no config keys to send (growth is sent separately).
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.delete.is_empty()
    }

    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.set.push((key.to_string(), value.into()));
    }

    fn set_or_delete(&mut self, key: &str, value: Option<String>) {
        match value {
            Some(v) if !v.is_empty() => self.set(key, v),
            _ => self.delete.push(key.to_string()),
        }
    }

    /// Every key set or deleted.
    pub fn keys(&self) -> Vec<&str> {
        self.set
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(self.delete.iter().map(String::as_str))
            .collect()
    }

    /// Splits off the keys only `root@pam` may send (pve-container's
    /// `check_ct_modify_config_perm` in src/PVE/LXC.pm): devices (set or deleted), bind mounts,
    /// and a feature change other than nesting (any on a privileged container). Returns them;
    /// `self` keeps the rest.
    pub fn split_root_only(
        &mut self,
        prior: &ContainerState,
        desired: &ContainerSpec,
    ) -> ConfigChanges {
        let features_root_only = !desired.unprivileged
            || prior.features.keyctl != desired.features.keyctl
            || prior.features.fuse != desired.features.fuse;
        let root_only = |key: &str, value: Option<&str>| {
            key.starts_with("dev")
                || (key == "features" && features_root_only)
                || (key.starts_with("mp") && value.is_some_and(|v| v.starts_with('/')))
        };
        let mut root = ConfigChanges::default();
        let (to_root, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.set)
            .into_iter()
            .partition(|(k, v)| root_only(k, Some(v)));
        self.set = keep;
        root.set = to_root;
        let (to_root, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delete)
            .into_iter()
            .partition(|k| root_only(k, None));
        self.delete = keep;
        root.delete = to_root;
        root
    }
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
    if prior.startup_order != desired.startup_order
        || prior.startup_up_delay != desired.startup_up_delay
        || prior.startup_down_delay != desired.startup_down_delay
    {
        let mut startup = prior
            .startup_raw
            .as_deref()
            .map(Startup::parse)
            .unwrap_or_default();
        startup.order = desired.startup_order;
        startup.up = desired.startup_up_delay;
        startup.down = desired.startup_down_delay;
        if desired.startup_order.is_none()
            && desired.startup_up_delay.is_none()
            && desired.startup_down_delay.is_none()
        {
            startup.other.clear();
        }
        changes.set_or_delete("startup", startup.format());
    }
    if prior.cpu_limit != desired.cpu_limit {
        changes.set_or_delete("cpulimit", desired.cpu_limit.map(format_number));
    }
    if prior.cpu_units != desired.cpu_units {
        changes.set_or_delete("cpuunits", desired.cpu_units.map(|u| u.to_string()));
    }
    // Left unset, the time zone and OS type are not managed (Proxmox derives them on create).
    if desired.timezone.is_some() && prior.timezone != desired.timezone {
        changes.set_or_delete("timezone", desired.timezone.clone());
    }
    if desired.ostype.is_some() && prior.ostype != desired.ostype {
        changes.set_or_delete("ostype", desired.ostype.clone());
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
    let slots = slot_changes(
        desired.ct_id,
        &prior.slots,
        &desired.networks,
        &desired.mount_points,
        &desired.devices,
    )?;
    changes.set.extend(slots.set);
    changes.delete.extend(slots.delete);
    changes.detached = slots.detached;
    if let Some(size) = disk_growth(prior, desired)? {
        changes.grow.push(("rootfs".to_string(), size));
    }
    changes.grow.extend(slots.grow);
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

/// A number as Proxmox prints it: `2`, `1.5`.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The new root disk size in GiB if it must grow; an error for a shrink or a storage change.
fn disk_growth(prior: &ContainerState, desired: &ContainerSpec) -> Result<Option<u64>, PveError> {
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

/// `spec` without what only `root@pam` may set at create (root-only feature flags, bind
/// mounts, devices), and those options as `pct set` pairs.
pub(crate) fn split_root_only_create(
    spec: &ContainerSpec,
) -> (ContainerSpec, Vec<(String, String)>) {
    let mut api = spec.clone();
    let mut root = Vec::new();
    let features = spec.features.to_features();
    if !features.root_only_flags().is_empty() || (!spec.unprivileged && features.nesting) {
        root.push(("features".to_string(), features.format()));
        api.features.keyctl = false;
        api.features.fuse = false;
        if !spec.unprivileged {
            api.features.nesting = false;
        }
    }
    let (bind, volumes): (Vec<_>, Vec<_>) =
        spec.mount_points.iter().cloned().partition(|m| m.is_bind());
    api.mount_points = volumes;
    let devices = std::mem::take(&mut api.devices);
    let binds_and_devices = create_slot_params(&[], &bind, &devices);
    root.extend(binds_and_devices);
    (api, root)
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
    let startup = Startup {
        order: spec.startup_order,
        up: spec.startup_up_delay,
        down: spec.startup_down_delay,
        other: Default::default(),
    };
    if let Some(startup) = startup.format() {
        params.push("startup", startup);
    }
    if let Some(limit) = spec.cpu_limit {
        params.push("cpulimit", format_number(limit));
    }
    if let Some(units) = spec.cpu_units {
        params.push("cpuunits", units.to_string());
    }
    if let Some(timezone) = &spec.timezone {
        params.push("timezone", timezone.clone());
    }
    if let Some(ostype) = &spec.ostype {
        params.push("ostype", ostype.clone());
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
    for (key, value) in create_slot_params(&spec.networks, &spec.mount_points, &spec.devices) {
        params.push(&key, value);
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
    let network_matches = state.slots.networks.len() == spec.networks.len()
        && spec.networks.iter().all(|s| {
            state
                .slots
                .networks
                .get(&s.index)
                .is_some_and(|n| n.bridge.as_deref() == Some(s.bridge.as_str()) && n.ip == s.ip)
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Secret;
    use crate::lxc::NetworkSpec;
    use serde_json::json;
    use serde_json::Value;

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
        let mut net0 = NetworkSpec::new(0, "eth0", "vmbr0");
        net0.ip = Some("10.10.40.10/24".into());
        net0.gateway = Some("10.10.40.1".into());
        net0.vlan = Some(40);
        net0.firewall = true;
        spec.networks = vec![net0];
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
        let net = state.net0().cloned().unwrap();
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
        assert!(changes.grow.is_empty(), "{changes:?}");
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
                ("memory".to_string(), "4096".to_string()),
                ("tags".to_string(), "mail;prod;ralf".to_string())
            ]
        );
        assert_eq!(changes.delete, vec!["description".to_string()]);
    }

    #[test]
    fn a_network_change_keeps_the_generated_mac_address() {
        let mut desired = spec();
        desired.networks[0].ip = Some("10.10.40.11/24".into());
        let changes = config_changes(&state(), &desired).unwrap();
        assert_eq!(
            changes.set,
            vec![(
                "net0".to_string(),
                "name=eth0,bridge=vmbr0,firewall=1,gw=10.10.40.1,hwaddr=BC:24:11:12:34:56,ip=10.10.40.11/24,tag=40,type=veth"
                    .to_string()
            )]
        );
    }

    #[test]
    fn the_disk_grows_but_never_shrinks() {
        let mut desired = spec();
        desired.disk.size = 16;
        let changes = config_changes(&state(), &desired).unwrap();
        assert_eq!(changes.grow, vec![("rootfs".to_string(), 16)]);
        desired.disk.size = 4;
        let error = config_changes(&state(), &desired).unwrap_err().to_string();
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
        assert!(reason.contains("features.keyctl"), "{reason}");
        assert!(reason.contains("root@pam"), "{reason}");
        assert!(reason.contains("root_only_over_ssh"), "{reason}");
        assert!(spec().root_only_conflict(true).is_none());
        let mut nesting_only = spec();
        nesting_only.features.keyctl = false;
        assert!(nesting_only.root_only_conflict(false).is_none());
        let mut with_device = nesting_only;
        with_device.devices.push(crate::lxc::DeviceSpec {
            index: 0,
            path: "/dev/net/tun".into(),
            mode: None,
            uid: None,
            gid: None,
        });
        assert_eq!(with_device.root_only_options(), vec!["device /dev/net/tun"]);
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
