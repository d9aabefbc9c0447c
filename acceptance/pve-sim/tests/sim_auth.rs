//! Authentication as Proxmox does it: API tokens, tickets with CSRF on writes, 401s, and the
//! root@pam-only feature flags that every token (even root's) is refused.

mod sim_support;

use serde_json::Value;
use sim_support::{TestSim, UBUNTU};

async fn login(t: &TestSim, username: &str, password: &str) -> sim_support::Answer {
    t.login(username, password).await
}

#[tokio::test]
async fn api_token_in_authorization_header_is_accepted() {
    let t = TestSim::start().await;
    let answer = t.get("/version").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.data()["release"], "9.1");
}

#[tokio::test]
async fn bad_or_missing_credentials_get_401() {
    let t = TestSim::start().await;
    let none = t
        .send(t.client.get(format!("{}api2/json/version", t.base)))
        .await;
    assert_eq!((none.status, none.text.as_str()), (401, ""));
    let wrong = t
        .send(
            t.client
                .get(format!("{}api2/json/version", t.base))
                .header("Authorization", "PVEAPIToken=root@pam!ralf=wrong-secret"),
        )
        .await;
    assert_eq!((wrong.status, wrong.text.as_str()), (401, ""));
    let bad_login = login(&t, "root@pam", "not-the-password").await;
    assert_eq!(
        (bad_login.status, bad_login.message()),
        (401, "authentication failure\n")
    );
}

#[tokio::test]
async fn ticket_login_needs_csrf_token_on_writes() {
    let t = TestSim::start().await;
    let answer = login(&t, "root@pam", "ralf-password").await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let ticket = answer.data()["ticket"]
        .as_str()
        .expect("ticket")
        .to_string();
    let csrf = answer.data()["CSRFPreventionToken"]
        .as_str()
        .expect("csrf")
        .to_string();
    assert!(ticket.starts_with("PVE:root@pam:"), "{ticket}");
    assert_eq!(answer.data()["username"], "root@pam");
    let cookie = format!("PVEAuthCookie={ticket}");
    let read = t
        .send(
            t.client
                .get(format!("{}api2/json/nodes", t.base))
                .header("Cookie", &cookie),
        )
        .await;
    assert_eq!(read.status, 200);
    let form = [
        ("vmid", "300"),
        ("ostemplate", UBUNTU),
        ("rootfs", "local-lvm:8"),
    ];
    let no_csrf = t
        .send(
            t.client
                .post(format!("{}api2/json/nodes/pve/lxc", t.base))
                .header("Cookie", &cookie)
                .form(&form),
        )
        .await;
    assert_eq!((no_csrf.status, no_csrf.text.as_str()), (401, ""));
    let with_csrf = t
        .send(
            t.client
                .post(format!("{}api2/json/nodes/pve/lxc", t.base))
                .header("Cookie", &cookie)
                .header("CSRFPreventionToken", &csrf)
                .form(&form),
        )
        .await;
    assert_eq!(with_csrf.status, 200);
    let upid = with_csrf.data().as_str().expect("UPID");
    assert!(upid.ends_with(":vzcreate:300:root@pam:"), "{upid}");
    // Renewal: the ticket itself works as the password.
    let renewed = login(&t, "root@pam", &ticket).await;
    assert_eq!(renewed.status, 200);
}

#[tokio::test]
async fn tokens_cannot_create_tickets() {
    let t = TestSim::start().await;
    let answer = t
        .api(
            "POST",
            "/access/ticket",
            &[("username", "root@pam"), ("password", "ralf-password")],
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.message(),
        "Permission check failed (URI '/access/ticket' not available with API token, need proper ticket.\n)\n"
    );
}

#[tokio::test]
async fn feature_flags_other_than_nesting_are_refused_to_every_token() {
    let t = TestSim::start().await;
    let form = [
        ("vmid", "301"),
        ("ostemplate", UBUNTU),
        ("rootfs", "local-lvm:8"),
        ("features", "nesting=1,keyctl=1"),
    ];
    let refused = t.api("POST", "/nodes/pve/lxc", &form).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.message(),
        "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)\n"
    );
    let privileged = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "301"),
                ("ostemplate", UBUNTU),
                ("rootfs", "local-lvm:8"),
                ("unprivileged", "0"),
                ("features", "nesting=1"),
            ],
        )
        .await;
    assert_eq!(
        privileged.message(),
        "Permission check failed (changing feature flags for privileged container is only allowed for root@pam)\n"
    );
    // nesting alone is fine for a token.
    assert_eq!(t.create_ct(301, &[("features", "nesting=1")]).await, "OK");
    let update = t
        .api(
            "PUT",
            "/nodes/pve/lxc/301/config",
            &[("features", "keyctl=1,nesting=1")],
        )
        .await;
    assert_eq!(update.status, 403);
}

#[tokio::test]
async fn root_pam_ticket_may_set_any_feature_flags() {
    let t = TestSim::start().await;
    let answer = login(&t, "root@pam", "ralf-password").await;
    let ticket = answer.data()["ticket"]
        .as_str()
        .expect("ticket")
        .to_string();
    let csrf = answer.data()["CSRFPreventionToken"]
        .as_str()
        .expect("csrf")
        .to_string();
    let created = t
        .send(
            t.client
                .post(format!("{}api2/json/nodes/pve/lxc", t.base))
                .header("Authorization", format!("PVEAuthCookie={ticket}"))
                .header("CSRFPreventionToken", &csrf)
                .form(&[
                    ("vmid", "302"),
                    ("ostemplate", UBUNTU),
                    ("rootfs", "local-lvm:8"),
                    ("features", "nesting=1,keyctl=1"),
                ]),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let upid = created.data().as_str().expect("UPID").to_string();
    assert_eq!(t.wait_task("pve", &upid).await["exitstatus"], "OK");
    assert_eq!(
        t.config(302).await["features"],
        Value::from("nesting=1,keyctl=1"),
        "features are stored verbatim"
    );
}
