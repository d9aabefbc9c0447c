//! What people and CI read: the [`Printer`] that renders a run's events (each unit's lines
//! streamed with a `[unit]` prefix, Terragrunt's style, or its whole output grouped under one
//! header when it finishes), the live one-line queue status, the final table of units with result,
//! change counts and exit code, and the machine-readable run report (Terragrunt's report v4).
//! Formatting and printing only: this module never runs anything.

use crate::events::{RunEvent, RunSink};
use crate::run::{Recovery, RunSummary, UnitOutcome, UnitResult};
use crate::tf::ChangeCounts;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

/// How unit output reaches the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Every line as it arrives, prefixed with `[unit] ` (Terragrunt's default).
    Stream,
    /// Each unit's whole output in one block when it finishes.
    Grouped,
}

impl OutputMode {
    /// Off a terminal (CI, Semaphore) lines stream; on one, blocks are grouped under the live
    /// status line.
    pub fn auto() -> OutputMode {
        if std::io::stdout().is_terminal() {
            OutputMode::Grouped
        } else {
            OutputMode::Stream
        }
    }
}

/// Renders run events to stdout (unit output, summary) and stderr (status, warnings).
pub struct Printer {
    mode: OutputMode,
    /// Whether a live status line is drawn on stderr (a terminal).
    live: bool,
    /// Serialises writers so lines never interleave mid-line.
    lock: Mutex<()>,
}

impl Printer {
    pub fn new(mode: OutputMode) -> Printer {
        Printer {
            mode,
            live: std::io::stderr().is_terminal(),
            lock: Mutex::new(()),
        }
    }

    fn clear_status(&self) {
        if self.live {
            eprint!("\r\x1b[2K");
        }
    }
}

impl RunSink for Printer {
    fn event(&self, event: RunEvent<'_>) {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            RunEvent::Warning(w) => {
                self.clear_status();
                eprintln!("ralf: warning: {w}");
            }
            RunEvent::UnitStarted { unit } => {
                if self.mode == OutputMode::Grouped && !self.live {
                    eprintln!("ralf: started {unit}");
                }
            }
            RunEvent::UnitLine { unit, line } => {
                if self.mode == OutputMode::Stream {
                    self.clear_status();
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(prefixed_line(unit, line).as_bytes());
                    let _ = out.flush();
                }
            }
            RunEvent::UnitFinished(outcome) => {
                self.clear_status();
                let text = match self.mode {
                    OutputMode::Grouped => unit_block(outcome),
                    OutputMode::Stream => prefixed_line(&outcome.name, &unit_head(outcome)),
                };
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            RunEvent::Progress {
                command,
                running,
                done,
                total,
                failed,
                elapsed,
            } => {
                if self.live {
                    eprint!(
                        "\r\x1b[2K{}",
                        status_line(command, running, done, total, failed, elapsed)
                    );
                }
            }
            RunEvent::Stopping { signal, running } => {
                self.clear_status();
                eprintln!(
                    "ralf: received {}: forwarded to {} running unit(s) ({}); waiting for them to \
                     stop, starting nothing new. Send it again to kill them at once.",
                    crate::cancel::signal_name(signal),
                    running.len(),
                    running.join(", ")
                );
            }
            RunEvent::Finished(summary) => {
                self.clear_status();
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(summary_table(summary).as_bytes());
                let _ = out.flush();
            }
        }
    }
}

/// `line` under a `[unit] ` prefix, ending in exactly one newline.
pub fn prefixed_line(unit: &str, line: &str) -> String {
    format!("[{unit}] {}\n", line.trim_end_matches(['\n', '\r']))
}

/// At most `max` characters of `s`, with `...` in place of the rest (never splits a character).
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

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

/// One line saying how a unit ended: `app succeeded in 1.2s +1 ~0 -0`.
pub fn unit_head(u: &UnitOutcome) -> String {
    let counts = counts_text(u.counts);
    let time = u.duration.map(human_duration).unwrap_or_default();
    let head = match &u.result {
        UnitResult::Failed { error } if u.interrupted => {
            format!("{} INTERRUPTED after {time}: {error}", u.name)
        }
        UnitResult::Succeeded => format!("{} succeeded in {time} {counts}", u.name),
        UnitResult::Failed { error } => format!("{} FAILED in {time}: {error}", u.name),
        UnitResult::EarlyExit { cause } => {
            format!("{} not run (early exit): {cause}", u.name)
        }
        UnitResult::Excluded { reason } => format!("{} excluded: {reason}", u.name),
    };
    head.trim_end().to_string()
}

/// The block printed when a unit finishes.
pub fn unit_block(u: &UnitOutcome) -> String {
    let mut out = String::new();
    out.push_str(&format!("━━━ {} ━━━\n", unit_head(u)));
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
    let names = truncate_chars(&running.join(", "), 60);
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
        .map(|u| u.name.chars().count())
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
            UnitResult::Failed { error } if u.interrupted => ("interrupted", first_line(error)),
            UnitResult::EarlyExit { cause } if u.interrupted => ("not started", cause.clone()),
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
    let meaning = match s.stopped_by {
        Some(sig) => format!("stopped by {}", crate::cancel::signal_name(sig)),
        None => meaning.to_string(),
    };
    if let Some(sig) = s.stopped_by {
        let interrupted = s
            .units
            .iter()
            .filter(|u| u.interrupted && matches!(u.result, UnitResult::Failed { .. }))
            .count();
        let never = s
            .units
            .iter()
            .filter(|u| u.interrupted && matches!(u.result, UnitResult::EarlyExit { .. }))
            .count();
        let finished = s
            .units
            .iter()
            .filter(|u| !u.interrupted && u.started.is_some())
            .count();
        out.push_str(&format!(
            "Stopped by {}: {finished} finished, {interrupted} interrupted, {never} never started\n",
            crate::cancel::signal_name(sig)
        ));
    }
    out.push_str(&format!("Exit code {} ({meaning})\n", s.exit_code));
    out
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    truncate_chars(line, 103)
}

fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// One run-report row per unit in Terragrunt's report v4 schema
/// (`docs/public/schemas/run/report/v4/schema.json` in gruntwork-io/terragrunt): `Name`,
/// `Started` and `Ended` (RFC 3339; a unit that never ran has both set to when the run decided
/// so, its end), `Result` (succeeded, failed, early exit, excluded), `Reason` (from the schema's
/// enum, left out when none fits), `Cause`, and `Cmd` and `Args` (the terraform command). No
/// other keys: the schema forbids them.
pub fn report_rows(s: &RunSummary) -> Vec<serde_json::Value> {
    let run_end = s.started_at + s.duration;
    let mut words = s.command.split_whitespace().map(str::to_string);
    let cmd = words.next().unwrap_or_default();
    let args: Vec<String> = words.collect();
    s.units
        .iter()
        .map(|u| {
            let started = u.started.map(|d| s.started_at + d).unwrap_or(run_end);
            let ended = u
                .started
                .zip(u.duration)
                .map(|(a, d)| s.started_at + a + d)
                .unwrap_or(run_end);
            let (result, reason, cause) = match &u.result {
                UnitResult::Succeeded => match &u.recovery {
                    None => ("succeeded", None, None),
                    Some(Recovery::RetrySucceeded { attempts }) => (
                        "succeeded",
                        Some("retry succeeded"),
                        Some(format!("succeeded on attempt {attempts}")),
                    ),
                    Some(Recovery::ErrorIgnored { rule, message }) => (
                        "succeeded",
                        Some("error ignored"),
                        Some(
                            message
                                .clone()
                                .unwrap_or_else(|| format!("ignore {rule:?}")),
                        ),
                    ),
                },
                UnitResult::Failed { error } => ("failed", Some("run error"), Some(error.clone())),
                UnitResult::EarlyExit { cause } if u.interrupted => {
                    ("early exit", None, Some(cause.clone()))
                }
                UnitResult::EarlyExit { cause } => {
                    ("early exit", Some("ancestor error"), Some(cause.clone()))
                }
                UnitResult::Excluded { reason } => {
                    let r = (reason == "exclude block").then_some("exclude block");
                    ("excluded", r, Some(reason.clone()))
                }
            };
            let mut row = serde_json::Map::new();
            row.insert("Name".into(), u.name.clone().into());
            row.insert("Started".into(), rfc3339(started).into());
            row.insert("Ended".into(), rfc3339(ended).into());
            row.insert("Result".into(), result.into());
            if let Some(r) = reason {
                row.insert("Reason".into(), r.into());
            }
            if let Some(c) = cause {
                row.insert("Cause".into(), c.into());
            }
            row.insert("Cmd".into(), cmd.clone().into());
            row.insert("Args".into(), args.clone().into());
            serde_json::Value::Object(row)
        })
        .collect()
}

/// The run report as a JSON array.
pub fn report_json(s: &RunSummary) -> String {
    serde_json::to_string_pretty(&serde_json::Value::Array(report_rows(s))).unwrap_or_default()
}

/// The run report as CSV, Terragrunt's columns: Name, Started, Ended, Result, Reason, Cause.
pub fn report_csv(s: &RunSummary) -> String {
    const COLS: &[&str] = &["Name", "Started", "Ended", "Result", "Reason", "Cause"];
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(COLS);
    for row in report_rows(s) {
        let _ = writer.write_record(
            COLS.iter()
                .map(|c| row.get(*c).and_then(|v| v.as_str()).unwrap_or("")),
        );
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_truncates_unit_names_by_characters_without_panicking() {
        let names: Vec<String> = (0..10).map(|i| format!("stäcks/ünït-{i}-ß")).collect();
        let line = status_line("plan", &names, 1, 12, 0, Duration::from_secs(1));
        let shown = line
            .split('[')
            .nth(1)
            .and_then(|s| s.split(']').next())
            .expect("names in brackets");
        assert_eq!(shown.chars().count(), 60, "{shown}");
        assert!(shown.ends_with("..."), "{shown}");
    }

    #[test]
    fn truncate_chars_keeps_short_text_and_cuts_long_text_at_a_character() {
        assert_eq!(truncate_chars("äöü", 3), "äöü");
        assert_eq!(truncate_chars("äöüäöü", 5), "äö...");
    }

    #[test]
    fn prefixed_lines_end_in_exactly_one_newline() {
        assert_eq!(
            prefixed_line("app", "Plan: 1 to add\r\n"),
            "[app] Plan: 1 to add\n"
        );
        assert_eq!(prefixed_line("app", "no newline"), "[app] no newline\n");
    }
}
