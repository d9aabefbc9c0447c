//! `ralf_runner`: a Terragrunt-compatible runner for `iac/` trees, as a library.
//!
//! It discovers units (directories with a `terragrunt.hcl`), reads their configuration in two
//! passes, builds the dependency graph, and runs `tofu`/`terraform` over it with bounded
//! parallelism, streamed or grouped per-unit output, safe stopping on signals and an honest
//! summary. The `ralf` binary is thin glue over [`run::run`], [`graph`] and [`report`].

pub mod cancel;
pub mod config;
pub mod credentials;
pub mod demo;
#[cfg(feature = "embedded-sim")]
pub mod demo_lab;
pub mod discover;
pub mod events;
pub mod filter;
pub mod graph;
pub mod install;
pub mod inventory;
pub mod output;
pub mod report;
pub mod run;
pub mod schedule;
pub mod standins;
pub mod tf;
pub mod value;

pub use run::{run, RunError, RunOptions, RunSummary, UnitOutcome, UnitResult};
