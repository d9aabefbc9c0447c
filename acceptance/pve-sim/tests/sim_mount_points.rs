//! Mount points as pve-container handles them (`src/PVE/LXC/Config.pm`
//! `update_pct_config`, `vmconfig_apply_pending`, `apply_pending_mountpoint`; `src/PVE/LXC.pm`
//! `destroy_lxc_container`, `delete_mountpoint_volume`): new volumes are allocated and printed
//! with their size, a removed volume mount point is kept as `unused[n]`, deleting `unused[n]`
//! frees the volume, destroy frees what the container owns, and `resize` grows `mp[n]`.

mod sim_support;

use serde_json::Value;
use sim_support::TestSim;

fn volumes_on(content: &Value, vmid: u32) -> Vec<String> {
    content
        .as_array()
        .expect("content list")
        .iter()
        .filter(|v| v["vmid"] == vmid)
        .map(|v| v["volid"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn lvm_content(t: &TestSim) -> Value {
    let answer = t.get("/nodes/pve/storage/local-lvm/content").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.data().clone()
}

#[tokio::test]
async fn a_new_volume_mount_point_is_allocated_and_printed_with_its_size() {
    let t = TestSim::start().await;
    assert_eq!(
        t.create_ct(
            400,
            &[
                ("mp0", "local-lvm:4,mp=/var/lib/postgresql,backup=1"),
                (
                    "mp1",
                    "local-lvm:2,mp=/srv/minio,ro=1,acl=1,quota=0,replicate=0,shared=0"
                ),
            ],
        )
        .await,
        "OK"
    );
    let config = t.config(400).await;
    assert_eq!(
        config["mp0"],
        "local-lvm:vm-400-disk-1,mp=/var/lib/postgresql,backup=1,size=4G"
    );
    assert_eq!(
        config["mp1"],
        "local-lvm:vm-400-disk-2,mp=/srv/minio,acl=1,quota=0,replicate=0,ro=1,shared=0,size=2G"
    );
    assert_eq!(config["rootfs"], "local-lvm:vm-400-disk-0,size=8G");
    let content = lvm_content(&t).await;
    assert_eq!(volumes_on(&content, 400).len(), 3, "{content}");
}

#[tokio::test]
async fn deleting_a_volume_mount_point_keeps_the_volume_as_unused() {
    let t = TestSim::start().await;
    t.create_ct(401, &[("mp0", "local-lvm:4,mp=/data")]).await;
    let answer = t
        .api("PUT", "/nodes/pve/lxc/401/config", &[("delete", "mp0")])
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let config = t.config(401).await;
    assert!(config.get("mp0").is_none(), "{config}");
    assert_eq!(config["unused0"], "local-lvm:vm-401-disk-1");
    // The volume still exists, with its size.
    let content = lvm_content(&t).await;
    let unused = content
        .as_array()
        .expect("list")
        .iter()
        .find(|v| v["volid"] == "local-lvm:vm-401-disk-1")
        .expect("the detached volume is still on the storage");
    assert_eq!(unused["size"], Value::from(4u64 << 30));
}

#[tokio::test]
async fn reattaching_an_unused_volume_drops_the_unused_key_and_rescans_the_size() {
    let t = TestSim::start().await;
    t.create_ct(402, &[("mp0", "local-lvm:4,mp=/data")]).await;
    t.api("PUT", "/nodes/pve/lxc/402/config", &[("delete", "mp0")])
        .await;
    let answer = t
        .api(
            "PUT",
            "/nodes/pve/lxc/402/config",
            &[("mp3", "mp=/again,local-lvm:vm-402-disk-1")],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let config = t.config(402).await;
    assert_eq!(config["mp3"], "local-lvm:vm-402-disk-1,mp=/again,size=4G");
    assert!(config.get("unused0").is_none(), "{config}");
}

#[tokio::test]
async fn replacing_a_volume_mount_point_keeps_the_old_volume_as_unused() {
    let t = TestSim::start().await;
    t.create_ct(403, &[("mp0", "local-lvm:4,mp=/data")]).await;
    let answer = t
        .api(
            "PUT",
            "/nodes/pve/lxc/403/config",
            &[("mp0", "local-lvm:6,mp=/data")],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let config = t.config(403).await;
    assert_eq!(config["mp0"], "local-lvm:vm-403-disk-2,mp=/data,size=6G");
    assert_eq!(config["unused0"], "local-lvm:vm-403-disk-1");
    // Changing only the options of the same volume leaves nothing unused.
    t.api(
        "PUT",
        "/nodes/pve/lxc/403/config",
        &[("mp0", "local-lvm:vm-403-disk-2,mp=/data,backup=1")],
    )
    .await;
    let config = t.config(403).await;
    assert_eq!(
        config["mp0"],
        "local-lvm:vm-403-disk-2,mp=/data,backup=1,size=6G"
    );
    assert!(config.get("unused1").is_none(), "{config}");
}

#[tokio::test]
async fn deleting_unused_frees_the_volume() {
    let t = TestSim::start().await;
    t.create_ct(404, &[("mp0", "local-lvm:4,mp=/data")]).await;
    t.api("PUT", "/nodes/pve/lxc/404/config", &[("delete", "mp0")])
        .await;
    let answer = t
        .api("PUT", "/nodes/pve/lxc/404/config", &[("delete", "unused0")])
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(t.config(404).await.get("unused0").is_none());
    let content = lvm_content(&t).await;
    assert_eq!(
        volumes_on(&content, 404),
        vec!["local-lvm:vm-404-disk-0".to_string()]
    );
}

#[tokio::test]
async fn on_a_running_container_a_mount_point_delete_waits_for_the_next_start() {
    let t = TestSim::start().await;
    t.create_ct(405, &[("mp0", "local-lvm:4,mp=/data")]).await;
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/405/status/start", &[])
            .await,
        "OK"
    );
    t.api("PUT", "/nodes/pve/lxc/405/config", &[("delete", "mp0")])
        .await;
    let current = t.get("/nodes/pve/lxc/405/config?current=1").await;
    assert_eq!(
        current.data()["mp0"],
        "local-lvm:vm-405-disk-1,mp=/data,size=4G"
    );
    let pending = t.get("/nodes/pve/lxc/405/pending").await;
    let mp0 = pending
        .data()
        .as_array()
        .expect("pending list")
        .iter()
        .find(|e| e["key"] == "mp0")
        .expect("mp0 listed")
        .clone();
    assert_eq!(mp0["delete"], Value::from(1));
    // A new mount point is hot-plugged at once.
    t.api(
        "PUT",
        "/nodes/pve/lxc/405/config",
        &[("mp1", "local-lvm:1,mp=/logs")],
    )
    .await;
    assert_eq!(
        t.get("/nodes/pve/lxc/405/config?current=1").await.data()["mp1"],
        "local-lvm:vm-405-disk-2,mp=/logs,size=1G"
    );
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/405/status/reboot", &[])
            .await,
        "OK"
    );
    let config = t.config(405).await;
    assert!(config.get("mp0").is_none(), "{config}");
    assert_eq!(config["unused0"], "local-lvm:vm-405-disk-1");
}

#[tokio::test]
async fn bind_mounts_are_stored_in_canonical_order() {
    let t = TestSim::start().await;
    t.create_ct(406, &[]).await;
    let answer = t
        .as_root(
            "PUT",
            "/nodes/pve/lxc/406/config",
            &[("mp0", "mp=/mnt/media,/srv/media,ro=1")],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(t.config(406).await["mp0"], "/srv/media,mp=/mnt/media,ro=1");
    // Deleting a bind mount leaves nothing unused.
    t.api("PUT", "/nodes/pve/lxc/406/config", &[("delete", "mp0")])
        .await;
    let config = t.config(406).await;
    assert!(config.get("unused0").is_none(), "{config}");
}

#[tokio::test]
async fn resize_grows_a_mount_point_and_refuses_to_shrink() {
    let t = TestSim::start().await;
    t.create_ct(407, &[("mp0", "local-lvm:4,mp=/data")]).await;
    assert_eq!(
        t.run_task(
            "PUT",
            "/nodes/pve/lxc/407/resize",
            &[("disk", "mp0"), ("size", "+2G")]
        )
        .await,
        "OK"
    );
    assert_eq!(
        t.config(407).await["mp0"],
        "local-lvm:vm-407-disk-1,mp=/data,size=6G"
    );
    let shrink = t
        .api(
            "PUT",
            "/nodes/pve/lxc/407/resize",
            &[("disk", "mp0"), ("size", "5G")],
        )
        .await;
    assert_eq!(shrink.status, 500);
    assert_eq!(shrink.message(), "unable to shrink disk size\n");
    let missing = t
        .api(
            "PUT",
            "/nodes/pve/lxc/407/resize",
            &[("disk", "mp9"), ("size", "+1G")],
        )
        .await;
    assert_eq!(missing.message(), "disk 'mp9' does not exist\n");
    // The grown size is what the volume keeps once detached and attached again.
    t.api("PUT", "/nodes/pve/lxc/407/config", &[("delete", "mp0")])
        .await;
    t.api(
        "PUT",
        "/nodes/pve/lxc/407/config",
        &[("mp0", "local-lvm:vm-407-disk-1,mp=/data")],
    )
    .await;
    assert_eq!(
        t.config(407).await["mp0"],
        "local-lvm:vm-407-disk-1,mp=/data,size=6G"
    );
}

#[tokio::test]
async fn destroy_frees_unused_volumes_but_not_those_of_another_container() {
    let t = TestSim::start().await;
    t.create_ct(409, &[("mp1", "local-lvm:1,mp=/own")]).await;
    t.api("PUT", "/nodes/pve/lxc/409/config", &[("delete", "mp1")])
        .await;
    assert_eq!(t.config(409).await["unused0"], "local-lvm:vm-409-disk-1");
    // CT 409 mounts a volume CT 410 owns.
    t.create_ct(410, &[("mp0", "local-lvm:2,mp=/shared")]).await;
    let answer = t
        .api(
            "PUT",
            "/nodes/pve/lxc/409/config",
            &[("mp0", "local-lvm:vm-410-disk-1,mp=/borrowed")],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    t.api("PUT", "/nodes/pve/lxc/410/config", &[("delete", "mp0")])
        .await;
    let destroy = t.api("DELETE", "/nodes/pve/lxc/409", &[]).await;
    let upid = destroy.data().as_str().expect("UPID").to_string();
    t.wait_task("pve", &upid).await;
    let log = t
        .get(&format!(
            "/nodes/pve/tasks/{}/log",
            sim_support::urlencode(&upid)
        ))
        .await;
    let text: Vec<String> = log
        .data()
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["t"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        text.iter()
            .any(|l| l == "ignore deletion of 'local-lvm:vm-410-disk-1', CT 409 isn't the owner!"),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|l| l == "  Logical volume \"vm-409-disk-1\" successfully removed."),
        "{text:?}"
    );
    // CT 410's volume survives as its unused0.
    assert_eq!(t.config(410).await["unused0"], "local-lvm:vm-410-disk-1");
    let content = lvm_content(&t).await;
    assert!(volumes_on(&content, 409).is_empty(), "{content}");
    assert_eq!(
        t.run_task(
            "DELETE",
            "/nodes/pve/lxc/410",
            &[("destroy-unreferenced-disks", "1")]
        )
        .await,
        "OK"
    );
    assert!(volumes_on(&lvm_content(&t).await, 410).is_empty());
}

#[tokio::test]
async fn a_mount_point_on_a_storage_without_container_content_is_refused() {
    let t = TestSim::start().await;
    t.create_ct(411, &[]).await;
    let answer = t
        .api(
            "PUT",
            "/nodes/pve/lxc/411/config",
            &[("mp0", "local:4,mp=/data")],
        )
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.message(),
        "storage 'local' does not allow content type 'rootdir' (Container)\n"
    );
}
