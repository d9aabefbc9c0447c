//! Terragrunt's own helpers (`find_in_parent_folders`, `path_relative_to_include`, `get_env`,
//! `read_terragrunt_config`, `run_cmd`, `deep_merge`, ...), as documented in Terragrunt's
//! `docs/.../built-in-functions`. They read where the file sits from the evaluation scope.

use super::filesystem::{clean_path, path_string, relative_path};
use super::Scope;
use super::{any, arg_str, fixed, s, scope, strings, var, FnResult};
use hcl::eval::{Context, FuncArgs};
use hcl::{Map, Value};
use std::path::{Path, PathBuf};

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
    ctx.declare_func(
        "find_in_parent_folders",
        var(find_in_parent_folders, vec![], any()),
    );
    ctx.declare_func(
        "path_relative_to_include",
        var(path_relative_to_include, vec![], s()),
    );
    ctx.declare_func(
        "path_relative_from_include",
        var(path_relative_from_include, vec![], s()),
    );
    ctx.declare_func("get_terragrunt_dir", fixed(get_terragrunt_dir, vec![]));
    ctx.declare_func(
        "get_original_terragrunt_dir",
        fixed(get_terragrunt_dir, vec![]),
    );
    ctx.declare_func(
        "get_parent_terragrunt_dir",
        var(get_parent_terragrunt_dir, vec![], s()),
    );
    ctx.declare_func("get_working_dir", fixed(get_terragrunt_dir, vec![]));
    ctx.declare_func("get_env", var(get_env, vec![s()], any()));
    ctx.declare_func(
        "read_terragrunt_config",
        var(read_terragrunt_config, vec![s()], any()),
    );
    ctx.declare_func("get_repo_root", fixed(get_repo_root, vec![]));
    ctx.declare_func(
        "get_path_from_repo_root",
        fixed(get_path_from_repo_root, vec![]),
    );
    ctx.declare_func(
        "get_path_to_repo_root",
        fixed(get_path_to_repo_root, vec![]),
    );
    ctx.declare_func(
        "get_terraform_command",
        fixed(get_terraform_command, vec![]),
    );
    ctx.declare_func(
        "get_terraform_cli_args",
        fixed(get_terraform_cli_args, vec![]),
    );
    ctx.declare_func("get_platform", fixed(get_platform, vec![]));
    ctx.declare_func("run_cmd", var(run_cmd, vec![], s()));
    ctx.declare_func("sops_decrypt_file", fixed(sops_decrypt_file, vec![s()]));
    ctx.declare_func(
        "get_default_retryable_errors",
        fixed(get_default_retryable_errors, vec![]),
    );
    ctx.declare_func(
        "get_terraform_commands_that_need_vars",
        fixed(commands_that_need_vars, vec![]),
    );
    ctx.declare_func(
        "get_terraform_commands_that_need_input",
        fixed(commands_that_need_input, vec![]),
    );
    ctx.declare_func(
        "get_terraform_commands_that_need_locking",
        fixed(commands_that_need_locking, vec![]),
    );
    ctx.declare_func(
        "get_terraform_commands_that_need_parallelism",
        fixed(commands_that_need_parallelism, vec![]),
    );
    ctx.declare_func("deep_merge", var(deep_merge_fn, vec![], any()));
    ctx.declare_func("mark_as_read", fixed(identity, vec![any()]));
}

pub(super) fn find_in_parent_folders(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let name = match args.first() {
        None => "terragrunt.hcl".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("expected a file name, got {other}")),
    };
    let mut dir = scope.terragrunt_dir.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let candidate = d.join(&name);
        if candidate.exists() {
            return Ok(path_string(&candidate));
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    match args.get(1) {
        Some(fallback) => Ok(fallback.clone()),
        None => Err(format!(
            "could not find a {name} in any of the parent folders of {}; create it or pass a \
             fallback as the second argument",
            scope.terragrunt_dir.join("terragrunt.hcl").display()
        )),
    }
}

pub(super) fn include_dir(scope: &Scope, label: Option<&str>) -> Result<Option<PathBuf>, String> {
    match label {
        Some(label) => scope
            .includes
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, p)| Some(p.parent().map(Path::to_path_buf).unwrap_or_default()))
            .ok_or_else(|| format!("no include block labelled {label:?} in this configuration")),
        None => Ok(scope
            .includes
            .first()
            .map(|(_, p)| p.parent().map(Path::to_path_buf).unwrap_or_default())),
    }
}

pub(super) fn path_relative_to_include(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let label = args.first().and_then(Value::as_str);
    Ok(match include_dir(&scope, label)? {
        Some(dir) => Value::String(relative_path(&dir, &scope.terragrunt_dir)),
        None => Value::from("."),
    })
}

pub(super) fn path_relative_from_include(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let label = args.first().and_then(Value::as_str);
    Ok(match include_dir(&scope, label)? {
        Some(dir) => Value::String(relative_path(&scope.terragrunt_dir, &dir)),
        None => Value::from("."),
    })
}

pub(super) fn get_terragrunt_dir(_: FuncArgs) -> FnResult {
    Ok(path_string(&scope()?.terragrunt_dir))
}

pub(super) fn get_parent_terragrunt_dir(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let label = args.first().and_then(Value::as_str);
    Ok(match include_dir(&scope, label)? {
        Some(dir) => path_string(&dir),
        None => path_string(&scope.terragrunt_dir),
    })
}

pub(super) fn get_env(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let name = arg_str(&args, 0)?;
    if let Some(value) = scope.env_var(name) {
        return Ok(Value::String(value));
    }
    match args.get(1) {
        Some(default) => Ok(default.clone()),
        None => Err(format!(
            "environment variable {name} is not set and get_env was given no default"
        )),
    }
}

pub(super) fn read_terragrunt_config(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let raw = arg_str(&args, 0)?;
    let path = clean_path(&scope.file_dir.join(raw));
    if !path.exists() {
        if let Some(default) = args.get(1) {
            return Ok(default.clone());
        }
    }
    crate::config::read_config_as_value(&path, &scope.env).map_err(|e| e.to_string())
}

pub(super) fn repo_root(scope: &Scope) -> Result<PathBuf, String> {
    let mut dir = Some(scope.terragrunt_dir.clone());
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Ok(d);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Err(format!(
        "{} is not inside a git repository (no .git found in it or any parent)",
        scope.terragrunt_dir.display()
    ))
}

pub(super) fn get_repo_root(_: FuncArgs) -> FnResult {
    Ok(path_string(&repo_root(&*scope()?)?))
}

pub(super) fn get_path_from_repo_root(_: FuncArgs) -> FnResult {
    let scope = scope()?;
    let root = repo_root(&scope)?;
    Ok(Value::String(relative_path(&root, &scope.terragrunt_dir)))
}

pub(super) fn get_path_to_repo_root(_: FuncArgs) -> FnResult {
    let scope = scope()?;
    let root = repo_root(&scope)?;
    Ok(Value::String(relative_path(&scope.terragrunt_dir, &root)))
}

pub(super) fn get_terraform_command(_: FuncArgs) -> FnResult {
    Ok(Value::String(scope()?.env.tf_command.clone()))
}

pub(super) fn get_terraform_cli_args(_: FuncArgs) -> FnResult {
    Ok(Value::Array(
        scope()?
            .env
            .tf_args
            .iter()
            .map(|a| Value::String(a.clone()))
            .collect(),
    ))
}

pub(super) fn get_platform(_: FuncArgs) -> FnResult {
    Ok(Value::from(std::env::consts::OS))
}

/// `sops_decrypt_file(path)`: the file decrypted by the `sops` binary (which reads its keys
/// from the environment as usual). Needs `sops` on PATH.
pub(super) fn sops_decrypt_file(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let raw = arg_str(&args, 0)?;
    let path = clean_path(&scope.file_dir.join(raw));
    let mut cmd = std::process::Command::new("sops");
    cmd.arg("--decrypt").arg(&path);
    for (k, v) in &scope.env.extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| {
        format!("sops_decrypt_file needs the `sops` binary on PATH ({e}); install sops")
    })?;
    if !out.status.success() {
        return Err(format!(
            "sops could not decrypt {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout)
        .map(Value::String)
        .map_err(|_| {
            format!(
                "sops decrypted {} to bytes that are not UTF-8",
                path.display()
            )
        })
}

pub(super) fn get_default_retryable_errors(_: FuncArgs) -> FnResult {
    Ok(strings(crate::config::errors::DEFAULT_RETRYABLE_ERRORS))
}

pub(super) fn run_cmd(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let mut words: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
    while matches!(
        words.first(),
        Some(&"--terragrunt-quiet") | Some(&"--terragrunt-global-cache")
    ) {
        words.remove(0);
    }
    let (program, rest) = words
        .split_first()
        .ok_or_else(|| "run_cmd needs a command".to_string())?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest).current_dir(&scope.terragrunt_dir);
    for (k, v) in &scope.env.extra_env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("run_cmd could not start {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "run_cmd {program} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Value::String(
        String::from_utf8_lossy(&out.stdout).trim_end().to_string(),
    ))
}

pub(super) fn commands_that_need_vars(_: FuncArgs) -> FnResult {
    Ok(strings(&[
        "apply", "console", "destroy", "import", "plan", "push", "refresh",
    ]))
}

pub(super) fn commands_that_need_input(_: FuncArgs) -> FnResult {
    Ok(strings(&["apply", "import", "init", "plan", "refresh"]))
}

pub(super) fn commands_that_need_locking(_: FuncArgs) -> FnResult {
    Ok(strings(&[
        "apply", "destroy", "import", "init", "plan", "refresh", "taint", "untaint",
    ]))
}

pub(super) fn commands_that_need_parallelism(_: FuncArgs) -> FnResult {
    Ok(strings(&["apply", "plan", "destroy"]))
}

pub(super) fn identity(args: FuncArgs) -> FnResult {
    Ok(args.first().cloned().unwrap_or(Value::Null))
}

/// Deep merge as Terragrunt's `deep` include strategy does it: maps merge recursively, lists
/// concatenate, anything else the right-hand side wins.
pub fn deep_merge(left: &Value, right: &Value) -> Value {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = match out.get(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(a), Value::Array(b)) => {
            Value::Array(a.iter().chain(b.iter()).cloned().collect())
        }
        (_, r) => r.clone(),
    }
}

pub(super) fn deep_merge_fn(args: FuncArgs) -> FnResult {
    let mut acc = Value::Object(Map::new());
    for v in args.iter() {
        acc = deep_merge(&acc, v);
    }
    Ok(acc)
}
