//! Terragrunt's `--filter` language over the units of a graph (Terragrunt's
//! `docs/src/content/docs/03-features/08-filter/*`):
//!
//! - paths, with globs: `./prod/**`, `stacks/*`, `{./app}` (braces force a path);
//! - names (a unit's directory basename), with globs: `app*`, or `name=app*`;
//! - attributes: `type=unit`, `external=true|false`, `source=<glob>`, `reading=<glob>`;
//! - graph expressions: `X...` is X and everything it depends on, `...X` is X and everything that
//!   depends on it, `...X...` both, and `^` leaves the target out (`...^vpc`);
//! - git: `[main...HEAD]` (units with files changed between two refs) and `[main]` (changed
//!   between a ref and the working tree);
//! - `a | b` keeps what matches `a` and then `b`; a leading `!` negates; several filters are a
//!   union, with negated ones removed after all positive ones.
//!
//! Parsing happens once, into [`Filter`]s; evaluation needs the graph, each unit's source and
//! read files, and, for git expressions only, the `git` binary. Nothing here runs terraform.

use crate::graph::Graph;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A `--filter` that does not parse or cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("--filter {filter:?}: {message}")]
    Syntax { filter: String, message: String },
    #[error("--filter {filter:?}: git failed: {message}")]
    Git { filter: String, message: String },
}

/// One parsed `--filter` value.
#[derive(Debug, Clone)]
pub struct Filter {
    text: String,
    negated: bool,
    /// Terms joined by `|`, applied left to right.
    chain: Vec<Term>,
}

#[derive(Debug, Clone)]
enum Term {
    Path(String),
    Name(String),
    Type(String),
    External(bool),
    Source(String),
    Reading(String),
    Graph {
        target: Box<Term>,
        dependencies: bool,
        dependents: bool,
        include_target: bool,
    },
    Git {
        from: String,
        to: Option<String>,
    },
}

/// What evaluation needs to know about each unit beyond the graph.
#[derive(Debug, Clone, Default)]
pub struct UnitFacts {
    /// `terraform.source`, if any.
    pub source: Option<String>,
    /// Files the unit reads besides its own directory (included files), absolute.
    pub reads: Vec<PathBuf>,
}

impl Filter {
    /// Parses one `--filter` value.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let syntax = |message: &str| FilterError::Syntax {
            filter: text.to_string(),
            message: message.to_string(),
        };
        let trimmed = text.trim();
        let (negated, body) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        if body.is_empty() {
            return Err(syntax("empty filter"));
        }
        let mut chain = Vec::new();
        for part in split_pipes(body) {
            let part = part.trim();
            if part.is_empty() {
                return Err(syntax("an empty term around `|`"));
            }
            if part.starts_with('!') {
                return Err(syntax(
                    "negate a whole filter (`!a`), or give it as its own --filter; `a | !b` is not supported",
                ));
            }
            chain.push(parse_term(part).map_err(|m| syntax(&m))?);
        }
        Ok(Filter {
            text: text.to_string(),
            negated,
            chain,
        })
    }

    /// The text as given.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Splits on `|` outside braces and brackets.
fn split_pipes(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            '|' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn parse_term(s: &str) -> Result<Term, String> {
    let (dependents, rest) = match s.strip_prefix("...") {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (dependencies, rest) = match rest.strip_suffix("...") {
        Some(r) if !r.ends_with('.') || r.ends_with("./") => (true, r),
        _ => (false, rest),
    };
    if dependents || dependencies {
        let (include_target, inner) = match rest.strip_prefix('^') {
            Some(r) => (false, r),
            None => (true, rest),
        };
        if inner.is_empty() {
            return Err("a graph expression needs a target, e.g. `...vpc`".into());
        }
        return Ok(Term::Graph {
            target: Box::new(parse_plain(inner)?),
            dependencies,
            dependents,
            include_target,
        });
    }
    parse_plain(s)
}

fn parse_plain(s: &str) -> Result<Term, String> {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let (from, to) = match inner.split_once("...") {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (inner.trim(), None),
        };
        if from.is_empty() || to.is_some_and(str::is_empty) {
            return Err("a git expression names refs: `[main...HEAD]` or `[main]`".into());
        }
        return Ok(Term::Git {
            from: from.to_string(),
            to: to.map(str::to_string),
        });
    }
    if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        return Ok(Term::Path(inner.to_string()));
    }
    if let Some((key, value)) = s.split_once('=') {
        return match key.trim() {
            "name" => Ok(Term::Name(value.to_string())),
            "type" => Ok(Term::Type(value.to_string())),
            "external" => match value {
                "true" => Ok(Term::External(true)),
                "false" => Ok(Term::External(false)),
                other => Err(format!("external= takes true or false, not {other:?}")),
            },
            "source" => Ok(Term::Source(value.to_string())),
            "reading" => Ok(Term::Reading(value.to_string())),
            other => Err(format!(
                "unknown attribute {other:?} (name, type, external, source, reading)"
            )),
        };
    }
    if s.starts_with('.') || s.starts_with('/') || s.contains('/') {
        return Ok(Term::Path(s.to_string()));
    }
    Ok(Term::Name(s.to_string()))
}

/// Evaluation context: the graph, the working dir and per-unit facts (indexed like the graph).
pub struct Universe<'a> {
    pub graph: &'a Graph,
    pub working_dir: &'a Path,
    pub facts: &'a [UnitFacts],
}

/// The units (graph indices, internal ones only) that `filters` select; all units when
/// `filters` is empty.
pub fn select(filters: &[Filter], u: &Universe<'_>) -> Result<BTreeSet<usize>, FilterError> {
    let all: BTreeSet<usize> = u.graph.internal().into_iter().collect();
    if filters.is_empty() {
        return Ok(all);
    }
    let positive: Vec<&Filter> = filters.iter().filter(|f| !f.negated).collect();
    let mut selected = if positive.is_empty() {
        all.clone()
    } else {
        let mut s = BTreeSet::new();
        for f in positive {
            s.extend(eval_chain(f, u, &all)?);
        }
        s
    };
    for f in filters.iter().filter(|f| f.negated) {
        for i in eval_chain(f, u, &all)? {
            selected.remove(&i);
        }
    }
    Ok(selected)
}

fn eval_chain(
    f: &Filter,
    u: &Universe<'_>,
    all: &BTreeSet<usize>,
) -> Result<BTreeSet<usize>, FilterError> {
    let mut current = all.clone();
    for term in &f.chain {
        current = eval_term(term, u, &current, f)?;
    }
    Ok(current)
}

fn glob_or_literal(pattern: &str, value: &str) -> bool {
    if pattern.contains(['*', '?', '[', '{']) {
        crate::discover::glob_matcher(pattern).is_some_and(|m| m.is_match(value))
    } else {
        pattern == value
    }
}

fn eval_term(
    term: &Term,
    u: &Universe<'_>,
    candidates: &BTreeSet<usize>,
    f: &Filter,
) -> Result<BTreeSet<usize>, FilterError> {
    let keep = |pred: &dyn Fn(usize) -> bool| -> BTreeSet<usize> {
        candidates.iter().copied().filter(|&i| pred(i)).collect()
    };
    let node = |i: usize| &u.graph.nodes[i];
    Ok(match term {
        Term::Path(p) => keep(&|i| crate::discover::dir_matches(p, u.working_dir, &node(i).name)),
        Term::Name(p) => keep(&|i| {
            let base = node(i)
                .dir
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            glob_or_literal(p, &base)
        }),
        Term::Type(t) => keep(&|_| t == "unit"),
        Term::External(e) => keep(&|i| node(i).external == *e),
        Term::Source(p) => keep(&|i| {
            u.facts
                .get(i)
                .and_then(|f| f.source.as_deref())
                .is_some_and(|s| glob_or_literal(p, s))
        }),
        Term::Reading(p) => keep(&|i| {
            u.facts.get(i).is_some_and(|f| {
                f.reads.iter().any(|r| {
                    let rel = crate::discover::rel_path(u.working_dir, r);
                    glob_or_literal(p.trim_start_matches("./"), &rel)
                })
            })
        }),
        Term::Graph {
            target,
            dependencies,
            dependents,
            include_target,
        } => {
            let targets = eval_term(target, u, candidates, f)?;
            let reverse = u.graph.dependents();
            let mut out = BTreeSet::new();
            let mut walk = |edges: &dyn Fn(usize) -> Vec<usize>| {
                let mut stack: Vec<usize> = targets.iter().copied().collect();
                let mut seen = BTreeSet::new();
                while let Some(i) = stack.pop() {
                    for j in edges(i) {
                        if seen.insert(j) {
                            out.insert(j);
                            stack.push(j);
                        }
                    }
                }
            };
            if *dependencies {
                walk(&|i| u.graph.nodes[i].deps.clone());
            }
            if *dependents {
                walk(&|i| reverse[i].clone());
            }
            if *include_target {
                out.extend(targets.iter().copied());
            } else {
                for t in &targets {
                    out.remove(t);
                }
            }
            out.retain(|&i| !u.graph.nodes[i].external);
            out
        }
        Term::Git { from, to } => {
            let changed = git_changed_files(u.working_dir, from, to.as_deref()).map_err(|m| {
                FilterError::Git {
                    filter: f.text.clone(),
                    message: m,
                }
            })?;
            let dirs: Vec<&Path> = candidates.iter().map(|&i| node(i).dir.as_path()).collect();
            keep(&|i| {
                let dir = &node(i).dir;
                changed.iter().any(|file| {
                    // A file belongs to the deepest unit directory that contains it.
                    let owner = dirs
                        .iter()
                        .filter(|d| file.starts_with(d))
                        .max_by_key(|d| d.components().count());
                    owner == Some(&dir.as_path())
                        || u.facts.get(i).is_some_and(|f| f.reads.contains(file))
                })
            })
        }
    })
}

/// Absolute paths of the files that differ between `from` and `to` (or the working tree).
fn git_changed_files(dir: &Path, from: &str, to: Option<&str>) -> Result<Vec<PathBuf>, String> {
    let git = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("cannot run git: {e}; install git or drop the [..] filter"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?.trim());
    let mut args = vec!["diff", "--name-only", "--no-renames", from];
    if let Some(to) = to {
        args.push(to);
    }
    args.push("--");
    let mut names = git(&args)?;
    if to.is_none() {
        // Against the work tree, new files count as changes too.
        names.push_str(&git(&[
            "ls-files",
            "--others",
            "--exclude-standard",
            "--full-name",
        ])?);
    }
    Ok(names
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| top.join(l))
        .collect())
}
