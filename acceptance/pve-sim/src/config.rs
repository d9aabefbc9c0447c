//! The simulator's start-up configuration: cluster nodes, credentials, transport, persistence
//! and timing. It must not know how the server uses these values.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::SimError;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Node names of the one cluster (the first is the default).
    pub nodes: Vec<String>,
    /// API tokens, each `user@realm!tokenid=secret`.
    pub tokens: Vec<String>,
    /// Users for ticket login, each `user@realm:password`.
    pub users: Vec<String>,
    /// Serve plain HTTP instead of HTTPS with a self-signed certificate.
    pub plain_http: bool,
    /// Where to keep the cluster across restarts (written atomically after every change).
    pub state_file: Option<PathBuf>,
    /// How long every asynchronous task runs before it finishes (default 50 ms).
    pub task_duration: Duration,
    /// How long to delay every 401 answer. Proxmox waits 3 s; the default here is 0 so test
    /// suites stay fast.
    pub auth_failure_delay: Duration,
    /// Include `message` in JSON error bodies, as libpve-http-server-perl 5.2.0 and later do
    /// (default true). When false only the reason phrase carries the message.
    pub error_message_in_body: bool,
    /// Run every container as a real LXC container (the lab backend) instead of emulating it.
    pub lab: Option<crate::lab::LabConfig>,
    /// Serve the node's SSH (`pct exec`) for service checks; works with both backends.
    pub ssh: Option<crate::ssh::SshServerConfig>,
    /// Templates the nodes start without (volume ids such as
    /// `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`, or file names), so a client can
    /// show a download through `POST /nodes/{node}/aplinfo`. Reset keeps them missing.
    pub missing_templates: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: vec!["pve".to_string()],
            tokens: vec!["root@pam!ralf=ralf-secret".to_string()],
            users: vec!["root@pam:ralf-password".to_string()],
            plain_http: false,
            state_file: None,
            task_duration: Duration::from_millis(50),
            auth_failure_delay: Duration::ZERO,
            error_message_in_body: true,
            lab: None,
            ssh: None,
            missing_templates: Vec::new(),
        }
    }
}

/// A parsed API token credential.
#[derive(Debug, Clone)]
pub(crate) struct TokenCredential {
    /// `user@realm!tokenid`: the effective user of every call made with it.
    pub token_id: String,
    pub secret: String,
}

/// A parsed ticket-login credential.
#[derive(Debug, Clone)]
pub(crate) struct UserCredential {
    /// `user@realm`
    pub user_id: String,
    pub password: String,
}

impl SimConfig {
    pub(crate) fn parsed_tokens(&self) -> Result<Vec<TokenCredential>, SimError> {
        self.tokens
            .iter()
            .map(|spec| {
                let invalid = || SimError::InvalidCredential {
                    kind: "token",
                    expected: "user@realm!tokenid=secret",
                };
                let (token_id, secret) = spec.rsplit_once('=').ok_or_else(invalid)?;
                let (user, token) = token_id.split_once('!').ok_or_else(invalid)?;
                if !user.contains('@') || token.is_empty() || secret.is_empty() {
                    return Err(invalid());
                }
                Ok(TokenCredential {
                    token_id: token_id.to_string(),
                    secret: secret.to_string(),
                })
            })
            .collect()
    }

    pub(crate) fn parsed_users(&self) -> Result<Vec<UserCredential>, SimError> {
        self.users
            .iter()
            .map(|spec| {
                let invalid = || SimError::InvalidCredential {
                    kind: "user",
                    expected: "user@realm:password",
                };
                let (user_id, password) = spec.split_once(':').ok_or_else(invalid)?;
                if !user_id.contains('@') || password.is_empty() {
                    return Err(invalid());
                }
                Ok(UserCredential {
                    user_id: user_id.to_string(),
                    password: password.to_string(),
                })
            })
            .collect()
    }

    pub(crate) fn check_nodes(&self) -> Result<(), SimError> {
        if self.nodes.is_empty() {
            return Err(SimError::NoNodes);
        }
        for node in &self.nodes {
            if crate::schema::check_named_format("pve-node", node).is_err() {
                return Err(SimError::InvalidNodeName(node.clone()));
            }
        }
        Ok(())
    }
}
