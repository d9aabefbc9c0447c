//! Expression evaluation for `terragrunt.hcl` files on top of `hcl::eval`.
//!
//! Adds what hcl-rs lacks: a per-thread [`Scope`] (which unit, which file, which includes, which
//! environment) read by the context-dependent functions, and lazy `try(...)` / `can(...)`, which
//! are resolved before the expression is handed to hcl-rs because hcl-rs evaluates function
//! arguments eagerly. This module knows nothing about the meaning of blocks.

use super::functions::declare_all;
use hcl::eval::{Context, Evaluate};
use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::{Map, Value};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

/// What a whole run shares with every evaluation: the command being run and the environment
/// overlay (`extra_env`) that `get_env` sees before the process environment.
#[derive(Debug, Clone, Default)]
pub struct EvalEnv {
    pub tf_command: String,
    pub tf_args: Vec<String>,
    pub extra_env: Vec<(String, String)>,
}

/// Where an expression is evaluated.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The unit directory (the dir of the `terragrunt.hcl` being run), also inside included files.
    pub terragrunt_dir: PathBuf,
    /// The directory of the file that holds the expression (for `file()` and relative reads).
    pub file_dir: PathBuf,
    /// The unit's include blocks: label and absolute path of the included file.
    pub includes: Vec<(String, PathBuf)>,
    pub env: Arc<EvalEnv>,
}

impl Scope {
    /// An environment variable as the unit's processes will see it.
    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env
            .extra_env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
    }
}

thread_local! {
    static SCOPES: RefCell<Vec<Rc<Scope>>> = const { RefCell::new(Vec::new()) };
}

/// The scope of the innermost evaluation on this thread.
pub fn current_scope() -> Option<Rc<Scope>> {
    SCOPES.with(|s| s.borrow().last().cloned())
}

/// Keeps a scope current for as long as it lives.
pub struct ScopeGuard(());

impl ScopeGuard {
    pub fn enter(scope: Scope) -> ScopeGuard {
        SCOPES.with(|s| s.borrow_mut().push(Rc::new(scope)));
        ScopeGuard(())
    }
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPES.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

/// The variables an expression may reference.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub local: Map<String, Value>,
    pub include: Map<String, Value>,
    pub dependency: Map<String, Value>,
    /// Extra top-level variables (e.g. `values` of a stack unit).
    pub other: Map<String, Value>,
}

fn base_context() -> &'static Context<'static> {
    static BASE: OnceLock<Context<'static>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        ctx
    })
}

fn context_for(vars: &Vars) -> Context<'static> {
    let mut ctx = base_context().clone();
    ctx.declare_var("local", Value::Object(vars.local.clone()));
    ctx.declare_var("include", Value::Object(vars.include.clone()));
    ctx.declare_var("dependency", Value::Object(vars.dependency.clone()));
    for (k, v) in &vars.other {
        ctx.declare_var(k.as_str(), v.clone());
    }
    ctx
}

/// Evaluates `expr` with `vars` in the current scope.
pub fn eval_expr(expr: &Expression, vars: &Vars) -> Result<Value, String> {
    let mut expr = expr.clone();
    resolve_lazy_calls(&mut expr, vars)?;
    let ctx = context_for(vars);
    expr.evaluate(&ctx).map_err(|e| e.to_string())
}

fn is_lazy_call(expr: &Expression) -> Option<&'static str> {
    match expr {
        Expression::FuncCall(call) if call.name.namespace.is_empty() => {
            match call.name.name.as_str() {
                "try" => Some("try"),
                "can" => Some("can"),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Replaces every `try(...)`/`can(...)` (outside for-expression bodies) by its value.
fn resolve_lazy_calls(expr: &mut Expression, vars: &Vars) -> Result<(), String> {
    if let Some(kind) = is_lazy_call(expr) {
        let Expression::FuncCall(call) = expr else {
            return Ok(());
        };
        let value = match kind {
            "try" => {
                let mut last_err = String::from("try() needs at least one argument");
                let mut found = None;
                for arg in &call.args {
                    match eval_expr(arg, vars) {
                        Ok(v) => {
                            found = Some(v);
                            break;
                        }
                        Err(e) => last_err = e,
                    }
                }
                found
                    .ok_or_else(|| format!("no argument of try() could be evaluated: {last_err}"))?
            }
            _ => {
                let arg = call
                    .args
                    .first()
                    .ok_or("can() needs exactly one argument")?;
                Value::Bool(eval_expr(arg, vars).is_ok())
            }
        };
        *expr = Expression::from(value);
        return Ok(());
    }
    match expr {
        Expression::Array(items) => {
            for item in items {
                resolve_lazy_calls(item, vars)?;
            }
        }
        Expression::Object(obj) => {
            for (key, value) in obj.iter_mut() {
                if let ObjectKey::Expression(_) = key {
                    // Keys are rarely lazy calls; leave them to hcl-rs.
                }
                resolve_lazy_calls(value, vars)?;
            }
        }
        Expression::Traversal(t) => {
            resolve_lazy_calls(&mut t.expr, vars)?;
            for op in t.operators.iter_mut() {
                if let TraversalOperator::Index(e) = op {
                    resolve_lazy_calls(e, vars)?;
                }
            }
        }
        Expression::FuncCall(call) => {
            for arg in call.args.iter_mut() {
                resolve_lazy_calls(arg, vars)?;
            }
        }
        Expression::Parenthesis(inner) => resolve_lazy_calls(inner, vars)?,
        Expression::Conditional(c) => {
            resolve_lazy_calls(&mut c.cond_expr, vars)?;
            resolve_lazy_calls(&mut c.true_expr, vars)?;
            resolve_lazy_calls(&mut c.false_expr, vars)?;
        }
        Expression::Operation(op) => match op.as_mut() {
            hcl::expr::Operation::Unary(u) => resolve_lazy_calls(&mut u.expr, vars)?,
            hcl::expr::Operation::Binary(b) => {
                resolve_lazy_calls(&mut b.lhs_expr, vars)?;
                resolve_lazy_calls(&mut b.rhs_expr, vars)?;
            }
        },
        Expression::ForExpr(f) => resolve_lazy_calls(&mut f.collection_expr, vars)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> Result<Value, String> {
        let body: hcl::Body = hcl::parse(&format!("x = {src}\n")).map_err(|e| e.to_string())?;
        let attr = body.attributes().next().ok_or("no attribute")?.clone();
        let _g = ScopeGuard::enter(Scope {
            terragrunt_dir: PathBuf::from("/tmp/a/b"),
            file_dir: PathBuf::from("/tmp/a/b"),
            includes: vec![("root".into(), PathBuf::from("/tmp/root.hcl"))],
            env: Arc::new(EvalEnv::default()),
        });
        eval_expr(&attr.expr, &Vars::default())
    }

    #[test]
    fn try_returns_the_first_argument_that_evaluates() {
        assert_eq!(
            eval(r#"try(local.missing, "fallback")"#),
            Ok(Value::from("fallback"))
        );
        assert_eq!(eval(r#"can(local.missing)"#), Ok(Value::Bool(false)));
    }

    #[test]
    fn common_functions_work_inside_templates() {
        assert_eq!(
            eval(r#""${format("%s-%03d", "ct", 7)}/${jsonencode({a = [1, true]})}""#),
            Ok(Value::from(r#"ct-007/{"a":[1,true]}"#))
        );
        assert_eq!(
            eval(r#"lookup(merge({a = 1}, {b = 2}), "b", 0)"#),
            Ok(Value::from(2))
        );
    }

    #[test]
    fn include_paths_are_relative_to_the_included_file() {
        assert_eq!(eval("path_relative_to_include()"), Ok(Value::from("a/b")));
        assert_eq!(
            eval("path_relative_from_include()"),
            Ok(Value::from("../.."))
        );
        assert_eq!(eval("get_parent_terragrunt_dir()"), Ok(Value::from("/tmp")));
    }
}
