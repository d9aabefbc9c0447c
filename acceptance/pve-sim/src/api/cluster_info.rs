//! Cluster-wide and node-level read endpoints: version, nextid, resources, node list, node
//! index and status.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::cluster::now_unix;
use std::sync::Arc;

use crate::sim::{lock, ResourcesCache};

const NODE_CPUS: u64 = 8;
const NODE_MEM: u64 = 32 * 1024 * 1024 * 1024;

pub(super) fn version(_call: &Call) -> Result<Reply, ApiError> {
    Ok(json!({
        "version": "9.1.1",
        "release": "9.1",
        "repoid": "7b7c6e5ee1d0a2f8",
    })
    .into())
}

pub(super) fn nextid(call: &Call) -> Result<Reply, ApiError> {
    let taken = call
        .sim
        .read(|c| c.containers.keys().copied().collect::<Vec<_>>());
    if let Some(vmid) = call.get("vmid") {
        let id: u32 = vmid.parse().unwrap_or(0);
        if taken.contains(&id) {
            return Err(ApiError::param("vmid", format!("VM {id} already exists")));
        }
        // Proxmox has returned the id as a string for a long time; clients accept both.
        return Ok(Value::String(id.to_string()).into());
    }
    let (lower, upper) = (100u32, 1_000_000u32);
    match (lower..upper).find(|id| !taken.contains(id)) {
        Some(id) => Ok(Value::String(id.to_string()).into()),
        None => Err(ApiError::internal(format!(
            "unable to get any free VMID in range [{lower}, {upper}]"
        ))),
    }
}

/// `/cluster/resources`, rendered once per change of the cluster and served from the cache
/// until the next one. With a lag set (Proxmox's pvestatd publishes about every 10 s) a
/// rendering is served until it is that old, even across changes.
pub(super) fn resources(call: &Call) -> Result<Reply, ApiError> {
    let lag = lock(&call.sim.settings).resources_lag;
    let generation = call.sim.generation();
    let filter = call.get("type").unwrap_or("").to_string();
    let mut cache = lock(&call.sim.resources_cache);
    let fresh = cache.as_ref().is_some_and(|c| {
        if lag.is_zero() {
            c.generation == generation
        } else {
            c.rendered_at.elapsed() < lag
        }
    });
    if !fresh {
        *cache = Some(ResourcesCache {
            generation,
            rendered_at: std::time::Instant::now(),
            items: Arc::new(all_resources(call)),
            answers: Default::default(),
        });
    }
    let Some(cache) = cache.as_mut() else {
        return Err(ApiError::internal("the resources cache is empty"));
    };
    if let Some(body) = cache.answers.get(&filter) {
        return Ok(Reply {
            data: Value::Null,
            total: None,
            body: Some(Arc::clone(body)),
        });
    }
    let items: Vec<Value> = cache
        .items
        .iter()
        .filter(|item| match filter.as_str() {
            "" => true,
            "vm" => item["type"] == "lxc" || item["type"] == "qemu",
            kind => item["type"] == kind,
        })
        .cloned()
        .collect();
    let reply = Reply::serialised(&Value::Array(items));
    if let Some(body) = &reply.body {
        cache.answers.insert(filter, Arc::clone(body));
    }
    Ok(reply)
}

/// Every resource of the cluster, as pvestatd would publish it now.
fn all_resources(call: &Call) -> Vec<Value> {
    call.sim.read(|c| {
        let mut items = Vec::new();
        {
            for ct in c.containers.values() {
                let mut item = json!({
                    "id": format!("lxc/{}", ct.vmid),
                    "type": "lxc",
                    "node": ct.node,
                    "vmid": ct.vmid,
                    "name": ct.name(),
                    "status": if ct.running { "running" } else { "stopped" },
                    "maxcpu": ct.conf.get("cores").and_then(|v| v.parse::<u64>().ok()).unwrap_or(NODE_CPUS),
                    "maxmem": ct.conf.get("memory").and_then(|v| v.parse::<u64>().ok()).unwrap_or(512) * 1024 * 1024,
                    "maxdisk": ct.rootfs_bytes(),
                    "mem": 0, "disk": 0, "cpu": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
                    "uptime": if ct.running { ct.started_at.map(|s| now_unix() - s).unwrap_or(0) } else { 0 },
                    "template": 0,
                });
                if let Some(tags) = ct.conf.get("tags") {
                    item["tags"] = json!(tags);
                }
                if let Some(lock) = &ct.lock {
                    item["lock"] = json!(lock);
                }
                items.push(item);
            }
        }
        {
            for node in &c.nodes {
                items.push(json!({
                    "id": format!("node/{node}"), "type": "node", "node": node, "status": "online",
                    "maxcpu": NODE_CPUS, "maxmem": NODE_MEM, "cpu": 0.01, "mem": 2147483648u64,
                    "maxdisk": 100u64 * 1024 * 1024 * 1024, "disk": 0, "uptime": 86400, "level": "",
                    "cgroup-mode": 2,
                }));
            }
        }
        {
            for node in &c.nodes {
                for s in c.storages() {
                    items.push(json!({
                        "id": format!("storage/{node}/{}", s.id), "type": "storage", "node": node,
                        "storage": s.id, "status": "available", "plugintype": s.ty,
                        "content": s.content.join(","), "shared": 0,
                        "maxdisk": s.total, "disk": c.storage_used(node, s.id),
                    }));
                }
            }
        }
        items
    })
}

pub(super) fn nodes(call: &Call) -> Result<Reply, ApiError> {
    let list: Vec<Value> = call
        .sim
        .nodes
        .iter()
        .map(|node| {
            json!({
                "node": node, "status": "online", "type": "node", "id": format!("node/{node}"),
                "cpu": 0.01, "maxcpu": NODE_CPUS, "mem": 2147483648u64, "maxmem": NODE_MEM,
                "disk": 0, "maxdisk": 100u64 * 1024 * 1024 * 1024, "uptime": 86400, "level": "",
            })
        })
        .collect();
    Ok(Value::Array(list).into())
}

pub(super) fn node_index(_call: &Call) -> Result<Reply, ApiError> {
    let names = ["aplinfo", "lxc", "status", "storage", "tasks", "version"];
    Ok(Value::Array(names.iter().map(|n| json!({ "name": n })).collect()).into())
}

pub(super) fn node_status(_call: &Call) -> Result<Reply, ApiError> {
    Ok(json!({
        "uptime": 86400,
        "cpu": 0.01,
        "cpuinfo": { "cpus": NODE_CPUS, "model": "pve-sim virtual CPU", "sockets": 1 },
        "memory": { "total": NODE_MEM, "used": 2147483648u64, "free": NODE_MEM - 2147483648u64 },
        "pveversion": "pve-manager/9.1.1/7b7c6e5ee1d0a2f8",
        "kversion": "Linux 6.14.8-2-pve",
    })
    .into())
}
