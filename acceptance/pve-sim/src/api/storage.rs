//! Storage endpoints: the storage list, status, and content (templates on `local`, container
//! volumes on `local-lvm`), and freeing a template.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::cluster::volumes::volume_owner;

fn unknown_storage(id: &str) -> ApiError {
    ApiError::internal(format!("storage '{id}' does not exist"))
}

pub(super) fn list(call: &Call) -> Result<Reply, ApiError> {
    let node = call.node().to_string();
    let content_filter: Vec<String> = call
        .get("content")
        .map(|c| {
            c.split([',', ';', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let only = call.get("storage").map(str::to_string);
    // `storage_info`: a storage is listed when it holds any of the wanted content types.
    let wanted = |s: &crate::cluster::storage::StorageDef| {
        content_filter.is_empty()
            || content_filter
                .iter()
                .any(|want| s.content.contains(&want.as_str()))
    };
    if let Some(id) = only.as_deref() {
        if !call.sim.read(|c| c.storage(id)).is_some_and(|s| wanted(&s)) {
            return Err(ApiError::param("storage", "No such storage."));
        }
    }
    let list = call.sim.read(|c| {
        c.storages()
            .into_iter()
            .filter(|s| only.as_deref().is_none_or(|o| o == s.id))
            .filter(|s| wanted(s))
            .map(|s| {
                let used = c.storage_used(&node, s.id);
                json!({
                    "storage": s.id, "type": s.ty, "content": s.content.join(","),
                    "active": 1, "enabled": 1, "shared": 0,
                    "total": s.total, "used": used, "avail": s.total.saturating_sub(used),
                    "used_fraction": used as f64 / s.total as f64,
                })
            })
            .collect::<Vec<_>>()
    });
    Ok(Value::Array(list).into())
}

pub(super) fn index(call: &Call) -> Result<Reply, ApiError> {
    let id = call.get("storage").unwrap_or_default();
    if call.sim.read(|c| c.storage(id)).is_none() {
        return Err(unknown_storage(id));
    }
    let names = ["content", "status"];
    Ok(Value::Array(names.iter().map(|n| json!({ "subdir": n })).collect()).into())
}

pub(super) fn status(call: &Call) -> Result<Reply, ApiError> {
    let id = call.get("storage").unwrap_or_default();
    let node = call.node();
    call.sim.read(|c| {
        let s = c.storage(id).ok_or_else(|| unknown_storage(id))?;
        let used = c.storage_used(node, s.id);
        Ok(json!({
            "type": s.ty, "content": s.content.join(","), "active": 1, "enabled": 1, "shared": 0,
            "total": s.total, "used": used, "avail": s.total.saturating_sub(used),
        })
        .into())
    })
}

pub(super) fn content(call: &Call) -> Result<Reply, ApiError> {
    let id = call.get("storage").unwrap_or_default();
    let node = call.node();
    let kind = call.get("content");
    let vmid_filter: Option<u32> = call.get("vmid").and_then(|v| v.parse().ok());
    call.sim.read(|c| {
        let s = c.storage(id).ok_or_else(|| unknown_storage(id))?;
        let mut items = Vec::new();
        if kind.is_none_or(|k| k == "vztmpl") && vmid_filter.is_none() {
            for t in c.templates(node) {
                if t.volid.split(':').next() != Some(s.id) {
                    continue;
                }
                items.push(json!({
                    "volid": t.volid, "content": "vztmpl", "format": template_format(&t.volid),
                    "size": t.size, "ctime": 1_735_000_000,
                }));
            }
        }
        if kind.is_none_or(|k| k == "rootdir" || k == "images") {
            // Listed once each, under the vmid that owns it (pve-storage `parse_volname`).
            let mut seen = std::collections::BTreeSet::new();
            for ct in c.containers.values().filter(|ct| ct.node == node) {
                for (volid, size) in ct.volumes() {
                    if volid.split(':').next() != Some(s.id) || !seen.insert(volid.clone()) {
                        continue;
                    }
                    let owner = volume_owner(&volid).unwrap_or(ct.vmid);
                    if vmid_filter.is_some_and(|v| v != owner) {
                        continue;
                    }
                    let size = c.volume_size(&volid).unwrap_or(size);
                    items.push(json!({
                        "volid": volid, "content": "rootdir", "format": "raw",
                        "size": size, "vmid": owner,
                    }));
                }
            }
        }
        Ok(Value::Array(items).into())
    })
}

/// The `format` pve-storage gives a template by its extension (`tzst`, `txz`, `tgz`).
fn template_format(volid: &str) -> &'static str {
    if volid.ends_with(".tar.zst") {
        "tzst"
    } else if volid.ends_with(".tar.xz") {
        "txz"
    } else {
        "tgz"
    }
}

/// `DELETE .../content/{volume}` (pve-storage `src/PVE/API2/Storage/Content.pm`, `delete`): an
/// `imgdel` task (id: the storage, or `<vmid>@<storage>` for a guest's volume) frees the
/// volume and logs `Removed volume '<volid>'`; a file that is not there only warns. pve-sim
/// frees templates only; container volumes are freed through their container.
pub(super) fn delete_volume(call: &Call) -> Result<Reply, ApiError> {
    let node = call.node().to_string();
    let volume = call.get("volume").unwrap_or_default();
    let storage = call.get("storage").unwrap_or_default();
    // `real_volume_id`: a volume given without storage is taken on the path's storage.
    let volid = if volume.contains(':') {
        volume.to_string()
    } else {
        format!("{storage}:{volume}")
    };
    let store = volid.split(':').next().unwrap_or_default().to_string();
    if call.sim.read(|c| c.storage(&store)).is_none() {
        return Err(unknown_storage(&store));
    }
    let volname = volid.split_once(':').map(|(_, v)| v).unwrap_or_default();
    if !volname.starts_with("vztmpl/") {
        return Err(ApiError::new(
            501,
            format!("pve-sim frees only templates through storage content, not '{volid}'; remove a container's volume through its config (delete=unusedN)"),
        ));
    }
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "imgdel",
        &store,
        call.user(),
        move |ctx| async move {
            ctx.work().await;
            if fail {
                return Err(format!(
                    "unlink '/var/lib/vz/template/cache/{}' failed - Device or resource busy",
                    volid.rsplit('/').next().unwrap_or_default()
                ));
            }
            if !ctx.sim.mutate(|c| c.remove_template(&node, &volid)) {
                ctx.log(format!(
                    "disk image '/var/lib/vz/template/cache/{}' does not exist",
                    volid.rsplit('/').next().unwrap_or_default()
                ));
            }
            ctx.log(format!("Removed volume '{volid}'"));
            Ok(())
        },
    );
    Ok(Value::String(upid).into())
}
