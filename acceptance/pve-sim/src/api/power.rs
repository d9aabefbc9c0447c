//! Power endpoints: `status/current` and the start/stop/shutdown/reboot tasks, with the
//! synchronous idempotency errors and the in-task lock checks Proxmox has.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::backend::StopMode;
use crate::cluster::now_unix;
use crate::sim::TaskCtx;

/// Starts the container in the backend with its pending changes applied (they take effect
/// with this start).
async fn start_in_backend(ctx: &TaskCtx, node: &str, vmid: u32) -> Result<(), String> {
    let conf = ctx
        .sim
        .read(|c| c.container(node, vmid).map(|ct| ct.effective_conf(false)))?;
    ctx.sim.backend.start(vmid, &conf).await
}

pub(super) fn index(call: &Call) -> Result<Reply, ApiError> {
    call.sim
        .read(|c| c.container(call.node(), call.vmid()).map(|_| ()))
        .map_err(ApiError::internal)?;
    let names = [
        "current", "start", "stop", "shutdown", "reboot", "suspend", "resume",
    ];
    Ok(Value::Array(names.iter().map(|n| json!({ "subdir": n })).collect()).into())
}

pub(super) fn current(call: &Call) -> Result<Reply, ApiError> {
    call.sim.read(|c| {
        let ct = c
            .container(call.node(), call.vmid())
            .map_err(ApiError::internal)?;
        Ok(super::lxc::status_entry(ct).into())
    })
}

fn check_skiplock(call: &Call) -> Result<bool, ApiError> {
    let skiplock = call.flag("skiplock");
    if skiplock && !call.caller.is_root_pam() {
        return Err(ApiError::param(
            "skiplock",
            "Only root may use this option.",
        ));
    }
    Ok(skiplock)
}

/// Whether the container runs, or the "does not exist" error.
fn running(call: &Call) -> Result<bool, ApiError> {
    call.sim
        .read(|c| c.container(call.node(), call.vmid()).map(|ct| ct.running))
        .map_err(ApiError::internal)
}

/// The in-task lock check (skipped with `skiplock`).
fn task_lock_check(
    c: &crate::cluster::Cluster,
    node: &str,
    vmid: u32,
    skiplock: bool,
) -> Result<(), String> {
    let ct = c.container(node, vmid)?;
    match ct.lock_error() {
        Some(msg) if !skiplock => Err(msg),
        _ => Ok(()),
    }
}

/// Whether a volume (rootfs or a mount point) of the config has `quota=1`.
fn has_quota(conf: &std::collections::BTreeMap<String, String>) -> bool {
    conf.iter()
        .filter(|(k, _)| *k == "rootfs" || k.starts_with("mp"))
        .any(|(k, v)| {
            crate::cluster::config::parse_stored(k, v)
                .get("quota")
                .is_some_and(|q| q == "1")
        })
}

pub(super) fn start(call: &Call) -> Result<Reply, ApiError> {
    let skiplock = check_skiplock(call)?;
    let (node, vmid) = (call.node().to_string(), call.vmid());
    if running(call)? {
        return Err(ApiError::internal(format!("CT {vmid} already running")));
    }
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "vzstart",
        &vmid.to_string(),
        call.user(),
        move |ctx| async move {
            // pve-container `src/PVE/API2/LXC/Status.pm` `vm_start`: template, lock (a
            // `mounted` lock does not block), then quotas of unprivileged containers.
            ctx.sim.read(|c| {
                let ct = c.container(&node, vmid)?;
                if ct.conf.get("template").map(String::as_str) == Some("1") {
                    return Err("you can't start a CT if it's a template".to_string());
                }
                if ct.lock.as_deref() != Some("mounted") {
                    task_lock_check(c, &node, vmid, skiplock)?;
                }
                let conf = ct.effective_conf(true);
                if conf.get("unprivileged").map(String::as_str) == Some("1") && has_quota(&conf) {
                    return Err("Quotas are not supported by unprivileged containers.".to_string());
                }
                Ok(())
            })?;
            ctx.work().await;
            if fail {
                return Err(format!("startup for container '{vmid}' failed"));
            }
            start_in_backend(&ctx, &node, vmid).await?;
            ctx.sim.mutate(|c| {
                let ct = c.container_mut(&node, vmid)?;
                if ct.running {
                    return Err(format!("CT {vmid} already running"));
                }
                ct.running = true;
                ct.started_at = Some(now_unix());
                for line in c.apply_pending(vmid) {
                    c.task_log(&ctx.upid, line);
                }
                Ok(())
            })
        },
    );
    Ok(Value::String(upid).into())
}

fn stop_like(
    call: &Call,
    task_type: &'static str,
    honour_skiplock: bool,
) -> Result<Reply, ApiError> {
    let skiplock = if honour_skiplock {
        check_skiplock(call)?
    } else {
        false
    };
    let (node, vmid) = (call.node().to_string(), call.vmid());
    if !running(call)? {
        return Err(ApiError::internal(format!("CT {vmid} not running")));
    }
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        task_type,
        &vmid.to_string(),
        call.user(),
        move |ctx| async move {
            ctx.sim
                .read(|c| task_lock_check(c, &node, vmid, skiplock))?;
            ctx.work().await;
            if fail {
                return Err(format!("command 'lxc-stop -n {vmid}' failed: exit code 1"));
            }
            let mode = if task_type == "vzshutdown" {
                StopMode::Shutdown
            } else {
                StopMode::Kill
            };
            ctx.sim.backend.stop(vmid, mode).await?;
            ctx.sim.mutate(|c| {
                let ct = c.container_mut(&node, vmid)?;
                ct.running = false;
                ct.started_at = None;
                Ok(())
            })
        },
    );
    Ok(Value::String(upid).into())
}

pub(super) fn stop(call: &Call) -> Result<Reply, ApiError> {
    stop_like(call, "vzstop", true)
}

pub(super) fn shutdown(call: &Call) -> Result<Reply, ApiError> {
    stop_like(call, "vzshutdown", false)
}

pub(super) fn reboot(call: &Call) -> Result<Reply, ApiError> {
    let (node, vmid) = (call.node().to_string(), call.vmid());
    if !running(call)? {
        // Proxmox's message says "VM" here.
        return Err(ApiError::internal(format!("VM {vmid} not running")));
    }
    let fail = call.fail_task;
    let upid = call.sim.spawn_task(
        call.node(),
        "vzreboot",
        &vmid.to_string(),
        call.user(),
        move |ctx| async move {
            ctx.sim.read(|c| task_lock_check(c, &node, vmid, false))?;
            ctx.work().await;
            if fail {
                return Err(format!("startup for container '{vmid}' failed"));
            }
            ctx.sim.backend.stop(vmid, StopMode::Shutdown).await?;
            start_in_backend(&ctx, &node, vmid).await?;
            ctx.sim.mutate(|c| {
                let ct = c.container_mut(&node, vmid)?;
                ct.running = true;
                ct.started_at = Some(now_unix());
                for line in c.apply_pending(vmid) {
                    c.task_log(&ctx.upid, line);
                }
                Ok(())
            })
        },
    );
    Ok(Value::String(upid).into())
}
