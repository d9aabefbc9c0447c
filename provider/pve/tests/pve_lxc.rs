//! Container operations against an embedded pve-sim: the create/read/update/delete round trip,
//! the two-call read, adoption after a dropped create, task failures, protection and disks.

#[path = "pve_support.rs"]
mod support;

use pve::PveError;
use support::{container_count, deadline, spec, TestSim};

#[tokio::test]
async fn create_read_update_delete_round_trip() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4030, "synapse");
    let created = client.create(&wanted, &deadline()).await.expect("create");
    let state = created.state;
    assert_eq!(state.id(), "pve/4030");
    assert_eq!(state.status, "running");
    assert_eq!(state.hostname.as_deref(), Some("synapse"));
    assert_eq!(state.memory, 1024);
    assert_eq!(state.description.as_deref(), Some("synapse service"));
    assert_eq!(state.tags, wanted.tags);
    let disk = state.disk.clone().expect("rootfs");
    assert_eq!((disk.storage.as_str(), disk.size), ("local-lvm", 8));
    assert!(disk.volume.starts_with("local-lvm:"), "{}", disk.volume);
    let net = state.net0().cloned().expect("net0");
    assert!(net.mac_address.is_some(), "Proxmox generates a MAC");
    assert_eq!(state.ipv4_address.as_deref(), Some("10.10.40.32"));

    let read = client
        .lxc("pve", 4030)
        .read()
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(read.hostname, state.hostname);
    assert_eq!(read.slots, state.slots);

    wanted.memory = 2048;
    wanted.tags.insert("Matrix".into());
    wanted.description = None;
    let updated = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&read, &wanted, &deadline())
        .await
        .expect("update");
    assert_eq!(updated.state.memory, 2048);
    assert!(updated.state.tags.contains("matrix"));
    assert_eq!(updated.state.description, None);
    assert_eq!(
        updated.state.net0().and_then(|n| n.mac_address.clone()),
        net.mac_address,
        "the MAC address survives updates"
    );
    assert!(!updated.rebooted, "memory and tags apply without a reboot");

    client
        .lxc("pve", 4030)
        .delete(&deadline())
        .await
        .expect("delete");
    assert!(client.lxc("pve", 4030).read().await.unwrap().is_none());
    client
        .lxc("pve", 4030)
        .delete(&deadline())
        .await
        .expect("deleting what is gone succeeds");
}

#[tokio::test]
async fn reading_a_container_costs_exactly_two_api_calls() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    client
        .create(&spec(4032, "element"), &deadline())
        .await
        .unwrap();
    let before = sim.stats().await;
    client
        .lxc("pve", 4032)
        .read()
        .await
        .unwrap()
        .expect("exists");
    let after = sim.stats().await;
    let count = |stats: &serde_json::Value, endpoint: &str| {
        stats["by_endpoint"][endpoint]
            .to_string()
            .parse::<u64>()
            .unwrap_or(0)
    };
    let total = |stats: &serde_json::Value| stats["total"].to_string().parse::<u64>().unwrap_or(0);
    // The simulator does not count its own /sim/ admin requests.
    let api_calls = total(&after) - total(&before);
    assert_eq!(api_calls, 2, "before {before}, after {after}");
    for endpoint in [
        "GET /nodes/{node}/lxc/{vmid}/config",
        "GET /nodes/{node}/lxc/{vmid}/status/current",
    ] {
        assert_eq!(
            count(&after, endpoint) - count(&before, endpoint),
            1,
            "{endpoint}"
        );
    }
}

#[tokio::test]
async fn a_missing_container_reads_as_none() {
    let sim = TestSim::start().await;
    assert!(sim
        .token_client()
        .lxc("pve", 999)
        .read()
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn an_unchanged_spec_sends_no_config_update() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let wanted = spec(8012, "grafana");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    let outcome = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .unwrap();
    assert_eq!(sim.calls("PUT /nodes/{node}/lxc/{vmid}/config").await, 0);
    assert_eq!(outcome.state.hostname, created.state.hostname);
    assert!(!outcome.rebooted);
}

#[tokio::test]
async fn dropped_connection_on_create_adopts_the_container_it_made() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    sim.inject("POST /nodes/{node}/lxc", "drop", 1).await;
    let created = client
        .create(&spec(8014, "loki"), &deadline())
        .await
        .expect("the lost answer is settled by reading back");
    assert_eq!(created.state.hostname.as_deref(), Some("loki"));
    assert_eq!(container_count(&sim.containers().await), 1);
    assert_eq!(
        sim.calls("POST /nodes/{node}/lxc").await,
        1,
        "never sent twice"
    );
}

#[tokio::test]
async fn a_failed_create_task_surfaces_the_log_tail() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    sim.inject("POST /nodes/{node}/lxc", "task_fail", 1).await;
    let error = client
        .create(&spec(10020, "n8n"), &deadline())
        .await
        .unwrap_err();
    match &error {
        PveError::TaskFailed { log_tail, upid, .. } => {
            assert_eq!(upid.task_type, "vzcreate");
            assert!(!log_tail.is_empty(), "log tail is shown");
        }
        other => panic!("expected TaskFailed, got {other:?}"),
    }
    assert!(!error.container_exists());
}

#[tokio::test]
async fn a_protected_container_is_not_destroyed_and_the_user_is_told_why() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4040, "protected");
    wanted.protection = true;
    client.create(&wanted, &deadline()).await.unwrap();
    let error = client
        .lxc("pve", 4040)
        .delete(&deadline())
        .await
        .unwrap_err();
    assert!(matches!(error, PveError::Protected { .. }), "{error:?}");
    assert!(error.to_string().contains("protection = false"));
    let state = client
        .lxc("pve", 4040)
        .read()
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(state.status, "running", "not stopped either");
}

#[tokio::test]
async fn the_disk_grows_in_place_and_a_shrink_is_refused() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4050, "disk");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    let volume = created.state.disk.clone().unwrap().volume;
    wanted.disk.size = 12;
    let grown = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .unwrap();
    let disk = grown.state.disk.clone().unwrap();
    assert_eq!((disk.size, disk.volume.as_str()), (12, volume.as_str()));
    wanted.disk.size = 8;
    let error = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&grown.state, &wanted, &deadline())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot shrink"), "{error}");
}

#[tokio::test]
async fn started_false_stops_and_true_starts_again() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4060, "power");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    wanted.started = false;
    let stopped = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .unwrap();
    assert_eq!(stopped.state.status, "stopped");
    wanted.started = true;
    let started = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&stopped.state, &wanted, &deadline())
        .await
        .unwrap();
    assert_eq!(started.state.status, "running");
    assert!(!started.rebooted, "never start and then reboot");
}

#[tokio::test]
async fn a_pending_change_on_a_running_container_reboots_it_once() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4070, "dns");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    wanted.nameserver = Some("1.1.1.1, 9.9.9.9".into());
    let outcome = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .unwrap();
    assert_eq!(outcome.state.nameserver.as_deref(), Some("1.1.1.1 9.9.9.9"));
    assert!(outcome.rebooted, "nameserver is applied on reboot only");
    assert_eq!(outcome.state.pending_reboot, Some(false));
    assert_eq!(
        sim.calls("POST /nodes/{node}/lxc/{vmid}/status/reboot")
            .await,
        1
    );
}

#[tokio::test]
async fn a_ct_id_in_use_is_found_with_its_node() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    assert!(client.ct_id_in_use(4080).await.unwrap().is_none());
    client
        .create(&spec(4080, "used"), &deadline())
        .await
        .unwrap();
    let location = client.ct_id_in_use(4080).await.unwrap().expect("in use");
    assert_eq!(
        (location.node.as_str(), location.kind.as_str()),
        ("pve", "lxc")
    );
}

#[tokio::test]
async fn templates_are_found_on_their_storage() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    assert!(client
        .template_exists("pve", support::TEMPLATE)
        .await
        .unwrap());
    assert!(!client
        .template_exists("pve", "local:vztmpl/nope_1.0_amd64.tar.zst")
        .await
        .unwrap());
}

#[tokio::test]
async fn an_update_waits_for_a_snapshot_lock_instead_of_failing() {
    let sim = TestSim::with_task_duration(
        pve_sim::SimConfig::default(),
        std::time::Duration::from_millis(400),
    )
    .await;
    let client = sim.token_client();
    let mut wanted = spec(4100, "locked");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    let snapshotter = client.clone();
    let snapshot = tokio::spawn(async move {
        snapshotter
            .create_snapshot("pve", 4100, "pre-install", None, &deadline())
            .await
    });
    // Wait until the snapshot task holds the lock, so that the update really meets it.
    loop {
        let state = client.lxc("pve", 4100).read().await.unwrap().unwrap();
        if state.lock.as_deref() == Some("snapshot") {
            break;
        }
        assert!(
            !snapshot.is_finished(),
            "the snapshot finished before we saw its lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    wanted.memory = 1536;
    let updated = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .expect("the update waits for the lock");
    assert_eq!(updated.state.memory, 1536);
    assert!(
        sim.calls("PUT /nodes/{node}/lxc/{vmid}/config").await >= 2,
        "the first PUT met the lock and was retried"
    );
    snapshot.await.unwrap().expect("the snapshot succeeded too");
}

#[tokio::test]
async fn a_lost_update_answer_is_settled_by_reading_back() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4110, "lost");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    sim.inject("PUT /nodes/{node}/lxc/{vmid}/config", "drop", 1)
        .await;
    wanted.cores = 2;
    let updated = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .expect("update settles after the dropped answer");
    assert_eq!(updated.state.cores, Some(2));
}

#[tokio::test]
async fn tickets_are_renewed_when_they_get_old() {
    let sim = TestSim::start().await;
    let mut config = sim.config(pve::Auth::Password {
        username: "root@pam".into(),
        password: pve::Secret::new(support::ROOT_PASSWORD),
    });
    config.ticket_renew_after = std::time::Duration::ZERO;
    let client = pve::PveClient::new(config).unwrap();
    let created = client
        .create(&spec(4120, "ticket"), &deadline())
        .await
        .unwrap();
    assert_eq!(created.state.status, "running");
    assert!(
        sim.calls("POST /access/ticket").await >= 2,
        "logged in again"
    );
}

#[tokio::test]
async fn a_server_error_on_create_is_settled_before_sending_it_again() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    sim.inject("POST /nodes/{node}/lxc", "http500", 1).await;
    let created = client
        .create(&spec(4160, "retried"), &deadline())
        .await
        .expect("create succeeds on the second try");
    assert_eq!(created.state.hostname.as_deref(), Some("retried"));
    assert_eq!(sim.calls("POST /nodes/{node}/lxc").await, 2);
    assert_eq!(container_count(&sim.containers().await), 1);
}

#[tokio::test]
async fn a_proxy_timeout_on_update_is_settled_by_reading_back() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4170, "proxy");
    let created = client.create(&wanted, &deadline()).await.unwrap();
    sim.inject("PUT /nodes/{node}/lxc/{vmid}/config", "http596", 1)
        .await;
    wanted.swap = 1024;
    let updated = client
        .lxc(&wanted.node, wanted.ct_id)
        .update(&created.state, &wanted, &deadline())
        .await
        .expect("update settles after the 596");
    assert_eq!(updated.state.swap, 1024);
}

#[tokio::test]
async fn a_persistent_server_error_on_create_gives_up_with_the_error() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    sim.inject("POST /nodes/{node}/lxc", "http500", 1000).await;
    let error = client
        .create(&spec(4180, "broken"), &deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(error, PveError::Server { status: 500, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("journal"), "{error}");
}

/// A root shell that applies `pct set` through a root@pam password login (what `pct set` on
/// the node amounts to), recording what it was asked.
struct RecordingShell {
    root: pve::PveClient,
    asked: std::sync::Mutex<Vec<String>>,
}

impl pve::RootShell for RecordingShell {
    fn pct_set<'a>(
        &'a self,
        node: &'a str,
        ct_id: u32,
        set: &'a [(String, String)],
        delete: &'a [String],
    ) -> pve::RootShellFuture<'a> {
        Box::pin(async move {
            {
                let mut asked = self.asked.lock().unwrap();
                asked.extend(set.iter().map(|(k, _)| k.clone()));
                asked.extend(delete.iter().map(|k| format!("-{k}")));
            }
            let mut params = pve::api::Params::new();
            for (k, v) in set {
                params.push(k, v.clone());
            }
            if !delete.is_empty() {
                params.push("delete", delete.join(","));
            }
            self.root
                .call(
                    pve::api::Method::Put,
                    &format!("/nodes/{node}/lxc/{ct_id}/config"),
                    &params,
                    pve::api::Replay::Unsafe,
                    &deadline(),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

#[tokio::test]
async fn with_a_root_shell_a_token_creates_and_updates_root_only_options_through_it() {
    let sim = TestSim::start().await;
    let shell = std::sync::Arc::new(RecordingShell {
        root: sim.password_client(),
        asked: Default::default(),
    });
    let client = sim.token_client().with_root_shell(shell.clone());
    let mut wanted = spec(4040, "vpn");
    wanted.features.keyctl = true;
    wanted.devices.push(pve::DeviceSpec {
        index: 0,
        path: "/dev/net/tun".into(),
        mode: Some("0666".into()),
        uid: None,
        gid: None,
    });
    wanted
        .mount_points
        .push(pve::MountPointSpec::volume(0, "/data", "local-lvm", 4));
    let created = client.create(&wanted, &deadline()).await.expect("create");
    assert_eq!(
        *shell.asked.lock().unwrap(),
        vec!["features".to_string(), "dev0".to_string()],
        "only the root-only options go through the shell"
    );
    let state = created.state;
    assert!(state.features.keyctl && state.features.nesting);
    assert_eq!(state.slots.devices[&0].path, "/dev/net/tun");
    assert_eq!(
        state.slots.mount_points[&0].size,
        Some(4),
        "the volume came through the API"
    );

    shell.asked.lock().unwrap().clear();
    wanted.devices.clear();
    wanted.memory = 2048;
    let updated = client
        .lxc("pve", 4040)
        .update(&state, &wanted, &deadline())
        .await
        .expect("update");
    assert_eq!(*shell.asked.lock().unwrap(), vec!["-dev0".to_string()]);
    assert!(updated.state.slots.devices.is_empty());
    assert_eq!(updated.state.memory, 2048);
}

#[tokio::test]
async fn a_token_without_a_root_shell_is_refused_root_only_options_naming_the_ways_out() {
    let sim = TestSim::start().await;
    let mut wanted = spec(4041, "gpu");
    wanted.devices.push(pve::DeviceSpec {
        index: 0,
        path: "/dev/dri/renderD128".into(),
        mode: None,
        uid: None,
        gid: None,
    });
    let error = sim
        .token_client()
        .create(&wanted, &deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("device /dev/dri/renderD128"), "{error}");
    assert!(error.contains("root_only_over_ssh"), "{error}");
    assert_eq!(container_count(&sim.containers().await), 0);
}

#[tokio::test]
async fn mount_points_are_created_grown_and_detached() {
    let sim = TestSim::start().await;
    let client = sim.token_client();
    let mut wanted = spec(4042, "pg");
    wanted.mount_points.push(pve::MountPointSpec::volume(
        0,
        "/var/lib/postgresql",
        "local-lvm",
        4,
    ));
    wanted.mount_points.push(pve::MountPointSpec::volume(
        1,
        "/var/log/postgresql",
        "local-lvm",
        1,
    ));
    let created = client.create(&wanted, &deadline()).await.expect("create");
    assert_eq!(created.state.slots.mount_points.len(), 2);
    wanted.mount_points[0].source = pve::MountSource::Volume {
        storage: "local-lvm".into(),
        size: 8,
    };
    wanted.mount_points.truncate(1);
    let updated = client
        .lxc("pve", 4042)
        .update(&created.state, &wanted, &deadline())
        .await
        .expect("update");
    let mps = &updated.state.slots.mount_points;
    assert_eq!(mps.len(), 1, "{mps:?}");
    assert_eq!(mps[&0].size, Some(8), "grown in place");
    shrink_is_refused(&client, &updated.state, &mut wanted).await;
}

async fn shrink_is_refused(
    client: &pve::PveClient,
    state: &pve::ContainerState,
    wanted: &mut pve::ContainerSpec,
) {
    wanted.mount_points[0].source = pve::MountSource::Volume {
        storage: "local-lvm".into(),
        size: 2,
    };
    let error = client
        .lxc("pve", state.ct_id)
        .update(state, wanted, &deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot shrink to 2 GiB"), "{error}");
}
