//! Errors of starting and running the simulator (not the Proxmox API errors it answers with;
//! those live in `api::envelope`).

use std::path::PathBuf;

/// What went wrong starting or running a simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid {kind} credential: expected the form {expected} (the value is not shown because it may hold a secret)")]
    InvalidCredential {
        kind: &'static str,
        expected: &'static str,
    },
    #[error("no cluster nodes configured: give at least one node name, e.g. --nodes pve")]
    NoNodes,
    #[error("invalid node name '{0}': use letters, digits and inner dashes only")]
    InvalidNodeName(String),
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: std::net::SocketAddr,
        error: std::io::Error,
    },
    #[error("cannot create the self-signed TLS certificate: {0}")]
    Certificate(String),
    #[error("cannot read state file {path}: {reason}; the file was left untouched (fix or remove it, or start without --state)")]
    StateUnreadable { path: PathBuf, reason: String },
    #[error("cannot write state file {path}: {error}")]
    StateWrite {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot start the simulator's runtime thread: {0}")]
    Runtime(std::io::Error),
    #[error("the simulator thread ended before it was ready")]
    ThreadEnded,
    #[error("cannot start the node's SSH server: {0}")]
    Ssh(String),
    #[error("cannot start the lab: {0}")]
    Lab(#[from] crate::lab::LabError),
}
