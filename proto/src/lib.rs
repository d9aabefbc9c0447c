//! `tfplugin`: a runtime for Terraform/OpenTofu providers written in Rust.
//!
//! It speaks plugin protocol 6 over go-plugin (handshake, AutoMTLS with a pinned client
//! certificate, controller and health services), encodes cty values in MessagePack and JSON
//! (unknowns and refinements included), models schemas and diagnostics with attribute paths, and
//! runs a generic plan pipeline that keeps Terraform's consistency rules. A provider implements
//! [`Provider`], [`Resource`] and [`DataSource`] and calls [`serve::main_entry`].
//!
//! This crate knows nothing about Proxmox or any other API.

pub mod diag;
pub mod json;
pub mod lifeline;
pub mod logging;
pub mod msgpack;
pub mod plan;
pub mod provider;
pub mod schema;
pub mod serve;
pub mod server;
pub mod timeouts;
pub mod value;

/// Code generated from the `.proto` files in `proto/`.
pub mod pb {
    #![allow(clippy::all, missing_docs)]
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
    pub mod health {
        tonic::include_proto!("grpc.health.v1");
    }
}

pub use diag::{AttributePath, Diagnostic, Diagnostics, Severity};
pub use provider::{Applied, ApplyRequest, DataSource, Plan, PlanRequest, Provider, Resource};
pub use schema::{Attribute, Block, NestedAttributes, NestedBlock, Nesting, ReplaceIf, Schema};
pub use timeouts::Timeouts;
pub use value::{Number, Refinements, Type, Value};
