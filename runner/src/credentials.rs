//! The credentials pre-check of `ralf run`: before any unit starts, every environment variable
//! the selected units read with `get_env("NAME")` and no default must be set (and not empty).
//! Terragrunt fails each such unit on its own when it gets to it; ralf names every missing
//! variable at once, with the files that read it, and starts nothing.
//!
//! It reads the units' configuration files (a unit's `terragrunt.hcl` and the files it
//! includes) as HCL syntax only, never evaluates them, and never prints a variable's value:
//! only names. It knows nothing of Terraform or of the units' order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::expr::{Expression, Operation, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Body, Structure};

/// Environment variables the configuration requires but the environment lacks, each with the
/// files that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingEnv {
    pub missing: BTreeMap<String, BTreeSet<PathBuf>>,
}

impl std::fmt::Display for MissingEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.missing.keys().map(String::as_str).collect();
        writeln!(
            f,
            "no unit was started: the configuration requires {} not set in the environment: {}",
            if names.len() == 1 {
                "an environment variable that is"
            } else {
                "environment variables that are"
            },
            names.join(", ")
        )?;
        for (name, files) in &self.missing {
            let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
            writeln!(
                f,
                "  {name}: read with get_env(\"{name}\") and no default by {}",
                files.join(", ")
            )?;
        }
        write!(
            f,
            "Set {} (secrets from your secret store or CI's secret variables, never in the \
             repository), then run again.",
            if names.len() == 1 {
                "it"
            } else {
                "each of them"
            }
        )
    }
}

impl std::error::Error for MissingEnv {}

/// The variables `files` read with `get_env` without a default, each with the files reading it.
/// A file that cannot be read or parsed is left out: reading the configuration reports it.
pub fn required_env(files: &[PathBuf]) -> BTreeMap<String, BTreeSet<PathBuf>> {
    let mut required: BTreeMap<String, BTreeSet<PathBuf>> = BTreeMap::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let Ok(body) = hcl::parse(&text) else {
            continue;
        };
        let mut names = BTreeSet::new();
        body_names(&body, &mut names);
        for name in names {
            required.entry(name).or_default().insert(file.clone());
        }
    }
    required
}

/// Checks that every variable `files` require is set, reading it through `lookup` (which sees
/// the extra environment a run adds as well as the process's).
pub fn check(files: &[PathBuf], lookup: impl Fn(&str) -> Option<String>) -> Result<(), MissingEnv> {
    let missing: BTreeMap<String, BTreeSet<PathBuf>> = required_env(files)
        .into_iter()
        .filter(|(name, _)| lookup(name).is_none_or(|v| v.is_empty()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MissingEnv { missing })
    }
}

/// The configuration files of a unit: its own and the ones it includes.
pub fn unit_files(config_file: &Path, included: &[PathBuf]) -> Vec<PathBuf> {
    std::iter::once(config_file.to_path_buf())
        .chain(included.iter().cloned())
        .collect()
}

fn body_names(body: &Body, names: &mut BTreeSet<String>) {
    for structure in body.iter() {
        match structure {
            Structure::Attribute(a) => expr_names(&a.expr, names),
            Structure::Block(b) => body_names(&b.body, names),
        }
    }
}

fn expr_names(expr: &Expression, names: &mut BTreeSet<String>) {
    match expr {
        Expression::FuncCall(call) => {
            if call.name.namespace.is_empty() && call.name.name.as_str() == "get_env" {
                if let [Expression::String(name)] = call.args.as_slice() {
                    names.insert(name.clone());
                }
            }
            for arg in &call.args {
                expr_names(arg, names);
            }
        }
        Expression::Array(items) => items.iter().for_each(|e| expr_names(e, names)),
        Expression::Object(obj) => {
            for (key, value) in obj.iter() {
                if let hcl::ObjectKey::Expression(k) = key {
                    expr_names(k, names);
                }
                expr_names(value, names);
            }
        }
        Expression::TemplateExpr(t) => {
            if let Ok(template) = Template::from_expr(t) {
                template_names(&template, names);
            }
        }
        Expression::Traversal(t) => {
            expr_names(&t.expr, names);
            for op in &t.operators {
                if let TraversalOperator::Index(e) = op {
                    expr_names(e, names);
                }
            }
        }
        Expression::Parenthesis(inner) => expr_names(inner, names),
        Expression::Conditional(c) => {
            expr_names(&c.cond_expr, names);
            expr_names(&c.true_expr, names);
            expr_names(&c.false_expr, names);
        }
        Expression::Operation(op) => match op.as_ref() {
            Operation::Unary(u) => expr_names(&u.expr, names),
            Operation::Binary(b) => {
                expr_names(&b.lhs_expr, names);
                expr_names(&b.rhs_expr, names);
            }
        },
        Expression::ForExpr(f) => {
            expr_names(&f.collection_expr, names);
            if let Some(k) = &f.key_expr {
                expr_names(k, names);
            }
            expr_names(&f.value_expr, names);
            if let Some(c) = &f.cond_expr {
                expr_names(c, names);
            }
        }
        _ => {}
    }
}

fn template_names(template: &Template, names: &mut BTreeSet<String>) {
    for element in template.elements() {
        match element {
            Element::Literal(_) => {}
            Element::Interpolation(i) => expr_names(&i.expr, names),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(i) => {
                    expr_names(&i.cond_expr, names);
                    template_names(&i.true_template, names);
                    if let Some(f) = &i.false_template {
                        template_names(f, names);
                    }
                }
                Directive::For(f) => {
                    expr_names(&f.collection_expr, names);
                    template_names(&f.template, names);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn only_get_env_without_a_default_is_required_wherever_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let root = file(
            dir.path(),
            "root.hcl",
            r#"
            # get_env("IN_A_COMMENT") is not a call
            locals {
              env = get_env("RALF_ENV", "functional")
              token = get_env("TOKEN")
            }
            terraform {
              extra_arguments "x" {
                arguments = ["-var=url=${get_env("IN_TEMPLATE")}"]
              }
            }
            inputs = {
              a = true ? upper(get_env("IN_CALL")) : ""
              b = [for x in ["a"] : get_env("IN_FOR")]
            }
            "#,
        );
        let required = required_env(&[root]);
        let names: Vec<&str> = required.keys().map(String::as_str).collect();
        assert_eq!(names, ["IN_CALL", "IN_FOR", "IN_TEMPLATE", "TOKEN"]);
    }

    #[test]
    fn a_missing_or_empty_variable_is_named_with_the_files_that_read_it_and_never_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let root = file(
            dir.path(),
            "root.hcl",
            r#"inputs = { t = get_env("TOKEN"), e = get_env("ENDPOINT"), s = get_env("SET") }"#,
        );
        let unit = file(
            dir.path(),
            "terragrunt.hcl",
            r#"inputs = { t = get_env("TOKEN") }"#,
        );
        let err = check(
            &unit_files(&unit, std::slice::from_ref(&root)),
            |name| match name {
                "SET" => Some("s3cr3t-value".to_string()),
                "ENDPOINT" => Some(String::new()),
                _ => None,
            },
        )
        .unwrap_err();
        assert_eq!(
            err.missing.keys().collect::<Vec<_>>(),
            ["ENDPOINT", "TOKEN"]
        );
        assert_eq!(err.missing["TOKEN"].len(), 2, "both files read TOKEN");
        let text = err.to_string();
        assert!(text.contains("no unit was started"), "{text}");
        assert!(text.contains("ENDPOINT, TOKEN"), "{text}");
        assert!(text.contains(&root.display().to_string()), "{text}");
        assert!(!text.contains("s3cr3t"), "never a value: {text}");
    }

    #[test]
    fn nothing_missing_passes() {
        let dir = tempfile::tempdir().unwrap();
        let root = file(dir.path(), "root.hcl", r#"locals { t = get_env("TOKEN") }"#);
        assert_eq!(check(&[root], |_| Some("x".to_string())), Ok(()));
    }
}
