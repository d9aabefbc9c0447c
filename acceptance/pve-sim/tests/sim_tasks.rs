//! Task endpoints as pve-manager `PVE/API2/Tasks.pm` serves them: the node's task list with
//! its sources and filters, the log with `start`/`limit` (pve-common `src/PVE/Tools.pm`,
//! `dump_logfile_by_filehandle`), and the status of one task.

mod sim_support;

use serde_json::{json, Value};
use sim_support::{urlencode, TestSim};

fn upids(answer: &sim_support::Answer) -> Vec<String> {
    answer
        .data()
        .as_array()
        .expect("task list")
        .iter()
        .map(|t| t["upid"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn the_default_source_lists_finished_tasks_and_active_lists_running_ones() {
    let t = TestSim::start().await;
    t.create_ct(800, &[]).await;
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "task_duration_ms": 3000 })),
    )
    .await;
    let start = t.api("POST", "/nodes/pve/lxc/800/status/start", &[]).await;
    let running = start.data().as_str().expect("UPID").to_string();

    let archive = t.get("/nodes/pve/tasks").await;
    assert!(!upids(&archive).contains(&running), "{:?}", archive.body);
    assert_eq!(archive.body["total"], 1);
    assert_eq!(archive.data()[0]["status"], "OK");
    assert_eq!(archive.data()[0]["type"], "vzcreate");
    assert_eq!(archive.data()[0]["user"], "root@pam");
    assert_eq!(archive.data()[0]["tokenid"], "ralf");

    let active = t
        .api("GET", "/nodes/pve/tasks", &[("source", "active")])
        .await;
    assert_eq!(upids(&active), vec![running.clone()]);
    assert_eq!(active.data()[0]["status"], "RUNNING");

    let all = t.api("GET", "/nodes/pve/tasks", &[("source", "all")]).await;
    assert_eq!(all.body["total"], 2);
    assert_eq!(upids(&all)[0], running, "running tasks come first");
}

#[tokio::test]
async fn task_filters_select_by_type_user_vmid_and_status() {
    let t = TestSim::start().await;
    t.create_ct(801, &[]).await;
    t.create_ct(802, &[]).await;
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "POST /nodes/{node}/lxc/{vmid}/status/start", "kind": "task_fail", "count": 1 })),
    )
    .await;
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/801/status/start", &[])
            .await,
        "startup for container '801' failed"
    );
    let by_type = t
        .api("GET", "/nodes/pve/tasks", &[("typefilter", "vzstart")])
        .await;
    assert_eq!(by_type.body["total"], 1);
    let by_vmid = t.api("GET", "/nodes/pve/tasks", &[("vmid", "801")]).await;
    assert_eq!(by_vmid.body["total"], 2);
    let errors = t.api("GET", "/nodes/pve/tasks", &[("errors", "1")]).await;
    assert_eq!(errors.body["total"], 1);
    assert_eq!(
        errors.data()[0]["status"],
        "startup for container '801' failed"
    );
    let ok_only = t
        .api("GET", "/nodes/pve/tasks", &[("statusfilter", "ok")])
        .await;
    assert_eq!(ok_only.body["total"], 2);
    let by_user = t
        .api("GET", "/nodes/pve/tasks", &[("userfilter", "ROOT@PAM")])
        .await;
    assert_eq!(by_user.body["total"], 3);
    let nobody = t
        .api("GET", "/nodes/pve/tasks", &[("userfilter", "alice")])
        .await;
    assert_eq!(nobody.data(), &json!([]));
    let future = t
        .api("GET", "/nodes/pve/tasks", &[("since", "4102444800")])
        .await;
    assert_eq!(future.data(), &json!([]));
    let paged = t
        .api("GET", "/nodes/pve/tasks", &[("start", "1"), ("limit", "1")])
        .await;
    assert_eq!(paged.body["total"], 3);
    assert_eq!(paged.data().as_array().map(Vec::len), Some(1));
    let bad = t
        .api("GET", "/nodes/pve/tasks", &[("statusfilter", "fine")])
        .await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
}

#[tokio::test]
async fn the_log_pages_with_start_and_limit_and_counts_every_line() {
    let t = TestSim::start().await;
    let answer = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "803"),
                ("ostemplate", sim_support::UBUNTU),
                ("rootfs", "local-lvm:8"),
            ],
        )
        .await;
    let upid = answer.data().as_str().expect("UPID").to_string();
    t.wait_task("pve", &upid).await;
    let path = format!("/nodes/pve/tasks/{}/log", urlencode(&upid));
    let whole = t.get(&path).await;
    let lines = whole.data().as_array().expect("lines").clone();
    let total = whole.body["total"].as_u64().expect("total") as usize;
    assert_eq!(lines.len(), total);
    assert_eq!(
        lines.last().map(|l| l["t"].clone()),
        Some(Value::from("TASK OK"))
    );
    assert_eq!(lines[0]["n"], 1);
    let second = t.api("GET", &path, &[("start", "1"), ("limit", "1")]).await;
    assert_eq!(second.data(), &json!([{ "n": 2, "t": lines[1]["t"] }]));
    assert_eq!(second.body["total"], total);
    let unlimited = t.api("GET", &path, &[("limit", "0")]).await;
    assert_eq!(unlimited.data().as_array().map(Vec::len), Some(total));
    let status = t
        .get(&format!("/nodes/pve/tasks/{}/status", urlencode(&upid)))
        .await;
    assert_eq!(status.data()["status"], "stopped");
    assert_eq!(status.data()["exitstatus"], "OK");
    let unknown = t
        .get("/nodes/pve/tasks/UPID:pve:0000FFFF:1000FFFF:00000000:vzstart:1:root@pam:/status")
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error("upid"), "no such task");
    let garbage = t.get("/nodes/pve/tasks/nonsense/status").await;
    assert_eq!(garbage.error("upid"), "unable to parse worker upid");
}
