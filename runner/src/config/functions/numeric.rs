//! Terraform's numeric functions (`min`, `max`, `abs`, `ceil`, `floor`).

use super::{arg_f64, fixed, num, var, FnResult};
use hcl::eval::{Context, FuncArgs, ParamType};

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
    ctx.declare_func("min", var(min, vec![], ParamType::Number));
    ctx.declare_func("max", var(max, vec![], ParamType::Number));
    ctx.declare_func("abs", fixed(abs, vec![ParamType::Number]));
    ctx.declare_func("ceil", fixed(ceil, vec![ParamType::Number]));
    ctx.declare_func("floor", fixed(floor, vec![ParamType::Number]));
}

/// The argument that wins `better` (compared as f64), returned as given, so big integers keep
/// every digit.
fn pick(args: &FuncArgs, better: fn(f64, f64) -> bool, name: &str) -> FnResult {
    args.iter()
        .filter(|v| v.as_f64().is_some())
        .reduce(|a, b| {
            if better(
                b.as_f64().unwrap_or(f64::NAN),
                a.as_f64().unwrap_or(f64::NAN),
            ) {
                b
            } else {
                a
            }
        })
        .cloned()
        .ok_or_else(|| format!("{name} needs at least one number"))
}

pub(super) fn min(args: FuncArgs) -> FnResult {
    pick(&args, |a, b| a < b, "min")
}

pub(super) fn max(args: FuncArgs) -> FnResult {
    pick(&args, |a, b| a > b, "max")
}

pub(super) fn abs(args: FuncArgs) -> FnResult {
    Ok(num(arg_f64(&args, 0)?.abs()))
}

pub(super) fn ceil(args: FuncArgs) -> FnResult {
    Ok(num(arg_f64(&args, 0)?.ceil()))
}

pub(super) fn floor(args: FuncArgs) -> FnResult {
    Ok(num(arg_f64(&args, 0)?.floor()))
}
