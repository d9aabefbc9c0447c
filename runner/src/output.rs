//! What people and CI read: the block printed when a unit finishes (its whole, buffered output
//! under one header), the live one-line queue status, the final table of units with result,
//! change counts and exit code, and the machine-readable run report (Terragrunt's report v4
//! field names). Pure formatting: this module never runs anything.

use crate::run::{RunSummary, UnitOutcome, UnitResult};
use crate::tf::ChangeCounts;
use std::time::Duration;

/// `1.2s`, `2m03s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

fn counts_text(c: Option<ChangeCounts>) -> String {
    match c {
        Some(c) => format!("+{} ~{} -{}", c.add, c.change, c.destroy),
        None => String::new(),
    }
}

/// The block printed when a unit finishes.
pub fn unit_block(u: &UnitOutcome) -> String {
    let mut out = String::new();
    let counts = counts_text(u.counts);
    let time = u.duration.map(human_duration).unwrap_or_default();
    let head = match &u.result {
        UnitResult::Succeeded => format!("{} succeeded in {time} {counts}", u.name),
        UnitResult::Failed { error } => format!("{} FAILED in {time}: {error}", u.name),
        UnitResult::EarlyExit { cause } => {
            format!("{} not run (early exit): {cause}", u.name)
        }
        UnitResult::Excluded { reason } => format!("{} excluded: {reason}", u.name),
    };
    out.push_str(&format!("━━━ {} ━━━\n", head.trim_end()));
    if !u.output.is_empty() {
        out.push_str(&u.output);
        if !u.output.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The live status line (no newline).
pub fn status_line(
    command: &str,
    running: &[String],
    done: usize,
    total: usize,
    failed: usize,
    elapsed: Duration,
) -> String {
    let mut names = running.join(", ");
    if names.len() > 60 {
        names.truncate(57);
        names.push_str("...");
    }
    let failed = if failed > 0 {
        format!(", {failed} failed")
    } else {
        String::new()
    };
    format!(
        "ralf {command}: {done}/{total} done{failed}, {} running [{names}] {}",
        running.len(),
        human_duration(elapsed)
    )
}

/// The final table.
pub fn summary_table(s: &RunSummary) -> String {
    let width = s
        .units
        .iter()
        .map(|u| u.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    let (mut ok, mut failed, mut early, mut excluded) = (0, 0, 0, 0);
    for u in &s.units {
        match u.result {
            UnitResult::Succeeded => ok += 1,
            UnitResult::Failed { .. } => failed += 1,
            UnitResult::EarlyExit { .. } => early += 1,
            UnitResult::Excluded { .. } => excluded += 1,
        }
    }
    out.push_str(&format!(
        "\nRun summary: {} over {} units in {}: {ok} succeeded, {failed} failed, {early} early exit, {excluded} excluded\n",
        s.command,
        s.units.len(),
        human_duration(s.duration)
    ));
    out.push_str(&format!(
        "{:<width$}  {:<11} {:>5} {:>6} {:>7} {:>4} {:>7}  NOTE\n",
        "UNIT", "RESULT", "ADD", "CHANGE", "DESTROY", "EXIT", "TIME"
    ));
    for u in &s.units {
        let (result, note) = match &u.result {
            UnitResult::Succeeded => ("succeeded", String::new()),
            UnitResult::Failed { error } => ("failed", first_line(error)),
            UnitResult::EarlyExit { cause } => ("early exit", format!("ancestor error: {cause}")),
            UnitResult::Excluded { reason } => ("excluded", reason.clone()),
        };
        let n = |f: fn(&ChangeCounts) -> u64| {
            u.counts
                .as_ref()
                .map(|c| f(c).to_string())
                .unwrap_or_else(|| "-".into())
        };
        out.push_str(&format!(
            "{:<width$}  {:<11} {:>5} {:>6} {:>7} {:>4} {:>7}  {}\n",
            u.name,
            result,
            n(|c| c.add),
            n(|c| c.change),
            n(|c| c.destroy),
            u.exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            u.duration.map(human_duration).unwrap_or_else(|| "-".into()),
            note
        ));
    }
    let meaning = match s.exit_code {
        0 => "success, no changes reported",
        2 => "success, changes present",
        _ => "at least one unit failed",
    };
    let meaning = if s.exit_code == 0 && !s.detailed_exitcode {
        "success"
    } else {
        meaning
    };
    out.push_str(&format!("Exit code {} ({meaning})\n", s.exit_code));
    out
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.len() > 100 {
        let mut cut = 100;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &line[..cut])
    } else {
        line.to_string()
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One run-report row per unit with Terragrunt's report v4 field names: `Name`, `Started`,
/// `Ended`, `Result` (succeeded, failed, early exit, excluded), `Reason` (run error, ancestor
/// error, exclude block), `Cause`; ralf adds `Add`, `Change`, `Destroy` and `ExitCode`.
pub fn report_rows(s: &RunSummary) -> Vec<serde_json::Value> {
    s.units
        .iter()
        .map(|u| {
            let started = u.started.map(|d| s.started_at + d);
            let ended = started.zip(u.duration).map(|(a, d)| a + d);
            let (result, reason, cause) = match &u.result {
                UnitResult::Succeeded => ("succeeded", None, None),
                UnitResult::Failed { error } => ("failed", Some("run error"), Some(error.clone())),
                UnitResult::EarlyExit { cause } => {
                    ("early exit", Some("ancestor error"), Some(cause.clone()))
                }
                UnitResult::Excluded { reason } => {
                    let r = if reason == "exclude block" {
                        "exclude block"
                    } else {
                        "excluded"
                    };
                    ("excluded", Some(r), Some(reason.clone()))
                }
            };
            let mut row = serde_json::Map::new();
            row.insert("Name".into(), u.name.clone().into());
            row.insert(
                "Started".into(),
                started
                    .map(rfc3339)
                    .map(Into::into)
                    .unwrap_or(serde_json::Value::Null),
            );
            row.insert(
                "Ended".into(),
                ended
                    .map(rfc3339)
                    .map(Into::into)
                    .unwrap_or(serde_json::Value::Null),
            );
            row.insert("Result".into(), result.into());
            if let Some(r) = reason {
                row.insert("Reason".into(), r.into());
            }
            if let Some(c) = cause {
                row.insert("Cause".into(), c.into());
            }
            if let Some(c) = u.counts {
                row.insert("Add".into(), c.add.into());
                row.insert("Change".into(), c.change.into());
                row.insert("Destroy".into(), c.destroy.into());
            }
            if let Some(code) = u.exit_code {
                row.insert("ExitCode".into(), code.into());
            }
            serde_json::Value::Object(row)
        })
        .collect()
}

/// The run report as a JSON array.
pub fn report_json(s: &RunSummary) -> String {
    serde_json::to_string_pretty(&serde_json::Value::Array(report_rows(s))).unwrap_or_default()
}

/// The run report as CSV (same columns as the JSON, header first).
pub fn report_csv(s: &RunSummary) -> String {
    const COLS: &[&str] = &["Name", "Started", "Ended", "Result", "Reason", "Cause"];
    let mut out = COLS.join(",");
    out.push('\n');
    for row in report_rows(s) {
        let cells: Vec<String> = COLS
            .iter()
            .map(|c| {
                let v = row.get(*c).and_then(|v| v.as_str()).unwrap_or("");
                if v.contains([',', '"', '\n']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_string()
                }
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
