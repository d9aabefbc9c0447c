//! A container's indexed options: network interfaces (`net0`..`net31`), mount points
//! (`mp0`..`mp255`), device passthrough (`dev0`..`dev255`) and detached volumes (`unused0`..):
//! what is asked for, what is read back, the property strings Proxmox reads and prints
//! (pve-container `src/PVE/LXC/Config.pm`: `$netconf_desc`, `$mp_desc`, `$dev_desc`), and the
//! keys an update sends for each family.
//!
//! Pure: no I/O, no Terraform.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::PveError;
use crate::normalise::{
    bytes_to_gib_ceil, parse_bool, parse_property_string, parse_size_bytes, NetIf,
};

/// `net0`..`net31`.
pub const MAX_NETWORK_INDEX: u32 = 31;
/// `mp0`..`mp255`.
pub const MAX_MOUNT_POINT_INDEX: u32 = 255;
/// `dev0`..`dev255`.
pub const MAX_DEVICE_INDEX: u32 = 255;

/// The index of a key of `family` (`mp3` → 3), if it is one.
pub fn slot_index(key: &str, family: &str) -> Option<u32> {
    let digits = key.strip_prefix(family)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Networks

/// A network interface as asked for (`net<index>`, named `name` inside the container).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    pub index: u32,
    /// The interface name inside the container (`eth0`).
    pub name: String,
    pub bridge: String,
    /// `10.10.40.30/24`, `dhcp` or `manual`; `None` leaves IPv4 unconfigured.
    pub ip: Option<String>,
    pub gateway: Option<String>,
    /// `2001:db8::5/64`, `dhcp`, `auto` or `manual`; `None` leaves IPv6 unconfigured.
    pub ip6: Option<String>,
    pub gateway6: Option<String>,
    pub vlan: Option<u32>,
    pub mtu: Option<u32>,
    /// MB/s.
    pub rate: Option<f64>,
    pub firewall: bool,
    /// A MAC address to use; `None` keeps the one Proxmox generated.
    pub mac_address: Option<String>,
}

impl NetworkSpec {
    /// An interface `name` on `bridge` with nothing else set.
    pub fn new(index: u32, name: &str, bridge: &str) -> NetworkSpec {
        NetworkSpec {
            index,
            name: name.to_string(),
            bridge: bridge.to_string(),
            ip: None,
            gateway: None,
            ip6: None,
            gateway6: None,
            vlan: None,
            mtu: None,
            rate: None,
            firewall: false,
            mac_address: None,
        }
    }
}

/// A network interface as read back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkState {
    pub index: u32,
    pub name: String,
    pub bridge: Option<String>,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub ip6: Option<String>,
    pub gateway6: Option<String>,
    pub vlan: Option<u32>,
    pub mtu: Option<u32>,
    pub rate: Option<f64>,
    pub firewall: bool,
    pub mac_address: Option<String>,
    /// The whole value as Proxmox returned it (keeps keys this client does not manage).
    pub raw: String,
}

impl NetworkState {
    pub fn parse(index: u32, raw: &str) -> NetworkState {
        let net = NetIf::parse(raw);
        NetworkState {
            index,
            name: net.name,
            bridge: net.bridge,
            ip: net.ip,
            gateway: net.gateway,
            ip6: net.ip6,
            gateway6: net.gateway6,
            vlan: net.vlan,
            mtu: net.mtu,
            rate: net.rate.and_then(|r| r.parse().ok()),
            firewall: net.firewall,
            mac_address: net.hwaddr,
            raw: raw.to_string(),
        }
    }

    /// The static IPv4 address without its prefix; `None` for dhcp or none.
    pub fn ipv4_address(&self) -> Option<String> {
        let (address, _) = self.ip.as_deref()?.split_once('/')?;
        address
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(|a| a.to_string())
    }

    fn differs_from(&self, desired: &NetworkSpec) -> bool {
        self.name != desired.name
            || self.bridge.as_deref() != Some(desired.bridge.as_str())
            || self.ip != desired.ip
            || self.gateway != desired.gateway
            || self.ip6 != desired.ip6
            || self.gateway6 != desired.gateway6
            || self.vlan != desired.vlan
            || self.mtu != desired.mtu
            || self.rate != desired.rate
            || self.firewall != desired.firewall
            || desired.mac_address.as_ref().is_some_and(|mac| {
                !self
                    .mac_address
                    .as_ref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(mac))
            })
    }
}

/// A rate as Proxmox prints it: `12.5`, `10` (no trailing `.0`).
fn format_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{}", rate as i64)
    } else {
        format!("{rate}")
    }
}

/// The `net<index>` value for `desired`, keeping the generated MAC and unmanaged keys of `prior`.
pub(crate) fn network_value(prior: Option<&NetworkState>, desired: &NetworkSpec) -> String {
    let mut net = prior.map(|p| NetIf::parse(&p.raw)).unwrap_or_default();
    net.name = desired.name.clone();
    net.hwaddr = desired
        .mac_address
        .clone()
        .or_else(|| prior.and_then(|p| p.mac_address.clone()));
    net.bridge = Some(desired.bridge.clone());
    net.ip = desired.ip.clone();
    net.gateway = desired.gateway.clone();
    net.ip6 = desired.ip6.clone();
    net.gateway6 = desired.gateway6.clone();
    net.vlan = desired.vlan;
    net.mtu = desired.mtu;
    net.rate = desired.rate.map(format_rate);
    net.firewall = desired.firewall;
    net.format()
}

// ---------------------------------------------------------------------------------------------
// Mount points

/// Where a mount point's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A volume of its own on `storage`, `size` GiB (grows in place, never shrinks).
    Volume { storage: String, size: u64 },
    /// A directory of the node bind-mounted into the container (root@pam only).
    Bind { host_path: String },
}

/// A mount point as asked for (`mp<index>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPointSpec {
    pub index: u32,
    /// The path inside the container (`/var/lib/postgresql`).
    pub path: String,
    pub source: MountSource,
    pub read_only: bool,
    /// Include the volume in vzdump backups.
    pub backup: bool,
    pub quota: bool,
    /// `None`: the storage's default.
    pub acl: Option<bool>,
    /// The volume is reachable from every node (no migration of its data).
    pub shared: bool,
    /// Include the volume in storage replication.
    pub replicate: bool,
}

impl MountPointSpec {
    /// A volume mount point with Proxmox's defaults (not in backups, replicated).
    pub fn volume(index: u32, path: &str, storage: &str, size: u64) -> MountPointSpec {
        MountPointSpec {
            index,
            path: path.to_string(),
            source: MountSource::Volume {
                storage: storage.to_string(),
                size,
            },
            read_only: false,
            backup: false,
            quota: false,
            acl: None,
            shared: false,
            replicate: true,
        }
    }

    pub fn is_bind(&self) -> bool {
        matches!(self.source, MountSource::Bind { .. })
    }
}

/// A mount point as read back: `local-lvm:vm-4010-disk-1,mp=/data,backup=1,size=16G`, or a bind
/// mount `/srv/share,mp=/share,ro=1`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountPointState {
    pub index: u32,
    pub path: String,
    /// The volume id (`local-lvm:vm-4010-disk-1`), or the host path of a bind mount.
    pub volume: String,
    /// The storage of a volume; `None` for a bind mount.
    pub storage: Option<String>,
    /// GiB, rounded up; `None` for a bind mount.
    pub size: Option<u64>,
    pub read_only: bool,
    pub backup: bool,
    pub quota: bool,
    pub acl: Option<bool>,
    pub shared: bool,
    pub replicate: bool,
    /// Options this client does not manage (`mountoptions` ...), kept on update.
    pub other: BTreeMap<String, String>,
    /// The `size=` text as Proxmox printed it, sent back unchanged.
    pub size_text: Option<String>,
}

impl MountPointState {
    pub fn parse(index: u32, raw: &str) -> Option<MountPointState> {
        let mut map = parse_property_string(raw, Some("volume"));
        let volume = map.remove("volume")?;
        let path = map.remove("mp").unwrap_or_default();
        let bind = volume.starts_with('/');
        let storage = (!bind)
            .then(|| volume.split_once(':').map(|(s, _)| s.to_string()))
            .flatten();
        let size_text = map.remove("size");
        let size = size_text
            .as_deref()
            .and_then(parse_size_bytes)
            .map(bytes_to_gib_ceil);
        let mut flag = |key: &str| map.remove(key).and_then(|v| parse_bool(&v));
        let read_only = flag("ro").unwrap_or(false);
        let backup = flag("backup").unwrap_or(false);
        let quota = flag("quota").unwrap_or(false);
        let acl = flag("acl");
        let shared = flag("shared").unwrap_or(false);
        let replicate = flag("replicate").unwrap_or(true);
        Some(MountPointState {
            index,
            path,
            volume,
            storage,
            size: if bind { None } else { size.or(Some(0)) },
            read_only,
            backup,
            quota,
            acl,
            shared,
            replicate,
            other: map,
            size_text,
        })
    }

    pub fn is_bind(&self) -> bool {
        self.storage.is_none()
    }
}

/// The `mp<index>` value for `desired`: a new volume (`storage:size`) when there is none yet,
/// else the existing volume with the desired options.
pub(crate) fn mount_point_value(
    prior: Option<&MountPointState>,
    desired: &MountPointSpec,
) -> String {
    let mut parts = Vec::new();
    let mut options: BTreeMap<&str, String> = BTreeMap::new();
    match (&desired.source, prior) {
        (MountSource::Volume { .. }, Some(p)) if !p.is_bind() => {
            parts.push(p.volume.clone());
            if let Some(size) = &p.size_text {
                options.insert("size", size.clone());
            }
        }
        (MountSource::Volume { storage, size }, _) => parts.push(format!("{storage}:{size}")),
        (MountSource::Bind { host_path }, _) => parts.push(host_path.clone()),
    }
    options.insert("mp", desired.path.clone());
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    if desired.read_only {
        options.insert("ro", flag(true));
    }
    if desired.backup {
        options.insert("backup", flag(true));
    }
    if desired.quota {
        options.insert("quota", flag(true));
    }
    if let Some(acl) = desired.acl {
        options.insert("acl", flag(acl));
    }
    if desired.shared {
        options.insert("shared", flag(true));
    }
    if !desired.replicate {
        options.insert("replicate", flag(false));
    }
    if let Some(p) = prior {
        for (k, v) in &p.other {
            options.entry(k.as_str()).or_insert_with(|| v.clone());
        }
    }
    parts.extend(options.into_iter().map(|(k, v)| format!("{k}={v}")));
    parts.join(",")
}

fn mount_point_differs(prior: &MountPointState, desired: &MountPointSpec) -> bool {
    let source_differs = match &desired.source {
        MountSource::Volume { .. } => prior.is_bind(),
        MountSource::Bind { host_path } => !prior.is_bind() || &prior.volume != host_path,
    };
    source_differs
        || prior.path != desired.path
        || prior.read_only != desired.read_only
        || prior.backup != desired.backup
        || prior.quota != desired.quota
        || (desired.acl.is_some() && prior.acl != desired.acl)
        || prior.shared != desired.shared
        || prior.replicate != desired.replicate
}

// ---------------------------------------------------------------------------------------------
// Devices

/// A device passed through (`dev<index>`): `/dev/net/tun,mode=0666,uid=0,gid=0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSpec {
    pub index: u32,
    /// The device node on the host (and in the container), `/dev/dri/renderD128`.
    pub path: String,
    /// Octal access mode inside the container (`0666`).
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl DeviceSpec {
    pub fn parse(index: u32, raw: &str) -> Option<DeviceSpec> {
        let mut map = parse_property_string(raw, Some("path"));
        Some(DeviceSpec {
            index,
            path: map.remove("path")?,
            mode: map.remove("mode"),
            uid: map.remove("uid").and_then(|v| v.parse().ok()),
            gid: map.remove("gid").and_then(|v| v.parse().ok()),
        })
    }

    /// The `dev<index>` value Proxmox prints: the path, then the options sorted.
    pub fn format(&self) -> String {
        let mut parts = vec![self.path.clone()];
        if let Some(gid) = self.gid {
            parts.push(format!("gid={gid}"));
        }
        if let Some(mode) = &self.mode {
            parts.push(format!("mode={mode}"));
        }
        if let Some(uid) = self.uid {
            parts.push(format!("uid={uid}"));
        }
        parts.join(",")
    }
}

// ---------------------------------------------------------------------------------------------
// The indexed options of a config, read together

/// Every indexed option of a container config, by index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Slots {
    pub networks: BTreeMap<u32, NetworkState>,
    pub mount_points: BTreeMap<u32, MountPointState>,
    pub devices: BTreeMap<u32, DeviceSpec>,
    /// `unused<n>` → volume id: volumes detached from the container but still its own.
    pub unused: BTreeMap<u32, String>,
}

impl Slots {
    /// Reads the indexed options from config `(key, text)` pairs.
    pub fn read<'a>(config: impl IntoIterator<Item = (&'a str, String)>) -> Slots {
        let mut slots = Slots::default();
        for (key, text) in config {
            if let Some(i) = slot_index(key, "net") {
                slots.networks.insert(i, NetworkState::parse(i, &text));
            } else if let Some(i) = slot_index(key, "mp") {
                if let Some(mp) = MountPointState::parse(i, &text) {
                    slots.mount_points.insert(i, mp);
                }
            } else if let Some(i) = slot_index(key, "dev") {
                if let Some(dev) = DeviceSpec::parse(i, &text) {
                    slots.devices.insert(i, dev);
                }
            } else if let Some(i) = slot_index(key, "unused") {
                let volume = parse_property_string(&text, Some("volume"))
                    .remove("volume")
                    .unwrap_or(text);
                slots.unused.insert(i, volume);
            }
        }
        slots
    }
}

/// What the indexed options of an update send: keys to set, keys to delete, mount points to
/// grow, and the volumes whose mount points are removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SlotChanges {
    pub set: Vec<(String, String)>,
    pub delete: Vec<String>,
    /// `(mp<n>, GiB)`.
    pub grow: Vec<(String, u64)>,
    /// Volume ids detached by removing their mount point (Proxmox keeps them as `unused<n>`).
    pub detached: Vec<String>,
}

/// The keys that bring the indexed options from `prior` to the desired ones. Errors for what
/// Proxmox cannot do in place (a volume that would shrink or move storage).
pub(crate) fn slot_changes(
    ct_id: u32,
    prior: &Slots,
    networks: &[NetworkSpec],
    mount_points: &[MountPointSpec],
    devices: &[DeviceSpec],
) -> Result<SlotChanges, PveError> {
    let mut changes = SlotChanges::default();
    let wanted: BTreeSet<u32> = networks.iter().map(|n| n.index).collect();
    for net in networks {
        let before = prior.networks.get(&net.index);
        if before.is_none_or(|b| b.differs_from(net)) {
            changes
                .set
                .push((format!("net{}", net.index), network_value(before, net)));
        }
    }
    for index in prior.networks.keys().filter(|i| !wanted.contains(i)) {
        changes.delete.push(format!("net{index}"));
    }

    let wanted: BTreeSet<u32> = mount_points.iter().map(|m| m.index).collect();
    for mp in mount_points {
        let key = format!("mp{}", mp.index);
        let Some(before) = prior.mount_points.get(&mp.index) else {
            changes.set.push((key, mount_point_value(None, mp)));
            continue;
        };
        if let MountSource::Volume { storage, size } = &mp.source {
            if let (Some(current), Some(current_size)) = (&before.storage, before.size) {
                if current != storage {
                    return Err(PveError::Invalid {
                        message: format!(
                            "container {ct_id}: mount point {key} ({}) is on storage `{current}`; \
                             moving it to `{storage}` is not done in place. Keep storage = \
                             \"{current}\", or move the volume in Proxmox (Move Volume) first",
                            mp.path
                        ),
                    });
                }
                if *size < current_size {
                    return Err(PveError::Invalid {
                        message: format!(
                            "container {ct_id}: mount point {key} ({}) is {current_size} GiB and \
                             cannot shrink to {size} GiB (Proxmox VE can only grow volumes). Keep \
                             size >= {current_size}",
                            mp.path
                        ),
                    });
                }
                if *size > current_size {
                    changes.grow.push((key.clone(), *size));
                }
            }
        }
        if mount_point_differs(before, mp) {
            changes.set.push((key, mount_point_value(Some(before), mp)));
        }
    }
    for (index, before) in prior
        .mount_points
        .iter()
        .filter(|(i, _)| !wanted.contains(i))
    {
        changes.delete.push(format!("mp{index}"));
        if !before.is_bind() {
            changes.detached.push(before.volume.clone());
        }
    }

    let wanted: BTreeSet<u32> = devices.iter().map(|d| d.index).collect();
    for dev in devices {
        if prior.devices.get(&dev.index) != Some(dev) {
            changes
                .set
                .push((format!("dev{}", dev.index), dev.format()));
        }
    }
    for index in prior.devices.keys().filter(|i| !wanted.contains(i)) {
        changes.delete.push(format!("dev{index}"));
    }
    Ok(changes)
}

/// The create parameters of the indexed options.
pub(crate) fn create_slot_params(
    networks: &[NetworkSpec],
    mount_points: &[MountPointSpec],
    devices: &[DeviceSpec],
) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for net in networks {
        params.push((format!("net{}", net.index), network_value(None, net)));
    }
    for mp in mount_points {
        params.push((format!("mp{}", mp.index), mount_point_value(None, mp)));
    }
    for dev in devices {
        params.push((format!("dev{}", dev.index), dev.format()));
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Slots {
        Slots::read(pairs.iter().map(|(k, v)| (*k, v.to_string())))
    }

    #[test]
    fn indexed_keys_are_read_by_family_and_index() {
        let slots = read(&[
            (
                "net0",
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
            ),
            ("net3", "name=eth1,bridge=vmbr1,ip6=auto,mtu=9000,rate=12.5"),
            (
                "mp0",
                "local-lvm:vm-4010-disk-1,mp=/var/lib/postgresql,backup=1,size=16G",
            ),
            ("mp1", "/srv/share,mp=/share,ro=1"),
            ("dev0", "/dev/net/tun,gid=0,mode=0666,uid=0"),
            ("unused0", "local-lvm:vm-4010-disk-2"),
            ("memory", "512"),
        ]);
        assert_eq!(slots.networks[&3].name, "eth1");
        assert_eq!(slots.networks[&3].rate, Some(12.5));
        let data = &slots.mount_points[&0];
        assert_eq!(
            (data.storage.as_deref(), data.size, data.path.as_str()),
            (Some("local-lvm"), Some(16), "/var/lib/postgresql")
        );
        assert!(data.backup && data.replicate && !data.read_only);
        assert!(slots.mount_points[&1].is_bind() && slots.mount_points[&1].read_only);
        assert_eq!(slots.devices[&0].mode.as_deref(), Some("0666"));
        assert_eq!(
            slots.devices[&0].format(),
            "/dev/net/tun,gid=0,mode=0666,uid=0"
        );
        assert_eq!(slots.unused[&0], "local-lvm:vm-4010-disk-2");
        assert_eq!(slot_index("mp12", "mp"), Some(12));
        assert_eq!(slot_index("mpx", "mp"), None);
    }

    #[test]
    fn a_new_volume_mount_point_is_allocated_on_its_storage_with_its_options() {
        let mut mp = MountPointSpec::volume(0, "/data", "local-lvm", 16);
        mp.backup = true;
        mp.acl = Some(true);
        assert_eq!(
            mount_point_value(None, &mp),
            "local-lvm:16,acl=1,backup=1,mp=/data"
        );
        let bind = MountPointSpec {
            source: MountSource::Bind {
                host_path: "/srv/share".into(),
            },
            read_only: true,
            ..MountPointSpec::volume(1, "/share", "", 0)
        };
        assert_eq!(mount_point_value(None, &bind), "/srv/share,mp=/share,ro=1");
    }

    #[test]
    fn an_unchanged_mount_point_sends_nothing_a_larger_one_grows_a_smaller_one_is_refused() {
        let prior = read(&[("mp0", "local-lvm:vm-4010-disk-1,mp=/data,size=16G")]);
        let same = [MountPointSpec::volume(0, "/data", "local-lvm", 16)];
        let changes = slot_changes(4010, &prior, &[], &same, &[]).unwrap();
        assert_eq!(changes, SlotChanges::default());
        let larger = [MountPointSpec::volume(0, "/data", "local-lvm", 32)];
        let changes = slot_changes(4010, &prior, &[], &larger, &[]).unwrap();
        assert_eq!(changes.grow, vec![("mp0".to_string(), 32)]);
        assert!(changes.set.is_empty());
        let smaller = [MountPointSpec::volume(0, "/data", "local-lvm", 8)];
        let error = slot_changes(4010, &prior, &[], &smaller, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot shrink to 8 GiB"), "{error}");
    }

    #[test]
    fn an_option_change_keeps_the_volume_and_its_size() {
        let prior = read(&[("mp0", "local-lvm:vm-4010-disk-1,mp=/data,size=16G")]);
        let mut mp = MountPointSpec::volume(0, "/data", "local-lvm", 16);
        mp.read_only = true;
        let changes = slot_changes(4010, &prior, &[], &[mp], &[]).unwrap();
        assert_eq!(
            changes.set,
            vec![(
                "mp0".to_string(),
                "local-lvm:vm-4010-disk-1,mp=/data,ro=1,size=16G".to_string()
            )]
        );
    }

    #[test]
    fn a_removed_mount_point_is_deleted_and_its_volume_noted_as_detached() {
        let prior = read(&[
            ("mp0", "local-lvm:vm-4010-disk-1,mp=/data,size=16G"),
            ("mp1", "/srv/share,mp=/share"),
        ]);
        let changes = slot_changes(4010, &prior, &[], &[], &[]).unwrap();
        assert_eq!(changes.delete, vec!["mp0".to_string(), "mp1".to_string()]);
        assert_eq!(
            changes.detached,
            vec!["local-lvm:vm-4010-disk-1".to_string()]
        );
    }

    #[test]
    fn networks_keep_their_generated_mac_and_removed_ones_are_deleted() {
        let prior = read(&[
            (
                "net0",
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
            ),
            (
                "net1",
                "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:00:00:02,type=veth",
            ),
        ]);
        let mut eth0 = NetworkSpec::new(0, "eth0", "vmbr0");
        eth0.ip = Some("dhcp".into());
        let changes = slot_changes(4010, &prior, std::slice::from_ref(&eth0), &[], &[]).unwrap();
        assert!(changes.set.is_empty(), "{changes:?}");
        assert_eq!(changes.delete, vec!["net1".to_string()]);
        eth0.mtu = Some(1400);
        let changes = slot_changes(4010, &prior, &[eth0], &[], &[]).unwrap();
        assert_eq!(
            changes.set,
            vec![(
                "net0".to_string(),
                "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,mtu=1400,type=veth"
                    .to_string()
            )]
        );
    }

    #[test]
    fn devices_are_set_when_new_or_changed_and_deleted_when_removed() {
        let prior = read(&[("dev0", "/dev/net/tun"), ("dev1", "/dev/dri/card0")]);
        let tun = DeviceSpec {
            index: 0,
            path: "/dev/net/tun".into(),
            mode: Some("0666".into()),
            uid: None,
            gid: None,
        };
        let changes = slot_changes(4010, &prior, &[], &[], &[tun]).unwrap();
        assert_eq!(
            changes.set,
            vec![("dev0".to_string(), "/dev/net/tun,mode=0666".to_string())]
        );
        assert_eq!(changes.delete, vec!["dev1".to_string()]);
    }
}
