//! Terraform's string functions (`format`, `join`, `split`, `replace`, `regex`, ...).

use super::{any, arg_f64, arg_str, fixed, s, var, FnResult};
use crate::value::display_value;
use hcl::eval::{Context, FuncArgs, ParamType};
use hcl::Value;

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
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
}

/// `format` with the verbs Terraform documents: `%s %d %f %t %v %q %%`, with optional width,
/// `-`/`0` flags and precision.
pub(super) fn format(args: FuncArgs) -> FnResult {
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

pub(super) fn join(args: FuncArgs) -> FnResult {
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

pub(super) fn split(args: FuncArgs) -> FnResult {
    let (sep, s) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    if s.is_empty() {
        return Ok(Value::Array(vec![Value::from("")]));
    }
    Ok(Value::Array(s.split(sep).map(Value::from).collect()))
}

/// Maps each character on its own, keeping those whose case mapping is not a single character
/// (`ß` stays `ß`), as Go's `unicode.ToUpper`/`ToLower`, which Terraform uses, do.
fn map_chars<I: Iterator<Item = char>>(s: &str, f: fn(char) -> I) -> String {
    s.chars()
        .map(|c| {
            let mut mapped = f(c);
            match (mapped.next(), mapped.next()) {
                (Some(m), None) => m,
                _ => c,
            }
        })
        .collect()
}

pub(super) fn lower(args: FuncArgs) -> FnResult {
    Ok(Value::String(map_chars(
        arg_str(&args, 0)?,
        char::to_lowercase,
    )))
}

pub(super) fn upper(args: FuncArgs) -> FnResult {
    Ok(Value::String(map_chars(
        arg_str(&args, 0)?,
        char::to_uppercase,
    )))
}

pub(super) fn title(args: FuncArgs) -> FnResult {
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

pub(super) fn trimspace(args: FuncArgs) -> FnResult {
    Ok(Value::String(arg_str(&args, 0)?.trim().to_string()))
}

pub(super) fn chomp(args: FuncArgs) -> FnResult {
    Ok(Value::String(
        arg_str(&args, 0)?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
    ))
}

pub(super) fn trim(args: FuncArgs) -> FnResult {
    let set: Vec<char> = arg_str(&args, 1)?.chars().collect();
    Ok(Value::String(
        arg_str(&args, 0)?.trim_matches(set.as_slice()).to_string(),
    ))
}

pub(super) fn trimprefix(args: FuncArgs) -> FnResult {
    let (s, p) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    Ok(Value::String(s.strip_prefix(p).unwrap_or(s).to_string()))
}

pub(super) fn trimsuffix(args: FuncArgs) -> FnResult {
    let (s, p) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    Ok(Value::String(s.strip_suffix(p).unwrap_or(s).to_string()))
}

pub(super) fn startswith(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_str(&args, 0)?.starts_with(arg_str(&args, 1)?),
    ))
}

pub(super) fn endswith(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(
        arg_str(&args, 0)?.ends_with(arg_str(&args, 1)?),
    ))
}

pub(super) fn strcontains(args: FuncArgs) -> FnResult {
    Ok(Value::Bool(arg_str(&args, 0)?.contains(arg_str(&args, 1)?)))
}

pub(super) fn replace(args: FuncArgs) -> FnResult {
    let (s, search, with) = (arg_str(&args, 0)?, arg_str(&args, 1)?, arg_str(&args, 2)?);
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = regex::Regex::new(&search[1..search.len() - 1])
            .map_err(|e| format!("replace: invalid regular expression {search}: {e}"))?;
        return Ok(Value::String(re.replace_all(s, with).into_owned()));
    }
    Ok(Value::String(s.replace(search, with)))
}

pub(super) fn substr(args: FuncArgs) -> FnResult {
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

pub(super) fn regex_captures(re: &regex::Regex, caps: &regex::Captures<'_>) -> Value {
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

pub(super) fn regex_fn(args: FuncArgs) -> FnResult {
    let (pattern, s) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    let re = regex::Regex::new(pattern).map_err(|e| format!("regex: invalid pattern: {e}"))?;
    let caps = re
        .captures(s)
        .ok_or_else(|| format!("regex: pattern {pattern:?} does not match {s:?}"))?;
    Ok(regex_captures(&re, &caps))
}

pub(super) fn regexall(args: FuncArgs) -> FnResult {
    let (pattern, s) = (arg_str(&args, 0)?, arg_str(&args, 1)?);
    let re = regex::Regex::new(pattern).map_err(|e| format!("regexall: invalid pattern: {e}"))?;
    Ok(Value::Array(
        re.captures_iter(s)
            .map(|c| regex_captures(&re, &c))
            .collect(),
    ))
}
