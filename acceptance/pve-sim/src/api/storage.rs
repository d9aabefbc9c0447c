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
            for t in call.sim.backend.templates() {
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
