//! Terraform's filesystem functions (`file`, `fileexists`, `basename`, `dirname`, `abspath`,
//! `templatefile`) and
//! the lexical path helpers the rest of the runner shares.

use super::{arg_str, fixed, s, scope, FnResult};
use hcl::eval::{Context, FuncArgs};
use hcl::Value;
use std::path::{Component, Path, PathBuf};

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
    ctx.declare_func("file", fixed(file, vec![s()]));
    ctx.declare_func("fileexists", fixed(fileexists, vec![s()]));
    ctx.declare_func("basename", fixed(basename, vec![s()]));
    ctx.declare_func("dirname", fixed(dirname, vec![s()]));
    ctx.declare_func("abspath", fixed(abspath, vec![s()]));
    ctx.declare_func(
        "templatefile",
        fixed(templatefile, vec![s(), hcl::eval::ParamType::Any]),
    );
}

/// `templatefile(path, vars)`: the file as a Terraform string template (`${...}`, `%{ if }`,
/// `%{ for }`), with `vars` as its only variables and the whole function library.
pub(super) fn templatefile(args: FuncArgs) -> FnResult {
    use hcl::eval::Evaluate;
    let path = resolve_in_file_dir(arg_str(&args, 0)?)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("templatefile: cannot read {}: {e}", path.display()))?;
    let template: hcl::Template = text.parse().map_err(|e| {
        format!(
            "templatefile: {} is not a valid template: {e}",
            path.display()
        )
    })?;
    let mut ctx = Context::new();
    super::declare_all(&mut ctx);
    match args.get(1) {
        Some(Value::Object(vars)) => {
            for (k, v) in vars {
                ctx.declare_var(k.as_str(), v.clone());
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            return Err(format!(
                "templatefile: the variables must be an object, got {other}"
            ))
        }
    }
    template
        .evaluate(&ctx)
        .map(Value::String)
        .map_err(|e| format!("templatefile {}: {e}", path.display()))
}

/// Lexically normalises a path: removes `.` and resolves `..` against earlier components.
pub fn clean_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The relative path from directory `from` to `to` (both absolute), with `/` separators; `.`
/// when they are the same.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let from = clean_path(from);
    let to = clean_path(to);
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..a.len() {
        parts.push("..".to_string());
    }
    for comp in &b[common..] {
        parts.push(comp.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

pub(super) fn path_string(p: &Path) -> Value {
    Value::String(p.to_string_lossy().replace('\\', "/"))
}

pub(super) fn resolve_in_file_dir(raw: &str) -> Result<PathBuf, String> {
    let scope = scope()?;
    Ok(clean_path(&scope.file_dir.join(raw)))
}

pub(super) fn file(args: FuncArgs) -> FnResult {
    let path = resolve_in_file_dir(arg_str(&args, 0)?)?;
    std::fs::read_to_string(&path)
        .map(Value::String)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub(super) fn fileexists(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        resolve_in_file_dir(arg_str(&args, 0)?)?.is_file(),
    ))
}

pub(super) fn basename(args: FuncArgs) -> FnResult {
    let p = arg_str(&args, 0)?;
    Ok(Value::String(
        Path::new(p)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    ))
}

pub(super) fn dirname(args: FuncArgs) -> FnResult {
    let p = arg_str(&args, 0)?;
    let parent = Path::new(p)
        .parent()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Value::String(if parent.is_empty() {
        ".".to_string()
    } else {
        parent
    }))
}

pub(super) fn abspath(args: FuncArgs) -> FnResult {
    Ok(path_string(&resolve_in_file_dir(arg_str(&args, 0)?)?))
}
