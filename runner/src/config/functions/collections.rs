//! Terraform's collection and type-conversion functions (`merge`, `lookup`, `flatten`, `tolist`, ...).

use super::{any, arg_f64, arg_list, arg_str, fixed, num, s, var, FnResult};
use crate::value::{display_value, number_from_text};
use hcl::eval::{Context, FuncArgs, ParamType};
use hcl::{Map, Value};

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
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
}

pub(super) fn merge(args: FuncArgs) -> FnResult {
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

pub(super) fn lookup(args: FuncArgs) -> FnResult {
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

pub(super) fn length(args: FuncArgs) -> FnResult {
    let n = match args.first() {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Object(m)) => m.len(),
        Some(Value::String(s)) => s.chars().count(),
        other => return Err(format!("length: unsupported argument {other:?}")),
    };
    Ok(Value::from(n as u64))
}

pub(super) fn keys(args: FuncArgs) -> FnResult {
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

pub(super) fn values(args: FuncArgs) -> FnResult {
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

pub(super) fn concat(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    for (i, v) in args.iter().enumerate() {
        match v {
            Value::Array(a) => out.extend(a.iter().cloned()),
            other => return Err(format!("concat: argument {} is not a list: {other}", i + 1)),
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten_into(x, out)),
        other => out.push(other.clone()),
    }
}

pub(super) fn flatten(args: FuncArgs) -> FnResult {
    let mut out = Vec::new();
    for v in arg_list(&args, 0)? {
        flatten_into(v, &mut out);
    }
    Ok(Value::Array(out))
}

pub(super) fn distinct(args: FuncArgs) -> FnResult {
    let mut out: Vec<Value> = Vec::new();
    for v in arg_list(&args, 0)? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn compact(args: FuncArgs) -> FnResult {
    Ok(Value::Array(
        arg_list(&args, 0)?
            .iter()
            .filter(|v| !matches!(v, Value::Null) && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

pub(super) fn contains(args: FuncArgs) -> FnResult {
    let needle = args.get(1).cloned().unwrap_or(Value::Null);
    Ok(Value::Bool(arg_list(&args, 0)?.contains(&needle)))
}

pub(super) fn element(args: FuncArgs) -> FnResult {
    let list = arg_list(&args, 0)?;
    if list.is_empty() {
        return Err("element: cannot use element on an empty list".into());
    }
    let i = arg_f64(&args, 1)? as usize;
    Ok(list[i % list.len()].clone())
}

pub(super) fn index(args: FuncArgs) -> FnResult {
    let needle = args.get(1).cloned().unwrap_or(Value::Null);
    arg_list(&args, 0)?
        .iter()
        .position(|v| *v == needle)
        .map(|i| Value::from(i as u64))
        .ok_or_else(|| "index: item not found".to_string())
}

pub(super) fn slice(args: FuncArgs) -> FnResult {
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

pub(super) fn sort(args: FuncArgs) -> FnResult {
    let mut items: Vec<String> = arg_list(&args, 0)?.iter().map(display_value).collect();
    items.sort();
    Ok(Value::Array(items.into_iter().map(Value::String).collect()))
}

pub(super) fn reverse(args: FuncArgs) -> FnResult {
    let mut items = arg_list(&args, 0)?.clone();
    items.reverse();
    Ok(Value::Array(items))
}

pub(super) fn range(args: FuncArgs) -> FnResult {
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

pub(super) fn zipmap(args: FuncArgs) -> FnResult {
    let (k, v) = (arg_list(&args, 0)?, arg_list(&args, 1)?);
    if k.len() != v.len() {
        return Err("zipmap: lists must have the same length".into());
    }
    Ok(Value::Object(
        k.iter().map(display_value).zip(v.iter().cloned()).collect(),
    ))
}

pub(super) fn coalesce(args: FuncArgs) -> FnResult {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null, non-empty argument".to_string())
}

pub(super) fn coalescelist(args: FuncArgs) -> FnResult {
    args.iter()
        .find(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .cloned()
        .ok_or_else(|| "coalescelist: no non-empty list".to_string())
}

pub(super) fn one(args: FuncArgs) -> FnResult {
    let list = arg_list(&args, 0)?;
    match list.len() {
        0 => Ok(Value::Null),
        1 => Ok(list[0].clone()),
        n => Err(format!("one: list has {n} elements, expected at most one")),
    }
}

pub(super) fn alltrue(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_list(&args, 0)?
            .iter()
            .all(|v| v.as_bool() == Some(true)),
    ))
}

pub(super) fn anytrue(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_list(&args, 0)?
            .iter()
            .any(|v| v.as_bool() == Some(true)),
    ))
}

pub(super) fn sum(args: FuncArgs) -> FnResult {
    let mut total = 0.0;
    for v in arg_list(&args, 0)? {
        total += v.as_f64().ok_or("sum: all elements must be numbers")?;
    }
    Ok(num(total))
}

pub(super) fn tolist(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Array(_)) => Ok(v.clone()),
        other => Err(format!("tolist: cannot convert {other:?} to a list")),
    }
}

pub(super) fn tomap(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        other => Err(format!("tomap: cannot convert {other:?} to a map")),
    }
}

pub(super) fn tostring(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(Value::Null) => Ok(Value::Null),
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            Ok(Value::String(display_value(v)))
        }
        other => Err(format!("tostring: cannot convert {other:?} to a string")),
    }
}

pub(super) fn tonumber(args: FuncArgs) -> FnResult {
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

pub(super) fn tobool(args: FuncArgs) -> FnResult {
    match args.first() {
        Some(v @ Value::Bool(_)) => Ok(v.clone()),
        Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) if s == "true" => Ok(Value::Bool(true)),
        Some(Value::String(s)) if s == "false" => Ok(Value::Bool(false)),
        other => Err(format!("tobool: cannot convert {other:?} to a bool")),
    }
}
