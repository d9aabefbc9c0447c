//! Cluster-wide look-ups and storage helpers: who uses a vmid (`/cluster/resources`), which
//! storages a node has and what they can hold, whether a template exists, the server version.
//!
//! `/cluster/resources` is eventually consistent (pvestatd refreshes it about every 10 s): use it
//! for plan-time checks, never to verify a write. This module knows nothing about Terraform.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::api::{segment, Params, PveClient};
use super::error::PveError;
use super::normalise::{value_bool, value_text, value_u64};

/// Where a guest id is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestLocation {
    pub node: String,
    /// `lxc` or `qemu`.
    pub kind: String,
    pub name: Option<String>,
    pub status: Option<String>,
}

/// A storage of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageInfo {
    pub id: String,
    /// `dir`, `lvmthin`, `zfspool`, `rbd`, `btrfs`, `lvm`, `nfs` ...
    pub kind: String,
    /// Content types: `rootdir`, `images`, `vztmpl`, `iso`, `backup` ...
    pub content: BTreeSet<String>,
    pub active: bool,
    pub enabled: bool,
}

impl StorageInfo {
    /// Whether container disks can live here.
    pub fn holds_containers(&self) -> bool {
        self.content.contains("rootdir")
    }

    /// Whether container snapshots work on this storage type (LVM-thin, ZFS, RBD, btrfs; not
    /// directory storage with raw files, not plain LVM).
    pub fn supports_snapshots(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "lvmthin" | "zfspool" | "zfs" | "rbd" | "btrfs"
        )
    }
}

impl PveClient {
    /// Where `ct_id` is in use in the cluster (container or VM), if anywhere.
    pub async fn ct_id_in_use(&self, ct_id: u32) -> Result<Option<GuestLocation>, PveError> {
        Ok(self.guests().await?.remove(&ct_id))
    }

    /// Every guest id in use in the cluster (containers and VMs), from one read of
    /// `/cluster/resources`.
    pub async fn guests(&self) -> Result<BTreeMap<u32, GuestLocation>, PveError> {
        let data = self
            .get(
                "/cluster/resources",
                &Params::new().text("type", "vm"),
                &self.default_deadline(),
            )
            .await?;
        Ok(data
            .as_array()
            .map(|items| items.iter().filter_map(guest_from_api).collect())
            .unwrap_or_default())
    }

    /// The node's storages.
    pub async fn list_storages(&self, node: &str) -> Result<Vec<StorageInfo>, PveError> {
        let data = self
            .get(
                &format!("/nodes/{}/storage", segment(node)),
                &Params::new(),
                &self.default_deadline(),
            )
            .await?;
        Ok(data
            .as_array()
            .map(|items| items.iter().filter_map(storage_from_api).collect())
            .unwrap_or_default())
    }

    /// Whether the template volume (`local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst`)
    /// exists on the node. A missing storage counts as "does not exist".
    pub async fn template_exists(&self, node: &str, volid: &str) -> Result<bool, PveError> {
        let Some((storage, _)) = volid.split_once(':') else {
            return Ok(false);
        };
        Ok(self
            .template_volumes(node, storage)
            .await?
            .is_some_and(|volumes| volumes.contains(volid)))
    }

    /// The template volume ids (`vztmpl` content) on one storage of the node; `None` when the
    /// node has no such storage.
    pub async fn template_volumes(
        &self,
        node: &str,
        storage: &str,
    ) -> Result<Option<BTreeSet<String>>, PveError> {
        let result = self
            .get(
                &format!(
                    "/nodes/{}/storage/{}/content",
                    segment(node),
                    segment(storage)
                ),
                &Params::new().text("content", "vztmpl"),
                &self.default_deadline(),
            )
            .await;
        let data = match result {
            Ok(data) => data,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(
            data.as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| item.get("volid").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        ))
    }

    /// The Proxmox VE version (`9.1.2`), which also checks that the credentials work.
    pub async fn version(&self) -> Result<String, PveError> {
        let data = self
            .get("/version", &Params::new(), &self.default_deadline())
            .await?;
        Ok(data.get("version").and_then(value_text).unwrap_or_default())
    }
}

fn guest_from_api(item: &Value) -> Option<(u32, GuestLocation)> {
    let vmid = u32::try_from(item.get("vmid").and_then(value_u64)?).ok()?;
    Some((
        vmid,
        GuestLocation {
            node: item.get("node").and_then(value_text).unwrap_or_default(),
            kind: item.get("type").and_then(value_text).unwrap_or_default(),
            name: item.get("name").and_then(value_text),
            status: item.get("status").and_then(value_text),
        },
    ))
}

fn storage_from_api(item: &Value) -> Option<StorageInfo> {
    let id = item.get("storage").and_then(value_text)?;
    Some(StorageInfo {
        id,
        kind: item.get("type").and_then(value_text).unwrap_or_default(),
        content: item
            .get("content")
            .and_then(value_text)
            .map(|c| {
                c.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        active: item.get("active").and_then(value_bool).unwrap_or(true),
        enabled: item.get("enabled").and_then(value_bool).unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stock_storages_say_what_they_can_hold() {
        let local = storage_from_api(&json!({
            "storage": "local", "type": "dir", "content": "iso,vztmpl,backup", "active": 1, "enabled": 1
        }))
        .unwrap();
        let lvm = storage_from_api(&json!({
            "storage": "local-lvm", "type": "lvmthin", "content": "rootdir,images", "active": 1
        }))
        .unwrap();
        assert!(!local.holds_containers() && !local.supports_snapshots());
        assert!(lvm.holds_containers() && lvm.supports_snapshots());
    }
}
