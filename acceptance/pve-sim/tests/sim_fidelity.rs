//! Behaviours pinned to Proxmox's own source (see README.md in this crate for the file each
//! one comes from): config values as `update_pct_config` stores them, the permission and
//! read-only checks, locks, snapshots' `parent`, the start task's quota check, and how
//! pve-http-server decodes repeated form keys.

mod sim_support;

use serde_json::Value;
use sim_support::{TestSim, TOKEN, UBUNTU};

/// PUT config with a raw form body (to send repeated keys).
async fn put_raw(t: &TestSim, vmid: u32, body: &str) -> sim_support::Answer {
    t.send(
        t.client
            .put(t.url(&format!("api2/json/nodes/pve/lxc/{vmid}/config")))
            .header("Authorization", TOKEN)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_string()),
    )
    .await
}

/// A root@pam ticket session: (cookie header, CSRF token).
async fn root_session(t: &TestSim) -> (String, String) {
    let answer = t.login("root@pam", "ralf-password").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let ticket = answer.data()["ticket"].as_str().expect("ticket");
    let csrf = answer.data()["CSRFPreventionToken"].as_str().expect("csrf");
    (format!("PVEAuthCookie={ticket}"), csrf.to_string())
}

#[tokio::test]
async fn number_options_come_back_as_strings_and_integers_as_numbers() {
    let t = TestSim::start().await;
    assert_eq!(
        t.create_ct(220, &[("cpulimit", "1.5"), ("cores", "2")])
            .await,
        "OK"
    );
    let config = t.config(220).await;
    assert_eq!(config["cpulimit"], Value::from("1.5"));
    assert_eq!(config["cores"], Value::from(2));
    assert_eq!(config["unprivileged"], Value::from(1));
}

#[tokio::test]
async fn put_of_unprivileged_is_refused_even_when_unchanged() {
    let t = TestSim::start().await;
    t.create_ct(221, &[]).await;
    let answer = t
        .api("PUT", "/nodes/pve/lxc/221/config", &[("unprivileged", "1")])
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.message(),
        "unable to modify read-only option: 'unprivileged'\n"
    );
}

#[tokio::test]
async fn put_rootfs_is_stored_as_sent() {
    let t = TestSim::start().await;
    t.create_ct(222, &[]).await;
    let sent = "local-lvm:vm-222-disk-0,size=8G,acl=1";
    let answer = t
        .api("PUT", "/nodes/pve/lxc/222/config", &[("rootfs", sent)])
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(t.config(222).await["rootfs"], Value::from(sent));
    let without_size = "local-lvm:vm-222-disk-0,acl=0";
    t.api(
        "PUT",
        "/nodes/pve/lxc/222/config",
        &[("rootfs", without_size)],
    )
    .await;
    assert_eq!(t.config(222).await["rootfs"], Value::from(without_size));
}

#[tokio::test]
async fn put_rootfs_on_a_storage_without_container_content_is_refused() {
    let t = TestSim::start().await;
    t.create_ct(223, &[]).await;
    let answer = t
        .api(
            "PUT",
            "/nodes/pve/lxc/223/config",
            &[("rootfs", "local:223/vm-223-disk-0.raw,size=8G")],
        )
        .await;
    assert_eq!(
        (answer.status, answer.message()),
        (
            500,
            "storage 'local' does not allow content type 'rootdir' (Container)\n"
        )
    );
}

#[tokio::test]
async fn create_without_dns_settings_keeps_neither_key() {
    let t = TestSim::start().await;
    t.create_ct(224, &[]).await;
    let config = t.config(224).await;
    assert_eq!(config.get("nameserver"), None);
    assert_eq!(config.get("searchdomain"), None);
    t.create_ct(225, &[("nameserver", "1.1.1.1,9.9.9.9")]).await;
    assert_eq!(t.config(225).await["nameserver"], "1.1.1.1 9.9.9.9");
}

#[tokio::test]
async fn features_are_stored_verbatim_while_net_is_reprinted() {
    let t = TestSim::start().await;
    t.create_ct(
        226,
        &[
            ("features", "nesting=true"),
            ("net0", "bridge=vmbr0,name=eth0,ip=dhcp"),
        ],
    )
    .await;
    let config = t.config(226).await;
    assert_eq!(config["features"], "nesting=true");
    let net0 = config["net0"].as_str().expect("net0");
    assert!(
        net0.starts_with("name=eth0,bridge=vmbr0,hwaddr=BC:24:11:"),
        "{net0}"
    );
    assert!(net0.ends_with(",ip=dhcp,type=veth"), "{net0}");
}

#[tokio::test]
async fn lower_case_hwaddr_is_kept_as_given() {
    let t = TestSim::start().await;
    t.create_ct(
        227,
        &[("net0", "name=eth0,bridge=vmbr0,hwaddr=bc:24:11:0a:0b:0c")],
    )
    .await;
    assert_eq!(
        t.config(227).await["net0"],
        "name=eth0,bridge=vmbr0,hwaddr=bc:24:11:0a:0b:0c,type=veth"
    );
}

#[tokio::test]
async fn an_empty_description_drops_the_key() {
    let t = TestSim::start().await;
    t.create_ct(228, &[("description", "")]).await;
    assert_eq!(t.config(228).await.get("description"), None);
    t.api("PUT", "/nodes/pve/lxc/228/config", &[("description", "x")])
        .await;
    assert_eq!(t.config(228).await["description"], "x\n");
    let cleared = t
        .api("PUT", "/nodes/pve/lxc/228/config", &[("description", "")])
        .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(t.config(228).await.get("description"), None);
}

#[tokio::test]
async fn a_token_may_not_delete_features_with_other_keys_even_when_zero() {
    let t = TestSim::start().await;
    let (cookie, csrf) = root_session(&t).await;
    let created = t
        .send(
            t.client
                .post(t.url("api2/json/nodes/pve/lxc"))
                .header("Cookie", &cookie)
                .header("CSRFPreventionToken", &csrf)
                .form(&[
                    ("vmid", "229"),
                    ("ostemplate", UBUNTU),
                    ("rootfs", "local-lvm:8"),
                    ("features", "nesting=1,keyctl=0"),
                ]),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let upid = created.data().as_str().expect("UPID").to_string();
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    let refused = t
        .api(
            "PUT",
            "/nodes/pve/lxc/229/config",
            &[("delete", "features")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.message(),
        "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)\n"
    );
    // Only nesting: a token may delete it.
    t.create_ct(230, &[("features", "nesting=1")]).await;
    let allowed = t
        .api(
            "PUT",
            "/nodes/pve/lxc/230/config",
            &[("delete", "features")],
        )
        .await;
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
}

#[tokio::test]
async fn get_config_shows_parent_after_snapshot_and_rollback() {
    let t = TestSim::start().await;
    t.create_ct(231, &[]).await;
    assert_eq!(t.config(231).await.get("parent"), None);
    let path = "/nodes/pve/lxc/231/snapshot";
    assert_eq!(
        t.run_task("POST", path, &[("snapname", "first")]).await,
        "OK"
    );
    assert_eq!(t.config(231).await["parent"], "first");
    assert_eq!(
        t.run_task("POST", path, &[("snapname", "second")]).await,
        "OK"
    );
    assert_eq!(t.config(231).await["parent"], "second");
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/231/snapshot/first/rollback", &[])
            .await,
        "OK"
    );
    assert_eq!(t.config(231).await["parent"], "first");
}

#[tokio::test]
async fn quota_on_an_unprivileged_container_fails_the_start_task() {
    let t = TestSim::start().await;
    t.create_ct(232, &[("rootfs", "local-lvm:8,quota=1")]).await;
    let exit = t
        .run_task("POST", "/nodes/pve/lxc/232/status/start", &[])
        .await;
    assert_eq!(exit, "Quotas are not supported by unprivileged containers.");
    assert_eq!(t.status(232).await["status"], "stopped");
}

#[tokio::test]
async fn a_lock_set_through_put_config_locks_the_container() {
    let t = TestSim::start().await;
    t.create_ct(233, &[]).await;
    let set = t
        .api("PUT", "/nodes/pve/lxc/233/config", &[("lock", "backup")])
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(t.config(233).await["lock"], "backup");
    let put = t
        .api("PUT", "/nodes/pve/lxc/233/config", &[("cores", "2")])
        .await;
    assert_eq!(
        (put.status, put.message()),
        (500, "CT is locked (backup)\n")
    );
    let start = t
        .run_task("POST", "/nodes/pve/lxc/233/status/start", &[])
        .await;
    assert_eq!(start, "CT is locked (backup)");
}

#[tokio::test]
async fn repeated_list_keys_are_joined_with_commas() {
    let t = TestSim::start().await;
    t.create_ct(234, &[("cores", "2"), ("swap", "256")]).await;
    let tags = put_raw(&t, 234, "tags=web&tags=Prod").await;
    assert_eq!(tags.status, 200, "{:?}", tags.body);
    assert_eq!(t.config(234).await["tags"], "prod;web");
    let deleted = put_raw(&t, 234, "delete=cores&delete=swap").await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let config = t.config(234).await;
    assert_eq!((config.get("cores"), config.get("swap")), (None, None));
}

#[tokio::test]
async fn repeated_plain_keys_are_refused_as_an_array() {
    let t = TestSim::start().await;
    t.create_ct(235, &[]).await;
    let answer = put_raw(&t, 235, "hostname=a&hostname=b&cores=1&cores=2").await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error("hostname"),
        "type check ('string') failed - got ARRAY"
    );
    assert_eq!(
        answer.error("cores"),
        "type check ('integer') failed - got ARRAY"
    );
}

#[tokio::test]
async fn query_parameters_replace_body_parameters() {
    let t = TestSim::start().await;
    t.create_ct(236, &[]).await;
    let answer = t
        .send(
            t.client
                .put(t.url("api2/json/nodes/pve/lxc/236/config?cores=3"))
                .header("Authorization", TOKEN)
                .form(&[("cores", "1")]),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(t.config(236).await["cores"], 3);
}

#[tokio::test]
async fn deleting_an_option_that_is_not_set_is_skipped() {
    let t = TestSim::start().await;
    t.create_ct(237, &[]).await;
    let answer = t
        .api("PUT", "/nodes/pve/lxc/237/config", &[("delete", "cores")])
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
}

#[tokio::test]
async fn a_missing_template_fails_the_task_with_cant_find_file() {
    let t = TestSim::start().await;
    let volid = "local:vztmpl/nothere_1.0_amd64.tar.zst";
    let exit = t.create_ct(238, &[("ostemplate", volid)]).await;
    assert_eq!(
        exit,
        format!("unable to create CT 238 - can't find file '{volid}'")
    );
    assert_eq!(t.get("/nodes/pve/lxc/238/config").await.status, 500);
}

#[tokio::test]
async fn current_together_with_snapshot_is_refused_with_proxmox_text() {
    let t = TestSim::start().await;
    t.create_ct(239, &[]).await;
    let answer = t
        .get("/nodes/pve/lxc/239/config?current=1&snapshot=first")
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error("current"),
        "cannot use 'snapshot' parameter with 'current'"
    );
    assert_eq!(
        answer.error("snapshot"),
        "cannot use 'snapshot' parameter with 'current'"
    );
}
