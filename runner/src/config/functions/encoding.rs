//! Terraform's encoding functions (`jsonencode`, `jsondecode`, `yamldecode`, `csvdecode`,
//! `base64encode`, `base64decode`, `filebase64`, `urlencode`).

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
    ctx.declare_func("filebase64", fixed(filebase64, vec![s()]));
    ctx.declare_func("yamldecode", fixed(yamldecode, vec![s()]));
    ctx.declare_func("csvdecode", fixed(csvdecode, vec![s()]));
    ctx.declare_func("urlencode", fixed(urlencode, vec![s()]));
}

/// One YAML document, as Terraform's `yamldecode` reads it (mappings become objects).
pub(super) fn yamldecode(args: FuncArgs) -> FnResult {
    let text = arg_str(&args, 0)?;
    let json: serde_json::Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("yamldecode: invalid YAML: {e}"))?;
    Ok(json_to_hcl(&json))
}

/// CSV with a header row, as a list of maps of strings (Terraform's `csvdecode`).
pub(super) fn csvdecode(args: FuncArgs) -> FnResult {
    let text = arg_str(&args, 0)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("csvdecode: {e}"))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("csvdecode: {e}"))?;
        rows.push(Value::Object(
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), Value::String(v.to_string())))
                .collect(),
        ));
    }
    Ok(Value::Array(rows))
}

/// Terraform's `urlencode`: Go's `url.QueryEscape` (spaces as `+`).
pub(super) fn urlencode(args: FuncArgs) -> FnResult {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    Ok(Value::String(
        percent_encoding::utf8_percent_encode(arg_str(&args, 0)?, KEEP)
            .to_string()
            .replace("%20", "+"),
    ))
}

pub(super) fn filebase64(args: FuncArgs) -> FnResult {
    let path = super::filesystem::resolve_in_file_dir(arg_str(&args, 0)?)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// Terraform's `jsonencode`: Go's JSON encoder, which escapes `<`, `>`, `&`, U+2028 and U+2029
/// (they only occur inside JSON strings, so replacing them is safe).
pub(super) fn jsonencode(args: FuncArgs) -> FnResult {
    let text = to_json_text(args.first().unwrap_or(&Value::Null));
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(Value::String(out))
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
