//! The `/sim/` admin API: request counters by path pattern, the request log with secrets
//! redacted, fault injection (HTTP 500/503/596, dropped connection, lock timeout, failing
//! task; by count, by rate with a seed), settings and reset.

mod sim_support;

use serde_json::json;
use sim_support::{TestSim, UBUNTU};

#[tokio::test]
async fn stats_count_api_calls_by_method_and_path_pattern() {
    let t = TestSim::start().await;
    t.create_ct(500, &[]).await;
    t.admin("DELETE", "/sim/stats", None).await;
    for _ in 0..3 {
        t.get("/nodes/pve/lxc/500/config").await;
    }
    t.get("/nodes/pve/lxc/500/status/current").await;
    t.admin("GET", "/sim/containers", None).await;
    let stats = t.admin("GET", "/sim/stats", None).await;
    assert_eq!(
        stats.body["total"], 4,
        "admin calls are not counted: {:?}",
        stats.body
    );
    assert_eq!(
        stats.body["by_endpoint"]["GET /nodes/{node}/lxc/{vmid}/config"],
        3
    );
    assert_eq!(
        stats.body["by_endpoint"]["GET /nodes/{node}/lxc/{vmid}/status/current"],
        1
    );
}

#[tokio::test]
async fn request_log_lists_calls_oldest_first_with_passwords_redacted() {
    let t = TestSim::start().await;
    t.create_ct(501, &[("password", "hunter22")]).await;
    let log = t.admin("GET", "/sim/requests", None).await;
    let list = log.body.as_array().expect("list");
    let create = &list[0];
    assert_eq!(create["method"], "POST");
    assert_eq!(create["path"], "/nodes/pve/lxc");
    assert_eq!(create["pattern"], "/nodes/{node}/lxc");
    assert_eq!(create["status"], 200);
    assert_eq!(create["params"]["password"], "(redacted)");
    assert_eq!(create["params"]["vmid"], "501");
    assert!(!log.body.to_string().contains("hunter22"));
    t.admin("DELETE", "/sim/stats", None).await;
    assert_eq!(t.admin("GET", "/sim/requests", None).await.body, json!([]));
}

#[tokio::test]
async fn http_faults_hit_the_next_n_matching_calls() {
    let t = TestSim::start().await;
    let id = t
        .admin(
            "POST",
            "/sim/faults",
            Some(json!({ "endpoint": "GET /version", "kind": "http500", "count": 2 })),
        )
        .await;
    assert_eq!(id.body["id"], 1);
    assert_eq!(t.get("/version").await.status, 500);
    assert_eq!(
        t.get("/nodes").await.status,
        200,
        "other endpoints are unaffected"
    );
    assert_eq!(t.get("/version").await.status, 500);
    assert_eq!(t.get("/version").await.status, 200);
    for (kind, status) in [("http503", 503), ("http596", 596)] {
        t.admin(
            "POST",
            "/sim/faults",
            Some(json!({ "endpoint": "*", "kind": kind, "count": 1 })),
        )
        .await;
        assert_eq!(t.get("/nodes").await.status, status);
    }
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "*", "kind": "http500" })),
    )
    .await;
    assert_eq!(t.get("/nodes").await.status, 500);
    t.admin("DELETE", "/sim/faults", None).await;
    assert_eq!(t.get("/nodes").await.status, 200);
    let bad = t
        .admin(
            "POST",
            "/sim/faults",
            Some(json!({ "endpoint": "*", "kind": "meteor" })),
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn seeded_random_faults_repeat_exactly() {
    let t = TestSim::start().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        t.admin("DELETE", "/sim/faults", None).await;
        t.admin(
            "POST",
            "/sim/faults",
            Some(json!({ "endpoint": "GET /version", "kind": "http503", "rate": 0.5, "seed": 7 })),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(t.get("/version").await.status);
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&503) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn dropped_create_leaves_the_container_created() {
    let t = TestSim::start().await;
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "POST /nodes/{node}/lxc", "kind": "drop", "count": 1 })),
    )
    .await;
    let result = t
        .client
        .post(format!("{}api2/json/nodes/pve/lxc", t.base))
        .header("Authorization", sim_support::TOKEN)
        .form(&[
            ("vmid", "502"),
            ("ostemplate", UBUNTU),
            ("rootfs", "local-lvm:8"),
        ])
        .send()
        .await;
    assert!(
        result.is_err(),
        "the connection closes without an answer: {result:?}"
    );
    let containers = t.admin("GET", "/sim/containers", None).await;
    assert_eq!(
        containers.body[0]["vmid"], 502,
        "the create happened anyway"
    );
    let retry = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "502"),
                ("ostemplate", UBUNTU),
                ("rootfs", "local-lvm:8"),
            ],
        )
        .await;
    assert_eq!(retry.message(), "CT 502 already exists on node 'pve'\n");
}

#[tokio::test]
async fn lock_timeout_fault_answers_like_a_contended_config_lock() {
    let t = TestSim::start().await;
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "POST /nodes/{node}/lxc", "kind": "lock_timeout", "count": 1 })),
    )
    .await;
    let answer = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "503"),
                ("ostemplate", UBUNTU),
                ("rootfs", "local-lvm:8"),
            ],
        )
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.message(),
        "unable to create CT 503 - can't lock file '/run/lock/lxc/pve-config-503.lock' - got timeout\n"
    );
    assert_eq!(t.create_ct(503, &[]).await, "OK");
    t.admin("POST", "/sim/faults", Some(json!({ "endpoint": "PUT /nodes/{node}/lxc/{vmid}/config", "kind": "lock_timeout", "count": 1 })))
        .await;
    let put = t
        .api("PUT", "/nodes/pve/lxc/503/config", &[("cores", "2")])
        .await;
    assert_eq!(
        put.message(),
        "can't lock file '/run/lock/lxc/pve-config-503.lock' - got timeout\n"
    );
}

#[tokio::test]
async fn task_fail_fault_ends_the_task_with_an_error_and_no_effect() {
    let t = TestSim::start().await;
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "POST /nodes/{node}/lxc", "kind": "task_fail", "count": 1 })),
    )
    .await;
    let exit = t.create_ct(504, &[]).await;
    assert!(exit.starts_with("unable to create CT 504 - "), "{exit}");
    assert_eq!(
        t.admin("GET", "/sim/containers", None).await.body,
        json!([])
    );
    assert_eq!(t.create_ct(504, &[]).await, "OK");
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "*", "kind": "task_fail", "count": 1 })),
    )
    .await;
    let start = t
        .run_task("POST", "/nodes/pve/lxc/504/status/start", &[])
        .await;
    assert_eq!(start, "startup for container '504' failed");
    assert_eq!(t.status(504).await["status"], "stopped");
}

#[tokio::test]
async fn reset_empties_the_cluster_but_keeps_templates() {
    let t = TestSim::start().await;
    t.create_ct(505, &[]).await;
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "GET /version", "kind": "http500" })),
    )
    .await;
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "task_duration_ms": 999 })),
    )
    .await;
    assert_eq!(t.admin("POST", "/sim/reset", None).await.status, 200);
    assert_eq!(
        t.admin("GET", "/sim/containers", None).await.body,
        json!([])
    );
    assert_eq!(t.get("/version").await.status, 200);
    let settings = t.admin("GET", "/sim/settings", None).await;
    assert_eq!(settings.body["task_duration_ms"], 20);
    let templates = t.get("/nodes/pve/storage/local/content").await;
    assert_eq!(templates.data().as_array().expect("list").len(), 2);
    let stats = t.admin("GET", "/sim/stats", None).await;
    assert_eq!(stats.body["total"], 2);
}

#[tokio::test]
async fn containers_summary_shows_status_lock_and_snapshots() {
    let t = TestSim::start().await;
    t.create_ct(506, &[("hostname", "db-01"), ("start", "1")])
        .await;
    t.run_task(
        "POST",
        "/nodes/pve/lxc/506/snapshot",
        &[("snapname", "pre-install")],
    )
    .await;
    let list = t.admin("GET", "/sim/containers", None).await;
    assert_eq!(
        list.body,
        json!([{ "node": "pve", "vmid": 506, "status": "running", "hostname": "db-01", "lock": null, "snapshots": ["pre-install"] }])
    );
}

#[tokio::test]
async fn cluster_resources_lag_behind_when_a_lag_is_set() {
    let t = TestSim::start().await;
    let vms = |answer: &sim_support::Answer| answer.data().as_array().map_or(0, |a| a.len());
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "resources_lag_ms": 60000 })),
    )
    .await;
    assert_eq!(vms(&t.get("/cluster/resources?type=vm").await), 0);
    t.create_ct(507, &[]).await;
    assert_eq!(
        vms(&t.get("/cluster/resources?type=vm").await),
        0,
        "like pvestatd's ~10 s refresh, a new guest is not listed yet"
    );
    assert_eq!(
        t.status(507).await["status"],
        "stopped",
        "direct reads are current"
    );
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "resources_lag_ms": 0 })),
    )
    .await;
    let fresh = t.get("/cluster/resources?type=vm").await;
    assert_eq!(fresh.data()[0]["id"], "lxc/507");
}

#[tokio::test]
async fn cluster_resources_are_rendered_once_per_change() {
    let t = TestSim::start().await;
    let vm = |answer: &sim_support::Answer| {
        answer
            .data()
            .as_array()
            .and_then(|a| a.iter().find(|i| i["id"] == "lxc/508").cloned())
    };
    assert_eq!(vm(&t.get("/cluster/resources").await), None);
    t.create_ct(508, &[]).await;
    let created = t.get("/cluster/resources").await;
    assert_eq!(
        vm(&created).expect("listed at once after the change")["status"],
        "stopped"
    );
    assert_eq!(
        t.get("/cluster/resources").await.body,
        created.body,
        "an unchanged cluster answers the same rendering"
    );
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/508/status/start", &[])
            .await,
        "OK"
    );
    let started = t.get("/cluster/resources?type=vm").await;
    assert_eq!(vm(&started).expect("still listed")["status"], "running");
    t.api("PUT", "/nodes/pve/lxc/508/config", &[("tags", "cached")])
        .await;
    let tagged = t.get("/cluster/resources?type=vm").await;
    assert_eq!(vm(&tagged).expect("listed")["tags"], "cached");
}
