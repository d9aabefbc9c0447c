//! The outcome of a run of checks: pass/fail, the one-line summary and the texts the provider puts
//! into diagnostics.

use std::fmt::Write as _;

use super::{CheckResult, CheckStatus};

/// The results of [`run_checks`](super::run_checks), in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    pub results: Vec<CheckResult>,
}

impl Report {
    /// True when no check failed. SKIP does not fail a report, so a report of SKIPs only passes;
    /// the [`summary`](Self::summary) and [`skip_report`](Self::skip_report) make that visible.
    pub fn passed(&self) -> bool {
        self.count(CheckStatus::Fail) == 0
    }

    /// How many results have `status`.
    pub fn count(&self, status: CheckStatus) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// E.g. `"3 OK, 1 FAIL, 0 SKIP"`.
    pub fn summary(&self) -> String {
        format!(
            "{} OK, {} FAIL, {} SKIP",
            self.count(CheckStatus::Ok),
            self.count(CheckStatus::Fail),
            self.count(CheckStatus::Skip)
        )
    }

    /// Every failed check with its target, attempts and last error, for an error diagnostic;
    /// `None` when the report passed.
    pub fn failure_report(&self) -> Option<String> {
        self.listing(CheckStatus::Fail, "failed")
    }

    /// Every skipped check with the reason, for a warning diagnostic; `None` when nothing was
    /// skipped.
    pub fn skip_report(&self) -> Option<String> {
        self.listing(CheckStatus::Skip, "were skipped")
    }

    fn listing(&self, status: CheckStatus, verb: &str) -> Option<String> {
        let selected: Vec<&CheckResult> =
            self.results.iter().filter(|r| r.status == status).collect();
        if selected.is_empty() {
            return None;
        }
        let mut text = format!(
            "{} of {} smoke checks {verb} ({}):",
            selected.len(),
            self.results.len(),
            self.summary()
        );
        for result in selected {
            let _ = write!(
                text,
                "\n- {} ({} {}), {}: {}",
                result.name,
                result.kind,
                result.target,
                attempts_text(result.attempts),
                result.message
            );
        }
        Some(text)
    }
}

fn attempts_text(attempts: u32) -> String {
    match attempts {
        0 => "not attempted".to_string(),
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    }
}
