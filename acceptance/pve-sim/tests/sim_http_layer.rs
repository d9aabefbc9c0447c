//! The HTTP layer as pve-http-server (`src/PVE/APIServer/AnyEvent.pm`,
//! `src/PVE/APIServer/Formatter/Standard.pm`) and pve-manager (`PVE/HTTPServer.pm`) serve it:
//! authentication before routing, empty 401 bodies from the authentication layer, the JSON
//! content type, `total`, closing the connection after errors, and the ticket's `cap`.

mod sim_support;

use sim_support::{TestSim, TOKEN};

#[tokio::test]
async fn authentication_401_has_an_empty_body_and_the_message_as_reason() {
    let t = TestSim::start_plain().await;
    let raw = t
        .raw("GET /api2/json/version HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(raw.starts_with("HTTP/1.1 401 No ticket\r\n"), "{raw}");
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    assert_eq!(body, "", "{raw}");
    assert!(
        !head.to_ascii_lowercase().contains("content-type"),
        "{head}"
    );
    let wrong = t
        .raw("GET /api2/json/version HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=root@pam!ralf=nope\r\n\r\n")
        .await;
    assert!(
        wrong.starts_with("HTTP/1.1 401 Authentication failed!\r\n"),
        "{wrong}"
    );
}

#[tokio::test]
async fn an_unauthenticated_unknown_path_is_401_no_ticket() {
    let t = TestSim::start().await;
    let answer = t
        .send(t.client.get(t.url("api2/json/nodes/pve/qemu")))
        .await;
    assert_eq!((answer.status, answer.text.as_str()), (401, ""));
    let with_token = t.get("/nodes/pve/qemu").await;
    assert_eq!(with_token.status, 501);
}

#[tokio::test]
async fn json_answers_are_application_json_charset_utf8() {
    let t = TestSim::start().await;
    let ok = t.get("/version").await;
    assert_eq!(
        ok.content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
    let error = t.get("/nodes/pve/lxc/999/config").await;
    assert_eq!(
        error.content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
}

#[tokio::test]
async fn error_answers_close_the_connection() {
    let t = TestSim::start().await;
    let error = t.get("/nodes/pve/lxc/999/config").await;
    assert_eq!(error.connection.as_deref(), Some("close"));
    let ok = t.get("/version").await;
    assert_ne!(ok.connection.as_deref(), Some("close"));
}

#[tokio::test]
async fn total_is_left_out_when_zero() {
    let t = TestSim::start().await;
    let empty = t.get("/nodes/pve/tasks").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body.get("total"), None, "{:?}", empty.body);
    t.create_ct(250, &[]).await;
    let one = t.get("/nodes/pve/tasks").await;
    assert_eq!(one.body["total"], 1);
}

#[tokio::test]
async fn the_ticket_answer_carries_cap_per_area() {
    let t = TestSim::start().await;
    let answer = t
        .send(t.client.post(t.url("api2/json/access/ticket")).form(&[
            ("username", "root"),
            ("realm", "pam"),
            ("password", "ralf-password"),
        ]))
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let cap = &answer.data()["cap"];
    for area in ["access", "dc", "mapping", "nodes", "sdn", "storage", "vms"] {
        assert!(cap[area].is_object(), "cap.{area} in {cap}");
    }
    assert_eq!(cap["vms"]["VM.Allocate"], 1);
    assert_eq!(cap["storage"]["Datastore.AllocateSpace"], 1);
    assert_eq!(cap["nodes"]["Sys.Audit"], 1);
    assert_eq!(cap["vms"].get("Sys.Audit"), None);
}

#[tokio::test]
async fn a_ticket_cookie_wins_over_an_api_token() {
    let t = TestSim::start().await;
    let answer = t
        .send(
            t.client
                .get(t.url("api2/json/version"))
                .header("Cookie", "PVEAuthCookie=PVE:root@pam:00000000::forged")
                .header("Authorization", TOKEN),
        )
        .await;
    assert_eq!(
        answer.status, 401,
        "the forged ticket is checked, not the token"
    );
}

#[tokio::test]
async fn a_conflicting_path_parameter_is_a_parameter_error() {
    let t = TestSim::start().await;
    let answer = t
        .api("GET", "/nodes/pve/lxc/100/config", &[("vmid", "101")])
        .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.error("vmid"),
        "duplicate parameter (already defined in URI) with conflicting values!"
    );
}
