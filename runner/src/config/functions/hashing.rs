//! Terraform's hash functions (`md5`, `sha1`, `sha256`, `sha512`, `base64sha256`,
//! `base64sha512`) and their `file*` forms, over the UTF-8 bytes of a string or a file's bytes.

use super::filesystem::resolve_in_file_dir;
use super::{arg_str, fixed, s, FnResult};
use base64::Engine;
use hcl::eval::{Context, FuncArgs};
use hcl::Value;
use sha2::Digest;

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
    ctx.declare_func("md5", fixed(md5, vec![s()]));
    ctx.declare_func("sha1", fixed(sha1, vec![s()]));
    ctx.declare_func("sha256", fixed(sha256, vec![s()]));
    ctx.declare_func("sha512", fixed(sha512, vec![s()]));
    ctx.declare_func("base64sha256", fixed(base64sha256, vec![s()]));
    ctx.declare_func("base64sha512", fixed(base64sha512, vec![s()]));
    ctx.declare_func("filemd5", fixed(filemd5, vec![s()]));
    ctx.declare_func("filesha1", fixed(filesha1, vec![s()]));
    ctx.declare_func("filesha256", fixed(filesha256, vec![s()]));
    ctx.declare_func("filesha512", fixed(filesha512, vec![s()]));
    ctx.declare_func("filebase64sha256", fixed(filebase64sha256, vec![s()]));
    ctx.declare_func("filebase64sha512", fixed(filebase64sha512, vec![s()]));
}

/// How a digest is shown.
enum Shown {
    Hex,
    Base64,
}

fn digest<D: Digest>(bytes: &[u8], shown: Shown) -> Value {
    let raw = D::digest(bytes);
    Value::String(match shown {
        Shown::Hex => raw.iter().map(|b| format!("{b:02x}")).collect(),
        Shown::Base64 => base64::engine::general_purpose::STANDARD.encode(raw),
    })
}

fn file_bytes(args: &FuncArgs) -> Result<Vec<u8>, String> {
    let path = resolve_in_file_dir(arg_str(args, 0)?)?;
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn md5(args: FuncArgs) -> FnResult {
    Ok(digest::<md5::Md5>(
        arg_str(&args, 0)?.as_bytes(),
        Shown::Hex,
    ))
}

fn sha1(args: FuncArgs) -> FnResult {
    Ok(digest::<sha1::Sha1>(
        arg_str(&args, 0)?.as_bytes(),
        Shown::Hex,
    ))
}

fn sha256(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha256>(
        arg_str(&args, 0)?.as_bytes(),
        Shown::Hex,
    ))
}

fn sha512(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha512>(
        arg_str(&args, 0)?.as_bytes(),
        Shown::Hex,
    ))
}

fn base64sha256(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha256>(
        arg_str(&args, 0)?.as_bytes(),
        Shown::Base64,
    ))
}

fn base64sha512(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha512>(
        arg_str(&args, 0)?.as_bytes(),
        Shown::Base64,
    ))
}

fn filemd5(args: FuncArgs) -> FnResult {
    Ok(digest::<md5::Md5>(&file_bytes(&args)?, Shown::Hex))
}

fn filesha1(args: FuncArgs) -> FnResult {
    Ok(digest::<sha1::Sha1>(&file_bytes(&args)?, Shown::Hex))
}

fn filesha256(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha256>(&file_bytes(&args)?, Shown::Hex))
}

fn filesha512(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha512>(&file_bytes(&args)?, Shown::Hex))
}

fn filebase64sha256(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha256>(&file_bytes(&args)?, Shown::Base64))
}

fn filebase64sha512(args: FuncArgs) -> FnResult {
    Ok(digest::<sha2::Sha512>(&file_bytes(&args)?, Shown::Base64))
}
