//! Proxmox VE API client: transport and authentication, tasks, retries, and the container and
//! snapshot operations that the `ralf_lxc_service` and `ralf_snapshot` resources need.
//!
//! This module must know NOTHING about Terraform: the resources translate between Terraform
//! values and the plain types here ([`ContainerSpec`], [`ContainerState`], [`SnapshotInfo`]).
//!
//! Layout, one module per API area: [`api`] (HTTP, TLS, auth, envelope, retry loop), [`error`]
//! (typed errors), [`retry`] (deadlines, backoff), [`rules`] (what Proxmox accepts as input), [`task`] (UPIDs, waiting), [`normalise`]
//! (parsing config values into the user's representation), [`lxc`] (containers), [`snapshot`],
//! [`cluster`] (cluster-wide look-ups, storage and templates), [`inventory`] (the node's containers
//! with addresses and snapshots, read-only), [`aplinfo`] (the appliance index: downloading and
//! removing container templates).

pub mod api;
pub mod aplinfo;
pub mod cluster;
pub mod error;
pub mod inventory;
pub mod lxc;
pub mod normalise;
pub mod retry;
pub mod rules;
pub mod snapshot;
pub mod task;

pub use api::{Auth, ClientConfig, PveClient, RootShell, RootShellFuture, Secret};
pub use cluster::{GuestLocation, StorageInfo};
pub use error::PveError;
pub use inventory::{ContainerSummary, InventoryFilter};
pub use lxc::{
    ApplyOutcome, ContainerSpec, ContainerState, DeviceSpec, DiskSpec, DiskState, FeaturesSpec,
    Lxc, MountPointSpec, MountPointState, MountSource, NetworkSpec, NetworkState, Slots,
    UpdateOutcome,
};
pub use retry::{Backoff, Deadline, RetryPolicy};
pub use rules::{CtId, Ipv4Cidr, RuleError};
pub use snapshot::SnapshotInfo;
pub use task::{TaskOutcome, Upid};
