//! Storage endpoints: the storage list, status, and content (templates on `local`, container
//! volumes on `local-lvm`), and the appliance index.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;

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
    let list = call.sim.read(|c| {
        c.storages()
            .into_iter()
            .filter(|s| only.as_deref().is_none_or(|o| o == s.id))
            .filter(|s| {
                content_filter
                    .iter()
                    .all(|want| s.content.contains(&want.as_str()))
            })
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
        if s.id == "local" && kind.is_none_or(|k| k == "vztmpl") && vmid_filter.is_none() {
            for t in c.present_templates(call.sim.backend.templates()) {
                items.push(json!({
                    "volid": t.volid, "content": "vztmpl", "format": "tzst", "size": t.size,
                    "ctime": 1_735_000_000,
                }));
            }
        }
        if kind.is_none_or(|k| k == "rootdir" || k == "images") {
            for ct in c.containers.values().filter(|ct| ct.node == node) {
                if vmid_filter.is_some_and(|v| v != ct.vmid) {
                    continue;
                }
                for (volid, size) in ct.volumes() {
                    if volid.split(':').next() == Some(s.id) {
                        items.push(json!({
                            "volid": volid, "content": "rootdir", "format": "raw",
                            "size": size, "vmid": ct.vmid,
                        }));
                    }
                }
            }
        }
        Ok(Value::Array(items).into())
    })
}

pub(super) fn aplinfo(call: &Call) -> Result<Reply, ApiError> {
    let list: Vec<Value> = call
        .sim
        .backend
        .templates()
        .iter()
        .map(|t| {
            let file = t.volid.trim_start_matches("local:vztmpl/");
            let package = file.split('_').next().unwrap_or(file);
            json!({
                "template": file, "package": package, "os": t.ostype, "section": "system",
                "type": "lxc", "source": format!("http://download.proxmox.com/images/system/{file}"),
                "location": format!("http://download.proxmox.com/images/system/{file}"),
            })
        })
        .collect();
    Ok(Value::Array(list).into())
}

/// `POST /nodes/{node}/aplinfo`: downloads an appliance of the index to a storage as a
/// `download` task (pve-manager `PVE/API2/Nodes.pm`, `apl_download`): an unknown template is a
/// parameter error, a storage without `vztmpl` content a 500.
pub(super) fn apl_download(call: &Call) -> Result<Reply, ApiError> {
    let template = call.get("template").unwrap_or_default().to_string();
    let storage = call.get("storage").unwrap_or_default().to_string();
    let Some(known) = call
        .sim
        .backend
        .templates()
        .into_iter()
        .find(|t| t.volid.trim_start_matches("local:vztmpl/") == template)
    else {
        return Err(ApiError::param("template", "no such template"));
    };
    let def = call
        .sim
        .read(|c| c.storage(&storage))
        .ok_or_else(|| unknown_storage(&storage))?;
    if !def.content.contains(&"vztmpl") {
        return Err(ApiError::internal(format!(
            "storage '{storage}' does not support templates"
        )));
    }
    let fail = call.fail_task;
    let volid = known.volid.to_string();
    let task_id = template.clone();
    let upid = call.sim.spawn_task(
        call.node(),
        "download",
        &task_id,
        call.user(),
        move |ctx| async move {
            ctx.log(format!(
                "downloading http://download.proxmox.com/images/system/{template} to /var/lib/vz/template/cache/{template}.tmp.1234"
            ));
            ctx.work().await;
            if fail {
                ctx.log("download failed: 500 Can't connect to download.proxmox.com:80");
                return Err("download failed: 500 Can't connect to download.proxmox.com:80".into());
            }
            ctx.log("calculating checksum...OK, checksum verified");
            ctx.log(format!("download of '{template}' to '/var/lib/vz/template/cache/{template}' finished"));
            ctx.sim.mutate(|c| c.missing_templates.remove(&volid));
            Ok(())
        },
    );
    Ok(Value::String(upid).into())
}

/// `DELETE /nodes/{node}/storage/{storage}/content/{volume}` for a template on `local`: an
/// `imgdel` task (pve-storage `src/PVE/API2/Storage/Content.pm`). Container volumes are removed
/// with their container and are refused here.
pub(super) fn delete_volume(call: &Call) -> Result<Reply, ApiError> {
    let storage = call.get("storage").unwrap_or_default().to_string();
    let volume = call.get("volume").unwrap_or_default();
    let volid = if volume.contains(':') {
        volume.to_string()
    } else {
        format!("{storage}:{volume}")
    };
    let present = call
        .sim
        .read(|c| c.present_templates(call.sim.backend.templates()))
        .into_iter()
        .any(|t| t.volid == volid);
    if !present {
        return Err(ApiError::internal(format!(
            "volume '{volid}' does not exist"
        )));
    }
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "imgdel",
        &storage,
        call.user(),
        move |ctx| async move {
            ctx.work().await;
            if fail {
                return Err(format!("unable to remove '{volid}': Permission denied"));
            }
            ctx.sim
                .mutate(|c| c.missing_templates.insert(volid.clone()));
            ctx.log(format!("Removed volume '{volid}'"));
            Ok(())
        },
    );
    Ok(Value::String(upid).into())
}
