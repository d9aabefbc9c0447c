//! `pve_sim`: a Proxmox VE cluster simulator speaking the `api2/json` HTTP API (HTTPS with a
//! self-signed certificate, or plain HTTP), for tests, demos and trying stacks without
//! hardware. It simulates LXC containers with Proxmox's validation, error texts, locks,
//! digests, pending changes, snapshots and asynchronous tasks; serves guest ports on
//! 127.0.0.0/8 addresses; offers an admin API under `/sim/` (statistics, fault injection,
//! guest services, reset); and a `pct` emulation for service checks over SSH.
//!
//! Embed it in a test with [`RunningSim::start`] (async) or [`start_in_background`] (own
//! runtime thread). It knows nothing about the provider or the runner that test against it.

mod admin;
mod api;
mod backend;
pub mod bench;
mod cluster;
mod config;
mod error;
mod faults;
mod guests;
pub mod lab;
pub mod pct;
mod persist;
pub mod schema;
mod server;
mod sim;
mod ssh;
mod stats;
mod tickets;
mod tls;

pub use config::SimConfig;
pub use error::SimError;
pub use server::{start_in_background, BackgroundSim, RunningSim, SshInfo};
pub use ssh::SshServerConfig;
