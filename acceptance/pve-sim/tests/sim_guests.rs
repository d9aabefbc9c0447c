//! Guest emulation: declared ports are served on the container's 127.0.0.0/8 address while it
//! runs; snapshots carry the guest services so a rollback removes what was installed later;
//! the `pct` emulation answers `systemctl is-active` from the simulator's state.

mod sim_support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use pve_sim::pct::{self, PctTarget};
use pve_sim::SimConfig;
use resolve::NameResolver;
use serde_json::json;
use sim_support::TestSim;

async fn http_get(addr: &str) -> Result<(u16, String), reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let response = client.get(format!("http://{addr}/")).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

async fn tcp_open(addr: &str) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

#[tokio::test]
async fn running_container_serves_its_ports_on_its_loopback_address() {
    let t = TestSim::start().await;
    let ip = "127.61.0.10";
    let (http_port, tcp_port) = (sim_support::free_port(ip), sim_support::free_port(ip));
    let net0 = format!("name=eth0,bridge=vmbr0,ip={ip}/24,gw=127.61.0.1");
    t.create_ct(600, &[("net0", &net0)]).await;
    let set = t
        .admin(
            "PUT",
            "/sim/guests/600",
            Some(json!({
                "units": { "nginx.service": "active" },
                "ports": [
                    { "port": http_port, "kind": "http", "status": 200, "body": "ok" },
                    { "port": tcp_port, "kind": "tcp" }
                ]
            })),
        )
        .await;
    assert_eq!(set.status, 200);
    let http_addr = format!("{ip}:{http_port}");
    let tcp_addr = format!("{ip}:{tcp_port}");
    assert!(
        !tcp_open(&tcp_addr).await,
        "nothing is served while stopped"
    );
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/600/status/start", &[])
            .await,
        "OK"
    );
    assert_eq!(
        http_get(&http_addr).await.expect("http answer"),
        (200, "ok".to_string())
    );
    assert!(tcp_open(&tcp_addr).await);
    assert_eq!(
        t.run_task("POST", "/nodes/pve/lxc/600/status/stop", &[])
            .await,
        "OK"
    );
    assert!(!tcp_open(&tcp_addr).await, "stopping closes the ports");
    assert!(http_get(&http_addr).await.is_err());
}

#[tokio::test]
async fn rollback_to_pre_install_removes_what_was_installed_after_it() {
    let t = TestSim::start().await;
    let ip = "127.61.0.11";
    let port = sim_support::free_port(ip);
    let net0 = format!("name=eth0,bridge=vmbr0,ip={ip}/24");
    t.create_ct(601, &[("net0", &net0), ("start", "1")]).await;
    assert_eq!(
        t.run_task(
            "POST",
            "/nodes/pve/lxc/601/snapshot",
            &[("snapname", "pre-install")]
        )
        .await,
        "OK"
    );
    t.admin(
        "PUT",
        "/sim/guests/601",
        Some(json!({ "units": { "gitea.service": "active" }, "ports": [{ "port": port, "kind": "http", "status": 200, "body": "gitea" }] })),
    )
    .await;
    let addr = format!("{ip}:{port}");
    assert_eq!(http_get(&addr).await.expect("served").1, "gitea");
    let exit = t
        .run_task(
            "POST",
            "/nodes/pve/lxc/601/snapshot/pre-install/rollback",
            &[("start", "1")],
        )
        .await;
    assert_eq!(exit, "OK");
    assert_eq!(t.status(601).await["status"], "running");
    assert!(
        !tcp_open(&addr).await,
        "the port installed after pre-install is gone"
    );
    let guest = t.admin("GET", "/sim/guests/601", None).await;
    assert_eq!(guest.body["units"], json!({}));
}

#[tokio::test]
async fn pct_exec_systemctl_is_active_answers_from_the_simulator() {
    let t = TestSim::start_with(SimConfig {
        plain_http: true,
        ..SimConfig::default()
    })
    .await;
    t.create_ct(602, &[("start", "1")]).await;
    t.create_ct(603, &[]).await;
    t.admin(
        "PUT",
        "/sim/guests/602",
        Some(json!({ "units": { "nginx.service": "active", "redis.service": "failed" } })),
    )
    .await;
    let endpoint = t.sim.endpoint();
    let pct = |args: &[&str]| {
        let endpoint = endpoint.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        // The simulator runs on this test's runtime: wait for the child without blocking it.
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_pve-sim"))
                .arg("pct")
                .args(&args)
                .env("PVE_SIM_ENDPOINT", endpoint)
                .output()
                .expect("pve-sim pct runs")
        })
    };
    let active = pct(&[
        "exec",
        "602",
        "--",
        "systemctl",
        "is-active",
        "nginx.service",
    ])
    .await
    .expect("join");
    assert_eq!(
        (
            String::from_utf8_lossy(&active.stdout).as_ref(),
            active.status.code()
        ),
        ("active\n", Some(0))
    );
    let failed = pct(&["exec", "602", "--", "systemctl", "is-active", "redis"])
        .await
        .expect("join");
    assert_eq!(
        (
            String::from_utf8_lossy(&failed.stdout).as_ref(),
            failed.status.code()
        ),
        ("failed\n", Some(3))
    );
    let unknown_unit = pct(&["exec", "602", "--", "systemctl", "is-active", "postgresql"])
        .await
        .expect("join");
    assert_eq!(String::from_utf8_lossy(&unknown_unit.stdout), "inactive\n");
    let stopped = pct(&["exec", "603", "--", "systemctl", "is-active", "nginx"])
        .await
        .expect("join");
    assert_eq!(
        String::from_utf8_lossy(&stopped.stderr),
        "CT 603 not running\n"
    );
    assert_ne!(stopped.status.code(), Some(0));
    let missing = pct(&["exec", "699", "--", "systemctl", "is-active", "nginx"])
        .await
        .expect("join");
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "Configuration file 'nodes/pve/lxc/699.conf' does not exist\n"
    );
    assert_ne!(missing.status.code(), Some(0));
}

/// Container `vmid`, started, with `nginx.service` active inside.
async fn running_nginx(t: &TestSim, vmid: u32) {
    t.create_ct(vmid, &[("start", "1")]).await;
    t.admin(
        "PUT",
        &format!("/sim/guests/{vmid}"),
        Some(json!({ "units": { "nginx.service": "active" } })),
    )
    .await;
}

#[tokio::test]
async fn pct_reaches_an_https_simulator_with_the_ca_file() {
    let t = TestSim::start().await;
    running_nginx(&t, 604).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, t.sim.ca_pem().expect("pem")).expect("write ca");
    let endpoint = t.sim.endpoint();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_pve-sim"))
            .args([
                "pct",
                "exec",
                "604",
                "--",
                "systemctl",
                "is-active",
                "nginx",
            ])
            .env("PVE_SIM_ENDPOINT", endpoint)
            .env("PVE_SIM_CA_FILE", &ca)
            .output()
            .expect("pve-sim pct runs")
    })
    .await
    .expect("join");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "active\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
}

#[tokio::test]
async fn pct_resolves_the_endpoint_host_name_from_the_hosts_file_and_fails_naming_the_files() {
    let t = TestSim::start_with(SimConfig {
        plain_http: true,
        ..SimConfig::default()
    })
    .await;
    running_nginx(&t, 605).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hosts"), "127.0.0.1 sim.test\n").expect("hosts");
    // No resolv.conf in `dir`: a name outside the hosts file has nowhere to go.
    let target = |host: &str| PctTarget {
        endpoint: format!("http://{host}:{}/", t.sim.local_addr().port()),
        ca_pem: None,
        node: "pve".into(),
        resolver: Arc::new(NameResolver::from_files(
            dir.path().join("hosts"),
            dir.path().join("resolv.conf"),
        )),
    };
    let args: Vec<String> = ["exec", "605", "--", "systemctl", "is-active", "nginx"]
        .map(String::from)
        .to_vec();

    let found = pct::run_async(&args, &target("sim.test")).await;
    assert_eq!(
        (found.stdout.as_str(), found.code),
        ("active\n", 0),
        "{found:?}"
    );

    let unknown = pct::run_async(&args, &target("gone.test")).await;
    assert_ne!(unknown.code, 0);
    for expected in [
        "cannot resolve \"gone.test\"",
        &dir.path().join("hosts").display().to_string(),
        &dir.path().join("resolv.conf").display().to_string(),
        "never sent to public DNS servers",
    ] {
        assert!(
            unknown.stderr.contains(expected),
            "missing {expected:?} in: {}",
            unknown.stderr
        );
    }
}

#[tokio::test]
async fn the_binary_called_as_pct_is_the_pct_emulation() {
    let t = TestSim::start_with(SimConfig {
        plain_http: true,
        ..SimConfig::default()
    })
    .await;
    running_nginx(&t, 605).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pct = dir.path().join("pct");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pve-sim"), &pct).expect("symlink");
    let endpoint = t.sim.endpoint();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&pct)
            .args(["exec", "605", "--", "systemctl", "is-active", "nginx"])
            .env("PVE_SIM_ENDPOINT", endpoint)
            .output()
            .expect("pct runs")
    })
    .await
    .expect("join");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "active\n");
    assert_eq!(output.status.code(), Some(0));
}
