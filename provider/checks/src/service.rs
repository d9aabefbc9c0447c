//! The `service { unit }` check: the systemd unit must be active inside the container. It runs
//! `pct exec <ct_id> -- systemctl is-active <unit>` on the container's node over SSH (see
//! [`ssh`](super::ssh)).
//!
//! Without SSH settings the check is SKIP with the reason; every SSH problem (unknown host key,
//! wrong key, unreachable node, missing `ssh` program) is FAIL with what to do, never OK.

use std::io;

use super::parse::{self, ParseError};
use super::ssh::{self, SshCommand, SshSettings, SSH_ERROR_EXIT};
use super::{Outcome, RunContext};

/// Why a service check without SSH settings is skipped.
pub const NO_SSH_SETTINGS: &str =
    "no SSH settings in the provider's ssh block: service checks run `pct exec` on the node over SSH";

/// Checks that a systemd unit is active in the smoke check's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCheck {
    pub unit: String,
}

/// The container service checks look into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    pub node: String,
    pub ct_id: u32,
}

impl ServiceCheck {
    /// Checks the unit name, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        parse::validate_unit(&self.unit)
    }

    /// The command run on the node.
    pub fn remote_command(&self, ct_id: u32) -> String {
        format!(
            "pct exec {ct_id} -- systemctl is-active {}",
            ssh::shell_quote(&self.unit)
        )
    }

    pub(crate) fn prepare<'a>(
        &'a self,
        ctx: &'a RunContext,
    ) -> Result<PreparedService<'a>, Outcome> {
        let Some(settings) = &ctx.ssh else {
            return Err(Outcome::Skip(NO_SSH_SETTINGS.to_string()));
        };
        self.validate()
            .map_err(|error| Outcome::Fail(format!("invalid service check, not run: {error}")))?;
        let Some(container) = &ctx.container else {
            return Err(Outcome::Fail(
                "service checks need the smoke check's node and ct_id: set both".to_string(),
            ));
        };
        let Some(address) = settings.address_for(&container.node) else {
            return Err(Outcome::Fail(format!(
                "no SSH address for node \"{}\": set address, or node_addresses[\"{}\"], in the \
                 provider's ssh block",
                container.node, container.node
            )));
        };
        let remote_command = self.remote_command(container.ct_id);
        let command = ssh::ssh_command(settings, address, ctx.attempt_timeout, &remote_command)
            .map_err(|error| {
                Outcome::Fail(format!(
                    "cannot write the temporary SSH key or known_hosts file: {error}"
                ))
            })?;
        Ok(PreparedService {
            unit: &self.unit,
            node: &container.node,
            ct_id: container.ct_id,
            address: address.to_string(),
            settings,
            remote_command,
            command,
        })
    }
}

/// A service check with its ssh command built, ready to attempt.
pub(crate) struct PreparedService<'a> {
    unit: &'a str,
    node: &'a str,
    ct_id: u32,
    address: String,
    settings: &'a SshSettings,
    remote_command: String,
    command: SshCommand,
}

impl PreparedService<'_> {
    pub(crate) async fn attempt(&self, ctx: &RunContext) -> Outcome {
        let output = match ctx.command_runner.run("ssh", &self.command.args).await {
            Ok(output) => output,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Outcome::Fail(
                    "the `ssh` program was not found: install the OpenSSH client (e.g. \
                     `apt-get install openssh-client`) on the machine that runs Terraform"
                        .to_string(),
                )
            }
            Err(error) => return Outcome::Fail(format!("cannot run `ssh`: {error}")),
        };
        let state = output.stdout.lines().next().unwrap_or("").trim();
        match output.exit_code {
            Some(0) if state == "active" => Outcome::Ok(format!(
                "unit {} is active in CT {} on node {}",
                self.unit, self.ct_id, self.node
            )),
            Some(SSH_ERROR_EXIT) => Outcome::Fail(self.ssh_failure(&output.stderr)),
            Some(_) if is_unit_state(state) => Outcome::Fail(format!(
                "unit {} is {state} in CT {} on node {}",
                self.unit, self.ct_id, self.node
            )),
            Some(code) => Outcome::Fail(format!(
                "`{}` on node {} ({}) exited with {code}: {}",
                self.remote_command,
                self.node,
                self.command.destination,
                one_line(if output.stderr.trim().is_empty() {
                    &output.stdout
                } else {
                    &output.stderr
                })
            )),
            None => Outcome::Fail(format!(
                "ssh to {} was killed by a signal",
                self.command.destination
            )),
        }
    }

    fn ssh_failure(&self, stderr: &str) -> String {
        let failed = format!(
            "ssh to {} for node {} failed (exit 255)",
            self.command.destination, self.node
        );
        let keyscan = format!("ssh-keyscan -p {} {}", self.settings.port, self.address);
        let flat = one_line(stderr);
        if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            let sent = changed_key_fingerprint(&flat)
                .map(|key| format!("; the node sent {key}"))
                .unwrap_or_default();
            return format!(
                "{failed}: the node's host key does not match known_hosts{sent}; if node {} \
                 was reinstalled, replace its key in known_hosts in the provider's ssh block with \
                 the output of `{keyscan}` (check the key's fingerprint first), otherwise the \
                 connection may be intercepted",
                self.node
            );
        }
        let mut message = format!("{failed}: {flat}");
        if stderr.contains("Host key verification failed") || stderr.contains("host key is known") {
            message.push_str(&format!(
                "; to trust node {}, add its host key to known_hosts in the provider's ssh block, \
                 e.g. the output of `{keyscan}` (check the key's fingerprint first)",
                self.node
            ));
        } else if stderr.contains("Permission denied") {
            message.push_str(&format!(
                "; the node refused user {}: check username, private_key and agent in the \
                 provider's ssh block",
                self.settings.username
            ));
            if self.settings.agent && std::env::var_os("SSH_AUTH_SOCK").is_none() {
                message.push_str(" (agent = true but SSH_AUTH_SOCK is not set)");
            }
        }
        message
    }
}

/// From OpenSSH's "host identification has changed" warning, e.g. "ED25519 key SHA256:abc".
fn changed_key_fingerprint(flat_stderr: &str) -> Option<String> {
    let (_, after) = flat_stderr.split_once("The fingerprint for the ")?;
    let (key_type, rest) = after.split_once(" key sent by the remote host is ")?;
    let fingerprint = rest.split_whitespace().next()?.trim_end_matches('.');
    Some(format!("{key_type} key {fingerprint}"))
}

/// The states `systemctl is-active` prints.
fn is_unit_state(state: &str) -> bool {
    matches!(
        state,
        "active"
            | "inactive"
            | "failed"
            | "activating"
            | "deactivating"
            | "reloading"
            | "refreshing"
            | "maintenance"
            | "unknown"
    )
}

/// Output on one line, whitespace collapsed, at most 600 characters.
fn one_line(text: &str) -> String {
    // OpenSSH frames warnings in lines of "@"; they carry nothing.
    let joined = text
        .split_whitespace()
        .filter(|word| !word.chars().all(|c| c == '@'))
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() > 600 {
        format!("{}...", joined.chars().take(600).collect::<String>())
    } else if joined.is_empty() {
        "(no output)".to_string()
    } else {
        joined
    }
}
