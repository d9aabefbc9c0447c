//! The RALF provider: Proxmox LXC services, snapshots and smoke checks for Terraform/OpenTofu.
//!
//! Layers, from the bottom: [`pve`] is the Proxmox VE API client (no Terraform types), [`checks`] is
//! the smoke-check engine (no Terraform types), and one module per resource ([`lxc_service`],
//! [`snapshot`], [`smoke_check`]) translates between Terraform values and those two. [`provider`]
//! holds the provider block and the state it shares with the resources.

pub mod checks;
pub mod lxc_service;
pub mod provider;
pub mod pve;
pub mod smoke_check;
pub mod snapshot;
mod tf;

pub use provider::{RalfProvider, PROVIDER_ADDRESS};
