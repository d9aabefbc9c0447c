//! `ralf report`: turns the per-unit plan JSON files written by
//! `run --all plan --json-out-dir DIR` (`DIR/<unit>/tfplan.json`, `tofu show -json` format), and
//! optionally the run report of `--report-file`, into one Markdown comment for a pull request.
//!
//! Order of the comment: a hidden marker (so a CI step can find and update its own earlier
//! comment); a banner when anything is destroyed or replaced; a summary table of
//! add/change/destroy/replace per unit, failed and early-exit units included with their error;
//! replacements with the attributes that force them; drift (changes outside Terraform) and
//! output changes; `ralf_snapshot` resources and rollback triggers called
//! out; then per-unit details in `<details>` blocks. Sensitive values are never printed (the
//! `before_sensitive`/`after_sensitive` marks are honoured). The whole comment stays under
//! GitHub's 65,536-character limit: details are truncated, never the summary, and the comment
//! says so. This module reads JSON values only; it never runs terraform.

use serde_json::Value as Json;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// GitHub's limit for one comment body.
pub const COMMENT_LIMIT: usize = 65_536;

/// The resource type whose changes are always called out.
pub const SNAPSHOT_TYPE: &str = "ralf_snapshot";

/// Counts from `resource_changes[].change.actions` (replacements count as one add and one
/// destroy, as terraform's own plan summary does, and also in `replace`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanCounts {
    pub add: u64,
    pub change: u64,
    pub destroy: u64,
    pub replace: u64,
}

/// Errors reading plan files.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read plan dir {}: {source}", path.display())]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read plan file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not plan JSON (`tofu show -json` output): {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("no plan files (<unit>/tfplan.json) in {}; run `ralf run --all plan --json-out-dir {}` first", .0.display(), .0.display())]
    Empty(PathBuf),
}

/// One unit's plan.
#[derive(Debug, Clone)]
pub struct UnitPlan {
    pub unit: String,
    pub plan: Json,
}

fn actions(rc: &Json) -> Vec<&str> {
    rc.pointer("/change/actions")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

fn is_replace(acts: &[&str]) -> bool {
    acts.contains(&"delete") && acts.contains(&"create")
}

fn managed_changes(plan: &Json) -> impl Iterator<Item = &Json> {
    plan.get("resource_changes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|rc| rc.get("mode").and_then(Json::as_str) != Some("data"))
}

/// Counts of a plan.
pub fn plan_counts(plan: &Json) -> PlanCounts {
    let mut c = PlanCounts::default();
    for rc in managed_changes(plan) {
        let a = actions(rc);
        if is_replace(&a) {
            c.add += 1;
            c.destroy += 1;
            c.replace += 1;
        } else if a == ["create"] {
            c.add += 1;
        } else if a == ["update"] {
            c.change += 1;
        } else if a == ["delete"] {
            c.destroy += 1;
        }
    }
    c
}

/// Reads the plans under `dir`: every `<unit>/tfplan.json` (Terragrunt's `--json-out-dir`
/// layout, `tfplan.json` in `dir` itself being the root unit), and top-level `*.json` files in
/// ralf's older flat naming (`a__b.json` for unit `a/b`).
pub fn read_plan_dir(dir: &Path) -> Result<Vec<UnitPlan>, ReportError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    collect_plan_files(dir, dir, &mut files)?;
    if files.is_empty() {
        return Err(ReportError::Empty(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    for (unit, f) in files {
        let text = std::fs::read_to_string(&f).map_err(|source| ReportError::Read {
            path: f.clone(),
            source,
        })?;
        let plan: Json = serde_json::from_str(&text).map_err(|e| ReportError::Parse {
            path: f.clone(),
            message: e.to_string(),
        })?;
        if plan.get("format_version").is_none() {
            return Err(ReportError::Parse {
                path: f,
                message: "no format_version field".into(),
            });
        }
        out.push(UnitPlan { unit, plan });
    }
    out.sort_by(|a, b| a.unit.cmp(&b.unit));
    Ok(out)
}

fn collect_plan_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), ReportError> {
    let rd = std::fs::read_dir(dir).map_err(|source| ReportError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            collect_plan_files(root, &path, out)?;
        } else if name == crate::run::PLAN_JSON_FILE {
            let unit = path
                .parent()
                .map(|p| crate::discover::rel_path(root, p))
                .unwrap_or_else(|| ".".into());
            out.push((unit, path));
        } else if dir == root && name.ends_with(".json") {
            let stem = name.trim_end_matches(".json");
            let unit = if stem == "__root__" {
                ".".to_string()
            } else {
                stem.replace("__", "/")
            };
            out.push((unit, path));
        }
    }
    Ok(())
}

/// How one unit's run ended, as a `--report-file` row records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRun {
    pub unit: String,
    /// `succeeded`, `failed`, `early exit` or `excluded`.
    pub result: String,
    pub reason: Option<String>,
    pub cause: Option<String>,
}

impl UnitRun {
    /// Whether the unit failed or never ran because of a failure (what a comment must show).
    pub fn is_problem(&self) -> bool {
        matches!(self.result.as_str(), "failed" | "early exit")
    }
}

/// Reads a run report written by `--report-file` (JSON rows, or CSV when the file ends in
/// `.csv`).
pub fn read_run_report(path: &Path) -> Result<Vec<UnitRun>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_err = |message: String| ReportError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let mut runs = Vec::new();
    if path.extension().is_some_and(|e| e == "csv") {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| parse_err(format!("not a run report CSV: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let (name, result) = match (col("Name"), col("Result")) {
            (Some(n), Some(r)) => (n, r),
            _ => return Err(parse_err("the CSV has no Name and Result columns".into())),
        };
        let (reason, cause) = (col("Reason"), col("Cause"));
        for record in reader.records() {
            let record = record.map_err(|e| parse_err(e.to_string()))?;
            let get = |i: Option<usize>| {
                i.and_then(|i| record.get(i))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            runs.push(UnitRun {
                unit: get(Some(name)).unwrap_or_default(),
                result: get(Some(result)).unwrap_or_default(),
                reason: get(reason),
                cause: get(cause),
            });
        }
    } else {
        let rows: Vec<serde_json::Map<String, Json>> =
            serde_json::from_str(&text).map_err(|e| parse_err(format!("not a run report: {e}")))?;
        for row in rows {
            let get = |k: &str| row.get(k).and_then(Json::as_str).map(str::to_string);
            runs.push(UnitRun {
                unit: get("Name").unwrap_or_default(),
                result: get("Result").unwrap_or_default(),
                reason: get("Reason"),
                cause: get("Cause"),
            });
        }
    }
    runs.sort_by(|a, b| a.unit.cmp(&b.unit));
    Ok(runs)
}

/// What to put around the comment.
#[derive(Debug, Clone)]
pub struct CommentOptions {
    /// Written as the hidden first line `<!-- {marker} -->`: a CI step finds its earlier comment
    /// by it and updates that instead of adding one more.
    pub marker: String,
}

impl Default for CommentOptions {
    fn default() -> Self {
        CommentOptions {
            marker: DEFAULT_MARKER.to_string(),
        }
    }
}

/// The default hidden marker.
pub const DEFAULT_MARKER: &str = "ralf-report";

/// The hidden line a comment starts with.
pub fn marker_line(marker: &str) -> String {
    format!("<!-- {} -->", marker.replace("--", "-"))
}

/// Resources the plans destroy (replacements included).
pub fn destroyed_resources(plans: &[UnitPlan]) -> u64 {
    plans.iter().map(|p| plan_counts(&p.plan).destroy).sum()
}

const HIDDEN: &str = "(sensitive value)";

/// `value` with every leaf that `sensitive` marks replaced by a placeholder.
pub fn mask_sensitive(value: &Json, sensitive: Option<&Json>) -> Json {
    match sensitive {
        Some(Json::Bool(true)) => Json::String(HIDDEN.into()),
        Some(Json::Object(marks)) => match value {
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), mask_sensitive(v, marks.get(k))))
                    .collect(),
            ),
            other => other.clone(),
        },
        Some(Json::Array(marks)) => match value {
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| mask_sensitive(v, marks.get(i)))
                    .collect(),
            ),
            other => other.clone(),
        },
        _ => value.clone(),
    }
}

fn short(v: &Json) -> String {
    let s = match v {
        Json::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    };
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(197).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn md_code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

/// The attribute paths that force a replacement, as `a.b[0]` text.
fn replace_paths(rc: &Json) -> Vec<String> {
    rc.pointer("/change/replace_paths")
        .and_then(Json::as_array)
        .map(|paths| {
            paths
                .iter()
                .filter_map(Json::as_array)
                .map(|steps| {
                    let mut out = String::new();
                    for (i, s) in steps.iter().enumerate() {
                        match s {
                            Json::String(k) if i == 0 => out.push_str(k),
                            Json::String(k) => {
                                out.push('.');
                                out.push_str(k);
                            }
                            other => {
                                let _ = write!(out, "[{other}]");
                            }
                        }
                    }
                    out
                })
                .collect()
        })
        .unwrap_or_default()
}

fn action_label(acts: &[&str]) -> &'static str {
    if is_replace(acts) {
        "replace"
    } else if acts == ["create"] {
        "create"
    } else if acts == ["update"] {
        "update in place"
    } else if acts == ["delete"] {
        "destroy"
    } else if acts == ["read"] {
        "read"
    } else {
        "no-op"
    }
}

fn action_symbol(acts: &[&str]) -> &'static str {
    if acts == ["delete", "create"] {
        "-/+"
    } else if acts == ["create", "delete"] {
        "+/-"
    } else if acts == ["create"] {
        "+"
    } else if acts == ["update"] {
        "~"
    } else if acts == ["delete"] {
        "-"
    } else {
        " "
    }
}

fn address(rc: &Json) -> String {
    rc.get("address")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string()
}

/// The lines describing one resource change (values masked).
fn change_lines(rc: &Json) -> Vec<String> {
    let acts = actions(rc);
    let change = rc.get("change").cloned().unwrap_or(Json::Null);
    let before = mask_sensitive(
        change.get("before").unwrap_or(&Json::Null),
        change.get("before_sensitive"),
    );
    let after = mask_sensitive(
        change.get("after").unwrap_or(&Json::Null),
        change.get("after_sensitive"),
    );
    let unknown = change.get("after_unknown").cloned().unwrap_or(Json::Null);
    let forced = replace_paths(rc);
    let mut lines = vec![format!(
        "{} {} ({})",
        action_symbol(&acts),
        address(rc),
        action_label(&acts)
    )];
    if acts == ["delete"] {
        return lines;
    }
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    if let Some(u) = unknown.as_object() {
        keys.extend(u.keys());
    }
    keys.sort();
    keys.dedup();
    let raw_before = change
        .get("before")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let raw_after = change
        .get("after")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    for k in keys {
        let bv = b.get(k).unwrap_or(&Json::Null);
        let raw_changed = raw_before.get(k) != raw_after.get(k);
        let is_unknown = unknown.get(k).is_some_and(|u| u == &Json::Bool(true));
        let av_text = if is_unknown {
            "(known after apply)".to_string()
        } else {
            short(a.get(k).unwrap_or(&Json::Null))
        };
        let mark = if forced
            .iter()
            .any(|f| f == k || f.starts_with(&format!("{k}.")) || f.starts_with(&format!("{k}[")))
        {
            "  # forces replacement"
        } else {
            ""
        };
        if acts == ["create"] {
            if bv.is_null() && av_text == "null" {
                continue;
            }
            lines.push(format!("    {k} = {av_text}"));
        } else {
            let bv_text = short(bv);
            if bv_text == av_text && !raw_changed {
                continue;
            }
            lines.push(format!("    {k}: {bv_text} -> {av_text}{mark}"));
        }
    }
    lines
}

/// A `ralf_snapshot` change whose `rollback_trigger` gets a new non-null value: applying it
/// rolls the container back.
fn rollback_trigger_change(rc: &Json) -> Option<String> {
    let acts = actions(rc);
    if rc.get("type").and_then(Json::as_str) != Some(SNAPSHOT_TYPE)
        || acts.contains(&"delete") && !acts.contains(&"create")
    {
        return None;
    }
    let change = rc.get("change")?;
    let before = change
        .pointer("/before/rollback_trigger")
        .unwrap_or(&Json::Null);
    let after = change
        .pointer("/after/rollback_trigger")
        .unwrap_or(&Json::Null);
    let unknown = change.pointer("/after_unknown/rollback_trigger") == Some(&Json::Bool(true));
    if acts == ["create"] || (after.is_null() && !unknown) || (before == after && !unknown) {
        return None;
    }
    let sensitive = change.pointer("/after_sensitive/rollback_trigger") == Some(&Json::Bool(true));
    let shown = if unknown {
        "(known after apply)".to_string()
    } else if sensitive {
        HIDDEN.to_string()
    } else {
        short(after)
    };
    let ct = change
        .pointer("/after/ct_id")
        .or_else(|| change.pointer("/before/ct_id"));
    let snap = change
        .pointer("/after/name")
        .or_else(|| change.pointer("/before/name"));
    Some(format!(
        "{} `rollback_trigger` changes to {shown}: applying rolls container {} back to snapshot {}",
        md_code(&address(rc)),
        ct.map(short).unwrap_or_else(|| "?".into()),
        snap.map(short).unwrap_or_else(|| "?".into())
    ))
}

/// `resource_drift`: objects that changed outside Terraform since the last apply.
fn drifted(plan: &Json) -> impl Iterator<Item = &Json> {
    plan.get("resource_drift")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|rc| !actions(rc).iter().all(|a| *a == "no-op" || *a == "read"))
}

/// `output_changes` that are not no-ops, sensitive values hidden.
fn output_change_lines(unit: &str, plan: &Json) -> Vec<String> {
    let Some(changes) = plan.get("output_changes").and_then(Json::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, change) in changes {
        let acts: Vec<&str> = change
            .get("actions")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        if acts.iter().all(|a| *a == "no-op") {
            continue;
        }
        let value = |key: &str, sensitive: &str| {
            if change.get(sensitive) == Some(&Json::Bool(true)) {
                HIDDEN.to_string()
            } else if key == "after" && change.get("after_unknown") == Some(&Json::Bool(true)) {
                "(known after apply)".to_string()
            } else {
                short(change.get(key).unwrap_or(&Json::Null))
            }
        };
        let text = match acts.as_slice() {
            ["create"] => format!("added, {}", value("after", "after_sensitive")),
            ["delete"] => "removed".to_string(),
            _ => format!(
                "{} -> {}",
                value("before", "before_sensitive"),
                value("after", "after_sensitive")
            ),
        };
        out.push(format!(
            "- {} {}: {text}",
            md_code(unit),
            md_code(&format!("output.{name}"))
        ));
    }
    out
}

/// The first line of an error that names it (`Error: ...`), else its first non-empty line.
fn first_error_line(error: &str) -> &str {
    let lines = || error.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| l.contains("Error:"))
        .or_else(|| lines().next())
        .unwrap_or("")
}

/// Renders the Markdown comment for `plans`, with the default marker and no run report.
pub fn render_markdown(plans: &[UnitPlan]) -> String {
    render_comment(plans, &[], &CommentOptions::default())
}

/// Renders the Markdown comment for `plans` and the units of a run report (`runs`; failed and
/// early-exit units are shown with their error, whether or not they left a plan).
pub fn render_comment(plans: &[UnitPlan], runs: &[UnitRun], options: &CommentOptions) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "{}", marker_line(&options.marker));
    let problems: Vec<&UnitRun> = runs.iter().filter(|r| r.is_problem()).collect();
    let counts: Vec<PlanCounts> = plans.iter().map(|p| plan_counts(&p.plan)).collect();
    let total = counts
        .iter()
        .fold(PlanCounts::default(), |acc, c| PlanCounts {
            add: acc.add + c.add,
            change: acc.change + c.change,
            destroy: acc.destroy + c.destroy,
            replace: acc.replace + c.replace,
        });
    let with_changes = counts
        .iter()
        .filter(|c| c.add + c.change + c.destroy > 0)
        .count();
    let units = {
        let mut names: Vec<&str> = plans.iter().map(|p| p.unit.as_str()).collect();
        names.extend(problems.iter().map(|r| r.unit.as_str()));
        names.sort();
        names.dedup();
        names.len()
    };
    let failed = problems.iter().filter(|r| r.result == "failed").count();
    let early = problems.len() - failed;
    let mut title = format!("## ralf plan: {units} units, {with_changes} with changes");
    if failed > 0 {
        let _ = write!(title, ", {failed} failed");
    }
    if early > 0 {
        let _ = write!(title, ", {early} not run");
    }
    let _ = writeln!(head, "{title}");
    let _ = writeln!(head);
    if total.destroy > 0 {
        let _ = writeln!(
            head,
            "> :boom: **This plan destroys {} {}{}.** Check the replacements and destroys below before applying.",
            total.destroy,
            if total.destroy == 1 { "resource" } else { "resources" },
            if total.replace > 0 {
                format!(" ({} by replacement)", total.replace)
            } else {
                String::new()
            }
        );
        let _ = writeln!(head);
    }
    if !problems.is_empty() {
        let _ = writeln!(
            head,
            "> :x: **{} {} did not plan.** The plan below is incomplete.",
            problems.len(),
            if problems.len() == 1 { "unit" } else { "units" }
        );
        let _ = writeln!(head);
    }
    let _ = writeln!(
        head,
        "**Plan:** {} to add, {} to change, {} to destroy ({} {}).",
        total.add,
        total.change,
        total.destroy,
        total.replace,
        if total.replace == 1 {
            "replacement"
        } else {
            "replacements"
        }
    );
    let _ = writeln!(head);
    let _ = writeln!(head, "| Unit | Add | Change | Destroy | Replace |");
    let _ = writeln!(head, "|---|---:|---:|---:|---:|");
    for (p, c) in plans.iter().zip(counts.iter()) {
        let _ = writeln!(
            head,
            "| {} | {} | {} | {} | {} |",
            md_code(&p.unit),
            c.add,
            c.change,
            c.destroy,
            c.replace
        );
    }
    for r in problems
        .iter()
        .filter(|r| !plans.iter().any(|p| p.unit == r.unit))
    {
        let _ = writeln!(head, "| {} | {} | | | |", md_code(&r.unit), r.result);
    }
    if !problems.is_empty() {
        let _ = writeln!(head, "\n### :x: Failed and not run\n");
        for r in &problems {
            let why = match (r.reason.as_deref(), r.cause.as_deref()) {
                (Some("ancestor error"), Some(c)) => {
                    format!("a unit it needs failed: {}", md_code(c))
                }
                (_, Some(c)) => md_code(first_error_line(c)),
                (Some(reason), None) => reason.to_string(),
                (None, None) => "no error recorded".to_string(),
            };
            let _ = writeln!(head, "- {} {}: {why}", md_code(&r.unit), r.result);
        }
    }

    // Replacements first, with what forces them.
    let mut replacements = Vec::new();
    let mut snapshots = Vec::new();
    let mut rollbacks = Vec::new();
    for p in plans {
        for rc in managed_changes(&p.plan) {
            let acts = actions(rc);
            if is_replace(&acts) {
                let forced = replace_paths(rc);
                let reason = rc
                    .get("action_reason")
                    .and_then(Json::as_str)
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let why = if forced.is_empty() {
                    "no attribute path reported".to_string()
                } else {
                    format!(
                        "forced by {}",
                        forced
                            .iter()
                            .map(|f| md_code(f))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                replacements.push(format!(
                    "- {} {}: {why}{reason}",
                    md_code(&p.unit),
                    md_code(&address(rc))
                ));
            }
            if rc.get("type").and_then(Json::as_str) == Some(SNAPSHOT_TYPE)
                && !acts.iter().all(|a| *a == "no-op" || *a == "read")
            {
                snapshots.push(format!(
                    "- {} {}: {}",
                    md_code(&p.unit),
                    md_code(&address(rc)),
                    action_label(&acts)
                ));
            }
            if let Some(text) = rollback_trigger_change(rc) {
                rollbacks.push(format!("- {} {text}", md_code(&p.unit)));
            }
        }
    }
    if !rollbacks.is_empty() {
        let _ = writeln!(head, "\n### :rotating_light: Rollbacks on apply\n");
        for l in &rollbacks {
            let _ = writeln!(head, "{l}");
        }
    }
    if !replacements.is_empty() {
        let _ = writeln!(head, "\n### :warning: Replacements\n");
        for l in &replacements {
            let _ = writeln!(head, "{l}");
        }
    }
    if !snapshots.is_empty() {
        let _ = writeln!(
            head,
            "\n### :camera: Snapshot changes (`{SNAPSHOT_TYPE}`)\n"
        );
        for l in &snapshots {
            let _ = writeln!(head, "{l}");
        }
    }
    let drift: Vec<String> = plans
        .iter()
        .flat_map(|p| {
            drifted(&p.plan).map(move |rc| {
                format!(
                    "- {} {}: {}",
                    md_code(&p.unit),
                    md_code(&address(rc)),
                    action_label(&actions(rc))
                )
            })
        })
        .collect();
    if !drift.is_empty() {
        let _ = writeln!(
            head,
            "\n### :mag: Changes outside Terraform (drift)\n\nTerraform found these objects changed since the last apply; the plan above accounts for them.\n"
        );
        for l in &drift {
            let _ = writeln!(head, "{l}");
        }
    }
    let outputs: Vec<String> = plans
        .iter()
        .flat_map(|p| output_change_lines(&p.unit, &p.plan))
        .collect();
    if !outputs.is_empty() {
        let _ = writeln!(head, "\n### Output changes\n");
        for l in &outputs {
            let _ = writeln!(head, "{l}");
        }
    }

    // Details, as many as fit.
    let mut blocks = Vec::new();
    for (p, c) in plans.iter().zip(counts.iter()) {
        if c.add + c.change + c.destroy == 0 {
            continue;
        }
        let mut changes: Vec<&Json> = managed_changes(&p.plan)
            .filter(|rc| !actions(rc).iter().all(|a| *a == "no-op" || *a == "read"))
            .collect();
        // Replacements, then destroys, then the rest.
        changes.sort_by_key(|rc| {
            let a = actions(rc);
            if is_replace(&a) {
                0
            } else if a == ["delete"] {
                1
            } else {
                2
            }
        });
        let mut body = String::new();
        for rc in changes {
            for l in change_lines(rc) {
                body.push_str(&l);
                body.push('\n');
            }
        }
        blocks.push((
            format!(
                "<details><summary><code>{}</code> +{} ~{} -{}</summary>\n\n```diff\n",
                html_escape(&p.unit),
                c.add,
                c.change,
                c.destroy
            ),
            body,
        ));
    }
    let mut out = head;
    if !blocks.is_empty() {
        out.push_str("\n### Details\n\n");
    }
    const CLOSE: &str = "```\n\n</details>\n\n";
    let note_room = 300;
    let mut omitted = 0usize;
    let mut truncated_one = false;
    let total_blocks = blocks.len();
    for (open, body) in blocks {
        let room = COMMENT_LIMIT.saturating_sub(out.len() + note_room);
        let full = open.len() + body.len() + CLOSE.len();
        if omitted == 0 && full <= room {
            out.push_str(&open);
            out.push_str(&body);
            out.push_str(CLOSE);
        } else if omitted == 0 && !truncated_one && room > open.len() + CLOSE.len() + 200 {
            let keep = room - open.len() - CLOSE.len() - 40;
            let mut cut = keep.min(body.len());
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            let cut = body[..cut].rfind('\n').map(|i| i + 1).unwrap_or(cut);
            out.push_str(&open);
            out.push_str(&body[..cut]);
            out.push_str("... (truncated)\n");
            out.push_str(CLOSE);
            truncated_one = true;
        } else {
            omitted += 1;
        }
    }
    if omitted > 0 || truncated_one {
        let _ = writeln!(
            out,
            "> **Details truncated** to stay under GitHub's {COMMENT_LIMIT} character limit: {} of {} unit details omitted{}. The summary above is complete; see the plan JSON files for everything.",
            omitted,
            total_blocks,
            if truncated_one { ", one shortened" } else { "" }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_leaves_are_masked_and_others_kept() {
        let v: Json = serde_json::from_str(r#"{"a":"x","b":{"c":"secret","d":1},"e":["p","q"]}"#)
            .expect("literal");
        let s: Json =
            serde_json::from_str(r#"{"b":{"c":true},"e":[false,true]}"#).expect("literal");
        let m = mask_sensitive(&v, Some(&s));
        assert_eq!(
            m.to_string(),
            r#"{"a":"x","b":{"c":"(sensitive value)","d":1},"e":["p","(sensitive value)"]}"#
        );
    }

    #[test]
    fn details_are_truncated_but_the_summary_is_kept() {
        let mut plans = Vec::new();
        for i in 0..120 {
            let big: String = "x".repeat(3000);
            let rcs: Vec<Json> = (0..5)
                .map(|j| {
                    serde_json::json!({
                        "address": format!("terraform_data.r{j}"), "mode": "managed",
                        "type": "terraform_data", "name": format!("r{j}"),
                        "change": {"actions": ["create"], "before": null,
                                   "after": {"input": big}, "after_unknown": {}}
                    })
                })
                .collect();
            plans.push(UnitPlan {
                unit: format!("u{i:03}"),
                plan: serde_json::json!({"format_version": "1.2", "resource_changes": rcs}),
            });
        }
        let md = render_markdown(&plans);
        assert!(md.len() < COMMENT_LIMIT, "{} characters", md.len());
        assert!(md.contains("| `u119` | 5 | 0 | 0 | 0 |"));
        assert!(md.contains("**Details truncated**"));
    }
}
