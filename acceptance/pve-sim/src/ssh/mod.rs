//! The node's SSH server (russh), so `service` smoke checks can run `pct exec <vmid> -- ...`
//! against the simulator without a system sshd. It accepts public-key logins of the configured
//! user with the configured keys only, runs one command per channel (`exec`; no shell, no
//! forwarding) and answers with the command's output and exit status. Commands go to
//! [`node`]: real `lxc-attach` in the lab backend, the `pct` emulation otherwise.
//!
//! It must not know about HTTP or the API's routing.

mod node;

use std::net::SocketAddr;
use std::sync::Arc;

use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Server as _, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};
use tokio::task::JoinHandle;

use crate::error::SimError;
use crate::sim::Sim;

/// How to serve the node's SSH.
#[derive(Debug, Clone)]
pub struct SshServerConfig {
    /// Where to listen (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The login user (Proxmox nodes: `root`).
    pub user: String,
    /// Public keys allowed to log in, as `authorized_keys` lines (`ssh-ed25519 AAAA... comment`).
    pub authorized_keys: Vec<String>,
}

/// The running server: its address and host key, for the client's known_hosts.
pub(crate) struct NodeSsh {
    pub local_addr: SocketAddr,
    /// `ssh-ed25519 AAAA...` of the host key, generated at start.
    pub host_key: String,
    task: JoinHandle<()>,
}

impl NodeSsh {
    /// Binds and starts serving for the node `node` of `sim`.
    pub async fn start(
        config: &SshServerConfig,
        sim: Arc<Sim>,
        node: String,
    ) -> Result<NodeSsh, SimError> {
        let authorized = config
            .authorized_keys
            .iter()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|line| {
                PublicKey::from_openssh(line.trim()).map_err(|e| {
                    SimError::Ssh(format!(
                        "an authorized key is not an OpenSSH public key line ({e})"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let host_key = PrivateKey::from(Ed25519Keypair::from_seed(&rand::random::<[u8; 32]>()));
        let host_key_line = host_key
            .public_key()
            .to_openssh()
            .map_err(|e| SimError::Ssh(format!("cannot print the host key: {e}")))?;
        let russh_config = Arc::new(russh::server::Config {
            keys: vec![host_key],
            auth_rejection_time: std::time::Duration::from_millis(200),
            auth_rejection_time_initial: Some(std::time::Duration::ZERO),
            inactivity_timeout: Some(std::time::Duration::from_secs(600)),
            ..Default::default()
        });
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|error| SimError::Listen {
                addr: config.listen,
                error,
            })?;
        let local_addr = listener.local_addr().map_err(|error| SimError::Listen {
            addr: config.listen,
            error,
        })?;
        let mut server = Server {
            shared: Arc::new(Shared {
                sim,
                node,
                user: config.user.clone(),
                authorized,
            }),
        };
        let task = tokio::spawn(async move {
            if let Err(e) = server.run_on_socket(russh_config, &listener).await {
                tracing::error!("node SSH server stopped: {e}");
            }
        });
        Ok(NodeSsh {
            local_addr,
            host_key: host_key_line,
            task,
        })
    }

    /// The known_hosts line that trusts this server (`[host]:port key`).
    pub fn known_hosts_line(&self) -> String {
        format!(
            "[{}]:{} {}",
            self.local_addr.ip(),
            self.local_addr.port(),
            self.host_key
        )
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for NodeSsh {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    sim: Arc<Sim>,
    node: String,
    user: String,
    authorized: Vec<PublicKey>,
}

#[derive(Clone)]
struct Server {
    shared: Arc<Shared>,
}

impl russh::server::Server for Server {
    type Handler = Connection;
    fn new_client(&mut self, _peer: Option<SocketAddr>) -> Connection {
        Connection {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Connection {
    shared: Arc<Shared>,
}

impl Connection {
    fn allowed(&self, user: &str, key: &PublicKey) -> bool {
        user == self.shared.user
            && self
                .shared
                .authorized
                .iter()
                .any(|k| k.key_data() == key.key_data())
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.allowed(user, offer.public_key) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.allowed(user, key.public_key) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let line = String::from_utf8_lossy(data).into_owned();
        let out = node::run(&self.shared.sim, &self.shared.node, &line).await;
        if !out.stdout.is_empty() {
            session.data(channel, out.stdout.into_bytes())?;
        }
        if !out.stderr.is_empty() {
            session.extended_data(channel, 1, out.stderr.into_bytes())?;
        }
        session.exit_status_request(channel, u32::try_from(out.code).unwrap_or(255))?;
        session.eof(channel)?;
        session.close(channel)?;
        Ok(())
    }
}
