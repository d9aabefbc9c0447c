//! Container lifecycle and configuration: list, create (task `vzcreate`), config GET/PUT with
//! digest, `delete`, `revert` and pending values, `/pending`, `/interfaces`, resize (task
//! `resize`, grow only) and destroy (task `vzdestroy`), with Proxmox's checks and messages.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::envelope::{ApiError, Reply};
use super::{Call, Caller};
use crate::backend::CreateSpec;
use crate::cluster::config::{
    self, format_size, normalize_description, normalize_net, normalize_space_list, normalize_tags,
    parse_size,
};
use crate::cluster::storage::Template;
use crate::cluster::{now_unix, Cluster, Container};
use crate::schema::{self, ParamType};

/// Parameters of create that are not config options.
const CREATE_ONLY: &[&str] = &[
    "node",
    "vmid",
    "ostemplate",
    "password",
    "ssh-public-keys",
    "start",
    "storage",
    "pool",
    "force",
    "restore",
    "unique",
    "ignore-unpack-errors",
    "bwlimit",
    "ha-managed",
    "debug",
    "lock",
];

/// Parameters of config PUT that are not config options.
const UPDATE_ONLY: &[&str] = &["node", "vmid", "delete", "revert", "digest", "debug"];

/// Options applied at once to a running container; everything else waits as pending.
const HOTPLUG: &[&str] = &[
    "description",
    "onboot",
    "startup",
    "protection",
    "hostname",
    "hookscript",
    "cores",
    "tags",
    "lock",
    "cpulimit",
    "cpuunits",
    "memory",
    "swap",
];

fn is_hotplug(option: &str, conf: &BTreeMap<String, String>) -> bool {
    HOTPLUG.contains(&option)
        || (option.starts_with("net") && option[3..].bytes().all(|b| b.is_ascii_digit()))
        || ((option.starts_with("mp") || option.starts_with("dev")) && !conf.contains_key(option))
}

/// Config values typed as Proxmox returns them: `check_type` in pve-container
/// `src/PVE/LXC/Config.pm` turns integers (`int($1)`) and booleans (1/0) into numbers but
/// returns a `number` option such as `cpulimit` as the string it read.
pub(super) fn typed(conf: &BTreeMap<String, String>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in conf {
        let value = match config::option_type(k) {
            Some(ParamType::Integer) | Some(ParamType::Boolean) => v
                .parse::<i64>()
                .map(|n| json!(n))
                .unwrap_or_else(|_| json!(v)),
            _ => json!(v),
        };
        out.insert(k.clone(), value);
    }
    out
}

/// The status entry of a container (`status/current` and the `lxc` list).
pub(super) fn status_entry(ct: &Container) -> Value {
    let conf = &ct.conf;
    let num = |k: &str, d: u64| conf.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(d);
    let cpus = conf
        .get("cores")
        .and_then(|v| v.parse::<f64>().ok())
        .or_else(|| {
            conf.get("cpulimit")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|c| *c > 0.0)
        })
        .unwrap_or(8.0);
    let uptime = if ct.running {
        ct.started_at.map(|s| (now_unix() - s).max(0)).unwrap_or(0)
    } else {
        0
    };
    let mut v = json!({
        "vmid": ct.vmid,
        "status": if ct.running { "running" } else { "stopped" },
        "ha": { "managed": 0 },
        "name": ct.name(),
        "type": "lxc",
        "cpus": cpus,
        "maxmem": num("memory", 512) * 1024 * 1024,
        "maxswap": num("swap", 512) * 1024 * 1024,
        "maxdisk": ct.rootfs_bytes(),
        "mem": if ct.running { 64 * 1024 * 1024 } else { 0 },
        "swap": 0,
        "disk": if ct.running { 512 * 1024 * 1024 } else { 0 },
        "cpu": 0,
        "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        "uptime": uptime,
        "pressurecpusome": 0, "pressurecpufull": 0, "pressureiosome": 0,
        "pressureiofull": 0, "pressurememorysome": 0, "pressurememoryfull": 0,
    });
    if ct.running {
        v["pid"] = json!(100_000 + ct.vmid % 800_000);
    }
    if let Some(lock) = &ct.lock {
        v["lock"] = json!(lock);
    }
    if let Some(tags) = conf.get("tags") {
        v["tags"] = json!(tags);
    }
    if conf.get("template").map(String::as_str) == Some("1") {
        v["template"] = json!(1);
    }
    v
}

pub(super) fn list(call: &Call) -> Result<Reply, ApiError> {
    let node = call.node();
    let list = call.sim.read(|c| {
        c.containers
            .values()
            .filter(|ct| ct.node == node)
            .map(status_entry)
            .collect::<Vec<_>>()
    });
    Ok(Value::Array(list).into())
}

pub(super) fn index(call: &Call) -> Result<Reply, ApiError> {
    call.sim
        .read(|c| c.container(call.node(), call.vmid()).map(|_| ()))
        .map_err(ApiError::internal)?;
    let names = [
        "config",
        "pending",
        "status",
        "snapshot",
        "interfaces",
        "resize",
        "rrd",
        "firewall",
    ];
    Ok(Value::Array(names.iter().map(|n| json!({ "subdir": n })).collect()).into())
}

/// How a `features` check sees the option: set to a new value, or deleted (a `revert` counts
/// as a delete).
#[derive(Clone, Copy)]
enum FeaturesChange<'a> {
    Set(&'a str),
    Delete,
}

/// Proxmox's `check_ct_modify_config_perm` for `features` (pve-container `src/PVE/LXC.pm`):
/// only `root@pam` itself may touch features of privileged containers or change flags other
/// than `nesting`. With no old value (or on delete) it counts keys, not values: a value or an
/// old value with any key besides `nesting` is refused, even `keyctl=0`.
fn check_features_perm(
    caller: &Caller,
    unprivileged: bool,
    old: Option<&str>,
    change: FeaturesChange<'_>,
) -> Result<(), ApiError> {
    if caller.is_root_pam() {
        return Ok(());
    }
    if !unprivileged {
        return Err(ApiError::forbidden(
            "changing feature flags for privileged container is only allowed for root@pam",
        ));
    }
    let keys = config::property_keys("features").unwrap_or_default();
    let parse = |v: &str| schema::parse_property_string(&keys, v).unwrap_or_default();
    let only_nesting_keys = |f: &BTreeMap<String, String>| f.keys().all(|k| k == "nesting");
    let other_changed = match (change, old.filter(|o| !o.is_empty())) {
        (FeaturesChange::Set(new), Some(old)) => {
            let (old, new) = (parse(old), parse(new));
            old.keys().chain(new.keys()).any(|k| {
                k != "nesting"
                    && old.get(k).map(String::as_str).unwrap_or("")
                        != new.get(k).map(String::as_str).unwrap_or("")
            })
        }
        (FeaturesChange::Set(new), None) => !only_nesting_keys(&parse(new)),
        (FeaturesChange::Delete, old) => !only_nesting_keys(&parse(old.unwrap_or(""))),
    };
    if other_changed {
        return Err(ApiError::forbidden(
            "changing feature flags (except nesting) is only allowed for root@pam",
        ));
    }
    Ok(())
}

/// The options only `root@pam` may set or delete (`check_ct_modify_config_perm`).
fn check_root_only_options<'a>(
    caller: &Caller,
    options: impl IntoIterator<Item = &'a String>,
) -> Result<(), ApiError> {
    if caller.is_root_pam() {
        return Ok(());
    }
    for option in options {
        if option == "hookscript" {
            return Err(ApiError::forbidden(
                "changing the hookscript is only allowed for root@pam",
            ));
        }
        if option.starts_with("dev") {
            return Err(ApiError::forbidden(
                "configuring device passthrough is only allowed for root@pam",
            ));
        }
    }
    Ok(())
}

fn validate_ssh_keys(keys: &str) -> Result<(), ApiError> {
    for line in keys
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut parts = line.split_whitespace();
        let kind = parts.next().unwrap_or("");
        let blob = parts.next().unwrap_or("");
        let known =
            kind.starts_with("ssh-") || kind.starts_with("ecdsa-") || kind.starts_with("sk-");
        let base64ish = blob.len() >= 16
            && blob
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        if !known || !base64ish {
            return Err(ApiError::internal("SSH public key validation error"));
        }
    }
    Ok(())
}

/// A disk to allocate: `STORAGE:SIZE_GiB` (or a bare size on the default storage).
struct NewVolume {
    storage: String,
    bytes: u64,
}

fn parse_new_volume(volume: &str, default_storage: &str) -> Option<NewVolume> {
    let (storage, size) = match volume.split_once(':') {
        Some((s, size)) => (s.to_string(), size),
        None => (default_storage.to_string(), volume),
    };
    let gib: f64 = size.parse().ok()?;
    Some(NewVolume {
        storage,
        bytes: (gib * (1u64 << 30) as f64) as u64,
    })
}

/// Checks that `storage` can hold container disks.
fn check_rootdir_storage(cluster: &Cluster, storage: &str) -> Result<(), ApiError> {
    let Some(def) = cluster.storage(storage) else {
        return Err(ApiError::internal(format!(
            "storage '{storage}' does not exist"
        )));
    };
    if !def.content.contains(&"rootdir") {
        return Err(ApiError::param(
            "storage",
            format!("storage '{storage}' does not support container directories"),
        ));
    }
    Ok(())
}

/// Turns a `rootfs`/`mp[n]` value that asks for a new volume into the stored form
/// (`local-lvm:vm-105-disk-0,size=8G,...`); existing volume ids are kept as they are.
fn allocate_disk(
    cluster: &Cluster,
    option: &str,
    value: &str,
    vmid: u32,
    default_storage: &str,
    taken: &mut Vec<String>,
) -> Result<String, ApiError> {
    let family = if option == "rootfs" { "rootfs" } else { "mp0" };
    let keys = config::property_keys(family).unwrap_or_default();
    let mut parsed = schema::parse_property_string(&keys, value).map_err(ApiError::internal)?;
    let volume = parsed.get("volume").cloned().unwrap_or_default();
    if let Some(new) = parse_new_volume(&volume, default_storage) {
        check_rootdir_storage(cluster, &new.storage)?;
        let def = cluster.storage(&new.storage).ok_or_else(|| {
            ApiError::internal(format!("storage '{}' does not exist", new.storage))
        })?;
        let volid = cluster.allocate_volume(&def, vmid, taken);
        taken.push(volid.clone());
        parsed.insert("volume".to_string(), volid);
        parsed.insert("size".to_string(), format_size(new.bytes));
    }
    Ok(config::print_property_string(&keys, &parsed))
}

/// One config option as Proxmox stores it (`update_pct_config` and `vmconfig_apply_pending` in
/// pve-container `src/PVE/LXC/Config.pm`): tags made unique and sorted, DNS lists space-joined,
/// `net[n]` re-printed (with a generated `hwaddr` when none was given); everything else,
/// `features` and `dev[n]` included, verbatim.
fn normalize_option(cluster: &mut Cluster, option: &str, value: &str) -> String {
    match option {
        "tags" => normalize_tags(value),
        "nameserver" | "searchdomain" => normalize_space_list(value),
        "description" => normalize_description(value),
        o if o.starts_with("net") => normalize_net(value, || cluster.generate_mac()),
        _ => value.to_string(),
    }
}

pub(super) fn create(call: &Call) -> Result<Reply, ApiError> {
    let vmid = call.vmid();
    let node = call.node().to_string();
    let params = call.params.clone();

    if let Some(keys) = call.get("ssh-public-keys") {
        validate_ssh_keys(keys)?;
    }
    if let Some(pool) = call.get("pool") {
        return Err(ApiError::forbidden(&format!(
            "pool '{pool}' does not exist"
        )));
    }
    let unprivileged = call.get("unprivileged").unwrap_or("1") == "1";
    if let Some(features) = call.get("features") {
        check_features_perm(
            &call.caller,
            unprivileged,
            None,
            FeaturesChange::Set(features),
        )?;
    }
    check_root_only_options(&call.caller, call.params.keys())?;
    let has_mp = params.keys().any(|k| k.starts_with("mp"));
    if has_mp && !params.contains_key("rootfs") {
        return Err(ApiError::internal(
            "mount points configured, but 'rootfs' not set - aborting",
        ));
    }

    call.sim.mutate(|c| {
        if let Some(existing) = c.containers.get(&vmid) {
            return Err(ApiError::internal(format!(
                "CT {vmid} already exists on node '{}'",
                existing.node
            )));
        }
        let storage = params.get("storage").map(String::as_str).unwrap_or("local");
        let rootfs = params
            .get("rootfs")
            .cloned()
            .unwrap_or_else(|| format!("{storage}:4"));
        // The storage checks run before the config is reserved.
        let keys = config::property_keys("rootfs").unwrap_or_default();
        let parsed = schema::parse_property_string(&keys, &rootfs).unwrap_or_default();
        if let Some(new) = parsed
            .get("volume")
            .and_then(|v| parse_new_volume(v, storage))
        {
            check_rootdir_storage(c, &new.storage)?;
        }
        c.containers.insert(
            vmid,
            Container {
                vmid,
                node: node.clone(),
                conf: BTreeMap::new(),
                pending: BTreeMap::new(),
                pending_delete: Default::default(),
                lock: Some("create".to_string()),
                parent: None,
                snapshots: Vec::new(),
                running: false,
                started_at: None,
                guest: Default::default(),
            },
        );
        Ok(())
    })?;

    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        &node,
        "vzcreate",
        &vmid.to_string(),
        call.user(),
        move |ctx| async move {
            let ostemplate = params.get("ostemplate").cloned().unwrap_or_default();
            let file = ostemplate.rsplit('/').next().unwrap_or("").to_string();
            ctx.log(format!(
                "extracting archive '/var/lib/vz/template/cache/{file}'"
            ));
            ctx.work().await;
            let templates = ctx
                .sim
                .read(|c| c.present_templates(ctx.sim.backend.templates()));
            let mut result = ctx
                .sim
                .mutate(|c| build_created(c, vmid, &params, &ostemplate, fail, &templates));
            if result.is_ok() {
                result = create_in_backend(&ctx, vmid, &params, &ostemplate).await;
            }
            if let Err(e) = &result {
                ctx.sim.mutate(|c| {
                    c.containers.remove(&vmid);
                });
                return Err(e.clone());
            }
            ctx.log("Total bytes written: 583833600 (557MiB, 112MiB/s)");
            if params.get("start").map(String::as_str) == Some("1") {
                ctx.log(format!("starting CT {vmid}"));
                let conf = ctx
                    .sim
                    .read(|c| c.containers.get(&vmid).map(|ct| ct.conf.clone()));
                ctx.sim
                    .backend
                    .start(vmid, &conf.unwrap_or_default())
                    .await?;
                ctx.sim.mutate(|c| {
                    if let Some(ct) = c.containers.get_mut(&vmid) {
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

/// Makes the created container in the backend (a real one in the lab) from its config and
/// the create-only secrets.
async fn create_in_backend(
    ctx: &crate::sim::TaskCtx,
    vmid: u32,
    params: &BTreeMap<String, String>,
    ostemplate: &str,
) -> Result<(), String> {
    let conf = ctx
        .sim
        .read(|c| c.containers.get(&vmid).map(|ct| ct.conf.clone()))
        .unwrap_or_default();
    let spec = CreateSpec {
        vmid,
        ostemplate: ostemplate.to_string(),
        conf,
        ssh_public_keys: params.get("ssh-public-keys").cloned(),
        password: params.get("password").cloned(),
    };
    ctx.sim.backend.create(&spec).await
}

/// Writes the config of a created container (end of `vzcreate`).
fn build_created(
    c: &mut Cluster,
    vmid: u32,
    params: &BTreeMap<String, String>,
    ostemplate: &str,
    fail: bool,
    templates: &[Template],
) -> Result<(), String> {
    let template = templates.iter().find(|t| t.volid == ostemplate);
    let Some(template) = template else {
        // `restore_archive` → `abs_filesystem_path` (pve-storage `src/PVE/Storage.pm`).
        return Err(format!(
            "unable to create CT {vmid} - can't find file '{ostemplate}'"
        ));
    };
    if fail {
        return Err(format!(
            "unable to create CT {vmid} - command 'lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar xpf - --zstd --totals --one-file-system -p --sparse --numeric-owner --acls --xattrs -C /var/lib/lxc/{vmid}/rootfs' failed: exit code 2"
        ));
    }
    let storage = params.get("storage").map(String::as_str).unwrap_or("local");
    let mut conf = BTreeMap::new();
    let mut taken = Vec::new();
    let rootfs = params
        .get("rootfs")
        .cloned()
        .unwrap_or_else(|| format!("{storage}:4"));
    let rootfs = allocate_disk(c, "rootfs", &rootfs, vmid, storage, &mut taken)
        .map_err(|e| format!("unable to create CT {vmid} - {}", e.message))?;
    conf.insert("rootfs".to_string(), rootfs);
    for (k, v) in params {
        if CREATE_ONLY.contains(&k.as_str()) || k == "rootfs" {
            continue;
        }
        let value = if k.starts_with("mp") {
            allocate_disk(c, k, v, vmid, storage, &mut taken)
                .map_err(|e| format!("unable to create CT {vmid} - {}", e.message))?
        } else {
            normalize_option(c, k, v)
        };
        if !value.is_empty() {
            conf.insert(k.clone(), value);
        }
    }
    conf.entry("arch".to_string())
        .or_insert_with(|| "amd64".to_string());
    conf.entry("ostype".to_string())
        .or_insert_with(|| template.ostype.to_string());
    conf.entry("memory".to_string())
        .or_insert_with(|| "512".to_string());
    conf.entry("swap".to_string())
        .or_insert_with(|| "512".to_string());
    conf.entry("hostname".to_string())
        .or_insert_with(|| format!("CT{vmid}"));
    // Without `nameserver`/`searchdomain` Proxmox writes the host's DNS only into the
    // container's /etc/resolv.conf (PVE::LXC::Setup); the config keeps neither key.
    match params.get("unprivileged").map(String::as_str) {
        Some("0") => {
            conf.remove("unprivileged");
        }
        _ => {
            conf.insert("unprivileged".to_string(), "1".to_string());
        }
    }
    let ct = c
        .containers
        .get_mut(&vmid)
        .ok_or_else(|| format!("unable to create CT {vmid} - config vanished"))?;
    ct.conf = conf;
    // A `lock` given to create ends up in the written config like any option.
    ct.lock = params.get("lock").cloned();
    Ok(())
}

pub(super) fn get_config(call: &Call) -> Result<Reply, ApiError> {
    let current = call.flag("current");
    let snapshot = call.get("snapshot");
    if current && snapshot.is_some_and(|s| !s.is_empty() && s != "0") {
        let mut errors = BTreeMap::new();
        let msg = "cannot use 'snapshot' parameter with 'current'".to_string();
        errors.insert("current".to_string(), msg.clone());
        errors.insert("snapshot".to_string(), msg);
        return Err(ApiError::params(errors));
    }
    call.sim.read(|c| {
        let ct = c
            .container(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        if let Some(name) = snapshot {
            return super::snapshot::snapshot_config(ct, name);
        }
        let digest = ct.digest();
        if ct.is_being_created() {
            return Ok(json!({ "lock": "create", "digest": digest }).into());
        }
        let mut out = typed(&ct.effective_conf(current));
        out.insert("digest".to_string(), json!(digest));
        if let Some(lock) = &ct.lock {
            out.insert("lock".to_string(), json!(lock));
        }
        // `load_current_config` keeps every key of the main section, `parent` included.
        if let Some(parent) = &ct.parent {
            out.insert("parent".to_string(), json!(parent));
        }
        Ok(Value::Object(out).into())
    })
}

pub(super) fn pending(call: &Call) -> Result<Reply, ApiError> {
    call.sim.read(|c| {
        let ct = c
            .container(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        let mut keys: Vec<&String> = ct
            .conf
            .keys()
            .chain(ct.pending.keys())
            .chain(ct.pending_delete.iter())
            .collect();
        keys.sort();
        keys.dedup();
        let current = typed(&ct.conf);
        let pending = typed(&ct.pending);
        let list: Vec<Value> = keys
            .into_iter()
            .map(|k| {
                let mut item = json!({ "key": k });
                if let Some(v) = current.get(k.as_str()) {
                    item["value"] = v.clone();
                }
                if let Some(v) = pending.get(k.as_str()) {
                    item["pending"] = v.clone();
                }
                if ct.pending_delete.contains(k) {
                    item["delete"] = json!(1);
                }
                item
            })
            .collect();
        Ok(Value::Array(list).into())
    })
}

pub(super) fn interfaces(call: &Call) -> Result<Reply, ApiError> {
    call.sim.read(|c| {
        let ct = c.container(call.node(), call.vmid()).map_err(ApiError::internal)?;
        if !ct.running {
            return Ok(Value::Null.into());
        }
        let mut list = vec![json!({
            "name": "lo", "hwaddr": "00:00:00:00:00:00", "hardware-address": "00:00:00:00:00:00",
            "inet": "127.0.0.1/8", "inet6": "::1/128",
            "ip-addresses": [
                { "ip-address": "127.0.0.1", "ip-address-type": "inet", "prefix": 8 },
                { "ip-address": "::1", "ip-address-type": "inet6", "prefix": 128 },
            ],
        })];
        for (k, v) in ct.conf.iter().filter(|(k, _)| k.starts_with("net")) {
            let parsed = config::parse_stored(k, v);
            let name = parsed.get("name").cloned().unwrap_or_else(|| "eth0".into());
            let hwaddr = parsed.get("hwaddr").cloned().unwrap_or_default().to_lowercase();
            let mut item = json!({ "name": name, "hwaddr": hwaddr, "hardware-address": hwaddr, "ip-addresses": [] });
            if let Some(ip) = parsed.get("ip").filter(|ip| ip.contains('/')) {
                let (addr, prefix) = ip.split_once('/').unwrap_or((ip, "24"));
                item["inet"] = json!(ip);
                item["ip-addresses"] = json!([{
                    "ip-address": addr, "ip-address-type": "inet",
                    "prefix": prefix.parse::<u32>().unwrap_or(24),
                }]);
            }
            list.push(item);
        }
        Ok(Value::Array(list).into())
    })
}

fn check_digest(ct: &Container, digest: Option<&str>) -> Result<(), ApiError> {
    if let Some(d) = digest.filter(|d| !d.is_empty()) {
        if d != ct.digest() {
            return Err(ApiError::internal(
                "detected modified configuration - file changed by other user? Try again.",
            ));
        }
    }
    Ok(())
}

/// The storage a volume-type mount point value lives on (`None` for bind and device mounts).
fn volume_storage(option: &str, value: &str) -> Result<Option<String>, ApiError> {
    let family = if option == "rootfs" { "rootfs" } else { "mp0" };
    let keys = config::property_keys(family).unwrap_or_default();
    let parsed = schema::parse_property_string(&keys, value).map_err(ApiError::internal)?;
    let volume = parsed.get("volume").cloned().unwrap_or_default();
    if volume.starts_with('/') {
        return Ok(None);
    }
    Ok(volume.split_once(':').map(|(s, _)| s.to_string()))
}

/// `update_pct_config`'s content check for a volume mount point.
fn check_rootdir_content(cluster: &Cluster, storage: &str) -> Result<(), ApiError> {
    let Some(def) = cluster.storage(storage) else {
        return Err(ApiError::internal(format!(
            "storage '{storage}' does not exist"
        )));
    };
    if !def.content.contains(&"rootdir") {
        return Err(ApiError::internal(format!(
            "storage '{storage}' does not allow content type 'rootdir' (Container)"
        )));
    }
    Ok(())
}

fn split_list(value: Option<&str>) -> Vec<String> {
    value
        .map(|d| {
            d.split(|c: char| c == ',' || c == ';' || c == '\0' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `PUT config` in the order of pve-container `src/PVE/API2/LXC/Config.pm` and
/// `update_pct_config` (`src/PVE/LXC/Config.pm`): no options, lock, digest, permissions for
/// deletes and reverts, the `revert` and `delete` checks, permissions for the new values, then
/// the deletes (an unset key is skipped) and the new values in sorted order.
pub(super) fn update_config(call: &Call) -> Result<Reply, ApiError> {
    let vmid = call.vmid();
    let node = call.node().to_string();
    let options: BTreeMap<String, String> = call
        .params
        .iter()
        .filter(|(k, _)| !UPDATE_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let given_keys = call
        .params
        .keys()
        .filter(|k| !matches!(k.as_str(), "node" | "vmid" | "digest"))
        .count();
    if given_keys == 0 {
        return Err(ApiError::internal("no options specified"));
    }
    let deletes = split_list(call.get("delete"));
    let reverts = split_list(call.get("revert"));
    let put_schema = schema::method_schema("PUT", "/nodes/{node}/lxc/{vmid}/config");
    let option_exists =
        |opt: &str| put_schema.and_then(|s| s.param(opt)).is_some() && !UPDATE_ONLY.contains(&opt);

    call.sim.mutate(|c| {
        let ct = c.container(&node, vmid).map_err(ApiError::internal)?;
        if let Some(msg) = ct.lock_error() {
            return Err(ApiError::internal(msg));
        }
        check_digest(ct, call.get("digest"))?;
        let conf = &ct.conf;
        let unprivileged = conf.get("unprivileged").map(String::as_str) == Some("1");
        let old_features = conf.get("features").map(String::as_str);
        for list in [&deletes, &reverts] {
            if list.iter().any(|d| d == "features") {
                check_features_perm(
                    &call.caller,
                    unprivileged,
                    old_features,
                    FeaturesChange::Delete,
                )?;
            }
            check_root_only_options(&call.caller, list.iter())?;
        }
        for opt in &reverts {
            if !option_exists(opt) {
                return Err(ApiError::param("revert", format!("unknown option '{opt}'")));
            }
            if options.contains_key(opt) {
                return Err(ApiError::param(
                    "revert",
                    format!("you can't use '-{opt}' and '-revert {opt}' at the same time"),
                ));
            }
        }
        for opt in &deletes {
            if !option_exists(opt) {
                return Err(ApiError::param("delete", format!("unknown option '{opt}'")));
            }
            if options.contains_key(opt) {
                return Err(ApiError::param(
                    "delete",
                    format!("you can't use '-{opt}' and -delete {opt}' at the same time"),
                ));
            }
            if reverts.contains(opt) {
                return Err(ApiError::param(
                    "delete",
                    format!("you can't use '-delete {opt}' and '-revert {opt}' at the same time"),
                ));
            }
        }
        if let Some(features) = options.get("features") {
            check_features_perm(
                &call.caller,
                unprivileged,
                old_features,
                FeaturesChange::Set(features),
            )?;
        }
        check_root_only_options(&call.caller, options.keys())?;

        let protected = conf.get("protection").map(String::as_str) == Some("1");
        let is_drive = |k: &str| {
            k == "rootfs"
                || ((k.starts_with("mp") || k.starts_with("unused"))
                    && k.trim_start_matches(|ch: char| ch.is_ascii_alphabetic())
                        .bytes()
                        .all(|b| b.is_ascii_digit()))
        };
        let mut effective_deletes = Vec::new();
        for opt in &deletes {
            if !conf.contains_key(opt) && !ct.pending.contains_key(opt) {
                // Proxmox warns "cannot delete '<opt>' - not set in current configuration!".
                continue;
            }
            if matches!(opt.as_str(), "memory" | "rootfs" | "ostype") {
                return Err(ApiError::internal(format!(
                    "unable to delete required option '{opt}'"
                )));
            }
            if protected && is_drive(opt) {
                return Err(ApiError::internal(format!(
                    "can't remove CT {vmid} drive '{opt}' - protection mode enabled"
                )));
            }
            if opt == "unprivileged" {
                return Err(ApiError::internal(
                    "unable to delete read-only option: 'unprivileged'",
                ));
            }
            effective_deletes.push(opt.clone());
        }
        for (k, v) in &options {
            if k == "rootfs" || (k.starts_with("mp") && is_drive(k)) {
                if protected {
                    return Err(ApiError::internal(format!(
                        "can't update CT {vmid} drive '{k}' - protection mode enabled"
                    )));
                }
                if let Some(storage) = volume_storage(k, v)? {
                    check_rootdir_content(c, &storage)?;
                }
            }
            if k == "unprivileged" {
                return Err(ApiError::internal(
                    "unable to modify read-only option: 'unprivileged'",
                ));
            }
        }

        // Normalise the new values (this may allocate volumes and MAC addresses).
        let mut taken: Vec<String> = ct.volumes().into_iter().map(|(v, _)| v).collect();
        let mut normalized = BTreeMap::new();
        for (k, v) in &options {
            let value = if k.starts_with("mp") {
                allocate_disk(c, k, v, vmid, "local-lvm", &mut taken)?
            } else {
                // `rootfs` is stored exactly as sent (`vmconfig_apply_pending`).
                normalize_option(c, k, v)
            };
            normalized.insert(k.clone(), value);
        }

        let ct = c.container_mut(&node, vmid).map_err(ApiError::internal)?;
        for opt in &reverts {
            ct.pending.remove(opt);
            ct.pending_delete.remove(opt);
        }
        let running = ct.running;
        for opt in &effective_deletes {
            if !running || is_hotplug(opt, &ct.conf) {
                ct.conf.remove(opt);
                ct.pending.remove(opt);
                ct.pending_delete.remove(opt);
            } else {
                ct.pending.remove(opt);
                ct.pending_delete.insert(opt.clone());
            }
        }
        for (k, v) in normalized {
            ct.pending_delete.remove(&k);
            if k == "lock" {
                // A lock set through the config is a real lock (`check_lock` reads it).
                ct.lock = Some(v);
                continue;
            }
            if !running || is_hotplug(&k, &ct.conf) {
                ct.pending.remove(&k);
                // An empty value does not survive the config file (`parse_pct_config` needs a
                // value after the colon, and keeps a description only when non-empty).
                if v.is_empty() {
                    ct.conf.remove(&k);
                } else {
                    ct.conf.insert(k, v);
                }
            } else if ct.conf.get(&k) == Some(&v) {
                ct.pending.remove(&k);
            } else {
                ct.pending.insert(k, v);
            }
        }
        Ok(Value::Null.into())
    })
}

pub(super) fn resize(call: &Call) -> Result<Reply, ApiError> {
    let vmid = call.vmid();
    let node = call.node().to_string();
    let disk = call.get("disk").unwrap_or("rootfs").to_string();
    let size = call.get("size").unwrap_or_default().to_string();
    let new_bytes = call.sim.read(|c| {
        let ct = c.container(&node, vmid).map_err(ApiError::internal)?;
        if let Some(msg) = ct.lock_error() {
            return Err(ApiError::internal(msg));
        }
        check_digest(ct, call.get("digest"))?;
        let value = ct
            .conf
            .get(&disk)
            .ok_or_else(|| ApiError::internal(format!("disk '{disk}' does not exist")))?;
        let volid = config::default_key_value(value);
        let current = config::property_value(value, "size")
            .and_then(|s| parse_size(&s))
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "Could not determine current size of volume '{volid}'"
                ))
            })?;
        let (relative, amount) = match size.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, size.as_str()),
        };
        let amount = parse_size(amount)
            .ok_or_else(|| ApiError::param("size", "value does not match the regex pattern"))?;
        let new = if relative { current + amount } else { amount };
        if new < current {
            return Err(ApiError::internal("unable to shrink disk size"));
        }
        if new == current {
            return Err(ApiError::internal("disk is already at specified size"));
        }
        Ok((current, new))
    })?;
    let (old_bytes, new_bytes) = new_bytes;
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "resize",
        &vmid.to_string(),
        call.user(),
        move |ctx| async move {
            ctx.log(format!(
                "  Size of logical volume changed from {} to {}.",
                format_size(old_bytes),
                format_size(new_bytes)
            ));
            ctx.work().await;
            if fail {
                return Err(format!(
                    "command 'resize2fs /dev/pve/vm-{vmid}-disk-0' failed: exit code 1"
                ));
            }
            ctx.sim.mutate(|c| {
                let ct = c.container_mut(&node, vmid)?;
                let value = ct
                    .conf
                    .get(&disk)
                    .cloned()
                    .ok_or_else(|| format!("disk '{disk}' does not exist"))?;
                let family = if disk == "rootfs" { "rootfs" } else { "mp0" };
                let keys = config::property_keys(family).unwrap_or_default();
                let mut parsed = schema::parse_property_string(&keys, &value).unwrap_or_default();
                parsed.insert("size".to_string(), format_size(new_bytes));
                ct.conf
                    .insert(disk.clone(), config::print_property_string(&keys, &parsed));
                Ok(())
            })
        },
    );
    Ok(Value::String(upid).into())
}

pub(super) fn destroy(call: &Call) -> Result<Reply, ApiError> {
    let vmid = call.vmid();
    let node = call.node().to_string();
    let force = call.flag("force");
    call.sim.mutate(|c| {
        let ct = c.container_mut(&node, vmid).map_err(ApiError::internal)?;
        // `check_protection` reads the current section, not pending values.
        if ct.conf.get("protection").map(String::as_str) == Some("1") {
            return Err(ApiError::internal(format!(
                "can't remove CT {vmid} - protection mode enabled"
            )));
        }
        if let Some(msg) = ct.lock_error() {
            return Err(ApiError::internal(msg));
        }
        if ct.running && !force {
            return Err(ApiError::internal(format!(
                "unable to destroy CT {vmid} - container is running"
            )));
        }
        ct.lock = Some("destroyed".to_string());
        Ok(())
    })?;
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(call.node(), "vzdestroy", &vmid.to_string(), call.user(), move |ctx| async move {
        ctx.work().await;
        if !fail {
            if let Err(e) = ctx.sim.backend.destroy(vmid).await {
                ctx.sim.mutate(|c| c.container_mut(&node, vmid).map(|ct| ct.lock = None)).ok();
                return Err(e);
            }
        }
        ctx.sim.mutate(|c| {
            if fail {
                if let Ok(ct) = c.container_mut(&node, vmid) {
                    ct.lock = None;
                }
                return Err(format!(
                    "lvremove 'pve/vm-{vmid}-disk-0' error:   Logical volume pve/vm-{vmid}-disk-0 in use."
                ));
            }
            let removed = c.containers.remove(&vmid);
            if let Some(ct) = removed {
                for (volid, _) in ct.volumes() {
                    let name = volid.split(':').nth(1).unwrap_or("").to_string();
                    c.task_log(&ctx.upid, format!("  Logical volume \"{name}\" successfully removed."));
                }
            }
            Ok(())
        })
    });
    Ok(Value::String(upid).into())
}
