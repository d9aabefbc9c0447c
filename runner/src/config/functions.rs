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
use crate::value::{display_value, json_to_hcl, number_from_text, to_json_text};
use base64::Engine;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use hcl::{Map, Value};
use std::path::{Component, Path, PathBuf};

type FnResult = Result<Value, String>;

/// Declares every function of the library in `ctx`.
pub fn declare_all(ctx: &mut Context<'_>) {
    let any = || ParamType::Any;
    let s = || ParamType::String;
    let var = |f: hcl::eval::Func, fixed: Vec<ParamType>, rest: ParamType| {
        FuncDef::builder()
            .params(fixed)
            .variadic_param(rest)
            .build(f)
    };
    let fixed = |f: hcl::eval::Func, params: Vec<ParamType>| FuncDef::new(f, params);

    // Terragrunt helpers.
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

    // Files and paths.
    ctx.declare_func("file", fixed(file, vec![s()]));
    ctx.declare_func("fileexists", fixed(fileexists, vec![s()]));
    ctx.declare_func("basename", fixed(basename, vec![s()]));
    ctx.declare_func("dirname", fixed(dirname, vec![s()]));
    ctx.declare_func("abspath", fixed(abspath, vec![s()]));

    // Collections.
    ctx.declare_func("merge", var(merge, vec![], any()));
    ctx.declare_func("lookup", var(lookup, vec![any(), s()], any()));
    ctx.declare_func("length", fixed(length, vec![any()]));
    ctx.declare_func("keys", fixed(keys, vec![any()]));
    ctx.declare_func("values", fixed(values, vec![any()]));
    ctx.declare_func("concat", var(concat, vec![], any()));
    ctx.declare_func("flatten", fixed(flatten, vec![any()]));
    ctx.declare_func("distinct", fixed(distinct, vec![any()]));
    ctx.declare_func("toset", fixed(distinct, vec![any()]));
    ctx.declare_func("compact", fixed(compact, vec![any()]));
    ctx.declare_func("contains", fixed(contains, vec![any(), any()]));
    ctx.declare_func("element", fixed(element, vec![any(), ParamType::Number]));
    ctx.declare_func("index", fixed(index, vec![any(), any()]));
    ctx.declare_func(
        "slice",
        fixed(slice, vec![any(), ParamType::Number, ParamType::Number]),
    );
    ctx.declare_func("sort", fixed(sort, vec![any()]));
    ctx.declare_func("reverse", fixed(reverse, vec![any()]));
    ctx.declare_func("range", var(range, vec![], ParamType::Number));
    ctx.declare_func("zipmap", fixed(zipmap, vec![any(), any()]));
    ctx.declare_func("coalesce", var(coalesce, vec![], any()));
    ctx.declare_func("coalescelist", var(coalescelist, vec![], any()));
    ctx.declare_func("one", fixed(one, vec![any()]));
    ctx.declare_func("alltrue", fixed(alltrue, vec![any()]));
    ctx.declare_func("anytrue", fixed(anytrue, vec![any()]));
    ctx.declare_func("sum", fixed(sum, vec![any()]));
    ctx.declare_func("tolist", fixed(tolist, vec![any()]));
    ctx.declare_func("tomap", fixed(tomap, vec![any()]));
    ctx.declare_func("tostring", fixed(tostring, vec![any()]));
    ctx.declare_func("tonumber", fixed(tonumber, vec![any()]));
    ctx.declare_func("tobool", fixed(tobool, vec![any()]));

    // Numbers.
    ctx.declare_func("min", var(min, vec![], ParamType::Number));
    ctx.declare_func("max", var(max, vec![], ParamType::Number));
    ctx.declare_func("abs", fixed(abs, vec![ParamType::Number]));
    ctx.declare_func("ceil", fixed(ceil, vec![ParamType::Number]));
    ctx.declare_func("floor", fixed(floor, vec![ParamType::Number]));

    // Strings and encodings.
    ctx.declare_func("format", var(format, vec![s()], any()));
    ctx.declare_func("join", var(join, vec![s()], any()));
    ctx.declare_func("split", fixed(split, vec![s(), s()]));
    ctx.declare_func("lower", fixed(lower, vec![s()]));
    ctx.declare_func("upper", fixed(upper, vec![s()]));
    ctx.declare_func("title", fixed(title, vec![s()]));
    ctx.declare_func("trimspace", fixed(trimspace, vec![s()]));
    ctx.declare_func("chomp", fixed(chomp, vec![s()]));
    ctx.declare_func("trim", fixed(trim, vec![s(), s()]));
    ctx.declare_func("trimprefix", fixed(trimprefix, vec![s(), s()]));
    ctx.declare_func("trimsuffix", fixed(trimsuffix, vec![s(), s()]));
    ctx.declare_func("startswith", fixed(startswith, vec![s(), s()]));
    ctx.declare_func("endswith", fixed(endswith, vec![s(), s()]));
    ctx.declare_func("strcontains", fixed(strcontains, vec![s(), s()]));
    ctx.declare_func("replace", fixed(replace, vec![s(), s(), s()]));
    ctx.declare_func(
        "substr",
        fixed(substr, vec![s(), ParamType::Number, ParamType::Number]),
    );
    ctx.declare_func("regex", fixed(regex_fn, vec![s(), s()]));
    ctx.declare_func("regexall", fixed(regexall, vec![s(), s()]));
    ctx.declare_func("jsonencode", fixed(jsonencode, vec![any()]));
    ctx.declare_func("jsondecode", fixed(jsondecode, vec![s()]));
    ctx.declare_func("base64encode", fixed(base64encode, vec![s()]));
    ctx.declare_func("base64decode", fixed(base64decode, vec![s()]));
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn arg_str(args: &FuncArgs, i: usize) -> Result<&str, String> {
    args.get(i)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("argument {} must be a string", i + 1))
}

fn arg_f64(args: &FuncArgs, i: usize) -> Result<f64, String> {
    args.get(i)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("argument {} must be a number", i + 1))
}

fn arg_list(args: &FuncArgs, i: usize) -> Result<&Vec<Value>, String> {
    args.get(i)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("argument {} must be a list", i + 1))
}

fn num(f: f64) -> Value {
    Value::Number(number_from_text(&f.to_string()))
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

fn scope() -> Result<std::rc::Rc<Scope>, String> {
    current_scope().ok_or_else(|| "this function needs a configuration file scope".to_string())
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

fn path_string(p: &Path) -> Value {
    Value::String(p.to_string_lossy().replace('\\', "/"))
}

// ---------------------------------------------------------------------------------------------
// Terragrunt helpers

fn find_in_parent_folders(args: FuncArgs) -> FnResult {
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

fn include_dir(scope: &Scope, label: Option<&str>) -> Result<Option<PathBuf>, String> {
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

fn path_relative_to_include(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let label = args.first().and_then(Value::as_str);
    Ok(match include_dir(&scope, label)? {
        Some(dir) => Value::String(relative_path(&dir, &scope.terragrunt_dir)),
        None => Value::from("."),
    })
}

fn path_relative_from_include(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let label = args.first().and_then(Value::as_str);
    Ok(match include_dir(&scope, label)? {
        Some(dir) => Value::String(relative_path(&scope.terragrunt_dir, &dir)),
        None => Value::from("."),
    })
}

fn get_terragrunt_dir(_: FuncArgs) -> FnResult {
    Ok(path_string(&scope()?.terragrunt_dir))
}

fn get_parent_terragrunt_dir(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let label = args.first().and_then(Value::as_str);
    Ok(match include_dir(&scope, label)? {
        Some(dir) => path_string(&dir),
        None => path_string(&scope.terragrunt_dir),
    })
}

fn get_env(args: FuncArgs) -> FnResult {
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

fn read_terragrunt_config(args: FuncArgs) -> FnResult {
    let scope = scope()?;
    let raw = arg_str(&args, 0)?;
    let path = clean_path(&scope.file_dir.join(raw));
    if !path.exists() {
        if let Some(default) = args.get(1) {
            return Ok(default.clone());
        }
    }
    super::read_config_as_value(&path, &scope.env).map_err(|e| e.to_string())
}

fn repo_root(scope: &Scope) -> Result<PathBuf, String> {
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

fn get_repo_root(_: FuncArgs) -> FnResult {
    Ok(path_string(&repo_root(&*scope()?)?))
}

fn get_path_from_repo_root(_: FuncArgs) -> FnResult {
    let scope = scope()?;
    let root = repo_root(&scope)?;
    Ok(Value::String(relative_path(&root, &scope.terragrunt_dir)))
}

fn get_path_to_repo_root(_: FuncArgs) -> FnResult {
    let scope = scope()?;
    let root = repo_root(&scope)?;
    Ok(Value::String(relative_path(&scope.terragrunt_dir, &root)))
}

fn get_terraform_command(_: FuncArgs) -> FnResult {
    Ok(Value::String(scope()?.env.tf_command.clone()))
}

fn get_terraform_cli_args(_: FuncArgs) -> FnResult {
    Ok(Value::Array(
        scope()?
            .env
            .tf_args
            .iter()
            .map(|a| Value::String(a.clone()))
            .collect(),
    ))
}

fn get_platform(_: FuncArgs) -> FnResult {
    Ok(Value::from(std::env::consts::OS))
}

fn run_cmd(args: FuncArgs) -> FnResult {
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

fn commands_that_need_vars(_: FuncArgs) -> FnResult {
    Ok(strings(&[
        "apply", "console", "destroy", "import", "plan", "push", "refresh",
    ]))
}

fn commands_that_need_input(_: FuncArgs) -> FnResult {
    Ok(strings(&["apply", "import", "init", "plan", "refresh"]))
}

fn commands_that_need_locking(_: FuncArgs) -> FnResult {
    Ok(strings(&[
        "apply", "destroy", "import", "init", "plan", "refresh", "taint", "untaint",
    ]))
}

fn commands_that_need_parallelism(_: FuncArgs) -> FnResult {
    Ok(strings(&["apply", "plan", "destroy"]))
}

fn identity(args: FuncArgs) -> FnResult {
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

fn deep_merge_fn(args: FuncArgs) -> FnResult {
    let mut acc = Value::Object(Map::new());
    for v in args.iter() {
        acc = deep_merge(&acc, v);
    }
    Ok(acc)
}

// ---------------------------------------------------------------------------------------------
// Files and paths

fn resolve_in_file_dir(raw: &str) -> Result<PathBuf, String> {
    let scope = scope()?;
    Ok(clean_path(&scope.file_dir.join(raw)))
}

fn file(args: FuncArgs) -> FnResult {
    let path = resolve_in_file_dir(arg_str(&args, 0)?)?;
    std::fs::read_to_string(&path)
        .map(Value::String)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn fileexists(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        resolve_in_file_dir(arg_str(&args, 0)?)?.is_file(),
    ))
}

fn basename(args: FuncArgs) -> FnResult {
    let p = arg_str(&args, 0)?;
    Ok(Value::String(
        Path::new(p)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    ))
}

fn dirname(args: FuncArgs) -> FnResult {
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

fn abspath(args: FuncArgs) -> FnResult {
    Ok(path_string(&resolve_in_file_dir(arg_str(&args, 0)?)?))
}

// ---------------------------------------------------------------------------------------------
// Collections

fn merge(args: FuncArgs) -> FnResult {
    let mut out = Map::new();
    for (i, v) in args.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone(), v.clone());
                }
            }
            other => return Err(format!("merge: argument {} is not a map: {other}", i + 1)),
        }
    }
    Ok(Value::Object(out))
}

fn lookup(args: FuncArgs) -> FnResult {
    let map = args
        .first()
        .and_then(Value::as_object)
        .ok_or("lookup: first argument must be a map")?;
    let key = arg_str(&args, 1)?;
    match (map.get(key), args.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!(
            "lookup: key {key:?} not found and no default given"
        )),
    }
}

fn length(args: FuncArgs) -> FnResult {
    let n = match args.first() {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        Some(Value::String(s)) => s.chars().count(),
        other => return Err(format!("length: unsupported argument {other:?}")),
    };
    Ok(Value::from(n as u64))
}

fn keys(args: FuncArgs) -> FnResult {
    let map = args
        .first()
        .and_then(Value::as_object)
        .ok_or("keys: argument must be a map")?;
    let mut k: Vec<&String> = map.keys().collect();
    k.sort();
    Ok(Value::Array(
        k.into_iter().map(|s| Value::from(s.as_str())).collect(),
    ))
}

fn values(args: FuncArgs) -> FnResult {
    let map = args
        .first()
        .and_then(Value::as_object)
        .ok_or("values: argument must be a map")?;
    let mut k: Vec<(&String, &Value)> = map.iter().collect();
    k.sort_by(|a, b| a.0.cmp(b.0));
    Ok(Value::Array(
        k.into_iter().map(|(_, v)| v.clone()).collect(),
    ))
}

fn concat(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    for (i, v) in args.iter().enumerate() {
        match v {
            Value::Array(a) => out.extend(a.iter().cloned()),
            other => return Err(format!("concat: argument {} is not a list: {other}", i + 1)),
        }
    }
    Ok(Value::Array(out))
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten_into(x, out)),
        other => out.push(other.clone()),
    }
}

fn flatten(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    for v in arg_list(&args, 0)? {
        flatten_into(v, &mut out);
    }
    Ok(Value::Array(out))
}

fn distinct(args: FuncArgs) -> FnResult {
    let mut out: Vec<Value> = Vec::new();
    for v in arg_list(&args, 0)? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn compact(args: FuncArgs) -> FnResult {
    Ok(Value::Array(
        arg_list(&args, 0)?
            .iter()
            .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

fn contains(args: FuncArgs) -> FnResult {
    let needle = args.get(1).cloned().unwrap_or(Value::Null);
    Ok(Value::Bool(arg_list(&args, 0)?.contains(&needle)))
}

fn element(args: FuncArgs) -> FnResult {
    let list = arg_list(&args, 0)?;
    if list.is_empty() {
        return Err("element: cannot use element on an empty list".into());
    }
    let i = arg_f64(&args, 1)? as usize;
    Ok(list[i % list.len()].clone())
}

fn index(args: FuncArgs) -> FnResult {
    let needle = args.get(1).cloned().unwrap_or(Value::Null);
    arg_list(&args, 0)?
        .iter()
        .position(|v| *v == needle)
        .map(|i| Value::from(i as u64))
        .ok_or_else(|| "index: item not found".to_string())
}

fn slice(args: FuncArgs) -> FnResult {
    let list = arg_list(&args, 0)?;
    let (a, b) = (arg_f64(&args, 1)? as usize, arg_f64(&args, 2)? as usize);
    if a > b || b > list.len() {
        return Err(format!(
            "slice: indices {a}..{b} out of range for {} items",
            list.len()
        ));
    }
    Ok(Value::Array(list[a..b].to_vec()))
}

fn sort(args: FuncArgs) -> FnResult {
    let mut items: Vec<String> = arg_list(&args, 0)?.iter().map(display_value).collect();
    items.sort();
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

fn reverse(args: FuncArgs) -> FnResult {
    let mut items = arg_list(&args, 0)?.clone();
    items.reverse();
    Ok(Value::Array(items))
}

fn range(args: FuncArgs) -> FnResult {
    let nums: Vec<f64> = args.iter().filter_map(Value::as_f64).collect();
    let (start, end, step) = match nums.as_slice() {
        [end] => (0.0, *end, 1.0),
        [start, end] => (*start, *end, if end >= start { 1.0 } else { -1.0 }),
        [start, end, step] => (*start, *end, *step),
        _ => return Err("range takes 1 to 3 numbers".into()),
    };
    if step == 0.0 {
        return Err("range: step must not be zero".into());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        out.push(num(x));
        x += step;
        if out.len() > 1_000_000 {
            return Err("range: too many elements".into());
        }
    }
    Ok(Value::Array(out))
}

fn zipmap(args: FuncArgs) -> FnResult {
    let (k, v) = (arg_list(&args, 0)?, arg_list(&args, 1)?);
    if k.len() != v.len() {
        return Err("zipmap: lists must have the same length".into());
    }
    Ok(Value::Object(
        k.iter().map(display_value).zip(v.iter().cloned()).collect(),
    ))
}

fn coalesce(args: FuncArgs) -> FnResult {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null, non-empty argument".to_string())
}

fn coalescelist(args: FuncArgs) -> FnResult {
    args.iter()
        .find(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .cloned()
        .ok_or_else(|| "coalescelist: no non-empty list".to_string())
}

fn one(args: FuncArgs) -> FnResult {
    let list = arg_list(&args, 0)?;
    match list.len() {
        0 => Ok(Value::Null),
        1 => Ok(list[0].clone()),
        n => Err(format!("one: list has {n} elements, expected at most one")),
    }
}

fn alltrue(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_list(&args, 0)?
            .iter()
            .all(|v| v.as_bool() == Some(true)),
    ))
}

fn anytrue(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_list(&args, 0)?
            .iter()
            .any(|v| v.as_bool() == Some(true)),
    ))
}

fn sum(args: FuncArgs) -> FnResult {
    let mut total = 0.0;
    for v in arg_list(&args, 0)? {
        total += v.as_f64().ok_or("sum: all elements must be numbers")?;
    }
    Ok(num(total))
}

fn tolist(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Array(_)) => Ok(v.clone()),
        other => Err(format!("tolist: cannot convert {other:?} to a list")),
    }
}

fn tomap(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        other => Err(format!("tomap: cannot convert {other:?} to a map")),
    }
}

fn tostring(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(Value::Null) => Ok(Value::Null),
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            Ok(Value::String(display_value(v)))
        }
        other => Err(format!("tostring: cannot convert {other:?} to a string")),
    }
}

fn tonumber(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Number(_)) => Ok(v.clone()),
        Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(|_| Value::Number(number_from_text(s.trim())))
            .map_err(|_| format!("tonumber: {s:?} is not a number")),
        other => Err(format!("tonumber: cannot convert {other:?} to a number")),
    }
}

fn tobool(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Bool(_)) => Ok(v.clone()),
        Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) if s == "true" => Ok(Value::Bool(true)),
        Some(Value::String(s)) if s == "false" => Ok(Value::Bool(false)),
        other => Err(format!("tobool: cannot convert {other:?} to a bool")),
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers

fn min(args: FuncArgs) -> FnResult {
    args.iter()
        .filter_map(Value::as_f64)
        .reduce(f64::min)
        .map(num)
        .ok_or_else(|| "min needs at least one number".to_string())
}

fn max(args: FuncArgs) -> FnResult {
    args.iter()
        .filter_map(Value::as_f64)
        .reduce(f64::max)
        .map(num)
        .ok_or_else(|| "max needs at least one number".to_string())
}

fn abs(args: FuncArgs) -> FnResult {
    Ok(num(arg_f64(&args, 0)?.abs()))
}

fn ceil(args: FuncArgs) -> FnResult {
    Ok(num(arg_f64(&args, 0)?.ceil()))
}

fn floor(args: FuncArgs) -> FnResult {
    Ok(num(arg_f64(&args, 0)?.floor()))
}

// ---------------------------------------------------------------------------------------------
// Strings

/// `format` with the verbs Terraform documents: `%s %d %f %t %v %q %%`, with optional width,
/// `-`/`0` flags and precision.
fn format(args: FuncArgs) -> FnResult {
    let spec = arg_str(&args, 0)?;
    let rest: Vec<&Value> = args.iter().skip(1).collect();
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if f == '-' || f == '0' || f == '+' || f == '#' || f == ' ' {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|c| c.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|c| c.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let verb = chars.next().ok_or("format: the spec ends in a lone %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let value = rest
            .get(next_arg)
            .ok_or_else(|| format!("format: not enough arguments for {spec:?}"))?;
        next_arg += 1;
        let text = match verb {
            's' | 'v' => display_value(value),
            'q' => serde_json::to_string(&display_value(value)).unwrap_or_default(),
            't' => match value {
                Value::Bool(b) => b.to_string(),
                other => return Err(format!("format: %t needs a bool, got {other}")),
            },
            'd' => {
                let f = value
                    .as_f64()
                    .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| format!("format: %d needs a number, got {value}"))?;
                format!("{}", f.trunc() as i64)
            }
            'f' | 'g' | 'e' => {
                let f = value
                    .as_f64()
                    .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                    .ok_or_else(|| format!("format: %{verb} needs a number, got {value}"))?;
                format!("{:.*}", precision.unwrap_or(6), f)
            }
            other => return Err(format!("format: unsupported verb %{other}")),
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len < w {
            let pad = w - len;
            if flags.contains('-') {
                out.push_str(&text);
                out.push_str(&" ".repeat(pad));
            } else if flags.contains('0') {
                out.push_str(&"0".repeat(pad));
                out.push_str(&text);
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(&text);
            }
        } else {
            out.push_str(&text);
        }
    }
    Ok(Value::String(out))
}

fn join(args: FuncArgs) -> FnResult {
    let sep = arg_str(&args, 0)?;
    let mut parts = Vec::new();
    for list in args.iter().skip(1) {
        let items = list
            .as_array()
            .ok_or("join: arguments after the separator must be lists")?;
        parts.extend(items.iter().map(display_value));
    }
    Ok(Value::String(parts.join(sep)))
}

fn split(args: FuncArgs) -> FnResult {
    let (sep, s) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    if s.is_empty() {
        return Ok(Value::Array(vec![Value::from("")]));
    }
    Ok(Value::Array(s.split(sep).map(Value::from).collect()))
}

fn lower(args: FuncArgs) -> FnResult {
    Ok(Value::String(arg_str(&args, 0)?.to_lowercase()))
}

fn upper(args: FuncArgs) -> FnResult {
    Ok(Value::String(arg_str(&args, 0)?.to_uppercase()))
}

fn title(args: FuncArgs) -> FnResult {
    let mut out = String::new();
    let mut start = true;
    for c in arg_str(&args, 0)?.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = c.is_whitespace();
    }
    Ok(Value::String(out))
}

fn trimspace(args: FuncArgs) -> FnResult {
    Ok(Value::String(arg_str(&args, 0)?.trim().to_string()))
}

fn chomp(args: FuncArgs) -> FnResult {
    Ok(Value::String(
        arg_str(&args, 0)?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
    ))
}

fn trim(args: FuncArgs) -> FnResult {
    let set: Vec<char> = arg_str(&args, 1)?.chars().collect();
    Ok(Value::String(
        arg_str(&args, 0)?.trim_matches(set.as_slice()).to_string(),
    ))
}

fn trimprefix(args: FuncArgs) -> FnResult {
    let (s, p) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    Ok(Value::String(s.strip_prefix(p).unwrap_or(s).to_string()))
}

fn trimsuffix(args: FuncArgs) -> FnResult {
    let (s, p) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    Ok(Value::String(s.strip_suffix(p).unwrap_or(s).to_string()))
}

fn startswith(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_str(&args, 0)?.starts_with(arg_str(&args, 1)?),
    ))
}

fn endswith(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_str(&args, 0)?.ends_with(arg_str(&args, 1)?),
    ))
}

fn strcontains(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(arg_str(&args, 0)?.contains(arg_str(&args, 1)?)))
}

fn replace(args: FuncArgs) -> FnResult {
    let (s, search, with) = (arg_str(&args, 0)?, arg_str(&args, 1)?, arg_str(&args, 2)?);
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = regex::Regex::new(&search[1..search.len() - 1])
            .map_err(|e| format!("replace: invalid regular expression {search}: {e}"))?;
        return Ok(Value::String(re.replace_all(s, with).into_owned()));
    }
    Ok(Value::String(s.replace(search, with)))
}

fn substr(args: FuncArgs) -> FnResult {
    let s: Vec<char> = arg_str(&args, 0)?.chars().collect();
    let offset = arg_f64(&args, 1)? as i64;
    let length = arg_f64(&args, 2)? as i64;
    let start = if offset < 0 {
        (s.len() as i64 + offset).max(0) as usize
    } else {
        (offset as usize).min(s.len())
    };
    let end = if length < 0 {
        s.len()
    } else {
        (start + length as usize).min(s.len())
    };
    Ok(Value::String(s[start..end].iter().collect()))
}

fn regex_captures(re: &regex::Regex, caps: &regex::Captures<'_>) -> Value {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    if names.len() == 1 {
        return Value::String(caps.get(0).map(|m| m.as_str()).unwrap_or("").to_string());
    }
    if names.iter().skip(1).all(Option::is_some) {
        return Value::Object(
            names
                .iter()
                .skip(1)
                .flatten()
                .map(|n| {
                    (
                        n.to_string(),
                        Value::String(caps.name(n).map(|m| m.as_str()).unwrap_or("").to_string()),
                    )
                })
                .collect(),
        );
    }
    Value::Array(
        (1..names.len())
            .map(|i| Value::String(caps.get(i).map(|m| m.as_str()).unwrap_or("").to_string()))
            .collect(),
    )
}

fn regex_fn(args: FuncArgs) -> FnResult {
    let (pattern, s) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    let re = regex::Regex::new(pattern).map_err(|e| format!("regex: invalid pattern: {e}"))?;
    let caps = re
        .captures(s)
        .ok_or_else(|| format!("regex: pattern {pattern:?} does not match {s:?}"))?;
    Ok(regex_captures(&re, &caps))
}

fn regexall(args: FuncArgs) -> FnResult {
    let (pattern, s) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    let re = regex::Regex::new(pattern).map_err(|e| format!("regexall: invalid pattern: {e}"))?;
    Ok(Value::Array(
        re.captures_iter(s)
            .map(|c| regex_captures(&re, &c))
            .collect(),
    ))
}

fn jsonencode(args: FuncArgs) -> FnResult {
    Ok(Value::String(to_json_text(
        args.first().unwrap_or(&Value::Null),
    )))
}

fn jsondecode(args: FuncArgs) -> FnResult {
    let text = arg_str(&args, 0)?;
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("jsondecode: invalid JSON: {e}"))?;
    Ok(json_to_hcl(&json))
}

fn base64encode(args: FuncArgs) -> FnResult {
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(arg_str(&args, 0)?),
    ))
}

fn base64decode(args: FuncArgs) -> FnResult {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(arg_str(&args, 0)?)
        .map_err(|e| format!("base64decode: invalid base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "base64decode: the decoded bytes are not UTF-8".to_string())
}
