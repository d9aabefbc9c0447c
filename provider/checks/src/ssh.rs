//! SSH to a Proxmox node with the system OpenSSH client, for service checks.
//!
//! The `ssh` binary handles agents, keys, `~/.ssh/config` and known_hosts the way users expect.
//! It always runs with `BatchMode=yes` (never prompts) and `StrictHostKeyChecking=yes` (an
//! unknown host key fails). A private key and known_hosts lines from the provider's `ssh` block
//! are written to private temporary files (mode 0600) that live as long as the command; the key's
//! contents never appear in messages, logs or `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tempfile::NamedTempFile;

/// The provider's `ssh` block.
#[derive(Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// `root` by default.
    pub username: String,
    /// PEM contents of a private key; used instead of the user's default keys.
    pub private_key: Option<String>,
    /// Use the agent at `SSH_AUTH_SOCK`. When false and `private_key` is set, only that key is
    /// offered. With neither, `ssh` uses the user's own agent and default keys.
    pub agent: bool,
    /// 22 by default.
    pub port: u16,
    /// The node address for every node without an entry in `node_addresses`.
    pub address: Option<String>,
    /// Per-node addresses, for clusters.
    pub node_addresses: BTreeMap<String, String>,
    /// known_hosts lines to trust; when `None`, the user's own known_hosts files are used.
    pub known_hosts: Option<String>,
    /// The host of the provider's API endpoint, the last fallback for the address (given by the
    /// caller, not by the user).
    pub endpoint_host: Option<String>,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            username: "root".to_string(),
            private_key: None,
            agent: false,
            port: 22,
            address: None,
            node_addresses: BTreeMap::new(),
            known_hosts: None,
            endpoint_host: None,
        }
    }
}

impl SshSettings {
    /// The address to reach `node` at: its `node_addresses` entry, else `address`, else the API
    /// endpoint's host.
    pub fn address_for(&self, node: &str) -> Option<&str> {
        self.node_addresses
            .get(node)
            .or(self.address.as_ref())
            .or(self.endpoint_host.as_ref())
            .map(String::as_str)
            .filter(|address| !address.trim().is_empty())
    }
}

impl fmt::Debug for SshSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshSettings")
            .field("username", &self.username)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "(hidden)"),
            )
            .field("agent", &self.agent)
            .field("port", &self.port)
            .field("address", &self.address)
            .field("node_addresses", &self.node_addresses)
            .field("known_hosts", &self.known_hosts.as_ref().map(|_| "(given)"))
            .field("endpoint_host", &self.endpoint_host)
            .finish()
    }
}

/// What a finished command printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandOutput {
    /// `None` when the process was killed by a signal.
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a program to completion. Dropping the returned future must stop the program.
#[async_trait]
pub trait CommandRunner: Send + Sync {
    /// Runs `program` with `args` and no standard input. An `Err` means it could not be started
    /// (`io::ErrorKind::NotFound` when the program is not installed).
    async fn run(&self, program: &str, args: &[String]) -> io::Result<CommandOutput>;
}

/// Runs real processes with tokio, killing them when the future is dropped (timeout, cancel).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemCommandRunner;

#[async_trait]
impl CommandRunner for SystemCommandRunner {
    async fn run(&self, program: &str, args: &[String]) -> io::Result<CommandOutput> {
        let output = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
            .await?;
        Ok(CommandOutput {
            exit_code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// An `ssh` invocation and the temporary files it reads, deleted when this is dropped.
pub(crate) struct SshCommand {
    pub(crate) args: Vec<String>,
    /// `user@address:port`, for messages.
    pub(crate) destination: String,
    _key_file: Option<NamedTempFile>,
    _known_hosts_file: Option<NamedTempFile>,
}

/// The ssh exit status for its own errors (connection, authentication, host key).
pub(crate) const SSH_ERROR_EXIT: i32 = 255;

/// Builds `ssh [options] -- address remote_command` for `settings`, writing the key and
/// known_hosts files it needs.
pub(crate) fn ssh_command(
    settings: &SshSettings,
    address: &str,
    connect_timeout: Duration,
    remote_command: &str,
) -> io::Result<SshCommand> {
    let mut args: Vec<String> = Vec::new();
    let mut option = |value: String| {
        args.push("-o".to_string());
        args.push(value);
    };
    option("BatchMode=yes".to_string());
    option("StrictHostKeyChecking=yes".to_string());
    option(format!(
        "ConnectTimeout={}",
        connect_timeout.as_secs_f64().ceil().max(1.0) as u64
    ));
    option("LogLevel=ERROR".to_string());

    let known_hosts_file = match &settings.known_hosts {
        Some(lines) => {
            let file = private_file("ralf-known-hosts-", lines)?;
            option(format!("UserKnownHostsFile={}", file.path().display()));
            option("GlobalKnownHostsFile=/dev/null".to_string());
            Some(file)
        }
        None => None,
    };
    let key_file = match &settings.private_key {
        Some(key) => {
            let file = private_file("ralf-ssh-key-", key)?;
            if !settings.agent {
                option("IdentityAgent=none".to_string());
                option("IdentitiesOnly=yes".to_string());
            }
            args.push("-i".to_string());
            args.push(file.path().display().to_string());
            Some(file)
        }
        None => None,
    };
    args.push("-p".to_string());
    args.push(settings.port.to_string());
    args.push("-l".to_string());
    args.push(settings.username.clone());
    args.push("--".to_string());
    args.push(address.to_string());
    args.push(remote_command.to_string());
    Ok(SshCommand {
        args,
        destination: format!(
            "{}@{}",
            settings.username,
            super::tcp::host_port(address, settings.port)
        ),
        _key_file: key_file,
        _known_hosts_file: known_hosts_file,
    })
}

/// A temporary file only the current user can read, holding `contents` (newline-terminated, as
/// OpenSSH requires for keys).
fn private_file(prefix: &str, contents: &str) -> io::Result<NamedTempFile> {
    let mut file = tempfile::Builder::new().prefix(prefix).tempfile()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents.as_bytes())?;
    if !contents.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    file.flush()?;
    Ok(file)
}

/// Quotes `word` for a POSIX shell (the remote side of ssh runs the command through one).
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs `remote_command` on `node` over SSH with `settings`, within `timeout`. `Err` says what
/// went wrong and what to do (no address, `ssh` missing, a non-zero exit with its stderr).
pub async fn run_on_node(
    settings: &SshSettings,
    runner: &dyn CommandRunner,
    node: &str,
    remote_command: &str,
    timeout: Duration,
) -> Result<CommandOutput, String> {
    let address = settings.address_for(node).ok_or_else(|| {
        format!("no SSH address for node {node}: set address or node_addresses in the provider's ssh block")
    })?;
    let command = ssh_command(settings, address, timeout, remote_command)
        .map_err(|e| format!("cannot prepare the ssh command: {e}"))?;
    let output = match tokio::time::timeout(timeout, runner.run("ssh", &command.args)).await {
        Err(_) => return Err(format!("ssh to {} did not finish within {}s", command.destination, timeout.as_secs())),
        Ok(Err(e)) if e.kind() == io::ErrorKind::NotFound => {
            return Err("the `ssh` program was not found: install the OpenSSH client (e.g. `apt-get install openssh-client`) on the machine that runs Terraform".to_string())
        }
        Ok(Err(e)) => return Err(format!("cannot run `ssh`: {e}")),
        Ok(Ok(output)) => output,
    };
    match output.exit_code {
        Some(0) => Ok(output),
        Some(code) => Err(format!(
            "`{remote_command}` on {} exited with {code}: {}",
            command.destination,
            output.stderr.trim()
        )),
        None => Err(format!(
            "ssh to {} was killed by a signal",
            command.destination
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_address_prefers_node_entry_then_address_then_endpoint_host() {
        let mut settings = SshSettings {
            endpoint_host: Some("pve.example".to_string()),
            ..SshSettings::default()
        };
        assert_eq!(settings.address_for("pve1"), Some("pve.example"));
        settings.address = Some("10.0.0.5".to_string());
        assert_eq!(settings.address_for("pve1"), Some("10.0.0.5"));
        settings
            .node_addresses
            .insert("pve1".to_string(), "10.0.0.6".to_string());
        assert_eq!(settings.address_for("pve1"), Some("10.0.0.6"));
        assert_eq!(settings.address_for("pve2"), Some("10.0.0.5"));
        assert_eq!(SshSettings::default().address_for("pve1"), None);
    }

    #[test]
    fn debug_output_hides_the_private_key() {
        let settings = SshSettings {
            private_key: Some("-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETBYTES".to_string()),
            ..SshSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("SECRETBYTES"), "{shown}");
        assert!(shown.contains("(hidden)"), "{shown}");
    }

    #[test]
    fn command_checks_host_keys_never_prompts_and_uses_private_files() {
        let settings = SshSettings {
            private_key: Some("KEY-CONTENTS".to_string()),
            known_hosts: Some("10.0.0.5 ssh-ed25519 AAAA".to_string()),
            port: 2222,
            ..SshSettings::default()
        };
        let command = ssh_command(
            &settings,
            "10.0.0.5",
            Duration::from_millis(1500),
            "pct exec 100 -- systemctl is-active 'a.service'",
        )
        .unwrap();
        let args = command.args.join(" ");
        for expected in [
            "-o BatchMode=yes",
            "-o StrictHostKeyChecking=yes",
            "-o ConnectTimeout=2",
            "-o IdentityAgent=none",
            "-o IdentitiesOnly=yes",
            "-p 2222",
            "-l root",
            "-- 10.0.0.5 pct exec 100",
        ] {
            assert!(args.contains(expected), "{expected:?} missing from {args}");
        }
        assert!(!args.contains("KEY-CONTENTS"), "{args}");
        assert_eq!(command.destination, "root@10.0.0.5:2222");

        let key_path = &command.args[command.args.iter().position(|a| a == "-i").unwrap() + 1];
        assert_eq!(std::fs::read_to_string(key_path).unwrap(), "KEY-CONTENTS\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let known_hosts_arg = command
            .args
            .iter()
            .find(|a| a.starts_with("UserKnownHostsFile="))
            .unwrap();
        let known_hosts_path = known_hosts_arg.trim_start_matches("UserKnownHostsFile=");
        assert_eq!(
            std::fs::read_to_string(known_hosts_path).unwrap(),
            "10.0.0.5 ssh-ed25519 AAAA\n"
        );
        let key_path = key_path.clone();
        drop(command);
        assert!(!std::path::Path::new(&key_path).exists());
    }

    #[test]
    fn agent_setting_keeps_the_agent_next_to_the_key() {
        let settings = SshSettings {
            private_key: Some("KEY".to_string()),
            agent: true,
            ..SshSettings::default()
        };
        let command = ssh_command(&settings, "h", Duration::from_secs(10), "true").unwrap();
        assert!(!command.args.iter().any(|a| a == "IdentityAgent=none"));
        assert!(!command
            .args
            .iter()
            .any(|a| a.starts_with("UserKnownHostsFile=")));
    }

    #[test]
    fn shell_quote_survives_single_quotes() {
        assert_eq!(shell_quote("a.service"), "'a.service'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
