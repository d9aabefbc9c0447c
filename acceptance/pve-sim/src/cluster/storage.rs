//! The cluster's storages (`local` dir and `local-lvm` lvmthin on every node) and the OS
//! templates (`vztmpl`) each node holds. Knows capabilities (content types, snapshots) and
//! volume naming.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

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

/// An OS template on a storage: the fixed list of the emulated backend, one the lab built, or
/// one downloaded from the appliance list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        // `content_hash_to_string` prints the content types sorted.
        let mut local_content = vec!["backup", "iso", "vztmpl"];
        if self.local_rootdir {
            local_content.push("rootdir");
            local_content.sort_unstable();
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

    pub fn storage(&self, id: &str) -> Option<StorageDef> {
        self.storages().into_iter().find(|s| s.id == id)
    }

    /// Gives every node that has no template list yet the backend's templates, except those
    /// named in `missing` (volume ids or file names).
    pub fn seed_templates(&mut self, base: &[Template], missing: &[String]) {
        let is_missing = |t: &Template| {
            let file = t.volid.rsplit('/').next().unwrap_or("");
            missing.iter().any(|m| m == t.volid.as_ref() || m == file)
        };
        for node in &self.nodes {
            self.vztmpl
                .entry(node.clone())
                .or_insert_with(|| base.iter().filter(|t| !is_missing(t)).cloned().collect());
        }
    }

    /// The templates on `node` (all its storages).
    pub fn templates(&self, node: &str) -> &[Template] {
        self.vztmpl.get(node).map(Vec::as_slice).unwrap_or_default()
    }

    /// The template `volid` on `node`, if it is there.
    pub fn template(&self, node: &str, volid: &str) -> Option<&Template> {
        self.templates(node).iter().find(|t| t.volid == volid)
    }

    /// Adds (or replaces) a template on `node`.
    pub fn add_template(&mut self, node: &str, template: Template) {
        let list = self.vztmpl.entry(node.to_string()).or_default();
        list.retain(|t| t.volid != template.volid);
        list.push(template);
    }

    /// Removes the template `volid` from `node`; whether it was there.
    pub fn remove_template(&mut self, node: &str, volid: &str) -> bool {
        let Some(list) = self.vztmpl.get_mut(node) else {
            return false;
        };
        let before = list.len();
        list.retain(|t| t.volid != volid);
        list.len() != before
    }

    /// Bytes used on a storage of one node (sum of volume sizes).
    pub fn storage_used(&self, node: &str, storage: &str) -> u64 {
        let mut used = 0;
        for t in self.templates(node) {
            if t.volid.split(':').next() == Some(storage) {
                used += t.size;
            }
        }
        for ct in self.containers.values().filter(|c| c.node == node) {
            for (volid, size) in ct.volumes() {
                if volid.split(':').next() == Some(storage) {
                    used += self.volume_size(&volid).unwrap_or(size);
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
