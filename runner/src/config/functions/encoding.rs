//! Terraform's encoding functions (`jsonencode`, `jsondecode`, `base64encode`, `base64decode`).

use super::{any, arg_str, fixed, s, FnResult};
use crate::value::{json_to_hcl, to_json_text};
use base64::Engine;
use hcl::eval::{Context, FuncArgs};
use hcl::Value;

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
    ctx.declare_func("jsonencode", fixed(jsonencode, vec![any()]));
    ctx.declare_func("jsondecode", fixed(jsondecode, vec![s()]));
    ctx.declare_func("base64encode", fixed(base64encode, vec![s()]));
    ctx.declare_func("base64decode", fixed(base64decode, vec![s()]));
}

pub(super) fn jsonencode(args: FuncArgs) -> FnResult {
    Ok(Value::String(to_json_text(
        args.first().unwrap_or(&Value::Null),
    )))
}

pub(super) fn jsondecode(args: FuncArgs) -> FnResult {
    let text = arg_str(&args, 0)?;
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("jsondecode: invalid JSON: {e}"))?;
    Ok(json_to_hcl(&json))
}

pub(super) fn base64encode(args: FuncArgs) -> FnResult {
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(arg_str(&args, 0)?),
    ))
}

pub(super) fn base64decode(args: FuncArgs) -> FnResult {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(arg_str(&args, 0)?)
        .map_err(|e| format!("base64decode: invalid base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "base64decode: the decoded bytes are not UTF-8".to_string())
}
