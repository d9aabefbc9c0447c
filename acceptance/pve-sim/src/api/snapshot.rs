//! Snapshot endpoints: list (with the `current` pseudo-entry), create, delete (with parent
//! relinking), rollback (force-stop, restore config and guest services, optional start) and
//! snapshot config GET/PUT.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::cluster::config::normalize_description;
use crate::cluster::{now_unix, Cluster, Container, Snapshot};

const RESERVED: &[&str] = &["current", "vzdump"];

pub(super) fn list(call: &Call) -> Result<Reply, ApiError> {
    call.sim.read(|c| {
        let ct = c
            .container(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        let mut list: Vec<Value> = ct
            .snapshots
            .iter()
            .map(|s| {
                let mut item = json!({
                    "name": s.name, "snaptime": s.snaptime, "description": s.description,
                });
                if let Some(p) = &s.parent {
                    item["parent"] = json!(p);
                }
                if let Some(state) = &s.snapstate {
                    item["snapstate"] = json!(state);
                }
                item
            })
            .collect();
        let mut current = json!({
            "name": "current", "digest": ct.digest(), "running": if ct.running { 1 } else { 0 },
            "description": "You are here!",
        });
        if let Some(p) = &ct.parent {
            current["parent"] = json!(p);
        }
        list.push(current);
        Ok(Value::Array(list).into())
    })
}

pub(super) fn index(call: &Call) -> Result<Reply, ApiError> {
    let name = call.get("snapname").unwrap_or_default();
    call.sim.read(|c| {
        let ct = c
            .container(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        ct.snapshot(name)
            .ok_or_else(|| ApiError::internal(format!("snapshot '{name}' does not exist")))?;
        Ok(json!([{ "cmd": "rollback" }, { "cmd": "config" }]).into())
    })
}

/// The config of a snapshot, as `snapshot/{name}/config` and `config?snapshot=` return it.
pub(super) fn snapshot_config(ct: &Container, name: &str) -> Result<Reply, ApiError> {
    let snap = ct
        .snapshot(name)
        .ok_or_else(|| ApiError::internal(format!("snapshot '{name}' does not exist")))?;
    let mut out = super::lxc::typed(&snap.conf);
    out.insert("snaptime".to_string(), json!(snap.snaptime));
    if !snap.description.is_empty() {
        out.insert("description".to_string(), json!(snap.description));
    }
    if let Some(p) = &snap.parent {
        out.insert("parent".to_string(), json!(p));
    }
    out.insert("digest".to_string(), json!(ct.digest()));
    Ok(Value::Object(out).into())
}

pub(super) fn get_config(call: &Call) -> Result<Reply, ApiError> {
    let name = call.get("snapname").unwrap_or_default();
    call.sim.read(|c| {
        let ct = c
            .container(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        snapshot_config(ct, name)
    })
}

pub(super) fn update_config(call: &Call) -> Result<Reply, ApiError> {
    let name = call.get("snapname").unwrap_or_default().to_string();
    let description = call.get("description").map(normalize_description);
    call.sim.mutate(|c| {
        let ct = c
            .container_mut(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        if let Some(msg) = ct.lock_error() {
            return Err(ApiError::internal(msg));
        }
        let snap = ct
            .snapshots
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(|| ApiError::internal(format!("snapshot '{name}' does not exist")))?;
        if let Some(d) = description {
            snap.description = d;
        }
        Ok(Value::Null.into())
    })
}

/// Whether every disk of the config lives on a storage that can snapshot.
fn snapshot_capable(c: &Cluster, ct: &Container) -> bool {
    ct.conf
        .iter()
        .filter(|(k, _)| *k == "rootfs" || k.starts_with("mp"))
        .all(|(_, v)| {
            let volid = crate::cluster::config::default_key_value(v);
            let storage = volid.split(':').next().unwrap_or("");
            volid.contains(':') && c.storage(storage).is_some_and(|s| s.snapshots)
        })
}

pub(super) fn create(call: &Call) -> Result<Reply, ApiError> {
    let name = call.get("snapname").unwrap_or_default().to_string();
    let (node, vmid) = (call.node().to_string(), call.vmid());
    if RESERVED.contains(&name.as_str()) {
        return Err(ApiError::internal(format!(
            "unable to use snapshot name '{name}' (reserved name)"
        )));
    }
    call.sim
        .read(|c| c.container(&node, vmid).map(|_| ()))
        .map_err(ApiError::internal)?;
    let description = call
        .get("description")
        .map(normalize_description)
        .unwrap_or_default();
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(call.node(), "vzsnapshot", &vmid.to_string(), call.user(), move |ctx| async move {
        ctx.sim.mutate(|c| {
            let capable = {
                let ct = c.container(&node, vmid)?;
                if ct.conf.get("template").map(String::as_str) == Some("1") {
                    return Err("you can't take a snapshot if it's a template".to_string());
                }
                if let Some(msg) = ct.lock_error() {
                    return Err(msg);
                }
                if ct.snapshot(&name).is_some() {
                    return Err(format!("snapshot name '{name}' already used"));
                }
                snapshot_capable(c, ct)
            };
            if !capable {
                return Err("snapshot feature is not available".to_string());
            }
            let ct = c.container_mut(&node, vmid)?;
            ct.lock = Some("snapshot".to_string());
            ct.snapshots.push(Snapshot {
                name: name.clone(),
                snaptime: now_unix(),
                description: description.clone(),
                parent: None,
                conf: Default::default(),
                guest: Default::default(),
                snapstate: Some("prepare".to_string()),
            });
            Ok(())
        })?;
        ctx.work().await;
        let saved = if fail { Ok(()) } else { ctx.sim.backend.snapshot(vmid, &name).await };
        ctx.sim.mutate(|c| {
            let ct = c.container_mut(&node, vmid)?;
            ct.lock = None;
            if fail || saved.is_err() {
                ct.snapshots.retain(|s| s.name != name);
                c.task_log(&ctx.upid, "snapshot create failed: starting cleanup");
                return Err(saved.err().unwrap_or_else(|| format!(
                    "lvcreate snapshot 'pve/snap_vm-{vmid}-disk-0_{name}' error: Failed to suspend pve/vm-{vmid}-disk-0."
                )));
            }
            let mut conf = ct.conf.clone();
            conf.remove("description");
            conf.retain(|k, _| !k.starts_with("unused"));
            let parent = ct.parent.clone();
            let guest = ct.guest.clone();
            if let Some(snap) = ct.snapshots.iter_mut().find(|s| s.name == name) {
                snap.conf = conf;
                snap.parent = parent;
                snap.guest = guest;
                snap.snapstate = None;
            }
            ct.parent = Some(name.clone());
            Ok(())
        })
    });
    Ok(Value::String(upid).into())
}

pub(super) fn delete(call: &Call) -> Result<Reply, ApiError> {
    let name = call.get("snapname").unwrap_or_default().to_string();
    let (node, vmid) = (call.node().to_string(), call.vmid());
    call.sim
        .read(|c| c.container(&node, vmid).map(|_| ()))
        .map_err(ApiError::internal)?;
    let fail = call.fail_task && !call.flag("force");
    let upid = call.sim.spawn_task(call.node(), "vzdelsnapshot", &vmid.to_string(), call.user(), move |ctx| async move {
        ctx.sim.mutate(|c| {
            let ct = c.container_mut(&node, vmid)?;
            if ct.conf.get("template").map(String::as_str) == Some("1") {
                return Err("you can't delete a snapshot if vm is a template".to_string());
            }
            if ct.snapshot(&name).is_none() {
                return Err(format!("snapshot '{name}' does not exist"));
            }
            if let Some(msg) = ct.lock_error() {
                return Err(msg);
            }
            ct.lock = Some("snapshot-delete".to_string());
            if let Some(s) = ct.snapshots.iter_mut().find(|s| s.name == name) {
                s.snapstate = Some("delete".to_string());
            }
            Ok(())
        })?;
        ctx.work().await;
        let removed = if fail { Ok(()) } else { ctx.sim.backend.delete_snapshot(vmid, &name).await };
        ctx.sim.mutate(|c| {
            let ct = c.container_mut(&node, vmid)?;
            ct.lock = None;
            removed.clone()?;
            if fail {
                return Err(format!(
                    "lvremove snapshot 'pve/snap_vm-{vmid}-disk-0_{name}' error: Logical volume in use"
                ));
            }
            let Some(pos) = ct.snapshots.iter().position(|s| s.name == name) else {
                return Err(format!("snapshot '{name}' does not exist"));
            };
            let removed = ct.snapshots.remove(pos);
            for s in &mut ct.snapshots {
                if s.parent.as_deref() == Some(name.as_str()) {
                    s.parent = removed.parent.clone();
                }
            }
            if ct.parent.as_deref() == Some(name.as_str()) {
                ct.parent = removed.parent.clone();
            }
            Ok(())
        })
    });
    Ok(Value::String(upid).into())
}

pub(super) fn rollback(call: &Call) -> Result<Reply, ApiError> {
    let name = call.get("snapname").unwrap_or_default().to_string();
    let (node, vmid) = (call.node().to_string(), call.vmid());
    let start = call.flag("start");
    call.sim
        .read(|c| c.container(&node, vmid).map(|_| ()))
        .map_err(ApiError::internal)?;
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "vzrollback",
        &vmid.to_string(),
        call.user(),
        move |ctx| async move {
            let was_running = ctx.sim.mutate(|c| {
                let ct = c.container_mut(&node, vmid)?;
                let snap = ct
                    .snapshot(&name)
                    .ok_or_else(|| format!("snapshot '{name}' does not exist"))?;
                if ct.conf.get("template").map(String::as_str) == Some("1") {
                    return Err("you can't rollback if vm is a template".to_string());
                }
                if let Some(state) = &snap.snapstate {
                    return Err(format!(
                        "unable to rollback to incomplete snapshot (snapstate = {state})"
                    ));
                }
                if let Some(msg) = ct.lock_error() {
                    return Err(msg);
                }
                let was_running = ct.running;
                ct.running = false;
                ct.started_at = None;
                ct.lock = Some("rollback".to_string());
                Ok(was_running)
            })?;
            if was_running {
                ctx.log(format!(
                    "stopping CT {vmid} (rollback needs a stopped container)"
                ));
            }
            ctx.work().await;
            let restored = if fail {
                Ok(())
            } else {
                ctx.sim.backend.rollback(vmid, &name).await
            };
            ctx.sim.mutate(|c| {
                let ct = c.container_mut(&node, vmid)?;
                ct.lock = None;
                restored.clone()?;
                if fail {
                    return Err(format!(
                    "lvconvert rollback of 'pve/snap_vm-{vmid}-disk-0_{name}' failed: exit code 5"
                ));
                }
                let snap = ct
                    .snapshot(&name)
                    .cloned()
                    .ok_or_else(|| format!("snapshot '{name}' does not exist"))?;
                let mut conf = snap.conf.clone();
                if let Some(d) = ct.conf.get("description") {
                    conf.insert("description".to_string(), d.clone());
                }
                for (k, v) in ct.conf.iter().filter(|(k, _)| k.starts_with("unused")) {
                    conf.insert(k.clone(), v.clone());
                }
                ct.conf = conf;
                ct.pending.clear();
                ct.pending_delete.clear();
                ct.guest = snap.guest.clone();
                ct.parent = Some(name.clone());
                Ok(())
            })?;
            if start {
                ctx.log(format!("starting CT {vmid}"));
                let conf = ctx
                    .sim
                    .read(|c| c.container(&node, vmid).map(|ct| ct.conf.clone()))?;
                ctx.sim.backend.start(vmid, &conf).await?;
                ctx.sim.mutate(|c| {
                    if let Ok(ct) = c.container_mut(&node, vmid) {
                        ct.running = true;
                        ct.started_at = Some(now_unix());
                    }
                });
            }
            Ok(())
        },
    );
    Ok(Value::String(upid).into())
}
