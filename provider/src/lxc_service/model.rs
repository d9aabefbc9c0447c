//! The typed model of a `ralf_lxc_service` configuration ([`Service`]), read once from a
//! Terraform value with the defaults in one place ([`defaults`]). Reading reports every value
//! that does not fit (a fraction, a negative size, an index out of range, a gateway outside its
//! subnet ...) as an error at its attribute path; values not known yet are left out and checked
//! when they are. [`Service::to_spec`] turns the model into the API client's [`ContainerSpec`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use tfplugin::{AttributePath, Diagnostics, Value};

use crate::tf::{opt_string, path, strings};
use pve::lxc::slots::{MAX_DEVICE_INDEX, MAX_MOUNT_POINT_INDEX, MAX_NETWORK_INDEX};
use pve::rules;
use pve::{
    ContainerSpec, CtId, DeviceSpec, DiskSpec, FeaturesSpec, Ipv4Cidr, MountPointSpec, MountSource,
    NetworkSpec,
};

/// Every default of the resource, the one place they are written (docs/resources/lxc_service.md
/// lists them).
pub(crate) mod defaults {
    pub const DISK_STORAGE: &str = "local-lvm";
    pub const DISK_GIB: i64 = 8;
    pub const BRIDGE: &str = "vmbr0";
    pub const CORES: i64 = 1;
    pub const MEMORY_MIB: i64 = 1024;
    pub const SWAP_MIB: i64 = 512;
    pub const NESTING: bool = true;
    pub const REPLICATE: bool = true;
}

/// Room the description keeps for the template marker (its text plus a template volume id).
pub(super) const TEMPLATE_MARKER_ROOM: usize = 320;

/// A network interface, keyed by its name inside the container.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Network {
    pub index: Option<u32>,
    pub bridge: String,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub ip6: Option<String>,
    pub gateway6: Option<String>,
    pub vlan: Option<u32>,
    pub mtu: Option<u32>,
    pub rate_limit: Option<f64>,
    pub firewall: bool,
    pub mac_address: Option<String>,
}

/// A mount point, keyed by its path inside the container.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MountPoint {
    pub index: Option<u32>,
    /// `None` while unknown or invalid (reported).
    pub source: Option<MountSource>,
    pub read_only: bool,
    pub backup: bool,
    pub quota: bool,
    pub acl: Option<bool>,
    pub shared: bool,
    pub replicate: bool,
}

/// A device passed through, keyed by its path on the node.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Device {
    pub index: Option<u32>,
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// A `ralf_lxc_service` as configured (or planned), typed, with defaults filled in.
#[derive(Debug, Clone)]
pub(super) struct Service {
    pub ct_id: Option<u32>,
    pub hostname: Option<String>,
    pub template: Option<String>,
    pub ostype: Option<String>,
    pub cores: u32,
    pub cpu_limit: Option<f64>,
    pub cpu_units: Option<u32>,
    pub memory: u64,
    pub swap: u64,
    pub unprivileged: bool,
    pub started: bool,
    pub start_on_boot: bool,
    pub startup_order: Option<u32>,
    pub startup_up_delay: Option<u32>,
    pub startup_down_delay: Option<u32>,
    pub timezone: Option<String>,
    pub tags: BTreeSet<String>,
    pub description: Option<String>,
    pub protection: bool,
    pub nameserver: Option<String>,
    pub searchdomain: Option<String>,
    pub ssh_public_keys: Vec<String>,
    pub password: Option<String>,
    pub disk: DiskSpec,
    pub networks: BTreeMap<String, Network>,
    pub mount_points: BTreeMap<String, MountPoint>,
    pub devices: BTreeMap<String, Device>,
    pub delete_detached_volumes: bool,
    pub features: FeaturesSpec,
}

/// Reads values, reporting what does not fit at its path.
struct Reader<'d> {
    diags: &'d mut Diagnostics,
}

impl Reader<'_> {
    /// A whole number in `min..=max` at `at`; `None` when null, unknown or wrong (reported).
    fn whole(
        &mut self,
        at: AttributePath,
        name: &str,
        value: &Value,
        min: i64,
        max: Option<i64>,
        unit: &str,
    ) -> Option<u64> {
        let number = value.as_f64()?;
        match rules::whole_in_range(name, number, min, max, unit) {
            Ok(n) => u64::try_from(n).ok(),
            Err(e) => {
                self.diags.error_at(at, e.summary, e.detail);
                None
            }
        }
    }

    fn whole_u32(
        &mut self,
        at: AttributePath,
        name: &str,
        value: &Value,
        min: i64,
        max: i64,
        unit: &str,
    ) -> Option<u32> {
        self.whole(at, name, value, min, Some(max), unit)
            .and_then(|n| u32::try_from(n).ok())
    }

    /// A number in `min..=max`, fractions allowed.
    fn number(
        &mut self,
        at: AttributePath,
        name: &str,
        value: &Value,
        min: f64,
        max: f64,
        unit: &str,
    ) -> Option<f64> {
        let number = value.as_f64()?;
        if !(min..=max).contains(&number) {
            self.diags.error_at(
                at,
                format!("{name} out of range"),
                format!("{name} = {number}{unit} is outside {min}-{max}, what Proxmox VE accepts."),
            );
            return None;
        }
        Some(number)
    }

    fn error(&mut self, at: AttributePath, summary: impl Into<String>, detail: impl Into<String>) {
        self.diags.error_at(at, summary, detail);
    }
}

fn bool_or(value: &Value, default: bool) -> bool {
    value.as_bool().unwrap_or(default)
}

/// The entries of a map attribute whose keys are known (an unknown map has none yet).
fn map_entries(value: &Value) -> Vec<(&String, &Value)> {
    match value {
        Value::Map(entries) => entries.iter().collect(),
        _ => Vec::new(),
    }
}

impl Service {
    /// Reads `value` (a configuration or a plan), reporting invalid values in `diags`.
    pub fn read(value: &Value, diags: &mut Diagnostics) -> Service {
        let mut r = Reader { diags };
        let ct_id = value
            .get("ct_id")
            .as_f64()
            .and_then(|id| match CtId::from_number(id) {
                Ok(id) => Some(id.get()),
                Err(e) => {
                    r.error(path("ct_id"), e.summary, e.detail);
                    None
                }
            });
        let memory = match value.get("memory").as_f64() {
            Some(memory) if memory < 16.0 => {
                r.error(
                    path("memory"),
                    "memory too small",
                    format!("memory = {memory} MiB is below 16 MiB, the least Proxmox VE accepts."),
                );
                None
            }
            _ => r.whole(
                path("memory"),
                "memory",
                value.get("memory"),
                16,
                None,
                " MiB",
            ),
        };
        let cores = r.whole_u32(path("cores"), "cores", value.get("cores"), 1, 8192, "");
        let swap = r.whole(path("swap"), "swap", value.get("swap"), 0, None, " MiB");
        let cpu_limit = r.number(
            path("cpu_limit"),
            "cpu_limit",
            value.get("cpu_limit"),
            0.0,
            8192.0,
            " cores",
        );
        let cpu_units = r.whole_u32(
            path("cpu_units"),
            "cpu_units",
            value.get("cpu_units"),
            1,
            500_000,
            "",
        );
        let startup_order = r.whole_u32(
            path("startup_order"),
            "startup_order",
            value.get("startup_order"),
            0,
            u32::MAX as i64,
            "",
        );
        let startup_up_delay = r.whole_u32(
            path("startup_up_delay"),
            "startup_up_delay",
            value.get("startup_up_delay"),
            0,
            u32::MAX as i64,
            " s",
        );
        let startup_down_delay = r.whole_u32(
            path("startup_down_delay"),
            "startup_down_delay",
            value.get("startup_down_delay"),
            0,
            u32::MAX as i64,
            " s",
        );

        let disk_value = value.get("disk");
        let disk = DiskSpec {
            storage: opt_string(disk_value.get("storage"))
                .unwrap_or_else(|| defaults::DISK_STORAGE.into()),
            size: r
                .whole(
                    path("disk").attr("size"),
                    "disk size",
                    disk_value.get("size"),
                    1,
                    None,
                    " GiB",
                )
                .unwrap_or(defaults::DISK_GIB as u64),
        };
        let features_value = value.get("features");
        let features = FeaturesSpec {
            nesting: bool_or(features_value.get("nesting"), defaults::NESTING),
            keyctl: bool_or(features_value.get("keyctl"), false),
            fuse: bool_or(features_value.get("fuse"), false),
        };

        let mut networks = BTreeMap::new();
        for (name, net) in map_entries(value.get("network")) {
            let at = || path("network").key(name);
            let index = r.whole_u32(
                at().attr("index"),
                "network index",
                net.get("index"),
                0,
                MAX_NETWORK_INDEX as i64,
                "",
            );
            networks.insert(
                name.clone(),
                Network {
                    index,
                    bridge: opt_string(net.get("bridge"))
                        .unwrap_or_else(|| defaults::BRIDGE.into()),
                    ip: opt_string(net.get("ip")),
                    gateway: opt_string(net.get("gateway")),
                    ip6: opt_string(net.get("ip6")),
                    gateway6: opt_string(net.get("gateway6")),
                    vlan: r.whole_u32(at().attr("vlan"), "vlan", net.get("vlan"), 1, 4094, ""),
                    mtu: r.whole_u32(at().attr("mtu"), "mtu", net.get("mtu"), 64, 65535, ""),
                    rate_limit: r.number(
                        at().attr("rate_limit"),
                        "rate_limit",
                        net.get("rate_limit"),
                        0.0,
                        10e6,
                        " MB/s",
                    ),
                    firewall: bool_or(net.get("firewall"), false),
                    mac_address: opt_string(net.get("mac_address")),
                },
            );
        }

        let mut mount_points = BTreeMap::new();
        for (mount_path, mp) in map_entries(value.get("mount_points")) {
            let at = || path("mount_points").key(mount_path);
            let index = r.whole_u32(
                at().attr("index"),
                "mount point index",
                mp.get("index"),
                0,
                MAX_MOUNT_POINT_INDEX as i64,
                "",
            );
            let size = r.whole(
                at().attr("size"),
                "mount point size",
                mp.get("size"),
                1,
                None,
                " GiB",
            );
            let storage = mp.get("storage");
            let host_path = mp.get("host_path");
            let source = match (storage.as_str(), host_path.as_str()) {
                _ if storage.is_unknown()
                    || host_path.is_unknown()
                    || mp.get("size").is_unknown() =>
                {
                    None
                }
                (Some(storage), None) => match size {
                    Some(size) => Some(MountSource::Volume {
                        storage: storage.to_string(),
                        size,
                    }),
                    None => {
                        if mp.get("size").is_null() {
                            r.error(at().attr("size"), "Mount point without a size", format!("The volume mount point {mount_path:?} on storage {storage:?} needs size = <GiB>, e.g. size = 16."));
                        }
                        None
                    }
                },
                (None, Some(host)) => {
                    if !mp.get("size").is_null() {
                        r.error(at().attr("size"), "size with a bind mount", format!("{mount_path:?} bind-mounts {host:?} from the node, which has no size of its own. Remove size, or use storage instead of host_path for a volume."));
                    }
                    if !host.starts_with('/') {
                        r.error(at().attr("host_path"), "Invalid host_path", format!("host_path {host:?} must be an absolute path on the node, e.g. \"/srv/share\"."));
                    }
                    Some(MountSource::Bind {
                        host_path: host.to_string(),
                    })
                }
                (Some(_), Some(_)) => {
                    r.error(at(), "Mount point with both storage and host_path", format!("{mount_path:?} sets both storage (a volume of its own) and host_path (a bind mount). Keep one of them."));
                    None
                }
                (None, None) => {
                    r.error(at(), "Mount point without a source", format!("{mount_path:?} needs storage and size (a volume of its own, e.g. storage = \"local-lvm\", size = 16) or host_path (a bind mount)."));
                    None
                }
            };
            mount_points.insert(
                mount_path.clone(),
                MountPoint {
                    index,
                    source,
                    read_only: bool_or(mp.get("read_only"), false),
                    backup: bool_or(mp.get("backup"), false),
                    quota: bool_or(mp.get("quota"), false),
                    acl: mp.get("acl").as_bool(),
                    shared: bool_or(mp.get("shared"), false),
                    replicate: bool_or(mp.get("replicate"), defaults::REPLICATE),
                },
            );
        }

        let mut devices = BTreeMap::new();
        for (device_path, dev) in map_entries(value.get("devices")) {
            let at = || path("devices").key(device_path);
            let index = r.whole_u32(
                at().attr("index"),
                "device index",
                dev.get("index"),
                0,
                MAX_DEVICE_INDEX as i64,
                "",
            );
            let mode = opt_string(dev.get("mode"));
            if let Some(mode) = &mode {
                if mode.is_empty()
                    || mode.len() > 4
                    || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b))
                {
                    r.error(at().attr("mode"), "Invalid device mode", format!("mode {mode:?} is not an octal access mode such as \"0666\" or \"0660\"."));
                }
            }
            if !device_path.starts_with("/dev/") {
                r.error(path("devices").key(device_path), "Invalid device path", format!("{device_path:?} is not a device node path: write it as on the node, e.g. \"/dev/net/tun\" or \"/dev/dri/renderD128\"."));
            }
            devices.insert(
                device_path.clone(),
                Device {
                    index,
                    mode,
                    uid: r.whole_u32(
                        at().attr("uid"),
                        "uid",
                        dev.get("uid"),
                        0,
                        u32::MAX as i64,
                        "",
                    ),
                    gid: r.whole_u32(
                        at().attr("gid"),
                        "gid",
                        dev.get("gid"),
                        0,
                        u32::MAX as i64,
                        "",
                    ),
                },
            );
        }

        Service {
            ct_id,
            hostname: opt_string(value.get("hostname")),
            template: opt_string(value.get("template")),
            ostype: opt_string(value.get("ostype")),
            cores: cores.unwrap_or(defaults::CORES as u32),
            cpu_limit: cpu_limit.filter(|l| *l > 0.0),
            cpu_units,
            memory: memory.unwrap_or(defaults::MEMORY_MIB as u64),
            swap: swap.unwrap_or(defaults::SWAP_MIB as u64),
            unprivileged: bool_or(value.get("unprivileged"), true),
            started: bool_or(value.get("started"), true),
            start_on_boot: bool_or(value.get("start_on_boot"), true),
            startup_order,
            startup_up_delay,
            startup_down_delay,
            timezone: opt_string(value.get("timezone")),
            tags: strings(value.get("tags")).into_iter().collect(),
            description: opt_string(value.get("description")),
            protection: bool_or(value.get("protection"), false),
            nameserver: opt_string(value.get("nameserver")),
            searchdomain: opt_string(value.get("searchdomain")),
            ssh_public_keys: strings(value.get("ssh_public_keys")),
            password: opt_string(value.get("password")),
            disk,
            networks,
            mount_points,
            devices,
            delete_detached_volumes: bool_or(value.get("delete_detached_volumes"), false),
            features,
        }
    }

    /// The API client's spec for this service on `node`. Elements without an index get the
    /// lowest free one (a plan has assigned them all already).
    pub fn to_spec(&self, node: &str, description: String) -> ContainerSpec {
        let mut spec = ContainerSpec::new(
            node,
            self.ct_id.unwrap_or(0),
            self.hostname.as_deref().unwrap_or_default(),
            self.template.as_deref().unwrap_or_default(),
        );
        spec.ostype = self.ostype.clone();
        spec.cores = self.cores;
        spec.cpu_limit = self.cpu_limit;
        spec.cpu_units = self.cpu_units;
        spec.memory = self.memory;
        spec.swap = self.swap;
        spec.unprivileged = self.unprivileged;
        spec.started = self.started;
        spec.start_on_boot = self.start_on_boot;
        spec.startup_order = self.startup_order;
        spec.startup_up_delay = self.startup_up_delay;
        spec.startup_down_delay = self.startup_down_delay;
        spec.timezone = self.timezone.clone();
        spec.tags = self.tags.iter().map(|t| t.to_ascii_lowercase()).collect();
        spec.description = Some(description);
        spec.protection = self.protection;
        spec.nameserver = self.nameserver.clone();
        spec.searchdomain = self.searchdomain.clone();
        spec.ssh_public_keys = self.ssh_public_keys.clone();
        spec.password = self.password.clone().map(Into::into);
        spec.disk = self.disk.clone();
        let net_indexes = assign_indexes(
            self.networks.iter().map(|(k, n)| (k.as_str(), n.index)),
            preferred_network_index,
            MAX_NETWORK_INDEX,
        );
        spec.networks = self
            .networks
            .iter()
            .filter_map(|(name, n)| {
                Some(NetworkSpec {
                    index: *net_indexes.get(name.as_str())?,
                    name: name.clone(),
                    bridge: n.bridge.clone(),
                    ip: n.ip.clone(),
                    gateway: n.gateway.clone(),
                    ip6: n.ip6.clone(),
                    gateway6: n.gateway6.clone(),
                    vlan: n.vlan,
                    mtu: n.mtu,
                    rate: n.rate_limit,
                    firewall: n.firewall,
                    mac_address: n.mac_address.clone(),
                })
            })
            .collect();
        let mp_indexes = assign_indexes(
            self.mount_points.iter().map(|(k, m)| (k.as_str(), m.index)),
            |_| None,
            MAX_MOUNT_POINT_INDEX,
        );
        spec.mount_points = self
            .mount_points
            .iter()
            .filter_map(|(mount_path, m)| {
                Some(MountPointSpec {
                    index: *mp_indexes.get(mount_path.as_str())?,
                    path: mount_path.clone(),
                    source: m.source.clone()?,
                    read_only: m.read_only,
                    backup: m.backup,
                    quota: m.quota,
                    acl: m.acl,
                    shared: m.shared,
                    replicate: m.replicate,
                })
            })
            .collect();
        let dev_indexes = assign_indexes(
            self.devices.iter().map(|(k, d)| (k.as_str(), d.index)),
            |_| None,
            MAX_DEVICE_INDEX,
        );
        spec.devices = self
            .devices
            .iter()
            .filter_map(|(device_path, d)| {
                Some(DeviceSpec {
                    index: *dev_indexes.get(device_path.as_str())?,
                    path: device_path.clone(),
                    mode: d.mode.clone(),
                    uid: d.uid,
                    gid: d.gid,
                })
            })
            .collect();
        spec.delete_detached_volumes = self.delete_detached_volumes;
        spec.features = self.features;
        spec
    }
}

/// `eth3` prefers `net3`, so that a container's interfaces line up with their slots.
pub(super) fn preferred_network_index(name: &str) -> Option<u32> {
    name.strip_prefix("eth")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .filter(|i| *i <= MAX_NETWORK_INDEX)
}

/// Slot indexes for keyed elements: a known index is kept; the others get their preferred
/// index if free, else the lowest free one (in key order). Elements beyond `max` get none.
pub(super) fn assign_indexes<'k>(
    elements: impl IntoIterator<Item = (&'k str, Option<u32>)>,
    preferred: impl Fn(&str) -> Option<u32>,
    max: u32,
) -> BTreeMap<&'k str, u32> {
    let elements: Vec<(&str, Option<u32>)> = elements.into_iter().collect();
    let mut taken: BTreeSet<u32> = elements.iter().filter_map(|(_, i)| *i).collect();
    let mut out = BTreeMap::new();
    for (key, index) in &elements {
        if let Some(i) = index {
            out.insert(*key, *i);
        }
    }
    for (key, _) in elements.iter().filter(|(_, i)| i.is_none()) {
        if let Some(p) = preferred(key).filter(|p| !taken.contains(p)) {
            taken.insert(p);
            out.insert(*key, p);
        }
    }
    for (key, _) in elements.iter().filter(|(_, i)| i.is_none()) {
        if out.contains_key(key) {
            continue;
        }
        if let Some(free) = (0..=max).find(|i| !taken.contains(i)) {
            taken.insert(free);
            out.insert(*key, free);
        }
    }
    out
}

/// Checks of the configuration beyond single values: names, addresses and their subnets,
/// duplicates. Together with [`Service::read`] this is the resource's validation.
pub(super) fn validate(config: &Value, diags: &mut Diagnostics) {
    let service = Service::read(config, diags);
    if let Some(name) = &service.hostname {
        if !rules::valid_hostname(name) {
            diags.error_at(path("hostname"), "Invalid hostname", format!("hostname {name:?} is not a DNS name: use letters, digits and hyphens in dot-separated labels, e.g. \"vaultwarden\" or \"mail.home.lan\"."));
        }
    }
    for tag in &service.tags {
        if !rules::valid_tag(tag) {
            diags.error_at(path("tags"), "Invalid tag", format!("tag {tag:?} does not follow Proxmox VE's tag rule: it starts with a letter, digit or `_`, and has only letters, digits and `_ - + .` (no spaces, `;` or `,`). Split it into several tags or rename it."));
        }
    }
    if let Some(description) = &service.description {
        let length = description.chars().count() + TEMPLATE_MARKER_ROOM;
        if length > rules::DESCRIPTION_MAX {
            diags.error_at(path("description"), "description too long", format!("description has {} characters; Proxmox VE stores at most {} and the provider adds its marker, so keep it under {}.", description.chars().count(), rules::DESCRIPTION_MAX, rules::DESCRIPTION_MAX - TEMPLATE_MARKER_ROOM));
        }
    }
    if let Some(password) = &service.password {
        if password.chars().count() < rules::PASSWORD_MIN {
            diags.error_at(path("password"), "password too short", format!("The root password must have at least {} characters (Proxmox VE refuses shorter ones).", rules::PASSWORD_MIN));
        }
    }
    if let Some(list) = &service.nameserver {
        let bad = rules::invalid_nameservers(list);
        if !bad.is_empty() {
            diags.error_at(path("nameserver"), "Invalid nameserver", format!("nameserver {list:?}: {} not an IP address. List DNS server addresses separated by spaces, e.g. \"1.1.1.1 9.9.9.9\".", bad.iter().map(|b| format!("{b:?}")).collect::<Vec<_>>().join(", ") + if bad.len() == 1 { " is" } else { " are" }));
        }
    }
    if let Some(timezone) = &service.timezone {
        let plausible = timezone == "host"
            || (!timezone.is_empty()
                && timezone
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b)));
        if !plausible {
            diags.error_at(path("timezone"), "Invalid timezone", format!("timezone {timezone:?} is neither \"host\" nor a zone name such as \"Europe/Berlin\" or \"UTC\"."));
        }
    }
    validate_networks(&service, diags);
    validate_mount_points(&service, diags);
    validate_unique_indexes(config, diags);
}

fn validate_networks(service: &Service, diags: &mut Diagnostics) {
    for (name, net) in &service.networks {
        let at = || path("network").key(name);
        let valid_name = !name.is_empty()
            && name.len() <= 15
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid_name {
            diags.error_at(at(), "Invalid interface name", format!("{name:?} is not an interface name: 1-15 letters, digits, `-`, `_` or `.`, e.g. \"eth0\"."));
        }
        if !rules::valid_bridge(&net.bridge) {
            diags.error_at(at().attr("bridge"), "Invalid bridge", format!("bridge {:?} is not a bridge name: 1-15 letters, digits, `-`, `_` or `.`, e.g. \"vmbr0\".", net.bridge));
        }
        let mut cidr = None;
        if let Some(ip) = net
            .ip
            .as_deref()
            .filter(|ip| *ip != "dhcp" && *ip != "manual")
        {
            match Ipv4Cidr::parse(ip) {
                Some(c) => cidr = Some(c),
                None => diags.error_at(at().attr("ip"), "Invalid ip", format!("ip {ip:?} is neither an IPv4 address in CIDR notation (e.g. \"10.10.40.30/24\") nor \"dhcp\".")),
            }
        }
        if let Some(gateway) = &net.gateway {
            match gateway.parse::<Ipv4Addr>() {
                Err(_) => diags.error_at(
                    at().attr("gateway"),
                    "Invalid gateway",
                    format!("gateway {gateway:?} is not an IPv4 address, e.g. \"10.10.40.1\"."),
                ),
                Ok(gw) => {
                    if net.ip.as_deref() == Some("dhcp") {
                        diags.error_at(at().attr("gateway"), "gateway with dhcp", "A gateway only goes with a static ip; with ip = \"dhcp\" the DHCP server provides it. Remove gateway.");
                    } else if let Some(cidr) = &cidr {
                        if !cidr.contains(gw) {
                            diags.error_at(at().attr("gateway"), "Gateway outside the subnet", format!("gateway {gw} is not inside {}/{}: the container could not reach it. Use an address of that subnet (e.g. the .1 of it) or fix the prefix length.", cidr.addr, cidr.prefix));
                        }
                    }
                }
            }
        }
        if let Some(ip6) = net
            .ip6
            .as_deref()
            .filter(|ip| !matches!(*ip, "dhcp" | "auto" | "manual"))
        {
            let valid = ip6.split_once('/').is_some_and(|(a, p)| {
                a.parse::<Ipv6Addr>().is_ok() && p.parse::<u8>().is_ok_and(|p| p <= 128)
            });
            if !valid {
                diags.error_at(at().attr("ip6"), "Invalid ip6", format!("ip6 {ip6:?} is neither an IPv6 address in CIDR notation (e.g. \"2001:db8::30/64\") nor \"dhcp\" or \"auto\"."));
            }
        }
        if let Some(gateway6) = &net.gateway6 {
            if gateway6.parse::<Ipv6Addr>().is_err() {
                diags.error_at(
                    at().attr("gateway6"),
                    "Invalid gateway6",
                    format!("gateway6 {gateway6:?} is not an IPv6 address, e.g. \"2001:db8::1\"."),
                );
            } else if matches!(net.ip6.as_deref(), Some("dhcp" | "auto")) {
                diags.error_at(at().attr("gateway6"), "gateway6 with dhcp or auto", "A gateway6 only goes with a static ip6; with dhcp or auto the network provides it. Remove gateway6.");
            }
        }
        if let Some(mac) = &net.mac_address {
            let parts: Vec<&str> = mac.split(':').collect();
            let valid = parts.len() == 6
                && parts
                    .iter()
                    .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            let unicast = u8::from_str_radix(parts.first().copied().unwrap_or("01"), 16)
                .is_ok_and(|b| b & 1 == 0);
            if !valid || !unicast {
                diags.error_at(at().attr("mac_address"), "Invalid mac_address", format!("mac_address {mac:?} is not a unicast MAC address such as \"BC:24:11:12:34:56\"."));
            }
        }
    }
}

/// Normalises a container path for comparison (`/data/` is `/data`).
fn normal_mount_path(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

fn validate_mount_points(service: &Service, diags: &mut Diagnostics) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for mount_path in service.mount_points.keys() {
        let at = || path("mount_points").key(mount_path);
        if !mount_path.starts_with('/') || mount_path.split('/').any(|part| part == "..") {
            diags.error_at(at(), "Invalid mount path", format!("{mount_path:?} is not an absolute path inside the container, e.g. \"/var/lib/postgresql\"."));
            continue;
        }
        let normal = normal_mount_path(mount_path);
        if normal == "/" {
            diags.error_at(
                at(),
                "Invalid mount path",
                "\"/\" is the root disk; mount points go below it, e.g. \"/data\".",
            );
            continue;
        }
        if let Some(first) = seen.get(&normal) {
            diags.error_at(at(), "Duplicate mount path", format!("{mount_path:?} and {first:?} are the same path inside the container. Keep one of them."));
        } else {
            seen.insert(normal, mount_path);
        }
    }
}

/// Two elements of one family written with the same `index`.
fn validate_unique_indexes(config: &Value, diags: &mut Diagnostics) {
    for (attribute, family) in [
        ("network", "net"),
        ("mount_points", "mp"),
        ("devices", "dev"),
    ] {
        let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
        for (key, element) in map_entries(config.get(attribute)) {
            let Some(index) = element.get("index").as_i64() else {
                continue;
            };
            if let Some(first) = seen.get(&index) {
                diags.error_at(path(attribute).key(key).attr("index"), format!("Duplicate {family}{index}"), format!("{key:?} and {first:?} both ask for index {index} ({family}{index}). Give one of them another index, or leave index out and the provider picks a free one."));
            } else {
                seen.insert(index, key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_at(config: &Value) -> Vec<String> {
        let mut diags = Diagnostics::new();
        validate(config, &mut diags);
        diags
            .iter()
            .filter_map(|d| d.attribute.as_ref().map(|a| a.to_string()))
            .collect()
    }

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut v = super::super::schema::schema().block.null_object();
        v.set_attr("ct_id", Value::int(4010));
        v.set_attr("hostname", "pg".into());
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn num(n: f64) -> Value {
        Value::Number(tfplugin::Number::Float(n))
    }

    #[test]
    fn a_fraction_or_a_negative_size_is_an_error_at_its_path() {
        let mounts = map(vec![
            (
                "/data",
                Value::object([("storage", "local-lvm".into()), ("size", num(1.5))]),
            ),
            (
                "/logs",
                Value::object([("storage", "local-lvm".into()), ("size", Value::int(-2))]),
            ),
        ]);
        let disk = Value::object([("storage", Value::Null), ("size", num(8.5))]);
        let errors = errors_at(&config(&[("mount_points", mounts), ("disk", disk)]));
        assert!(
            errors.contains(&"mount_points[\"/data\"].size".to_string()),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"mount_points[\"/logs\"].size".to_string()),
            "{errors:?}"
        );
        assert!(errors.contains(&"disk.size".to_string()), "{errors:?}");
    }

    #[test]
    fn an_index_out_of_range_or_twice_is_an_error_at_its_path() {
        let nets = map(vec![
            ("eth0", Value::object([("index", Value::int(32))])),
            ("eth1", Value::object([("index", Value::int(3))])),
            ("eth2", Value::object([("index", Value::int(3))])),
        ]);
        let errors = errors_at(&config(&[("network", nets)]));
        assert!(
            errors.contains(&"network[\"eth0\"].index".to_string()),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"network[\"eth2\"].index".to_string()),
            "{errors:?}"
        );
    }

    #[test]
    fn the_same_mount_path_written_twice_is_an_error() {
        let mp = || Value::object([("storage", "local-lvm".into()), ("size", Value::int(4))]);
        let errors = errors_at(&config(&[(
            "mount_points",
            map(vec![("/data", mp()), ("/data/", mp())]),
        )]));
        assert_eq!(errors, vec!["mount_points[\"/data/\"]".to_string()]);
    }

    #[test]
    fn a_mount_point_needs_exactly_one_source() {
        let errors = errors_at(&config(&[(
            "mount_points",
            map(vec![
                (
                    "/a",
                    Value::object([
                        ("storage", "local-lvm".into()),
                        ("size", Value::int(4)),
                        ("host_path", "/srv".into()),
                    ]),
                ),
                ("/b", Value::object([("read_only", Value::Bool(true))])),
                ("/c", Value::object([("storage", "local-lvm".into())])),
            ]),
        )]));
        assert_eq!(
            errors,
            vec![
                "mount_points[\"/a\"]",
                "mount_points[\"/b\"]",
                "mount_points[\"/c\"].size"
            ]
        );
    }

    #[test]
    fn indexes_keep_what_is_known_prefer_eth_numbers_and_fill_the_lowest_free_slot() {
        let assigned = assign_indexes(
            [
                ("eth1", None),
                ("storage", None),
                ("eth0", Some(2)),
                ("wan", None),
            ],
            preferred_network_index,
            MAX_NETWORK_INDEX,
        );
        assert_eq!(assigned["eth0"], 2);
        assert_eq!(assigned["eth1"], 1);
        assert_eq!(assigned["storage"], 0);
        assert_eq!(assigned["wan"], 3);
    }

    #[test]
    fn a_left_out_disk_and_features_read_as_their_defaults() {
        let mut diags = Diagnostics::new();
        let service = Service::read(&config(&[]), &mut diags);
        assert!(diags.is_empty());
        assert_eq!(
            service.disk,
            DiskSpec {
                storage: "local-lvm".into(),
                size: 8
            }
        );
        assert!(service.features.nesting && !service.features.keyctl);
        assert_eq!(
            (service.cores, service.memory, service.swap),
            (1, 1024, 512)
        );
    }
}
