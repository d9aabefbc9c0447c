//! The function library available in `terragrunt.hcl` files: the Terragrunt helpers
//! (`find_in_parent_folders`, `path_relative_to_include`, `get_env`, `read_terragrunt_config`, ...)
//! and the subset of the OpenTofu/Terraform standard library that trees like RALF use (`merge`,
//! `lookup`, `format`, `jsonencode`, ...).
//!
//! hcl-rs calls functions through plain `fn` pointers, so helpers that depend on where a file
//! sits read the per-thread evaluation scope from [`super::eval::current_scope`]. `try` and `can`
//! are not here: they need lazy arguments and are resolved by the evaluator. This module knows
//! nothing about scheduling or running terraform.

use super::eval::{current_scope, Scope};
use crate::value::number_from_text;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use hcl::Value;

mod collections;
mod encoding;
mod filesystem;
mod hashing;
mod numeric;
mod strings;
mod terragrunt;

pub use filesystem::{clean_path, relative_path};
pub use terragrunt::deep_merge;

/// What every function returns: a value, or a message naming what was wrong.
pub(super) type FnResult = Result<Value, String>;

/// Declares every function of the library in `ctx`.
pub fn declare_all(ctx: &mut Context<'_>) {
    terragrunt::declare(ctx);
    filesystem::declare(ctx);
    collections::declare(ctx);
    numeric::declare(ctx);
    strings::declare(ctx);
    encoding::declare(ctx);
    hashing::declare(ctx);
}

fn any() -> ParamType {
    ParamType::Any
}

fn s() -> ParamType {
    ParamType::String
}

/// A function with fixed parameters followed by any number of `rest`.
fn var(f: hcl::eval::Func, fixed: Vec<ParamType>, rest: ParamType) -> FuncDef {
    FuncDef::builder()
        .params(fixed)
        .variadic_param(rest)
        .build(f)
}

/// A function with exactly `params`.
fn fixed(f: hcl::eval::Func, params: Vec<ParamType>) -> FuncDef {
    FuncDef::new(f, params)
}

// ---------------------------------------------------------------------------------------------
// Helpers

pub(super) fn arg_str(args: &FuncArgs, i: usize) -> Result<&str, String> {
    args.get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("argument {} must be a string", i + 1))
}

pub(super) fn arg_f64(args: &FuncArgs, i: usize) -> Result<f64, String> {
    args.get(i)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("argument {} must be a number", i + 1))
}

pub(super) fn arg_list(args: &FuncArgs, i: usize) -> Result<&Vec<Value>, String> {
    args.get(i)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("argument {} must be a list", i + 1))
}

pub(super) fn num(f: f64) -> Value {
    Value::Number(number_from_text(&f.to_string()))
}

pub(super) fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

pub(super) fn scope() -> Result<std::rc::Rc<Scope>, String> {
    current_scope().ok_or_else(|| "this function needs a configuration file scope".to_string())
}
