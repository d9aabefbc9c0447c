//! Shared harness for the acceptance tests: finds the built binaries and `terraform`, writes a
//! working directory with a CLI configuration that loads our provider through `dev_overrides`,
//! and runs Terraform commands with a clean, offline environment.
//!
//! A missing tool is a test failure with a message saying what to install or build, never a skip.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// The workspace root (parent of `acceptance/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("acceptance/ has a parent")
        .to_path_buf()
}

/// The directory holding the workspace's built binaries (same profile as this test).
pub fn bin_dir() -> PathBuf {
    // Test executables live in target/<profile>/deps; binaries one level up.
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// Path of a workspace binary, failing the test with the build command when it is missing.
pub fn workspace_binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not built. Build the workspace binaries first: `cargo build --workspace --bins` (README's test command does).",
        path.display()
    );
    path
}

/// `terraform` on PATH, failing the test with what to do when it is missing.
pub fn terraform_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("terraform"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`terraform` is not on PATH: the acceptance tests drive the real Terraform CLI (1.11 or newer). Install it and re-run.")
    })
}

/// A Terraform working directory whose CLI configuration loads our provider from the build.
pub struct TfDir {
    pub dir: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

pub struct TfRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfRun {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    /// Output with line breaks and box-drawing gutters removed, so messages wrapped by Terraform
    /// can be matched as one string.
    pub fn flat(&self) -> String {
        self.all()
            .lines()
            .map(|l| {
                l.trim_start_matches(|c: char| {
                    c == '│' || c == '╷' || c == '╵' || c.is_whitespace()
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl TfDir {
    pub fn new(main_tf: &str) -> TfDir {
        let dir = tempfile::Builder::new()
            .prefix("ralf-acc-")
            .tempdir()
            .expect("temp dir");
        let provider = workspace_binary("terraform-provider-ralf");
        let provider_dir = provider.parent().expect("binary dir");
        let cli = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"registry.terraform.io/ralf-homelab/ralf\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("write cli config");
        std::fs::write(dir.path().join("main.tf"), main_tf).expect("write main.tf");
        TfDir {
            dir,
            extra_env: vec![],
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_main(&self, main_tf: &str) {
        std::fs::write(self.path().join("main.tf"), main_tf).expect("write main.tf");
    }

    pub fn env(mut self, key: &str, value: &str) -> TfDir {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// Runs `terraform <args>` in this directory.
    pub fn run(&self, args: &[&str]) -> TfRun {
        let Output {
            status,
            stdout,
            stderr,
        } = self.command(args).output().expect("run terraform");
        TfRun {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// The `terraform <args>` command for this directory, not started (for tests that spawn
    /// and kill it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(terraform_binary());
        cmd.args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("TF_REATTACH_PROVIDERS");
        for var in [
            "PROXMOX_VE_ENDPOINT",
            "PROXMOX_VE_API_TOKEN",
            "PROXMOX_VE_USERNAME",
            "PROXMOX_VE_PASSWORD",
            "PROXMOX_VE_NODE",
            "PROXMOX_VE_INSECURE",
            "PROXMOX_VE_CA_CERT",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn apply(&self) -> TfRun {
        self.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
    }

    pub fn apply_ok(&self) -> TfRun {
        let run = self.apply();
        assert_eq!(run.code, 0, "terraform apply failed:\n{}", run.all());
        run
    }

    /// `plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self) -> TfRun {
        self.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
    }

    pub fn assert_no_changes(&self) {
        let run = self.plan();
        assert_eq!(
            run.code,
            0,
            "expected an empty plan (exit 0), got exit {}:\n{}",
            run.code,
            run.all()
        );
    }

    pub fn destroy_ok(&self) -> TfRun {
        let run = self.run(&["destroy", "-auto-approve", "-no-color", "-input=false"]);
        assert_eq!(run.code, 0, "terraform destroy failed:\n{}", run.all());
        run
    }

    /// `terraform output -raw NAME`.
    pub fn output(&self, name: &str) -> String {
        let run = self.run(&["output", "-raw", name]);
        assert_eq!(
            run.code,
            0,
            "terraform output {name} failed:\n{}",
            run.all()
        );
        run.stdout
    }

    /// `terraform output -json NAME` parsed.
    pub fn output_json(&self, name: &str) -> serde_json::Value {
        let run = self.run(&["output", "-json", name]);
        assert_eq!(
            run.code,
            0,
            "terraform output {name} failed:\n{}",
            run.all()
        );
        serde_json::from_str(&run.stdout).expect("output JSON")
    }
}

/// A tiny HTTP server on loopback answering every request with a fixed status and body, which a
/// test can switch at any time. Stops when dropped.
pub struct TestHttpServer {
    pub addr: SocketAddr,
    status: Arc<std::sync::Mutex<(u16, String)>>,
    stop: Arc<AtomicBool>,
}

impl TestHttpServer {
    pub fn start(status: u16, body: &str) -> TestHttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(std::sync::Mutex::new((status, body.to_string())));
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (state.clone(), stop.clone());
        thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let mut buf = [0u8; 4096];
                        let _ = stream.read(&mut buf);
                        let (code, body) = state2
                            .lock()
                            .map(|s| s.clone())
                            .unwrap_or((500, String::new()));
                        let response = format!(
                            "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(response.as_bytes());
                    }
                    Err(_) => thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        TestHttpServer {
            addr,
            status: state,
            stop,
        }
    }

    pub fn set(&self, status: u16, body: &str) {
        if let Ok(mut s) = self.status.lock() {
            *s = (status, body.to_string());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TestHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// An embedded pve-sim for one test, with a blocking admin client.
pub struct Sim {
    pub sim: pve_sim::BackgroundSim,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

pub const TOKEN: &str = "root@pam!ralf=ralf-secret";
pub const ROOT_PASSWORD: &str = "ralf-password";
pub const UBUNTU: &str = "local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst";
pub const DEBIAN: &str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";

impl Sim {
    pub fn start() -> Sim {
        let config = pve_sim::SimConfig {
            task_duration: std::time::Duration::from_millis(20),
            ..pve_sim::SimConfig::default()
        };
        Sim::from_config(config)
    }

    /// A simulator started in the background from `config`, with the runtime and client the
    /// helpers below use.
    fn from_config(config: pve_sim::SimConfig) -> Sim {
        let sim = pve_sim::start_in_background(config, "127.0.0.1:0".parse().expect("addr"))
            .expect("start pve-sim");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        Sim {
            sim,
            runtime,
            client,
        }
    }

    /// A simulator that also serves the node's SSH (pve-sim's own server, where `pct set` runs as
    /// root on the node), and the login to it: the `ssh {}` block of a provider configuration.
    #[allow(dead_code)]
    pub fn start_with_node_ssh() -> (Sim, NodeSshLogin) {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("id_ed25519");
        keygen(&key);
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
        let config = pve_sim::SimConfig {
            task_duration: std::time::Duration::from_millis(20),
            ssh: Some(pve_sim::SshServerConfig {
                listen: "127.0.0.1:0".parse().expect("addr"),
                user: "root".to_string(),
                authorized_keys: vec![public],
            }),
            ..pve_sim::SimConfig::default()
        };
        let sim = Sim::from_config(config);
        let info = sim.sim.ssh().expect("the node's SSH server runs");
        let login = NodeSshLogin {
            port: info.addr.port(),
            known_hosts: info.known_hosts,
            client_key: std::fs::read_to_string(&key).expect("private key"),
        };
        (sim, login)
    }

    pub fn endpoint(&self) -> String {
        self.sim.endpoint()
    }

    /// A Terraform directory whose provider talks to this simulator (TLS verified against its CA).
    pub fn tf(&self, main_tf: &str) -> TfDir {
        TfDir::new(main_tf)
            .env("PROXMOX_VE_ENDPOINT", &self.endpoint())
            .env("PROXMOX_VE_CA_CERT", &self.sim.ca_pem().unwrap_or_default())
            .env("PROXMOX_VE_NODE", "pve")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint().trim_end_matches('/'), path)
    }

    /// An admin (`/sim/...`) or API call; API calls use the token. Returns the JSON answer.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if path.starts_with("/api2/") {
            req = req.header("Authorization", format!("PVEAPIToken={TOKEN}"));
            if let Some(serde_json::Value::Object(form)) = &body {
                let pairs: Vec<(String, String)> = form
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect();
                req = req.form(&pairs);
            }
        } else if let Some(body) = body {
            req = req.json(&body);
        }
        self.runtime.block_on(async {
            let resp = req.send().await.expect("sim call");
            let text = resp.text().await.expect("sim body");
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        })
    }

    pub fn containers(&self) -> Vec<serde_json::Value> {
        self.call("GET", "/sim/containers", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn stats(&self) -> serde_json::Value {
        self.call("GET", "/sim/stats", None)
    }

    pub fn count(&self, endpoint: &str) -> u64 {
        self.stats()["by_endpoint"][endpoint].as_u64().unwrap_or(0)
    }

    pub fn clear_stats(&self) {
        self.call("DELETE", "/sim/stats", None);
    }

    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.call("GET", "/sim/requests", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A real OpenSSH server on loopback standing in for a Proxmox node: every command runs with the
/// simulator's `pct` first on the PATH. Stops when dropped.
pub struct SshNode {
    server: std::process::Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// `[127.0.0.1]:PORT <host key>`, the line that trusts this node.
    pub known_hosts: String,
    /// PEM of the private key the node accepts.
    pub client_key: String,
    /// PEM of another key, which the node does not accept.
    pub wrong_key: String,
}

fn find_program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(name)).find(|c| c.is_file()).unwrap_or_else(|| {
        panic!("`{name}` not found: the SSH acceptance tests need OpenSSH (Debian: `apt-get install openssh-server openssh-client`; .ci/run installs them)")
    })
}

fn keygen(path: &Path) {
    let status = Command::new(find_program("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

impl SshNode {
    pub fn start(sim: &Sim) -> SshNode {
        use std::os::unix::fs::PermissionsExt;
        let sshd = find_program("sshd");
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |name: &str| dir.path().join(name);
        keygen(&p("host_key"));
        keygen(&p("client_key"));
        keygen(&p("wrong_key"));
        std::fs::copy(p("client_key.pub"), p("authorized_keys")).expect("authorized_keys");
        std::fs::create_dir_all(p("bin")).expect("bin dir");
        std::os::unix::fs::symlink(workspace_binary("pve-sim"), p("bin/pct")).expect("pct symlink");
        std::fs::write(p("sim-ca.pem"), sim.sim.ca_pem().unwrap_or_default()).expect("ca file");
        let node_script = format!(
            "#!/bin/sh\nexport PATH='{bin}':\"$PATH\" PVE_SIM_ENDPOINT='{endpoint}' PVE_SIM_CA_FILE='{ca}' PVE_SIM_NODE=pve\nexec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n",
            bin = p("bin").display(),
            endpoint = sim.endpoint(),
            ca = p("sim-ca.pem").display()
        );
        std::fs::write(p("node.sh"), node_script).expect("node script");
        std::fs::set_permissions(p("node.sh"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = closed_port();
        let config = format!(
            "ListenAddress 127.0.0.1:{port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nForceCommand {}\n",
            p("host_key").display(),
            p("authorized_keys").display(),
            p("node.sh").display()
        );
        std::fs::write(p("sshd_config"), config).expect("sshd_config");
        let server = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(p("sshd_config"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(p("sshd.log")).expect("log"))
            .spawn()
            .expect("sshd starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "sshd did not listen on {port}: {}",
                std::fs::read_to_string(p("sshd.log")).unwrap_or_default()
            );
            thread::sleep(std::time::Duration::from_millis(50));
        }
        let host_pub = std::fs::read_to_string(p("host_key.pub")).expect("host key");
        let mut fields = host_pub.split_whitespace();
        let known_hosts = format!(
            "[127.0.0.1]:{port} {} {}",
            fields.next().unwrap_or(""),
            fields.next().unwrap_or("")
        );
        let client_key = std::fs::read_to_string(p("client_key")).expect("client key");
        let wrong_key = std::fs::read_to_string(p("wrong_key")).expect("wrong key");
        SshNode {
            server,
            dir,
            port,
            known_hosts,
            client_key,
            wrong_key,
        }
    }

    /// The provider's `ssh` block for this node, with the given key and known_hosts lines.
    pub fn ssh_block(&self, key: &str, known_hosts: &str) -> String {
        format!(
            "  ssh {{\n    username    = \"root\"\n    address     = \"127.0.0.1\"\n    port        = {}\n    private_key = <<-KEY\n{}KEY\n    known_hosts = \"{}\"\n  }}\n",
            self.port,
            key,
            known_hosts
        )
    }
}

impl Drop for SshNode {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The login to pve-sim's own node SSH server ([`Sim::start_with_node_ssh`]).
#[allow(dead_code)]
pub struct NodeSshLogin {
    pub port: u16,
    /// `[127.0.0.1]:PORT <host key>`, the line that trusts the node.
    pub known_hosts: String,
    /// PEM of the private key the node accepts.
    pub client_key: String,
}

#[allow(dead_code)]
impl NodeSshLogin {
    /// The provider's `ssh {}` block for this node.
    pub fn ssh_block(&self) -> String {
        format!(
            "  ssh {{\n    username    = \"root\"\n    address     = \"127.0.0.1\"\n    port        = {}\n    private_key = <<-KEY\n{}KEY\n    known_hosts = \"{}\"\n  }}\n",
            self.port, self.client_key, self.known_hosts
        )
    }
}

/// What Terraform's state and Proxmox hold, as comparable sets: `"<ct_id>"` per container and
/// `"<ct_id>/<snapshot>"` per snapshot.
#[allow(dead_code)]
pub struct Inventory {
    pub state: std::collections::BTreeSet<String>,
    pub proxmox: std::collections::BTreeSet<String>,
    /// Containers Proxmox holds more than once, or with a lock still held.
    pub anomalies: Vec<String>,
}

/// Reads the state (`terraform show -json`) and the simulator's containers and snapshots.
#[allow(dead_code)]
pub fn inventory(tf: &TfDir, sim: &Sim) -> Inventory {
    let run = tf.run(&["show", "-json", "-no-color"]);
    assert_eq!(run.code, 0, "terraform show failed:\n{}", run.all());
    let shown: serde_json::Value = serde_json::from_str(&run.stdout).expect("show -json");
    let mut state = std::collections::BTreeSet::new();
    let resources = shown["values"]["root_module"]["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in resources {
        let v = &r["values"];
        match r["type"].as_str() {
            Some("ralf_lxc_service") => {
                state.insert(v["ct_id"].to_string());
            }
            Some("ralf_snapshot") => {
                state.insert(format!(
                    "{}/{}",
                    v["ct_id"],
                    v["name"].as_str().unwrap_or("")
                ));
            }
            _ => {}
        }
    }
    let mut proxmox = std::collections::BTreeSet::new();
    let mut anomalies = Vec::new();
    for ct in sim.containers() {
        let id = ct["vmid"].to_string();
        if !proxmox.insert(id.clone()) {
            anomalies.push(format!("container {id} twice"));
        }
        if !ct["lock"].is_null() {
            anomalies.push(format!("container {id} still locked: {}", ct["lock"]));
        }
        for snap in ct["snapshots"].as_array().cloned().unwrap_or_default() {
            proxmox.insert(format!("{id}/{}", snap.as_str().unwrap_or("")));
        }
    }
    Inventory {
        state,
        proxmox,
        anomalies,
    }
}

/// Asserts that state and Proxmox agree exactly: no duplicate, no orphan (in Proxmox only), no
/// stale entry (in state only), no lock left behind.
#[allow(dead_code)]
pub fn assert_state_matches_proxmox(tf: &TfDir, sim: &Sim, context: &str) {
    let inv = inventory(tf, sim);
    let orphans: Vec<_> = inv.proxmox.difference(&inv.state).collect();
    let stale: Vec<_> = inv.state.difference(&inv.proxmox).collect();
    assert!(
        orphans.is_empty() && stale.is_empty() && inv.anomalies.is_empty(),
        "{context}: orphans {orphans:?}, stale {stale:?}, anomalies {:?}",
        inv.anomalies
    );
}

/// A configuration of `count` containers (`svc0`..., ct_ids from `first_ct_id`), each with one
/// snapshot named `base`, with the token provider: the fleet of the fault campaign and the kill
/// drill.
#[allow(dead_code)]
pub fn fleet_with_snapshots(first_ct_id: u32, count: u32) -> String {
    let mut tf = format!(
        "terraform {{\n  required_providers {{\n    ralf = {{ source = \"ralf-homelab/ralf\" }}\n  }}\n}}\nprovider \"ralf\" {{\n  api_token = \"{TOKEN}\"\n}}\n"
    );
    for i in 0..count {
        tf.push_str(&format!(
            r#"
resource "ralf_lxc_service" "svc{i}" {{
  ct_id    = {ct}
  hostname = "svc{i}"
  template = "{UBUNTU}"
}}

resource "ralf_snapshot" "svc{i}_base" {{
  ct_id = ralf_lxc_service.svc{i}.ct_id
  name  = "base"
}}
"#,
            ct = first_ct_id + i
        ));
    }
    tf
}

/// The example RALF tree of this repository.
pub fn example_tree() -> PathBuf {
    workspace_root().join("examples/ralf-homelab/iac")
}

/// Copies a tree of stacks as a clone of the repository would have it, without local working
/// files (`.terraform`, `.terragrunt-cache`, state). The committed lock files are left out: they
/// pin the release archive, and the tests run the provider built in target/ (a different binary,
/// see docs/guides/installing.md).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            ".terraform" | ".terragrunt-cache" | ".terraform.lock.hcl"
        ) || name.contains(".tfstate")
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A copy of the example tree set up for `ralf run` against a test's own pve-sim, as one machine
/// would have it: a filesystem mirror holding the built provider (as `ralf demo` writes it, so
/// `init` needs no registry), a CLI configuration loading it, and the environment of the tree's
/// `sim` environment pointed at the simulator (`env`, to pass to every `ralf` command).
pub struct TreeCopy {
    _dir: tempfile::TempDir,
    pub iac: PathBuf,
    pub env: Vec<(String, String)>,
}

impl TreeCopy {
    pub const PROVIDER_ADDRESS: &'static str = "registry.terraform.io/ralf-homelab/ralf";

    /// The copy in a new temporary directory named `prefix...`.
    pub fn new(sim: &Sim, prefix: &str) -> TreeCopy {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("tempdir");
        let iac = dir.path().join("iac");
        copy_tree(&example_tree(), &iac);
        let address = Self::PROVIDER_ADDRESS;
        let version = env!("CARGO_PKG_VERSION");
        let provider = workspace_binary("terraform-provider-ralf");
        let package = dir
            .path()
            .join(format!("mirror/{address}/{version}/linux_amd64"));
        std::fs::create_dir_all(&package).expect("mirror dir");
        std::fs::copy(
            &provider,
            package.join(format!("terraform-provider-ralf_v{version}")),
        )
        .expect("copy provider");
        let cli = dir.path().join("cli.tfrc");
        std::fs::write(
            &cli,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{address}\" = \"{}\"\n  }}\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{address}\"]\n  }}\n  direct {{\n    exclude = [\"{address}\"]\n  }}\n}}\n",
                provider.parent().expect("bin dir").display(),
                dir.path().join("mirror").display()
            ),
        )
        .expect("cli config");
        let ca = sim.sim.ca_pem().unwrap_or_default();
        let ca_file = dir.path().join("pve-sim-ca.pem");
        std::fs::write(&ca_file, &ca).expect("ca file");
        let endpoint = sim.endpoint();
        let env = vec![
            ("TF_CLI_CONFIG_FILE".into(), cli.display().to_string()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("PROXMOX_VE_ENDPOINT".into(), endpoint.clone()),
            ("PROXMOX_VE_API_TOKEN".into(), TOKEN.into()),
            ("PROXMOX_VE_CA_CERT".into(), ca),
            ("PROXMOX_VE_NODE".into(), "pve".into()),
            ("RALF_ENV".into(), "sim".into()),
            (
                "TF_VAR_sim_endpoint".into(),
                endpoint.trim_end_matches('/').to_string(),
            ),
            ("CURL_CA_BUNDLE".into(), ca_file.display().to_string()),
        ];
        TreeCopy {
            _dir: dir,
            iac,
            env,
        }
    }
}
