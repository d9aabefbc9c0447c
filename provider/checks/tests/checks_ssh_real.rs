//! Service checks over a real OpenSSH server started by each test on 127.0.0.1, with the real
//! `ssh` client. The server's `ForceCommand` stands in for a Proxmox node: it answers
//! `pct exec 3010 -- systemctl is-active nginx.service` with "active" and any other unit with
//! "inactive" (exit 3).
//!
//! Needs `sshd` (Debian: `apt-get install openssh-server`) and `ssh`/`ssh-keygen`
//! (`openssh-client`); without them these tests fail saying so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use checks::{
    run_checks, CancellationToken, CheckResult, CheckSpec, CheckStatus, ContainerRef, RetryPolicy,
    RunContext, SshSettings,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const NODE_SCRIPT: &str = r#"#!/bin/sh
eval "set -- $SSH_ORIGINAL_COMMAND"
if [ "$1 $2 $4 $5 $6" != "pct exec -- systemctl is-active" ]; then
  echo "unexpected command: $SSH_ORIGINAL_COMMAND" >&2
  exit 2
fi
case "$3:$7" in
  3010:nginx.service) echo active ;;
  *) echo inactive; exit 3 ;;
esac
"#;

/// A running sshd and the files it and its clients use; the server stops when this is dropped.
struct TestNode {
    _server: Child,
    dir: tempfile::TempDir,
    port: u16,
    /// The known_hosts line for this server.
    known_hosts: String,
    /// The private key the server accepts (PEM contents).
    client_key: String,
}

fn find_program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found: these tests need OpenSSH (Debian: `apt-get install \
                 openssh-server openssh-client`)"
            )
        })
}

fn keygen(path: &Path) {
    let status = std::process::Command::new(find_program("ssh-keygen"))
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed for {}", path.display());
}

fn current_user() -> String {
    let output = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id runs");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

impl TestNode {
    async fn start() -> TestNode {
        let sshd = find_program("sshd");
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        keygen(&path("host_key"));
        keygen(&path("client_key"));
        std::fs::copy(path("client_key.pub"), path("authorized_keys")).unwrap();
        std::fs::write(path("node.sh"), NODE_SCRIPT).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path("node.sh"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        // sshd started by root insists on its privilege-separation directory.
        if current_user() == "root" {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let config = format!(
            "ListenAddress 127.0.0.1:{port}\n\
             HostKey {host_key}\n\
             AuthorizedKeysFile {authorized_keys}\n\
             PidFile none\n\
             UsePAM no\n\
             StrictModes no\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n\
             ForceCommand {node_script}\n",
            host_key = path("host_key").display(),
            authorized_keys = path("authorized_keys").display(),
            node_script = path("node.sh").display(),
        );
        std::fs::write(path("sshd_config"), config).unwrap();
        let mut server = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(path("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sshd starts");
        let mut log = BufReader::new(server.stderr.take().unwrap()).lines();
        let listening = tokio::time::timeout(Duration::from_secs(20), async {
            let mut seen = Vec::new();
            while let Ok(Some(line)) = log.next_line().await {
                if line.contains("Server listening") {
                    return Ok(());
                }
                seen.push(line);
            }
            Err(seen.join("\n"))
        })
        .await;
        match listening {
            Ok(Ok(())) => {}
            Ok(Err(output)) => panic!("sshd exited before listening:\n{output}"),
            Err(_) => panic!("sshd did not report listening within 20s"),
        }
        // Keep draining the log so sshd never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });

        let host_public = std::fs::read_to_string(path("host_key.pub")).unwrap();
        let host_key_fields: Vec<&str> = host_public.split_whitespace().take(2).collect();
        TestNode {
            known_hosts: format!("[127.0.0.1]:{port} {}", host_key_fields.join(" ")),
            client_key: std::fs::read_to_string(path("client_key")).unwrap(),
            _server: server,
            dir,
            port,
        }
    }

    fn settings(&self) -> SshSettings {
        SshSettings {
            username: current_user(),
            private_key: Some(self.client_key.clone()),
            port: self.port,
            address: Some("127.0.0.1".to_string()),
            known_hosts: Some(self.known_hosts.clone()),
            ..SshSettings::default()
        }
    }
}

async fn run_service(unit: &str, ssh: SshSettings) -> CheckResult {
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        attempt_timeout: Duration::from_secs(20),
        ssh: Some(ssh),
        container: Some(ContainerRef {
            node: "pve".to_string(),
            ct_id: 3010,
        }),
        ..RunContext::default()
    };
    run_checks(&[CheckSpec::service(unit)], &ctx, &CancellationToken::new())
        .await
        .results
        .remove(0)
}

#[tokio::test]
async fn active_unit_over_real_ssh_is_ok() {
    let node = TestNode::start().await;
    let result = run_service("nginx.service", node.settings()).await;

    assert_eq!(result.status, CheckStatus::Ok, "{}", result.message);
    assert_eq!(
        result.message,
        "unit nginx.service is active in CT 3010 on node pve"
    );
}

#[tokio::test]
async fn inactive_unit_over_real_ssh_fails_with_its_state() {
    let node = TestNode::start().await;
    let result = run_service("postgresql.service", node.settings()).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.message,
        "unit postgresql.service is inactive in CT 3010 on node pve"
    );
}

#[tokio::test]
async fn unknown_host_key_over_real_ssh_fails_saying_how_to_trust_the_node() {
    let node = TestNode::start().await;
    let settings = SshSettings {
        known_hosts: Some(String::new()),
        ..node.settings()
    };
    let result = run_service("nginx.service", settings).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert!(
        result.message.contains("Host key verification failed"),
        "{}",
        result.message
    );
    assert!(
        result.message.ends_with(&format!(
            "to trust node pve, add its host key to known_hosts in the provider's ssh block, \
             e.g. the output of `ssh-keyscan -p {} 127.0.0.1` (check the key's fingerprint first)",
            node.port
        )),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn changed_host_key_over_real_ssh_fails() {
    let node = TestNode::start().await;
    let other_key = node.dir.path().join("other_host_key");
    keygen(&other_key);
    let other_public = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let fields: Vec<&str> = other_public.split_whitespace().take(2).collect();
    let settings = SshSettings {
        known_hosts: Some(format!("[127.0.0.1]:{} {}", node.port, fields.join(" "))),
        ..node.settings()
    };
    let result = run_service("nginx.service", settings).await;

    assert_eq!(result.status, CheckStatus::Fail);
    let expected_start = format!(
        "ssh to {}@127.0.0.1:{} for node pve failed (exit 255): the node's host key does not match \
         known_hosts; the node sent ED25519 key SHA256:",
        current_user(),
        node.port
    );
    assert!(
        result.message.starts_with(&expected_start),
        "{}",
        result.message
    );
    assert!(
        result.message.ends_with(&format!(
            "; if node pve was reinstalled, replace its key in known_hosts in the provider's ssh \
             block with the output of `ssh-keyscan -p {} 127.0.0.1` (check the key's fingerprint \
             first), otherwise the connection may be intercepted",
            node.port
        )),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn wrong_private_key_over_real_ssh_is_refused_without_showing_the_key() {
    let node = TestNode::start().await;
    let wrong_key = node.dir.path().join("wrong_key");
    keygen(&wrong_key);
    let wrong_key_contents = std::fs::read_to_string(&wrong_key).unwrap();
    let settings = SshSettings {
        private_key: Some(wrong_key_contents.clone()),
        ..node.settings()
    };
    let result = run_service("nginx.service", settings).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert!(
        result.message.contains("Permission denied")
            && result
                .message
                .contains("check username, private_key and agent in the provider's ssh block"),
        "{}",
        result.message
    );
    let key_body = wrong_key_contents.lines().nth(1).unwrap();
    assert!(!result.message.contains(key_body), "{}", result.message);
}

#[tokio::test]
async fn unreachable_node_over_real_ssh_fails() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let settings = SshSettings {
        port,
        address: Some("127.0.0.1".to_string()),
        known_hosts: Some(String::new()),
        ..SshSettings::default()
    };
    let result = run_service("nginx.service", settings).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert!(
        result.message.contains("Connection refused"),
        "{}",
        result.message
    );
}
