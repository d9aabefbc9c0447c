//! Acceptance in the lab: the real `terraform` and provider against pve-sim's lab backend, where
//! every container is a real LXC container on this machine (root, `lxc`, a template from
//! `pve-sim lab prepare`, which this suite builds once into the cache when it is missing).
//! Bounded: a few containers, one lab at a time (they share the lab bridge); the one-liner's lab
//! run (`ralf demo --lab`, 15 containers) once.
//!
//! What is proven is what a client of Proxmox could see: the settings of create applied inside
//! the container, real ping/TCP/service checks through the node's SSH, stop making the address
//! go silent, rollback restoring the root filesystem, and nothing left behind afterwards.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::TfDir;

const LAB_TEMPLATE: &str = "local:vztmpl/debian-12-ralflab_12.0-1_amd64.tar.zst";
const BRIDGE: &str = "pvesimlab0";

/// The lab's containers share one bridge and range: one lab at a time.
static ONE_LAB_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn require_lab_host() {
    pve_sim::lab::check_host().unwrap_or_else(|e| {
        panic!(
            "the lab acceptance tests need a lab host: {e} (.ci/run installs lxc and debootstrap)"
        )
    });
    let cache = pve_sim::lab::LabConfig::default().template_dir;
    let prepared = pve_sim::lab::template::prepare(&cache, pve_sim::lab::template::DEFAULT_MIRROR)
        .unwrap_or_else(|e| {
            panic!(
                "cannot prepare the lab template in {}: {e}",
                cache.display()
            )
        });
    if !prepared.reused {
        eprintln!(
            "built the lab template in {:.1}s",
            prepared.duration.as_secs_f64()
        );
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs (apt-get install openssh-client)");
    assert!(status.success(), "ssh-keygen failed");
}

/// An embedded lab simulator with the node's SSH server, and a client key both the node and
/// the containers accept.
struct Lab {
    sim: Option<pve_sim::BackgroundSim>,
    ssh: pve_sim::SshInfo,
    keys: tempfile::TempDir,
    container_dir: PathBuf,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Lab {
    fn start() -> Lab {
        let turn = ONE_LAB_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        require_lab_host();
        let keys = tempfile::tempdir().expect("tempdir");
        keygen(&keys.path().join("client"));
        let public = std::fs::read_to_string(keys.path().join("client.pub")).expect("pub key");
        let container_dir = keys.path().join("containers");
        let config = pve_sim::SimConfig {
            task_duration: Duration::from_millis(10),
            lab: Some(pve_sim::lab::LabConfig {
                container_dir: container_dir.clone(),
                ..pve_sim::lab::LabConfig::default()
            }),
            ssh: Some(pve_sim::SshServerConfig {
                listen: "127.0.0.1:0".parse().expect("addr"),
                user: "root".to_string(),
                authorized_keys: vec![public],
            }),
            ..pve_sim::SimConfig::default()
        };
        let sim = pve_sim::start_in_background(config, "127.0.0.1:0".parse().expect("addr"))
            .expect("start the lab pve-sim");
        let ssh = sim.ssh().expect("the node's SSH server runs");
        Lab {
            sim: Some(sim),
            ssh,
            keys,
            container_dir,
            _turn: turn,
        }
    }

    fn sim(&self) -> &pve_sim::BackgroundSim {
        self.sim.as_ref().expect("running")
    }

    fn public_key(&self) -> String {
        std::fs::read_to_string(self.keys.path().join("client.pub"))
            .expect("pub key")
            .trim()
            .to_string()
    }

    fn private_key(&self) -> String {
        std::fs::read_to_string(self.keys.path().join("client")).expect("key")
    }

    fn tf(&self, main_tf: &str) -> TfDir {
        TfDir::new(main_tf)
            .env("PROXMOX_VE_ENDPOINT", &self.sim().endpoint())
            .env(
                "PROXMOX_VE_CA_CERT",
                &self.sim().ca_pem().unwrap_or_default(),
            )
            .env("PROXMOX_VE_NODE", "pve")
    }

    fn provider_block(&self) -> String {
        format!(
            "provider \"ralf\" {{\n  api_token = \"{}\"\n  ssh {{\n    username    = \"root\"\n    address     = \"127.0.0.1\"\n    port        = {}\n    private_key = <<-KEY\n{}KEY\n    known_hosts = \"{}\"\n  }}\n}}\n",
            support::TOKEN,
            self.ssh.addr.port(),
            self.private_key(),
            self.ssh.known_hosts
        )
    }

    /// Runs a command inside a container with `lxc-attach` (not through pve-sim).
    fn inside(&self, vmid: u32, command: &str) -> (i32, String) {
        let out = Command::new("lxc-attach")
            .arg("-P")
            .arg(&self.container_dir)
            .args(["-n", &vmid.to_string(), "--", "sh", "-c", command])
            .output()
            .expect("lxc-attach runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn lxc_state(&self, vmid: u32) -> String {
        let out = Command::new("lxc-info")
            .arg("-P")
            .arg(&self.container_dir)
            .args(["-n", &vmid.to_string(), "-s", "-H"])
            .output()
            .expect("lxc-info runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `ssh root@node <command>` through the simulator's embedded SSH server.
    fn node_ssh(&self, command: &str) -> (i32, String, String) {
        let known_hosts = self.keys.path().join("known_hosts");
        std::fs::write(&known_hosts, format!("{}\n", self.ssh.known_hosts)).expect("known_hosts");
        let out = Command::new("ssh")
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .args(["-o", "IdentitiesOnly=yes", "-i"])
            .arg(self.keys.path().join("client"))
            .args([
                "-p",
                &self.ssh.addr.port().to_string(),
                "root@127.0.0.1",
                command,
            ])
            .output()
            .expect("ssh runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Stops the simulator; what it made must be gone afterwards.
    fn stop(&mut self) {
        if let Some(sim) = self.sim.take() {
            sim.shutdown();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `addr` answers an ICMP echo within a second (a raw socket through the checks'
/// ping, which the suite runs as root).
fn answers_ping(addr: &str) -> bool {
    let out = Command::new("python3")
        .args([
            "-c",
            "import socket,struct,sys\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP);s.settimeout(1)\n\
             h=struct.pack('!BBHHH',8,0,0,1,1);c=0\n\
             for i in range(0,len(h),2): c+=(h[i]<<8)+h[i+1]\n\
             c=(c>>16)+(c&0xffff);c=~c&0xffff\n\
             s.sendto(struct.pack('!BBHHH',8,0,c,1,1),(sys.argv[1],0))\n\
             try:\n  d,a=s.recvfrom(1024);sys.exit(0 if a[0]==sys.argv[1] else 1)\n\
             except socket.timeout: sys.exit(1)\n",
            addr,
        ])
        .status()
        .expect("python3 runs");
    out.success()
}

fn bridge_exists() -> bool {
    Path::new("/sys/class/net").join(BRIDGE).exists()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn service_config(lab: &Lab, vmid: u32, ip: &str, extra: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    ralf = {{ source = "ralf-homelab/ralf" }}
  }}
}}
{provider}
resource "ralf_lxc_service" "web" {{
  ct_id           = {vmid}
  hostname        = "labweb"
  template        = "{LAB_TEMPLATE}"
  ssh_public_keys = ["{key}"]
  password        = "lab-root-password"
  network = {{
    eth0 = {{
      ip      = "{ip}/15"
      gateway = "198.18.0.1"
    }}
  }}
}}

resource "ralf_smoke_check" "web" {{
  ct_id   = ralf_lxc_service.web.ct_id
  timeout = "3s"
  retry {{
    attempts      = 12
    initial_delay = "500ms"
    multiplier    = 1.5
    max_delay     = "3s"
  }}
  ping {{ host = "{ip}" }}
  tcp {{
    name = "sshd"
    host = "{ip}"
    port = 22
  }}
  service {{ unit = "ssh.service" }}
}}
{extra}
output "summary" {{ value = ralf_smoke_check.web.summary }}
output "results" {{ value = ralf_smoke_check.web.results }}
"#,
        provider = lab.provider_block(),
        key = lab.public_key(),
    )
}

#[test]
fn a_lab_container_is_real_with_create_settings_applied_inside_and_its_checks_pass() {
    let mut lab = Lab::start();
    let (vmid, ip) = (5101, "198.18.51.1");
    let tf = lab.tf(&service_config(&lab, vmid, ip, ""));
    tf.apply_ok();
    assert_eq!(
        tf.output("summary"),
        "3 OK, 0 FAIL, 0 SKIP",
        "{}",
        tf.output_json("results")
    );
    assert_eq!(lab.lxc_state(vmid), "RUNNING");

    // What Proxmox's setup writes inside the container at create.
    assert_eq!(lab.inside(vmid, "hostname").1.trim(), "labweb");
    let (_, interfaces) = lab.inside(vmid, "cat /etc/network/interfaces");
    assert!(
        interfaces.contains(&format!("address {ip}/15")),
        "{interfaces}"
    );
    assert!(interfaces.contains("gateway 198.18.0.1"), "{interfaces}");
    let (_, keys) = lab.inside(vmid, "cat /root/.ssh/authorized_keys");
    assert_eq!(keys.trim(), lab.public_key());
    let (_, shadow) = lab.inside(vmid, "grep '^root:' /etc/shadow | cut -d: -f2");
    assert!(
        shadow.starts_with('$'),
        "root has a hashed password: {shadow}"
    );
    assert!(!shadow.contains("lab-root-password"));

    // The node's SSH runs pct exec inside the real container.
    let (code, out, err) = lab.node_ssh(&format!("pct exec {vmid} -- cat /etc/hostname"));
    assert_eq!((code, out.trim()), (0, "labweb"), "{err}");
    let (code, out, _) = lab.node_ssh(&format!(
        "pct exec {vmid} -- systemctl is-active nonexistent.service"
    ));
    assert_eq!((code, out.trim()), (3, "inactive"));

    tf.assert_no_changes();

    // Stopping the container makes its address go silent.
    assert!(answers_ping(ip), "{ip} answers while the container runs");
    tf.write_main(&service_config(&lab, vmid, ip, "").replace(
        "  template        =",
        "  started         = false\n  template        =",
    ));
    tf.apply_ok();
    assert_eq!(lab.lxc_state(vmid), "STOPPED");
    assert!(
        !answers_ping(ip),
        "{ip} must not answer once the container is stopped"
    );
    let (code, _, err) = lab.node_ssh(&format!("pct exec {vmid} -- true"));
    assert_eq!(code, 255);
    assert!(err.contains(&format!("CT {vmid} not running")), "{err}");

    tf.destroy_ok();
    assert!(
        !lab.container_dir.join(vmid.to_string()).exists(),
        "destroy removes the rootfs"
    );
    lab.stop();
    assert!(!bridge_exists(), "the lab bridge is removed on exit");
    assert!(
        !lab.container_dir.exists(),
        "the container directory is removed on exit"
    );
}

#[test]
fn a_rollback_restores_the_root_filesystem_and_the_container_runs_again() {
    let mut lab = Lab::start();
    let (vmid, ip) = (5102, "198.18.51.2");
    let snapshot = |trigger: &str| {
        format!(
            r#"
resource "ralf_snapshot" "pre" {{
  ct_id            = ralf_lxc_service.web.ct_id
  name             = "pre-install"
  rollback_trigger = "{trigger}"
}}
"#
        )
    };
    let tf = lab.tf(&service_config(&lab, vmid, ip, &snapshot("first")));
    tf.apply_ok();
    // An "install" after the snapshot: a file and a running unit.
    let (code, _) = lab.inside(
        vmid,
        "echo installed > /root/installed && systemd-run --unit=standin sleep 600",
    );
    assert_eq!(code, 0);
    assert_eq!(
        lab.inside(vmid, "systemctl is-active standin").1.trim(),
        "active"
    );

    tf.write_main(&service_config(&lab, vmid, ip, &snapshot("second")));
    tf.apply_ok();
    wait_until(
        "the container to run again",
        Duration::from_secs(20),
        || lab.lxc_state(vmid) == "RUNNING",
    );
    wait_until("systemd inside to answer", Duration::from_secs(20), || {
        lab.inside(vmid, "systemctl is-system-running").0 != 255
    });
    assert_eq!(
        lab.inside(vmid, "test -e /root/installed").0,
        1,
        "the file is gone"
    );
    assert_ne!(
        lab.inside(vmid, "systemctl is-active standin").1.trim(),
        "active"
    );
    assert_eq!(lab.inside(vmid, "hostname").1.trim(), "labweb");

    tf.destroy_ok();
    lab.stop();
    assert!(!bridge_exists());
}

#[test]
fn sigterm_removes_every_container_and_the_bridge_the_lab_made() {
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    require_lab_host();
    let dir = tempfile::tempdir().expect("tempdir");
    let container_dir = dir.path().join("containers");
    let port = support::closed_port();
    let sim = Command::new(support::workspace_binary("pve-sim"))
        .args([
            "--lab",
            "--plain-http",
            "--task-duration-ms",
            "10",
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--lab-dir")
        .arg(&container_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("pve-sim starts");
    let mut sim = TerminateOnDrop(sim);
    wait_until("pve-sim to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let tf = TfDir::new(&format!(
        r#"
terraform {{
  required_providers {{
    ralf = {{ source = "ralf-homelab/ralf" }}
  }}
}}
provider "ralf" {{
  endpoint  = "http://127.0.0.1:{port}/"
  api_token = "{token}"
  node      = "pve"
}}
resource "ralf_lxc_service" "a" {{
  ct_id    = 5103
  hostname = "laba"
  template = "{LAB_TEMPLATE}"
  network = {{ eth0 = {{ ip = "198.18.51.3/15" }} }}
}}
"#,
        token = support::TOKEN
    ));
    tf.apply_ok();
    assert!(bridge_exists());
    assert!(container_dir.join("5103/delta/etc").is_dir());
    sim.terminate();
    assert!(!bridge_exists(), "SIGTERM removes the bridge");
    assert!(!container_dir.exists(), "SIGTERM removes the containers");
    let veth = Path::new("/sys/class/net/veth5103i0");
    assert!(!veth.exists(), "no veth is left");
}

/// A pve-sim process that gets SIGTERM (its clean exit) when the test ends, passed or not.
struct TerminateOnDrop(std::process::Child);

impl TerminateOnDrop {
    fn terminate(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let _ = self.0.wait();
        }
    }
}

impl Drop for TerminateOnDrop {
    fn drop(&mut self) {
        self.terminate();
    }
}

#[test]
fn without_a_template_the_lab_refuses_to_start_and_says_how_to_build_one() {
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let empty = tempfile::tempdir().expect("tempdir");
    let config = pve_sim::SimConfig {
        lab: Some(pve_sim::lab::LabConfig {
            template_dir: empty.path().to_path_buf(),
            container_dir: empty.path().join("containers"),
            ..pve_sim::lab::LabConfig::default()
        }),
        ..pve_sim::SimConfig::default()
    };
    let err = match pve_sim::start_in_background(config, "127.0.0.1:0".parse().expect("addr")) {
        Ok(_) => panic!("the lab must not start without a template"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("pve-sim lab prepare"), "{err}");
    assert!(
        !bridge_exists(),
        "nothing is made when the lab cannot start"
    );
}

#[test]
fn the_lab_one_liner_deploys_15_services_behind_the_gatekeeper_and_leaves_nothing_behind() {
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    require_lab_host();
    support::terraform_binary();
    let work = tempfile::tempdir().expect("tempdir");
    let output = Command::new(support::workspace_binary("ralf"))
        .args(["demo", "--lab", "--tf-path", "terraform", "--tree"])
        .arg(support::workspace_root().join("examples/ralf-homelab/iac"))
        .arg("--work-dir")
        .arg(work.path())
        .env_remove("PROXMOX_VE_ENDPOINT")
        .env_remove("TF_CLI_CONFIG_FILE")
        .output()
        .expect("run ralf demo --lab");
    let out = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "ralf demo --lab failed:\n{out}"
    );
    for expected in [
        "apply over 16 units",
        "16 succeeded, 0 failed, 0 early exit",
        "no IP drift, every deployed service has its post-install snapshot",
        "No changes: the deployment matches the configuration.",
        "(15 hosts)",
        "Drill: apply failed as it must; rolled back",
        "Cluster after destroy: 0 containers",
        "Lab after exit: no container, rootfs, veth or bridge left",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
    let failed_checks: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL "))
        .collect();
    assert!(
        failed_checks.is_empty(),
        "every smoke check passes in the lab: {failed_checks:?}\n{out}"
    );
    assert!(!bridge_exists(), "the lab bridge is gone");
}
