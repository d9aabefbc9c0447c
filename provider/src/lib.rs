//! The RALF provider: Proxmox LXC services, snapshots and smoke checks for Terraform/OpenTofu.
//!
//! Layers, from the bottom: the `pve` crate (`provider/pve/`) is the Proxmox VE API client and the
//! `checks` crate (`provider/checks/`) the smoke-check engine; neither knows Terraform. Here, one
//! module per resource and data source ([`lxc_service`], [`snapshot`], [`smoke_check`],
//! [`template`], [`containers`]) only translates between Terraform values (the `tfplugin`
//! runtime) and those two crates. [`provider`] holds the provider block and the state it shares
//! with the resources, among it [`lookups`], the plan-time look-ups made once per process. This
//! crate must not talk HTTP or run checks itself.

pub mod containers;
pub mod lookups;
pub mod lxc_service;
pub mod provider;
pub mod root_shell;
pub mod smoke_check;
pub mod snapshot;
pub mod template;
mod tf;

pub use provider::{RalfProvider, PROVIDER_ADDRESS};

/// The crates whose `tracing` events are the provider's own (shown at the `TF_LOG` level).
pub const LOG_TARGETS: [&str; 4] = ["ralf_provider", "terraform_provider_ralf", "pve", "checks"];
