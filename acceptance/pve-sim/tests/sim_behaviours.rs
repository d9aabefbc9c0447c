//! The behaviours of a Proxmox VE cluster that pve-sim reproduces (reference section 6), each
//! pinned over real HTTPS with the exact Proxmox texts.

mod sim_support;

use std::time::Duration;

use serde_json::json;
use sim_support::{urlencode, TestSim};

#[tokio::test]
async fn asynchronous_tasks_run_for_the_configured_duration_and_end_with_task_ok() {
    let t = TestSim::start().await;
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "task_duration_ms": 300 })),
    )
    .await;
    let answer = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "200"),
                ("ostemplate", sim_support::UBUNTU),
                ("rootfs", "local-lvm:8"),
            ],
        )
        .await;
    let upid = answer.data().as_str().expect("UPID").to_string();
    assert!(
        upid.starts_with("UPID:pve:") && upid.ends_with(":vzcreate:200:root@pam!ralf:"),
        "{upid}"
    );
    let status = t
        .get(&format!("/nodes/pve/tasks/{}/status", urlencode(&upid)))
        .await;
    assert_eq!(status.data()["status"], "running");
    assert!(status.data().get("exitstatus").is_none());
    assert_eq!(status.data()["user"], "root@pam");
    assert_eq!(status.data()["tokenid"], "ralf");
    // While the create runs the config holds only the create lock.
    let config = t.get("/nodes/pve/lxc/200/config").await;
    assert_eq!(config.data()["lock"], "create");
    let done = t.wait_task("pve", &upid).await;
    assert_eq!(done["exitstatus"], "OK");
    let log = t
        .get(&format!("/nodes/pve/tasks/{}/log", urlencode(&upid)))
        .await;
    let lines = log.data().as_array().expect("log lines");
    assert_eq!(lines.last().expect("a line")["t"], "TASK OK");
    assert_eq!(log.body["total"].as_u64(), Some(lines.len() as u64));
    let unknown = t
        .get("/nodes/pve/tasks/UPID:pve:00000001:00000001:00000001:vzstart:1:root@pam:/status")
        .await;
    assert_eq!(
        (unknown.status, unknown.error("upid")),
        (400, "no such task")
    );
    let garbage = t.get("/nodes/pve/tasks/not-a-upid/status").await;
    assert_eq!(garbage.error("upid"), "unable to parse worker upid");
}

#[tokio::test]
async fn config_locks_refuse_put_synchronously_and_start_inside_the_task() {
    let t = TestSim::start().await;
    t.create_ct(201, &[]).await;
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "task_duration_ms": 400 })),
    )
    .await;
    let snap = t
        .api(
            "POST",
            "/nodes/pve/lxc/201/snapshot",
            &[("snapname", "pre-install")],
        )
        .await;
    let upid = snap.data().as_str().expect("UPID").to_string();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(t.status(201).await["lock"], "snapshot");
    let put = t
        .api("PUT", "/nodes/pve/lxc/201/config", &[("cores", "2")])
        .await;
    assert_eq!(
        (put.status, put.message()),
        (500, "CT is locked (snapshot)\n")
    );
    let destroy = t.api("DELETE", "/nodes/pve/lxc/201", &[]).await;
    assert_eq!(destroy.message(), "CT is locked (snapshot)\n");
    // start returns a UPID; the lock error appears in the task.
    let start = t.api("POST", "/nodes/pve/lxc/201/status/start", &[]).await;
    assert_eq!(start.status, 200);
    let start_status = t
        .wait_task("pve", start.data().as_str().expect("UPID"))
        .await;
    assert_eq!(start_status["exitstatus"], "CT is locked (snapshot)");
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    assert!(t.status(201).await.get("lock").is_none());
}

#[tokio::test]
async fn stale_digest_is_refused_with_proxmox_message() {
    let t = TestSim::start().await;
    t.create_ct(202, &[]).await;
    let digest = t.config(202).await["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    assert_eq!(digest.len(), 40);
    let first = t
        .api(
            "PUT",
            "/nodes/pve/lxc/202/config",
            &[("cores", "2"), ("digest", &digest)],
        )
        .await;
    assert_eq!(first.status, 200);
    assert!(first.data().is_null());
    let second = t
        .api(
            "PUT",
            "/nodes/pve/lxc/202/config",
            &[("cores", "3"), ("digest", &digest)],
        )
        .await;
    assert_eq!(second.status, 500);
    assert_eq!(
        second.message(),
        "detected modified configuration - file changed by other user? Try again.\n"
    );
    assert_ne!(t.config(202).await["digest"], digest.as_str());
}

#[tokio::test]
async fn pending_changes_show_in_config_and_apply_on_reboot() {
    let t = TestSim::start().await;
    t.create_ct(203, &[("start", "1"), ("features", "nesting=1")])
        .await;
    let put = t
        .api(
            "PUT",
            "/nodes/pve/lxc/203/config",
            &[("nameserver", "1.1.1.1,9.9.9.9"), ("cores", "2")],
        )
        .await;
    assert_eq!(put.status, 200);
    let merged = t.config(203).await;
    assert_eq!(merged["nameserver"], "1.1.1.1 9.9.9.9");
    assert_eq!(merged["cores"], 2, "cores is hot-plugged");
    let current = t.get("/nodes/pve/lxc/203/config?current=1").await;
    assert_eq!(
        current.data().get("nameserver"),
        None,
        "the new nameserver waits as pending; the current config has none"
    );
    let pending = t.get("/nodes/pve/lxc/203/pending").await;
    let ns = pending
        .data()
        .as_array()
        .expect("list")
        .iter()
        .find(|i| i["key"] == "nameserver")
        .expect("nameserver entry")
        .clone();
    assert_eq!(ns["pending"], "1.1.1.1 9.9.9.9");
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/203/status/reboot", &[])
            .await,
        "OK"
    );
    let after = t.get("/nodes/pve/lxc/203/config?current=1").await;
    assert_eq!(after.data()["nameserver"], "1.1.1.1 9.9.9.9");
}

#[tokio::test]
async fn snapshots_chain_parents_and_end_with_the_current_entry() {
    let t = TestSim::start().await;
    t.create_ct(204, &[]).await;
    for name in ["pre-install", "post-install"] {
        let exit = t
            .run_task(
                "POST",
                "/nodes/pve/lxc/204/snapshot",
                &[("snapname", name), ("description", "before")],
            )
            .await;
        assert_eq!(exit, "OK");
    }
    let list = t.get("/nodes/pve/lxc/204/snapshot").await;
    let items = list.data().as_array().expect("list").clone();
    let current = items.last().expect("current");
    assert_eq!(current["name"], "current");
    assert_eq!(current["description"], "You are here!");
    assert_eq!(current["parent"], "post-install");
    let post = items
        .iter()
        .find(|i| i["name"] == "post-install")
        .expect("post-install");
    assert_eq!(post["parent"], "pre-install");
    assert_eq!(post["description"], "before\n");
    let dup = t
        .run_task(
            "POST",
            "/nodes/pve/lxc/204/snapshot",
            &[("snapname", "pre-install")],
        )
        .await;
    assert_eq!(dup, "snapshot name 'pre-install' already used");
    // Deleting the middle snapshot relinks its child and `current`.
    assert_eq!(
        t.run_task("DELETE", "/nodes/pve/lxc/204/snapshot/post-install", &[])
            .await,
        "OK"
    );
    let list = t.get("/nodes/pve/lxc/204/snapshot").await;
    assert_eq!(
        list.data()
            .as_array()
            .expect("list")
            .last()
            .expect("current")["parent"],
        "pre-install"
    );
    let missing = t.get("/nodes/pve/lxc/204/snapshot/nope/config").await;
    assert_eq!(
        (missing.status, missing.message()),
        (500, "snapshot 'nope' does not exist\n")
    );
}

#[tokio::test]
async fn snapshot_named_current_is_refused_with_proxmox_error() {
    let t = TestSim::start().await;
    t.create_ct(205, &[]).await;
    for reserved in ["current", "vzdump"] {
        let answer = t
            .api(
                "POST",
                "/nodes/pve/lxc/205/snapshot",
                &[("snapname", reserved)],
            )
            .await;
        assert_eq!(answer.status, 500);
        assert_eq!(
            answer.message(),
            format!("unable to use snapshot name '{reserved}' (reserved name)\n")
        );
    }
    let short = t
        .api("POST", "/nodes/pve/lxc/205/snapshot", &[("snapname", "a")])
        .await;
    assert_eq!(
        short.error("snapname"),
        "invalid format - invalid configuration ID 'a'\n"
    );
    let vmstate = t
        .api(
            "POST",
            "/nodes/pve/lxc/205/snapshot",
            &[("snapname", "ok1"), ("vmstate", "1")],
        )
        .await;
    assert_eq!(
        vmstate.error("vmstate"),
        "property is not defined in schema and the schema does not allow additional properties"
    );
}

#[tokio::test]
async fn snapshots_on_local_dir_storage_fail_in_the_task() {
    let t = TestSim::start().await;
    let refused = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "206"),
                ("ostemplate", sim_support::UBUNTU),
                ("rootfs", "local:8"),
            ],
        )
        .await;
    assert_eq!(
        refused.error("storage"),
        "storage 'local' does not support container directories"
    );
    let sync = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[("vmid", "206"), ("ostemplate", sim_support::UBUNTU)],
        )
        .await;
    assert_eq!(
        sync.status, 400,
        "default storage local has no rootdir content"
    );
    assert_eq!(
        sync.error("storage"),
        "storage 'local' does not support container directories"
    );
    // An administrator can allow container directories on `local`; snapshots stay impossible.
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "local_rootdir": true })),
    )
    .await;
    assert_eq!(t.create_ct(206, &[("rootfs", "local:8")]).await, "OK");
    assert_eq!(
        t.config(206).await["rootfs"],
        "local:206/vm-206-disk-0.raw,size=8G"
    );
    let exit = t
        .run_task(
            "POST",
            "/nodes/pve/lxc/206/snapshot",
            &[("snapname", "pre-install")],
        )
        .await;
    assert_eq!(exit, "snapshot feature is not available");
}

#[tokio::test]
async fn rollback_force_stops_restores_config_and_starts_when_asked() {
    let t = TestSim::start().await;
    t.create_ct(207, &[("start", "1"), ("cores", "1"), ("memory", "1024")])
        .await;
    assert_eq!(
        t.run_task(
            "POST",
            "/nodes/pve/lxc/207/snapshot",
            &[("snapname", "pre-install")]
        )
        .await,
        "OK"
    );
    t.api(
        "PUT",
        "/nodes/pve/lxc/207/config",
        &[("cores", "4"), ("memory", "2048")],
    )
    .await;
    assert_eq!(t.config(207).await["cores"], 4);
    let exit = t
        .run_task(
            "POST",
            "/nodes/pve/lxc/207/snapshot/pre-install/rollback",
            &[],
        )
        .await;
    assert_eq!(exit, "OK");
    let config = t.config(207).await;
    assert_eq!(
        (config["cores"].clone(), config["memory"].clone()),
        (json!(1), json!(1024))
    );
    assert_eq!(
        t.status(207).await["status"],
        "stopped",
        "rollback leaves the CT stopped"
    );
    let exit = t
        .run_task(
            "POST",
            "/nodes/pve/lxc/207/snapshot/pre-install/rollback",
            &[("start", "1")],
        )
        .await;
    assert_eq!(exit, "OK");
    assert_eq!(t.status(207).await["status"], "running");
    let missing = t
        .run_task("POST", "/nodes/pve/lxc/207/snapshot/nope/rollback", &[])
        .await;
    assert_eq!(missing, "snapshot 'nope' does not exist");
}

#[tokio::test]
async fn vmids_outside_the_range_are_refused_and_ids_are_unique_cluster_wide() {
    let t = TestSim::start_with(pve_sim::SimConfig {
        nodes: vec!["pve".into(), "pve2".into()],
        task_duration: Duration::from_millis(10),
        ..pve_sim::SimConfig::default()
    })
    .await;
    for bad in ["99", "1000000000"] {
        let answer = t
            .api(
                "POST",
                "/nodes/pve/lxc",
                &[("vmid", bad), ("ostemplate", sim_support::UBUNTU)],
            )
            .await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.error("vmid"),
            "invalid format - value does not look like a valid VM ID\n"
        );
    }
    assert_eq!(t.create_ct(208, &[]).await, "OK");
    let again = t
        .api(
            "POST",
            "/nodes/pve2/lxc",
            &[
                ("vmid", "208"),
                ("ostemplate", sim_support::UBUNTU),
                ("rootfs", "local-lvm:8"),
            ],
        )
        .await;
    assert_eq!(
        (again.status, again.message()),
        (500, "CT 208 already exists on node 'pve'\n")
    );
    let nextid = t.get("/cluster/nextid?vmid=208").await;
    assert_eq!(nextid.error("vmid"), "VM 208 already exists");
    let free = t.get("/cluster/nextid").await;
    assert_eq!(free.data(), "100");
    let elsewhere = t.get("/nodes/pve2/lxc/208/config").await;
    assert_eq!(
        elsewhere.message(),
        "Configuration file 'nodes/pve2/lxc/208.conf' does not exist\n"
    );
}

#[tokio::test]
async fn two_concurrent_creates_of_one_vmid_exactly_one_succeeds() {
    let t = TestSim::start().await;
    let form = [
        ("vmid", "209"),
        ("ostemplate", sim_support::UBUNTU),
        ("rootfs", "local-lvm:8"),
    ];
    for _round in 0..5 {
        let (a, b) = tokio::join!(
            t.api("POST", "/nodes/pve/lxc", &form),
            t.api("POST", "/nodes/pve/lxc", &form)
        );
        let statuses = [a.status, b.status];
        assert!(
            statuses.contains(&200) && statuses.contains(&500),
            "{statuses:?}"
        );
        let loser = if a.status == 500 { &a } else { &b };
        assert_eq!(loser.message(), "CT 209 already exists on node 'pve'\n");
        let winner = if a.status == 200 { &a } else { &b };
        t.wait_task("pve", winner.data().as_str().expect("UPID"))
            .await;
        assert_eq!(t.run_task("DELETE", "/nodes/pve/lxc/209", &[]).await, "OK");
    }
}

#[tokio::test]
async fn config_reads_back_normalised_like_proxmox() {
    let t = TestSim::start().await;
    let exit = t
        .create_ct(
            210,
            &[
                (
                    "net0",
                    "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,tag=40,firewall=1",
                ),
                ("tags", "Web;ralf,svc"),
                ("description", "hello"),
                ("features", "nesting=1"),
                ("hostname", "web-01"),
            ],
        )
        .await;
    assert_eq!(exit, "OK");
    let config = t.config(210).await;
    let net0 = config["net0"].as_str().expect("net0");
    let mac = net0
        .split(',')
        .find_map(|p| p.strip_prefix("hwaddr="))
        .expect("a generated hwaddr");
    assert!(mac.starts_with("BC:24:11:") && mac.len() == 17, "{mac}");
    assert_eq!(
        net0,
        format!("name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr={mac},ip=10.0.0.5/24,tag=40,type=veth")
    );
    assert_eq!(config["tags"], "ralf;svc;web");
    assert_eq!(config["rootfs"], "local-lvm:vm-210-disk-0,size=8G");
    assert_eq!(config["description"], "hello\n");
    assert_eq!(config["unprivileged"], 1);
    assert_eq!(config["memory"], 512);
    assert_eq!(config["ostype"], "ubuntu");
    // Without DNS settings the config keeps neither key.
    assert_eq!(config.get("nameserver"), None);
    assert_eq!(config.get("searchdomain"), None);
    // The MAC stays stable on later reads.
    assert_eq!(t.config(210).await["net0"], net0);
}

#[tokio::test]
async fn start_and_stop_are_not_idempotent_and_say_so() {
    let t = TestSim::start().await;
    t.create_ct(211, &[]).await;
    let stop = t.api("POST", "/nodes/pve/lxc/211/status/stop", &[]).await;
    assert_eq!((stop.status, stop.message()), (500, "CT 211 not running\n"));
    let shutdown = t
        .api("POST", "/nodes/pve/lxc/211/status/shutdown", &[])
        .await;
    assert_eq!(shutdown.message(), "CT 211 not running\n");
    let reboot = t.api("POST", "/nodes/pve/lxc/211/status/reboot", &[]).await;
    assert_eq!(reboot.message(), "VM 211 not running\n");
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/211/status/start", &[])
            .await,
        "OK"
    );
    let status = t.status(211).await;
    assert_eq!(status["status"], "running");
    assert_eq!(status["ha"], json!({ "managed": 0 }));
    let again = t.api("POST", "/nodes/pve/lxc/211/status/start", &[]).await;
    assert_eq!(
        (again.status, again.message()),
        (500, "CT 211 already running\n")
    );
    let skiplock = t
        .api(
            "POST",
            "/nodes/pve/lxc/211/status/stop",
            &[("skiplock", "1")],
        )
        .await;
    assert_eq!(skiplock.error("skiplock"), "Only root may use this option.");
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/211/status/shutdown", &[])
            .await,
        "OK"
    );
    assert_eq!(t.status(211).await["status"], "stopped");
}

#[tokio::test]
async fn protection_flag_blocks_destroy_and_disk_changes() {
    let t = TestSim::start().await;
    t.create_ct(212, &[("protection", "1")]).await;
    let destroy = t
        .api("DELETE", "/nodes/pve/lxc/212", &[("purge", "1")])
        .await;
    assert_eq!(
        (destroy.status, destroy.message()),
        (500, "can't remove CT 212 - protection mode enabled\n")
    );
    let rootfs = t
        .api(
            "PUT",
            "/nodes/pve/lxc/212/config",
            &[(
                "rootfs",
                "local-lvm:vm-212-disk-0,size=8G,mountoptions=noatime",
            )],
        )
        .await;
    assert_eq!(
        rootfs.message(),
        "can't update CT 212 drive 'rootfs' - protection mode enabled\n"
    );
    let off = t
        .api(
            "PUT",
            "/nodes/pve/lxc/212/config",
            &[("delete", "protection")],
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(
        t.run_task(
            "DELETE",
            "/nodes/pve/lxc/212",
            &[("purge", "1"), ("destroy-unreferenced-disks", "1")]
        )
        .await,
        "OK"
    );
    assert_eq!(t.get("/nodes/pve/lxc/212/config").await.status, 500);
}

#[tokio::test]
async fn destroy_of_a_running_container_needs_force() {
    let t = TestSim::start().await;
    t.create_ct(213, &[("start", "1")]).await;
    let refused = t.api("DELETE", "/nodes/pve/lxc/213", &[]).await;
    assert_eq!(
        refused.message(),
        "unable to destroy CT 213 - container is running\n"
    );
    assert_eq!(
        t.run_task("DELETE", "/nodes/pve/lxc/213", &[("force", "1")])
            .await,
        "OK"
    );
    let containers = t.admin("GET", "/sim/containers", None).await;
    assert_eq!(containers.body, json!([]));
}

#[tokio::test]
async fn resize_grows_only() {
    let t = TestSim::start().await;
    t.create_ct(214, &[]).await;
    let shrink = t
        .api(
            "PUT",
            "/nodes/pve/lxc/214/resize",
            &[("disk", "rootfs"), ("size", "4G")],
        )
        .await;
    assert_eq!(
        (shrink.status, shrink.message()),
        (500, "unable to shrink disk size\n")
    );
    let same = t
        .api(
            "PUT",
            "/nodes/pve/lxc/214/resize",
            &[("disk", "rootfs"), ("size", "8G")],
        )
        .await;
    assert_eq!(same.message(), "disk is already at specified size\n");
    assert_eq!(
        t.run_task(
            "PUT",
            "/nodes/pve/lxc/214/resize",
            &[("disk", "rootfs"), ("size", "+2G")]
        )
        .await,
        "OK"
    );
    assert_eq!(
        t.config(214).await["rootfs"],
        "local-lvm:vm-214-disk-0,size=10G"
    );
    assert_eq!(t.status(214).await["maxdisk"], 10u64 << 30);
}

#[tokio::test]
async fn config_update_errors_match_proxmox() {
    let t = TestSim::start().await;
    t.create_ct(215, &[]).await;
    let empty = t.api("PUT", "/nodes/pve/lxc/215/config", &[]).await;
    assert_eq!(empty.message(), "no options specified\n");
    let required = t
        .api("PUT", "/nodes/pve/lxc/215/config", &[("delete", "memory")])
        .await;
    assert_eq!(
        required.message(),
        "unable to delete required option 'memory'\n"
    );
    let both = t
        .api(
            "PUT",
            "/nodes/pve/lxc/215/config",
            &[("cores", "2"), ("delete", "cores")],
        )
        .await;
    assert_eq!(
        both.error("delete"),
        "you can't use '-cores' and -delete cores' at the same time"
    );
    let privileged = t
        .api("PUT", "/nodes/pve/lxc/215/config", &[("unprivileged", "0")])
        .await;
    assert_eq!(
        privileged.message(),
        "unable to modify read-only option: 'unprivileged'\n"
    );
    let deleted = t
        .api(
            "PUT",
            "/nodes/pve/lxc/215/config",
            &[("delete", "hostname")],
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert!(t.config(215).await.get("hostname").is_none());
    let gone = t.get("/nodes/pve/lxc/999/config").await;
    assert_eq!(
        gone.message(),
        "Configuration file 'nodes/pve/lxc/999.conf' does not exist\n"
    );
}
