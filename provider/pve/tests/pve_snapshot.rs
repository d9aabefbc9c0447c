//! Snapshot operations against an embedded pve-sim: create, list, describe, roll back, delete.

#[path = "pve_support.rs"]
mod support;

use support::{deadline, spec, TestSim};

#[tokio::test]
async fn snapshot_create_list_rollback_delete() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4090, "snap");
    let created = client.create(&wanted, &deadline()).await.unwrap();

    let (pre, _) = client
        .create_snapshot(
            "pve",
            4090,
            "pre-install",
            Some("before install"),
            &deadline(),
        )
        .await
        .expect("snapshot");
    assert_eq!(pre.description.as_deref(), Some("before install"));
    assert!(pre.snaptime_rfc3339.is_some());

    wanted.memory = 2048;
    client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .unwrap();
    let (post, _) = client
        .create_snapshot("pve", 4090, "post-install", None, &deadline())
        .await
        .unwrap();
    assert_eq!(post.parent.as_deref(), Some("pre-install"));

    let names: Vec<String> = client
        .list_snapshots("pve", 4090)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        vec!["pre-install", "post-install"],
        "no `current` entry"
    );

    client
        .update_snapshot_description("pve", 4090, "post-install", Some("after"), &deadline())
        .await
        .unwrap();
    let post = client
        .get_snapshot("pve", 4090, "post-install")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(post.description.as_deref(), Some("after"));

    client
        .rollback("pve", 4090, "pre-install", true, &deadline())
        .await
        .expect("rollback");
    let state = client.lxc("pve", 4090).read().await.unwrap().unwrap();
    assert_eq!(state.memory, 1024, "the config is the snapshot's again");
    assert_eq!(state.status, "running", "started again after the rollback");

    client
        .delete_snapshot("pve", 4090, "post-install", &deadline())
        .await
        .unwrap();
    client
        .delete_snapshot("pve", 4090, "post-install", &deadline())
        .await
        .expect("deleting a snapshot that is gone succeeds");
    assert!(client
        .get_snapshot("pve", 4090, "post-install")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn snapshot_named_current_is_refused_before_calling_proxmox() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    client
        .create(&spec(4092, "snap2"), &deadline())
        .await
        .unwrap();
    let error = client
        .create_snapshot("pve", 4092, "current", None, &deadline())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("reserved"), "{error}");
    assert_eq!(sim.calls("POST /nodes/{node}/lxc/{vmid}/snapshot").await, 0);
}

#[tokio::test]
async fn a_snapshot_of_a_missing_container_reads_as_none() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    assert!(client
        .get_snapshot("pve", 4094, "pre-install")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_failed_snapshot_task_is_an_error_with_the_log() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    client
        .create(&spec(4096, "snap3"), &deadline())
        .await
        .unwrap();
    sim.inject("POST /nodes/{node}/lxc/{vmid}/snapshot", "task_fail", 1)
        .await;
    let error = client
        .create_snapshot("pve", 4096, "pre-install", None, &deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(error, pve::PveError::TaskFailed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn two_snapshots_at_once_wait_for_each_others_lock() {
    let sim = TestSim::with_task_duration(
        pve_sim::SimConfig::default(),
        std::time::Duration::from_millis(200),
    )
    .await;
    let client = sim.token_client();
    client
        .create(&spec(4130, "pair"), &deadline())
        .await
        .unwrap();
    let (first_deadline, second_deadline) = (deadline(), deadline());
    let (a, b) = tokio::join!(
        client.create_snapshot("pve", 4130, "first", None, &first_deadline),
        client.create_snapshot("pve", 4130, "second", None, &second_deadline)
    );
    a.expect("first snapshot");
    b.expect("second snapshot");
    let names: Vec<String> = client
        .list_snapshots("pve", 4130)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[tokio::test]
async fn a_lost_snapshot_answer_is_settled_by_listing() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    client
        .create(&spec(4140, "lostsnap"), &deadline())
        .await
        .unwrap();
    sim.inject("POST /nodes/{node}/lxc/{vmid}/snapshot", "drop", 1)
        .await;
    let (info, _) = client
        .create_snapshot("pve", 4140, "pre-install", None, &deadline())
        .await
        .expect("settled by listing");
    assert_eq!(info.name, "pre-install");
    assert_eq!(sim.calls("POST /nodes/{node}/lxc/{vmid}/snapshot").await, 1);
}

#[tokio::test]
async fn rollback_without_start_leaves_the_container_stopped() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    client
        .create(&spec(4150, "stopped"), &deadline())
        .await
        .unwrap();
    client
        .create_snapshot("pve", 4150, "base", None, &deadline())
        .await
        .unwrap();
    client
        .rollback("pve", 4150, "base", false, &deadline())
        .await
        .unwrap();
    let state = client.lxc("pve", 4150).read().await.unwrap().unwrap();
    assert_eq!(state.status, "stopped");
}
