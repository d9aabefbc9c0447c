//! Terraform's numeric functions (`min`, `max`, `abs`, `ceil`, `floor`).

use super::{arg_f64, fixed, num, var, FnResult};
use hcl::eval::{Context, FuncArgs, ParamType};
use hcl::Value;

/// Declares this family's functions in `ctx`.
pub(super) fn declare(ctx: &mut Context<'_>) {
    ctx.declare_func("min", var(min, vec![], ParamType::Number));
    ctx.declare_func("max", var(max, vec![], ParamType::Number));
    ctx.declare_func("abs", fixed(abs, vec![ParamType::Number]));
    ctx.declare_func("ceil", fixed(ceil, vec![ParamType::Number]));
    ctx.declare_func("floor", fixed(floor, vec![ParamType::Number]));
}

pub(super) fn min(args: FuncArgs) -> FnResult {
    args.iter()
        .filter_map(Value::as_f64)
        .reduce(f64::min)
        .map(num)
        .ok_or_else(|| "min needs at least one number".to_string())
}

pub(super) fn max(args: FuncArgs) -> FnResult {
    args.iter()
        .filter_map(Value::as_f64)
        .reduce(f64::max)
        .map(num)
        .ok_or_else(|| "max needs at least one number".to_string())
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
