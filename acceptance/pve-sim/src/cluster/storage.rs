//! The cluster's storages (`local` dir and `local-lvm` lvmthin on every node) and the OS
//! templates on `local`. Knows capabilities (content types, snapshots) and volume naming.

use std::borrow::Cow;

use super::Cluster;

/// One storage definition.
#[derive(Debug, Clone)]
pub struct StorageDef {
    pub id: &'static str,
    pub ty: &'static str,
    pub content: Vec<&'static str>,
    pub snapshots: bool,
    pub total: u64,
}

/// An OS template on `local`: the fixed list of the emulated backend, or one the lab built.
#[derive(Debug, Clone)]
pub struct Template {
    pub volid: Cow<'static, str>,
    pub size: u64,
    pub ostype: Cow<'static, str>,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        volid: Cow::Borrowed("local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"),
        size: 141_589_318,
        ostype: Cow::Borrowed("ubuntu"),
    },
    Template {
        volid: Cow::Borrowed("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        size: 126_009_484,
        ostype: Cow::Borrowed("debian"),
    },
];

const GIB: u64 = 1024 * 1024 * 1024;

impl Cluster {
    /// The storages every node has.
    pub fn storages(&self) -> Vec<StorageDef> {
        let mut local_content = vec!["backup", "iso", "vztmpl"];
        if self.local_rootdir {
            local_content.push("rootdir");
        }
        vec![
            StorageDef {
                id: "local",
                ty: "dir",
                content: local_content,
                snapshots: false,
                total: 100 * GIB,
            },
            StorageDef {
                id: "local-lvm",
                ty: "lvmthin",
                content: vec!["images", "rootdir"],
                snapshots: true,
                total: 1024 * GIB,
            },
        ]
    }

    /// The templates of `all` that are on `local` now (not missing).
    pub fn present_templates(&self, all: Vec<Template>) -> Vec<Template> {
        all.into_iter()
            .filter(|t| !self.missing_templates.contains(t.volid.as_ref()))
            .collect()
    }

    pub fn storage(&self, id: &str) -> Option<StorageDef> {
        self.storages().into_iter().find(|s| s.id == id)
    }

    /// Bytes used on a storage of one node (sum of volume sizes).
    pub fn storage_used(&self, node: &str, storage: &str) -> u64 {
        let mut used = 0;
        if storage == "local" {
            used += TEMPLATES.iter().map(|t| t.size).sum::<u64>();
        }
        for ct in self.containers.values().filter(|c| c.node == node) {
            for (volid, size) in ct.volumes() {
                if volid.split(':').next() == Some(storage) {
                    used += size;
                }
            }
        }
        used
    }

    /// The name of the next free disk volume of a container on a storage.
    pub fn allocate_volume(&self, storage: &StorageDef, vmid: u32, taken: &[String]) -> String {
        let mut n = 0;
        loop {
            let volid = if storage.ty == "dir" {
                format!("{}:{vmid}/vm-{vmid}-disk-{n}.raw", storage.id)
            } else {
                format!("{}:vm-{vmid}-disk-{n}", storage.id)
            };
            if !taken.contains(&volid) {
                return volid;
            }
            n += 1;
        }
    }
}

impl super::Container {
    /// Every disk volume this container references (rootfs, mount points, unused, and those
    /// only referenced by snapshots), with sizes.
    pub fn volumes(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut add = |conf: &std::collections::BTreeMap<String, String>| {
            for (k, v) in conf {
                if k == "rootfs" || k.starts_with("mp") || k.starts_with("unused") {
                    let volid = super::config::default_key_value(v);
                    let size = super::config::property_value(v, "size")
                        .and_then(|s| super::config::parse_size(&s))
                        .unwrap_or(0);
                    if !volid.is_empty() && !out.iter().any(|(id, _)| *id == volid) {
                        out.push((volid, size));
                    }
                }
            }
        };
        add(&self.conf);
        add(&self.pending);
        for snap in &self.snapshots {
            add(&snap.conf);
        }
        out
    }
}
