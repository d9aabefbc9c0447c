//! Transport and envelope: HTTPS with a CA clients can trust, plain HTTP, the binary's flags
//! and ready line, `{"data":...}` answers, Proxmox's reason phrases and 501s.

mod sim_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use pve_sim::SimConfig;
use sim_support::TestSim;

#[tokio::test]
async fn https_is_served_with_a_certificate_signed_by_the_exported_ca() {
    let t = TestSim::start().await;
    assert!(t.base.starts_with("https://127.0.0.1:"), "{}", t.base);
    let pem = t.sim.ca_pem().expect("a CA PEM");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let answer = t.get("/nodes").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.data()[0]["node"], "pve");
}

#[tokio::test]
async fn plain_http_serves_the_same_api() {
    let t = TestSim::start_with(SimConfig {
        plain_http: true,
        ..SimConfig::default()
    })
    .await;
    assert!(t.base.starts_with("http://127.0.0.1:"));
    assert!(t.sim.ca_pem().is_none());
    assert_eq!(t.get("/version").await.status, 200);
}

#[tokio::test]
async fn error_reason_phrase_is_the_first_line_of_the_message() {
    let t = TestSim::start_with(SimConfig {
        plain_http: true,
        ..SimConfig::default()
    })
    .await;
    let addr = t.sim.local_addr();
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .write_all(
                b"GET /api2/json/nodes/pve/lxc/123/config HTTP/1.1\r\nHost: x\r\nAuthorization: PVEAPIToken=root@pam!ralf=ralf-secret\r\nConnection: close\r\n\r\n",
            )
            .expect("write");
        let mut out = String::new();
        stream.read_to_string(&mut out).expect("read");
        out
    })
    .await
    .expect("join");
    assert!(
        raw.starts_with(
            "HTTP/1.1 500 Configuration file 'nodes/pve/lxc/123.conf' does not exist\r\n"
        ),
        "{raw}"
    );
    assert!(
        raw.contains(r#""message":"Configuration file 'nodes/pve/lxc/123.conf' does not exist\n""#)
    );
}

#[tokio::test]
async fn unknown_paths_and_bodies_on_get_are_501() {
    let t = TestSim::start().await;
    let unknown = t.get("/nodes/pve/qemu").await;
    assert_eq!(
        (unknown.status, unknown.message()),
        (501, "Method 'GET /nodes/pve/qemu' not implemented")
    );
    let with_body = t
        .send(
            t.client
                .get(format!("{}api2/json/version", t.base))
                .header("Authorization", sim_support::TOKEN)
                .body("x=1"),
        )
        .await;
    assert_eq!(
        (with_body.status, with_body.text.as_str()),
        (501, "Unexpected content for method 'GET'")
    );
}

#[tokio::test]
async fn storages_and_templates_are_listed() {
    let t = TestSim::start().await;
    let storages = t.get("/nodes/pve/storage").await;
    let list = storages.data().as_array().expect("list");
    let ids: Vec<&str> = list.iter().filter_map(|s| s["storage"].as_str()).collect();
    assert_eq!(ids, ["local", "local-lvm"]);
    let content = t
        .get("/nodes/pve/storage/local/content?content=vztmpl")
        .await;
    let volids: Vec<&str> = content
        .data()
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v["volid"].as_str())
        .collect();
    assert!(volids.contains(&sim_support::UBUNTU));
    assert!(volids.contains(&"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"));
    let resources = t.get("/cluster/resources?type=node").await;
    assert_eq!(resources.data()[0]["id"], "node/pve");
}

#[test]
fn binary_prints_the_endpoint_once_ready_and_writes_the_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pve-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--nodes",
            "pve,pve2",
            "--token",
            "root@pam!ci=s3cret",
        ])
        .arg("--cert-out")
        .arg(&cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pve-sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("pve-sim listening on https://127.0.0.1:"),
        "{line}"
    );
    assert!(line.trim_end().ends_with('/'));
    let pem = std::fs::read_to_string(&cert).expect("certificate written");
    assert!(pem.contains("BEGIN CERTIFICATE"));
}
