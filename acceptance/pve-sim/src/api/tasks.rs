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
    if task.log.is_empty() {
        // `dump_logfile_by_filehandle`: an empty log is one line, `no content`.
        return Ok(Reply::paged(json!([{ "n": 1, "t": "no content" }]), 1));
    }
    Ok(Reply::paged(Value::Array(lines), task.log.len() as u64))
}

pub(super) fn stop(call: &Call) -> Result<Reply, ApiError> {
    find_task(call)?;
    Ok(Value::Null.into())
}

/// `upid_normalize_status_type`: `OK` is ok, `WARNINGS: <n>` a warning, `unknown` unknown,
/// anything else an error.
fn status_type(exitstatus: &str) -> &'static str {
    if exitstatus == "OK" {
        "ok"
    } else if exitstatus
        .strip_prefix("WARNINGS: ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        "warning"
    } else if exitstatus == "unknown" {
        "unknown"
    } else {
        "error"
    }
}

/// `node_tasks` (pve-manager `PVE/API2/Tasks.pm`): `source` `archive` (the default) lists
/// finished tasks, `active` running ones, `all` running then finished; newest first; filters
/// by user (substring, any case), type, vmid, start time (`since`, `until`) and status type
/// (`statusfilter`, or `errors` for everything but ok); `start`/`limit` page, and `total`
/// counts every match.
pub(super) fn list(call: &Call) -> Result<Reply, ApiError> {
    let node = call.node();
    let vmid = call.get("vmid");
    let typefilter = call.get("typefilter").filter(|f| !f.is_empty());
    let userfilter = call
        .get("userfilter")
        .filter(|f| !f.is_empty())
        .map(str::to_lowercase);
    let since: Option<i64> = call.get("since").and_then(|v| v.parse().ok());
    let until: Option<i64> = call.get("until").and_then(|v| v.parse().ok());
    let errors_only = call.flag("errors");
    let statuses: Option<Vec<String>> =
        call.get("statusfilter").filter(|_| !errors_only).map(|f| {
            f.split([',', ';', ' '])
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase)
                .collect()
        });
    let source = call.get("source").unwrap_or("archive");
    let start: usize = call.get("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = call.get("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let (items, total) = call.sim.read(|c| {
        let newest_first = || c.task_order.iter().rev().filter_map(|u| c.tasks.get(u));
        let running = newest_first().filter(|t| t.status == TaskStatus::Running);
        let finished = newest_first().filter(|t| t.status == TaskStatus::Stopped);
        let listed: Vec<&Task> = match source {
            "active" => running.collect(),
            "all" => running.chain(finished).collect(),
            _ => finished.collect(),
        };
        let matching: Vec<Value> = listed
            .into_iter()
            .filter(|t| t.node == node)
            .filter(|t| {
                userfilter
                    .as_deref()
                    .is_none_or(|f| t.user.to_lowercase().contains(f))
            })
            .filter(|t| typefilter.is_none_or(|f| t.ty == f))
            .filter(|t| vmid.is_none_or(|v| t.id == v))
            .filter(|t| since.is_none_or(|s| t.starttime >= s))
            .filter(|t| until.is_none_or(|u| t.starttime <= u))
            .filter(|t| {
                let Some(exit) = t.exitstatus.as_deref() else {
                    return true;
                };
                let ty = status_type(exit);
                match &statuses {
                    Some(wanted) => wanted.iter().any(|w| w == ty),
                    None => !errors_only || ty != "ok",
                }
            })
            .map(|t| {
                let mut v = task_json(t);
                v["status"] = json!(t.exitstatus.as_deref().unwrap_or("RUNNING"));
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
