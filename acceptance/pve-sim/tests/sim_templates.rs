//! Templates: the appliance list and its download (pve-manager `PVE/API2/Nodes.pm`, `aplinfo`
//! and `apl_download`; pve-common `src/PVE/Tools.pm`, `download_file_from_url`), the
//! `vztmpl` content of a storage, freeing a template (pve-storage
//! `src/PVE/API2/Storage/Content.pm`, `delete`), and the knobs that start a node without one.

mod sim_support;

use std::time::Duration;

use pve_sim::SimConfig;
use serde_json::json;
use sim_support::{urlencode, TestSim};

const DEBIAN_FILE: &str = "debian-12-standard_12.7-1_amd64.tar.zst";
const DEBIAN: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

async fn without_debian() -> TestSim {
    TestSim::start_with(SimConfig {
        task_duration: Duration::from_millis(20),
        missing_templates: vec![DEBIAN_FILE.to_string()],
        ..SimConfig::default()
    })
    .await
}

async fn vztmpl_volids(t: &TestSim) -> Vec<String> {
    let answer = t
        .api(
            "GET",
            "/nodes/pve/storage/local/content",
            &[("content", "vztmpl")],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer
        .data()
        .as_array()
        .expect("content list")
        .iter()
        .map(|v| v["volid"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `POST /nodes/pve/aplinfo` of `template` to `storage`.
async fn download(t: &TestSim, storage: &str, template: &str) -> sim_support::Answer {
    t.api(
        "POST",
        "/nodes/pve/aplinfo",
        &[("storage", storage), ("template", template)],
    )
    .await
}

async fn task_log(t: &TestSim, upid: &str) -> Vec<String> {
    let log = t
        .get(&format!("/nodes/pve/tasks/{}/log", urlencode(upid)))
        .await;
    log.data()
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["t"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn the_appliance_list_offers_the_templates_the_examples_use() {
    let t = TestSim::start().await;
    let answer = t.get("/nodes/pve/aplinfo").await;
    assert_eq!(answer.status, 200);
    let list = answer.data().as_array().expect("list").clone();
    let debian = list
        .iter()
        .find(|a| a["template"] == DEBIAN_FILE)
        .expect("debian-12-standard is listed");
    assert_eq!(debian["package"], "debian-12-standard");
    assert_eq!(debian["version"], "12.7-1");
    assert_eq!(debian["type"], "lxc");
    assert_eq!(debian["os"], "debian-12");
    assert_eq!(debian["section"], "system");
    assert_eq!(
        debian["location"],
        "http://download.proxmox.com/images/system/debian-12-standard_12.7-1_amd64.tar.zst"
    );
    assert!(list
        .iter()
        .any(|a| a["template"] == "ubuntu-24.04-standard_24.04-2_amd64.tar.zst"));
}

#[tokio::test]
async fn a_missing_template_is_downloaded_in_a_download_task_and_then_usable() {
    let t = without_debian().await;
    assert!(!vztmpl_volids(&t).await.contains(&DEBIAN.to_string()));
    assert_eq!(
        t.create_ct(500, &[("ostemplate", DEBIAN)]).await,
        format!("unable to create CT 500 - can't find file '{DEBIAN}'")
    );
    let answer = download(&t, "local", DEBIAN_FILE).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let upid = answer.data().as_str().expect("UPID").to_string();
    assert!(
        upid.contains(&format!(":download:{DEBIAN_FILE}:root@pam!ralf:")),
        "{upid}"
    );
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    let log = task_log(&t, &upid).await;
    assert_eq!(
        log.first().map(String::as_str),
        Some("downloading http://download.proxmox.com/images/system/debian-12-standard_12.7-1_amd64.tar.zst to /var/lib/vz/template/cache/debian-12-standard_12.7-1_amd64.tar.zst")
    );
    assert!(log
        .iter()
        .any(|l| l == "calculating checksum...OK, checksum verified"));
    assert!(vztmpl_volids(&t).await.contains(&DEBIAN.to_string()));
    assert_eq!(t.create_ct(500, &[("ostemplate", DEBIAN)]).await, "OK");
    assert_eq!(t.config(500).await["ostype"], "debian");
}

#[tokio::test]
async fn downloading_a_template_that_is_there_fetches_nothing() {
    let t = TestSim::start().await;
    let answer = download(&t, "local", DEBIAN_FILE).await;
    let upid = answer.data().as_str().expect("UPID").to_string();
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    assert!(task_log(&t, &upid).await.iter().any(|l| l
        == "calculating checksum of existing file...OK, got correct file already, no need to download"));
}

#[tokio::test]
async fn download_errors_are_proxmox_s() {
    let t = TestSim::start().await;
    let unknown = download(&t, "local", "debian-99-standard.tar.zst").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error("template"), "no such template");
    let no_vztmpl = download(&t, "local-lvm", DEBIAN_FILE).await;
    assert_eq!(no_vztmpl.status, 500);
    assert_eq!(
        no_vztmpl.message(),
        "storage 'local-lvm' does not support templates\n"
    );
    let no_storage = download(&t, "nas", DEBIAN_FILE).await;
    assert_eq!(no_storage.message(), "storage 'nas' does not exist\n");
    let missing_params = t.api("POST", "/nodes/pve/aplinfo", &[]).await;
    assert_eq!(missing_params.status, 400);
    assert_eq!(
        missing_params.error("template"),
        "property is missing and it is not optional"
    );
}

#[tokio::test]
async fn a_failed_download_leaves_the_template_missing() {
    let t = without_debian().await;
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "POST /nodes/{node}/aplinfo", "kind": "task_fail", "count": 1 })),
    )
    .await;
    let download_debian = [("storage", "local"), ("template", DEBIAN_FILE)];
    let status = t
        .run_task("POST", "/nodes/pve/aplinfo", &download_debian)
        .await;
    assert!(
        status.starts_with("download failed: command 'wget"),
        "{status}"
    );
    assert!(!vztmpl_volids(&t).await.contains(&DEBIAN.to_string()));
    // A second try succeeds.
    assert_eq!(
        t.run_task("POST", "/nodes/pve/aplinfo", &download_debian)
            .await,
        "OK"
    );
    assert!(vztmpl_volids(&t).await.contains(&DEBIAN.to_string()));
}

#[tokio::test]
async fn deleting_a_template_through_storage_content_removes_it() {
    let t = TestSim::start().await;
    let path = format!("/nodes/pve/storage/local/content/{}", urlencode(DEBIAN));
    let answer = t.api("DELETE", &path, &[]).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let upid = answer.data().as_str().expect("UPID").to_string();
    assert!(upid.contains(":imgdel:local:"), "{upid}");
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    assert!(task_log(&t, &upid)
        .await
        .contains(&format!("Removed volume '{DEBIAN}'")));
    assert!(!vztmpl_volids(&t).await.contains(&DEBIAN.to_string()));
}

#[tokio::test]
async fn the_missing_template_knobs_hold_across_reset() {
    let t = without_debian().await;
    t.admin("POST", "/sim/reset", None).await;
    assert!(!vztmpl_volids(&t).await.contains(&DEBIAN.to_string()));

    let t = TestSim::start().await;
    let removed = t
        .admin(
            "DELETE",
            "/sim/templates/ubuntu-24.04-standard_24.04-2_amd64.tar.zst",
            None,
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    let listed = t.admin("GET", "/sim/templates", None).await;
    assert_eq!(listed.body["pve"], json!([DEBIAN]));
    assert_eq!(
        t.admin("DELETE", "/sim/templates/nothing.tar.zst", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_storage_list_filters_by_any_wanted_content_type() {
    let t = TestSim::start().await;
    let ids = |a: &sim_support::Answer| -> Vec<String> {
        a.data()
            .as_array()
            .expect("storage list")
            .iter()
            .map(|s| s["storage"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let both = t
        .api(
            "GET",
            "/nodes/pve/storage",
            &[("content", "vztmpl,rootdir")],
        )
        .await;
    assert_eq!(ids(&both), vec!["local", "local-lvm"]);
    let templates = t
        .api("GET", "/nodes/pve/storage", &[("content", "vztmpl")])
        .await;
    assert_eq!(ids(&templates), vec!["local"]);
    assert_eq!(templates.data()[0]["content"], "backup,iso,vztmpl");
    let none = t
        .api(
            "GET",
            "/nodes/pve/storage",
            &[("content", "vztmpl"), ("storage", "local-lvm")],
        )
        .await;
    assert_eq!(none.status, 400);
    assert_eq!(none.error("storage"), "No such storage.");
}
