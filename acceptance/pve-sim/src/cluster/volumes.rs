//! Container volumes as pve-container handles them (`src/PVE/LXC/Config.pm`,
//! `src/PVE/LXC.pm`): mount point types (`classify_mountpoint`), detached volumes kept as
//! `unused[n]` (`add_unused_volume` in pve-guest-common `src/PVE/AbstractConfig.pm`), the
//! owner rule of `delete_mountpoint_volume`, and the sizes of the volumes that exist on the
//! storages. It must not know about HTTP or permissions.

use std::collections::BTreeMap;

use super::config;
use super::{Cluster, Container};

/// The most `unused[n]` keys a container may have (`$MAX_UNUSED_DISKS`).
const MAX_UNUSED: u32 = 256;

/// What a `rootfs`/`mp[n]` value mounts (`classify_mountpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// A volume on a storage (`local-lvm:vm-100-disk-1`, or `local-lvm:8` to allocate).
    Volume,
    /// A host directory (`/srv/data`).
    Bind,
    /// A host block device (`/dev/sdb1`).
    Device,
}

impl MountType {
    pub fn of(volume: &str) -> MountType {
        if volume.starts_with("/dev/") {
            MountType::Device
        } else if volume.starts_with('/') {
            MountType::Bind
        } else {
            MountType::Volume
        }
    }

    /// The word Proxmox prints for it (`mount point type bind is only allowed for root@pam`).
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Volume => "volume",
            MountType::Bind => "bind",
            MountType::Device => "device",
        }
    }
}

/// Whether `key` is `mp[n]`.
pub fn is_mp_key(key: &str) -> bool {
    indexed(key, "mp")
}

/// Whether `key` is `unused[n]`.
pub fn is_unused_key(key: &str) -> bool {
    indexed(key, "unused")
}

fn indexed(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The volume (default key) of a `rootfs`/`mp[n]`/`unused[n]` value.
pub fn mounted_volume(value: &str) -> String {
    config::default_key_value(value)
}

/// The vmid that owns a volume by its name (`vm-<vmid>-disk-<n>`, `<vmid>/vm-<vmid>-...`), as
/// pve-storage's `parse_volname` gives it.
pub fn volume_owner(volid: &str) -> Option<u32> {
    let name = volid.split_once(':').map_or(volid, |(_, n)| n);
    let name = name.rsplit('/').next().unwrap_or(name);
    let rest = name
        .strip_prefix("vm-")
        .or_else(|| name.strip_prefix("subvol-"))
        .or_else(|| name.strip_prefix("base-"))?;
    rest.split('-').next()?.parse().ok()
}

impl Container {
    /// Every volume-type volume the current config, its pending section and (optionally) its
    /// snapshots mount, by volume id (`is_volume_in_use`).
    fn volume_in_use(&self, volid: &str, include_snapshots: bool) -> bool {
        let in_conf = |conf: &BTreeMap<String, String>| {
            conf.iter().any(|(k, v)| {
                (k == "rootfs" || is_mp_key(k))
                    && MountType::of(&mounted_volume(v)) == MountType::Volume
                    && mounted_volume(v) == volid
            })
        };
        in_conf(&self.conf)
            || in_conf(&self.pending)
            || (include_snapshots && self.snapshots.iter().any(|s| in_conf(&s.conf)))
    }

    /// `add_unused_volume`: records `volid` under the lowest free `unused[n]`, unless it is
    /// there already.
    pub fn add_unused_volume(&mut self, volid: &str) -> Result<(), String> {
        let mut free = None;
        for n in (0..MAX_UNUSED).rev() {
            match self.conf.get(&format!("unused{n}")) {
                Some(v) if v == volid => return Ok(()),
                Some(_) => {}
                None => free = Some(n),
            }
        }
        let n = free.ok_or("Too many unused volumes - please delete them first.")?;
        self.conf.insert(format!("unused{n}"), volid.to_string());
        Ok(())
    }

    /// `write_pct_config`: an `unused[n]` whose volume is mounted again is dropped.
    pub fn drop_unused_in_use(&mut self) {
        let used: Vec<String> = self
            .conf
            .iter()
            .filter(|(k, _)| *k == "rootfs" || is_mp_key(k))
            .map(|(_, v)| mounted_volume(v))
            .collect();
        self.conf
            .retain(|k, v| !(is_unused_key(k) && used.iter().any(|u| u == v)));
    }

    /// Deletes `option` from the current config as `vmconfig_apply_pending` does: a volume
    /// `mp[n]` is kept as `unused[n]`; an `unused[n]` is freed when no longer in use. Returns
    /// the volumes to free.
    pub fn delete_option(&mut self, option: &str) -> Result<Vec<String>, String> {
        let mut freed = Vec::new();
        if let Some(value) = self.conf.get(option).cloned() {
            let volid = mounted_volume(&value);
            if is_mp_key(option) && MountType::of(&volid) == MountType::Volume {
                self.add_unused_volume(&volid)?;
            } else if is_unused_key(option) && !self.volume_in_use(&volid, true) {
                freed.push(volid);
            }
        }
        self.conf.remove(option);
        self.drop_unused_in_use();
        Ok(freed)
    }

    /// Sets `option` in the current config; a volume `mp[n]` replaced by another volume is
    /// kept as `unused[n]` (`apply_pending_mountpoint`).
    pub fn set_option(&mut self, option: &str, value: String) -> Result<(), String> {
        if is_mp_key(option) {
            if let Some(old) = self.conf.get(option) {
                let old = mounted_volume(old);
                if MountType::of(&old) == MountType::Volume && old != mounted_volume(&value) {
                    self.add_unused_volume(&old)?;
                }
            }
        }
        self.conf.insert(option.to_string(), value);
        self.drop_unused_in_use();
        Ok(())
    }
}

impl Cluster {
    /// Applies the pending changes of a container (start, reboot): detached volumes become
    /// `unused[n]`, deleted `unused[n]` are freed. Returns the task log lines (warnings).
    pub fn apply_pending(&mut self, vmid: u32) -> Vec<String> {
        let Some(ct) = self.containers.get_mut(&vmid) else {
            return Vec::new();
        };
        let (freed, mut log) = ct.apply_pending();
        log.extend(self.free_volumes(vmid, &freed));
        self.remember_volume_sizes(vmid);
        log
    }

    /// Records the sizes of the volumes a container mounts (they stay known once detached).
    pub fn remember_volume_sizes(&mut self, vmid: u32) {
        let Some(ct) = self.containers.get(&vmid) else {
            return;
        };
        let mut found = Vec::new();
        let confs = std::iter::once(&ct.conf)
            .chain(std::iter::once(&ct.pending))
            .chain(ct.snapshots.iter().map(|s| &s.conf));
        for conf in confs {
            for (k, v) in conf {
                if k != "rootfs" && !is_mp_key(k) {
                    continue;
                }
                let volid = mounted_volume(v);
                if MountType::of(&volid) != MountType::Volume {
                    continue;
                }
                if let Some(size) =
                    config::property_value(v, "size").and_then(|s| config::parse_size(&s))
                {
                    found.push((volid, size));
                }
            }
        }
        self.volume_sizes.extend(found);
    }

    /// The size of an existing volume, if known.
    pub fn volume_size(&self, volid: &str) -> Option<u64> {
        self.volume_sizes.get(volid).copied()
    }

    /// Frees volumes as `delete_mountpoint_volume` does: only those `vmid` owns; the others
    /// are left with Proxmox's warning. Returns the log lines.
    pub fn free_volumes(&mut self, vmid: u32, volids: &[String]) -> Vec<String> {
        let mut log = Vec::new();
        for volid in volids {
            if MountType::of(volid) != MountType::Volume {
                continue;
            }
            if volume_owner(volid) != Some(vmid) {
                log.push(format!(
                    "ignore deletion of '{volid}', CT {vmid} isn't the owner!"
                ));
                continue;
            }
            self.volume_sizes.remove(volid);
            let name = volid.split(':').nth(1).unwrap_or("");
            log.push(format!("  Logical volume \"{name}\" successfully removed."));
        }
        log
    }

    /// Volumes owned by `vmid` that exist on a storage but no container references
    /// (`destroy-unreferenced-disks` frees them).
    pub fn unreferenced_volumes(&self, vmid: u32) -> Vec<String> {
        self.volume_sizes
            .keys()
            .filter(|v| volume_owner(v) == Some(vmid))
            .filter(|v| {
                !self
                    .containers
                    .values()
                    .any(|ct| ct.volumes().iter().any(|(id, _)| id == *v))
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_types_follow_classify_mountpoint() {
        assert_eq!(MountType::of("local-lvm:vm-100-disk-1"), MountType::Volume);
        assert_eq!(MountType::of("/srv/data"), MountType::Bind);
        assert_eq!(MountType::of("/dev/sdb1"), MountType::Device);
    }

    #[test]
    fn owners_come_from_the_volume_name() {
        assert_eq!(volume_owner("local-lvm:vm-105-disk-1"), Some(105));
        assert_eq!(volume_owner("local:105/vm-105-disk-0.raw"), Some(105));
        assert_eq!(volume_owner("local:vztmpl/debian.tar.zst"), None);
    }
}
