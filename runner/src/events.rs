//! What a run tells whoever watches it, as it happens: the engine ([`crate::run`]) emits
//! [`RunEvent`]s into a [`RunSink`] and never prints; a printer ([`crate::output::Printer`])
//! renders them, the way ripgrep's searcher feeds a `Sink` that its printer implements.

use crate::run::{RunSummary, UnitOutcome};
use std::time::Duration;

/// One thing that happened during a run.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// Something worth fixing in the tree that does not stop the run.
    Warning(&'a str),
    /// A unit's first command is about to start.
    UnitStarted { unit: &'a str },
    /// One line (newline included) that terraform or a hook printed for `unit`, as it arrived.
    UnitLine { unit: &'a str, line: &'a str },
    /// A unit ended, ran or not.
    UnitFinished(&'a UnitOutcome),
    /// Periodic while units run, for live status lines.
    Progress {
        command: &'a str,
        running: &'a [String],
        done: usize,
        total: usize,
        failed: usize,
        elapsed: Duration,
    },
    /// A stop signal arrived: it was forwarded to the `running` units' processes, and nothing
    /// else will start.
    Stopping { signal: i32, running: &'a [String] },
    /// The run is over.
    Finished(&'a RunSummary),
}

/// Receives a run's events. Called from worker threads (lines) and the queue's thread.
pub trait RunSink: Sync {
    fn event(&self, event: RunEvent<'_>);
}

/// A sink that drops everything (library use and tests).
pub struct Silent;

impl RunSink for Silent {
    fn event(&self, _: RunEvent<'_>) {}
}
