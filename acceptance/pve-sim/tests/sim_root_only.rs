//! Settings only `root@pam` may make (pve-container `src/PVE/LXC.pm`,
//! `check_ct_modify_config_perm`): mount points that are not volumes, device passthrough,
//! feature flags other than nesting. A token is refused with Proxmox's text; `root@pam` with a
//! ticket may; and the same change made on the node with `pct set` over the node's SSH (root
//! there) lands in the same config. Also the value checks of `update_pct_config` for `dev[n]`.

mod sim_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pve_sim::{SimConfig, SshServerConfig};
use sim_support::{Answer, TestSim};

/// PUT config as `root@pam` with a ticket.
async fn put_as_root(t: &TestSim, vmid: u32, form: &[(&str, &str)]) -> Answer {
    t.as_root("PUT", &format!("/nodes/pve/lxc/{vmid}/config"), form)
        .await
}

#[tokio::test]
async fn a_token_may_not_bind_mount_pass_devices_or_mount_host_devices() {
    let t = TestSim::start().await;
    t.create_ct(600, &[]).await;
    for (key, value, text) in [
        (
            "mp0",
            "/srv/media,mp=/media",
            "mount point type bind is only allowed for root@pam",
        ),
        (
            "mp0",
            "/dev/sdb1,mp=/disk",
            "mount point type device is only allowed for root@pam",
        ),
        (
            "dev0",
            "/dev/net/tun",
            "configuring device passthrough is only allowed for root@pam",
        ),
        (
            "features",
            "keyctl=1,nesting=1",
            "changing feature flags (except nesting) is only allowed for root@pam",
        ),
    ] {
        let answer = t
            .api("PUT", "/nodes/pve/lxc/600/config", &[(key, value)])
            .await;
        assert_eq!(answer.status, 403, "{key}={value}: {:?}", answer.body);
        assert_eq!(
            answer.message(),
            format!("Permission check failed ({text})\n")
        );
    }
    // The same at create.
    let create = t
        .api(
            "POST",
            "/nodes/pve/lxc",
            &[
                ("vmid", "601"),
                ("ostemplate", sim_support::UBUNTU),
                ("rootfs", "local-lvm:8"),
                ("mp0", "/srv/media,mp=/media"),
            ],
        )
        .await;
    assert_eq!(create.status, 403);
    assert_eq!(
        create.message(),
        "Permission check failed (mount point type bind is only allowed for root@pam)\n"
    );
}

#[tokio::test]
async fn root_pam_may_set_what_tokens_may_not() {
    let t = TestSim::start().await;
    t.create_ct(602, &[]).await;
    let answer = put_as_root(
        &t,
        602,
        &[
            ("mp0", "mp=/media,/srv/media"),
            ("dev0", "/dev/dri/renderD128,gid=104,mode=0660"),
            ("features", "keyctl=1,nesting=1"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let config = t.config(602).await;
    assert_eq!(config["mp0"], "/srv/media,mp=/media");
    assert_eq!(config["dev0"], "/dev/dri/renderD128,gid=104,mode=0660");
    assert_eq!(config["features"], "keyctl=1,nesting=1");
    // A token may delete a mount point (disk rights only), not a device.
    let delete_mp = t
        .api("PUT", "/nodes/pve/lxc/602/config", &[("delete", "mp0")])
        .await;
    assert_eq!(delete_mp.status, 200, "{:?}", delete_mp.body);
    let delete_dev = t
        .api("PUT", "/nodes/pve/lxc/602/config", &[("delete", "dev0")])
        .await;
    assert_eq!(delete_dev.status, 403);
}

#[tokio::test]
async fn a_device_must_exist_on_the_node_and_have_a_path() {
    let t = TestSim::start().await;
    t.create_ct(603, &[]).await;
    let missing = put_as_root(&t, 603, &[("dev0", "/dev/nvidia9")]).await;
    assert_eq!(missing.status, 500);
    assert_eq!(missing.message(), "Device /dev/nvidia9 does not exist\n");
    let no_path = put_as_root(&t, 603, &[("dev1", "mode=0666")]).await;
    assert_eq!(
        no_path.message(),
        "Path is not defined for passthrough device dev1\n"
    );
    let outside_dev = put_as_root(&t, 603, &[("dev0", "/etc/passwd")]).await;
    assert_eq!(outside_dev.status, 400);
    assert!(
        outside_dev
            .error("dev0")
            .contains("/etc/passwd is not a valid device path"),
        "{:?}",
        outside_dev.body
    );
}

/// An ed25519 key pair made with ssh-keygen (a missing ssh-keygen fails the test).
fn keygen(dir: &Path) -> PathBuf {
    let key = dir.join("client");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen must be installed (openssh-client) for the node SSH tests");
    assert!(status.success(), "ssh-keygen failed");
    key
}

struct NodeSsh {
    t: TestSim,
    dir: tempfile::TempDir,
    key: PathBuf,
}

impl NodeSsh {
    async fn start() -> NodeSsh {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = keygen(dir.path());
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
        let t = TestSim::start_with(SimConfig {
            task_duration: Duration::from_millis(20),
            ssh: Some(SshServerConfig {
                listen: "127.0.0.1:0".parse().expect("addr"),
                user: "root".to_string(),
                authorized_keys: vec![public],
            }),
            ..SimConfig::default()
        })
        .await;
        let info = t.sim.ssh().expect("the node's SSH server runs");
        std::fs::write(
            dir.path().join("known_hosts"),
            format!("{}\n", info.known_hosts),
        )
        .expect("known_hosts");
        NodeSsh { t, dir, key }
    }

    /// Runs `line` on the node with the system's ssh client: (stdout, stderr, exit code).
    async fn run(&self, line: &str) -> (String, String, i32) {
        let port = self.t.sim.ssh().expect("ssh").addr.port().to_string();
        let known = self.dir.path().join("known_hosts");
        let key = self.key.clone();
        let line = line.to_string();
        tokio::task::spawn_blocking(move || {
            let out = Command::new("ssh")
                .args([
                    "-F",
                    "/dev/null",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "IdentitiesOnly=yes",
                ])
                .args(["-o", "StrictHostKeyChecking=yes"])
                .arg("-o")
                .arg(format!("UserKnownHostsFile={}", known.display()))
                .arg("-i")
                .arg(&key)
                .args(["-p", &port, "root@127.0.0.1", &line])
                .output()
                .expect("ssh must be installed (openssh-client) for the node SSH tests");
            (
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
                out.status.code().unwrap_or(-1),
            )
        })
        .await
        .expect("join")
    }
}

#[tokio::test]
async fn pct_set_over_the_node_ssh_applies_root_only_settings_for_a_token_user() {
    let node = NodeSsh::start().await;
    node.t.create_ct(610, &[("features", "nesting=1")]).await;
    let (_, stderr, code) = node
        .run("pct set 610 -features keyctl=1,nesting=1 -dev0 /dev/net/tun --mp0 /srv/vpn,mp=/etc/vpn")
        .await;
    assert_eq!(code, 0, "{stderr}");
    let config = node.t.config(610).await;
    assert_eq!(config["features"], "keyctl=1,nesting=1");
    assert_eq!(config["dev0"], "/dev/net/tun");
    assert_eq!(config["mp0"], "/srv/vpn,mp=/etc/vpn");
    // `-delete` works as the API's `delete`.
    let (_, stderr, code) = node.run("pct set 610 -delete dev0").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(node.t.config(610).await.get("dev0").is_none());
}

#[tokio::test]
async fn pct_set_errors_read_as_proxmox_s_cli_prints_them() {
    let node = NodeSsh::start().await;
    node.t.create_ct(611, &[]).await;
    let (_, stderr, code) = node.run("pct set 611 -cores abc").await;
    assert_eq!(code, 255);
    assert_eq!(
        stderr,
        "400 Parameter verification failed.\ncores: type check ('integer') failed - got 'abc'\n"
    );
    let (_, stderr, code) = node.run("pct set 699 -cores 2").await;
    assert_eq!(code, 255);
    assert_eq!(
        stderr,
        "Configuration file 'nodes/pve/lxc/699.conf' does not exist\n"
    );
    let (_, stderr, code) = node.run("pct set 611 -unprivileged 0").await;
    assert_eq!(code, 255);
    assert_eq!(
        stderr,
        "unable to modify read-only option: 'unprivileged'\n"
    );
}

#[tokio::test]
async fn pct_exec_without_a_command_is_refused_on_both_paths() {
    let node = NodeSsh::start().await;
    node.t.create_ct(612, &[]).await;
    let (_, stderr, code) = node.run("pct exec 612 --").await;
    assert_eq!((stderr.as_str(), code), ("missing command\n", 255));
    let target = pve_sim::pct::PctTarget {
        endpoint: node.t.sim.endpoint(),
        ca_pem: node.t.sim.ca_pem(),
        node: "pve".to_string(),
        // The endpoint is an IP literal: the system's files are never read.
        resolver: std::sync::Arc::new(resolve::NameResolver::system()),
    };
    let args: Vec<String> = ["exec", "612", "--"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let out = pve_sim::pct::run_async(&args, &target).await;
    assert_eq!((out.stderr.as_str(), out.code), ("missing command\n", 255));
    // `pct status` answers the same on both paths.
    let (stdout, _, code) = node.run("pct status 612").await;
    assert_eq!((stdout.as_str(), code), ("status: stopped\n", 0));
    let args: Vec<String> = ["status", "612"].iter().map(|s| s.to_string()).collect();
    let out = pve_sim::pct::run_async(&args, &target).await;
    assert_eq!((out.stdout.as_str(), out.code), ("status: stopped\n", 0));
}
