//! Task endpoints: list, status (with `exitstatus` once stopped), log (paged, with `total`),
//! and stop. UPIDs are parsed the way Proxmox does.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::cluster::tasks::parse_upid;
use crate::cluster::{Task, TaskStatus};

fn find_task(call: &Call) -> Result<Task, ApiError> {
    let upid = call.get("upid").unwrap_or_default();
    let parsed =
        parse_upid(upid).ok_or_else(|| ApiError::param("upid", "unable to parse worker upid"))?;
    call.sim
        .read(|c| c.tasks.get(upid).cloned())
        .filter(|t| t.node == call.node() && parsed.node == t.node)
        .ok_or_else(|| ApiError::param("upid", "no such task"))
}

fn split_user(user: &str) -> (String, Option<String>) {
    match user.split_once('!') {
        Some((u, t)) => (u.to_string(), Some(t.to_string())),
        None => (user.to_string(), None),
    }
}

fn task_json(task: &Task) -> Value {
    let (user, tokenid) = split_user(&task.user);
    let mut v = json!({
        "upid": task.upid, "node": task.node, "pid": task.pid, "pstart": task.pstart,
        "starttime": task.starttime, "type": task.ty, "id": task.id, "user": user,
        "status": if task.status == TaskStatus::Running { "running" } else { "stopped" },
    });
    if let Some(t) = tokenid {
        v["tokenid"] = json!(t);
    }
    if let Some(e) = &task.exitstatus {
        v["exitstatus"] = json!(e);
    }
    v
}

pub(super) fn status(call: &Call) -> Result<Reply, ApiError> {
    Ok(task_json(&find_task(call)?).into())
}

pub(super) fn index(call: &Call) -> Result<Reply, ApiError> {
    find_task(call)?;
    Ok(json!([{ "name": "log" }, { "name": "status" }]).into())
}

pub(super) fn log(call: &Call) -> Result<Reply, ApiError> {
    let task = find_task(call)?;
    let start: usize = call.get("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = call.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let lines: Vec<Value> = task
        .log
        .iter()
        .enumerate()
        .skip(start)
        .take(if limit == 0 { usize::MAX } else { limit })
        .map(|(i, t)| json!({ "n": i + 1, "t": t }))
        .collect();
    Ok(Reply::paged(Value::Array(lines), task.log.len() as u64))
}

pub(super) fn stop(call: &Call) -> Result<Reply, ApiError> {
    find_task(call)?;
    Ok(Value::Null.into())
}

pub(super) fn list(call: &Call) -> Result<Reply, ApiError> {
    let node = call.node();
    let vmid = call.get("vmid");
    let typefilter = call.get("typefilter");
    let errors_only = call.flag("errors");
    let active_only = call.get("source") == Some("active");
    let start: usize = call.get("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = call.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let (items, total) = call.sim.read(|c| {
        let matching: Vec<Value> = c
            .task_order
            .iter()
            .rev()
            .filter_map(|u| c.tasks.get(u))
            .filter(|t| t.node == node)
            .filter(|t| vmid.is_none_or(|v| t.id == v))
            .filter(|t| typefilter.is_none_or(|f| t.ty == f))
            .filter(|t| !active_only || t.status == TaskStatus::Running)
            .filter(|t| !errors_only || t.exitstatus.as_deref().is_some_and(|e| e != "OK"))
            .map(|t| {
                let mut v = task_json(t);
                if let Some(e) = &t.exitstatus {
                    v["status"] = json!(e);
                }
                if let Some(end) = t.endtime {
                    v["endtime"] = json!(end);
                }
                v
            })
            .collect();
        let total = matching.len();
        (
            matching
                .into_iter()
                .skip(start)
                .take(limit)
                .collect::<Vec<_>>(),
            total,
        )
    });
    Ok(Reply::paged(Value::Array(items), total as u64))
}
