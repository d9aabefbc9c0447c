//! Templates from the appliance index, as pve-manager `PVE/API2/Nodes.pm` (`apl_download`) and
//! pve-storage `src/PVE/API2/Storage/Content.pm` (`delete`) do them: a missing template is
//! downloaded by a `download` task and then listed on `local`; an unknown name is a parameter
//! error and a storage without `vztmpl` content a 500; removing a template is an `imgdel` task.

mod sim_support;

use serde_json::json;
use sim_support::{TestSim, UBUNTU};

const FILE: &str = "ubuntu-24.04-standard_24.04-2_amd64.tar.zst";

async fn on_local(t: &TestSim) -> Vec<String> {
    t.get("/nodes/pve/storage/local/content?content=vztmpl")
        .await
        .data()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v["volid"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_missing_template_is_downloaded_by_a_download_task_then_listed() {
    let t = TestSim::start().await;
    t.admin(
        "POST",
        "/sim/settings",
        Some(json!({ "missing_templates": [UBUNTU] })),
    )
    .await;
    assert!(!on_local(&t).await.contains(&UBUNTU.to_string()));
    let answer = t
        .api(
            "POST",
            "/nodes/pve/aplinfo",
            &[("storage", "local"), ("template", FILE)],
        )
        .await;
    let upid = answer.data().as_str().unwrap_or_default().to_string();
    assert!(upid.contains(":download:"), "a download task: {upid}");
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    assert!(on_local(&t).await.contains(&UBUNTU.to_string()));
}

#[tokio::test]
async fn an_unknown_template_or_a_storage_without_templates_is_refused() {
    let t = TestSim::start().await;
    let unknown = t
        .api(
            "POST",
            "/nodes/pve/aplinfo",
            &[("storage", "local"), ("template", "nope.tar.zst")],
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error("template"), "no such template");
    let lvm = t
        .api(
            "POST",
            "/nodes/pve/aplinfo",
            &[("storage", "local-lvm"), ("template", FILE)],
        )
        .await;
    assert_eq!(lvm.status, 500);
    assert!(
        lvm.message().contains("does not support templates"),
        "{:?}",
        lvm.body
    );
}

#[tokio::test]
async fn removing_a_template_is_an_imgdel_task_and_a_failed_download_leaves_it_missing() {
    let t = TestSim::start().await;
    let volume = UBUNTU.replace(':', "%3A").replace('/', "%2F");
    let exit = t
        .run_task(
            "DELETE",
            &format!("/nodes/pve/storage/local/content/{volume}"),
            &[],
        )
        .await;
    assert_eq!(exit, "OK");
    assert!(!on_local(&t).await.contains(&UBUNTU.to_string()));
    t.admin(
        "POST",
        "/sim/faults",
        Some(json!({ "endpoint": "POST /nodes/{node}/aplinfo", "kind": "task_fail", "count": 1 })),
    )
    .await;
    let exit = t
        .run_task(
            "POST",
            "/nodes/pve/aplinfo",
            &[("storage", "local"), ("template", FILE)],
        )
        .await;
    assert!(exit.contains("download failed"), "{exit}");
    assert!(!on_local(&t).await.contains(&UBUNTU.to_string()));
}
