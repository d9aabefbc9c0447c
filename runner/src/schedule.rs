//! The run queue: a dynamic DAG pool. A unit starts as soon as everything it waits for has
//! succeeded (its dependencies for up commands; its dependents for destroy), bounded by the
//! parallelism; a failure turns the units waiting on it into early exits naming the cause,
//! `--fail-fast` stops starting anything after the first failure, and `--queue-ignore-errors`
//! lets waiting units run anyway.
//!
//! Workers are OS threads; the job itself is a closure, so this module knows nothing about
//! terraform or configuration.

use crate::graph::Graph;
use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How the queue behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueOptions {
    /// Concurrent units at most; `None` means unlimited (Terragrunt's default).
    pub parallelism: Option<usize>,
    /// Destroy order: dependents before their dependencies.
    pub reverse: bool,
    pub fail_fast: bool,
    pub ignore_errors: bool,
    /// Asked before each start; `Some(cause)` means the run is stopping: nothing more starts,
    /// and every unit still pending ends as [`Finish::NotStarted`] with that cause.
    pub stop: Option<fn() -> Option<String>>,
}

/// What a job reports.
#[derive(Debug, Clone)]
pub struct JobDone<T> {
    pub ok: bool,
    pub payload: T,
}

/// How a queued unit ended.
#[derive(Debug, Clone)]
pub enum Finish<T> {
    Ran {
        ok: bool,
        payload: T,
        started: Duration,
        elapsed: Duration,
    },
    /// Not run because `cause` (a unit name, or a sentence for fail-fast) failed.
    EarlyExit { cause: String },
    /// Not started because the run was stopping (`cause` says why).
    NotStarted { cause: String },
}

/// What the queue tells its observer as it goes.
#[derive(Debug)]
pub enum Event<'a, T> {
    Started(usize),
    Finished(usize, &'a Finish<T>),
    /// Periodic, for live status lines: (running, done, total).
    Tick(&'a [usize], usize, usize),
}

#[derive(Clone)]
enum State {
    Pending,
    Running,
    Done {
        ok: bool,
        root_cause: Option<String>,
    },
}

/// Runs `job` for each of `members` in graph order and returns one [`Finish`] per member, in the
/// order of `members`.
pub fn run_queue<T, J, O>(
    graph: &Graph,
    members: &[usize],
    opts: QueueOptions,
    job: J,
    mut observe: O,
) -> Vec<Finish<T>>
where
    T: Send,
    J: Fn(usize) -> JobDone<T> + Sync,
    O: FnMut(Event<'_, T>),
{
    let member_set: BTreeSet<usize> = members.iter().copied().collect();
    let dependents = graph.dependents();
    let waits_for: Vec<Vec<usize>> = (0..graph.nodes.len())
        .map(|i| {
            let list = if opts.reverse {
                &dependents[i]
            } else {
                &graph.nodes[i].deps
            };
            list.iter()
                .copied()
                .filter(|d| member_set.contains(d))
                .collect()
        })
        .collect();
    let mut state: Vec<State> = vec![State::Pending; graph.nodes.len()];
    let mut finishes: Vec<Option<Finish<T>>> = (0..graph.nodes.len()).map(|_| None).collect();
    let mut order: Vec<usize> = members.to_vec();
    order.sort_by(|a, b| graph.nodes[*a].name.cmp(&graph.nodes[*b].name));
    if opts.reverse {
        order.reverse();
    }
    let t0 = Instant::now();
    let mut stop_cause: Option<String> = None;
    let limit = opts.parallelism.unwrap_or(usize::MAX).max(1);

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, JobDone<T>, Duration, Duration)>();
        let mut running: Vec<usize> = Vec::new();
        let mut done = 0usize;
        let total = order.len();
        loop {
            // Settle early exits and start what is ready.
            let mut changed = true;
            while changed {
                changed = false;
                let stopping = opts.stop.and_then(|f| f());
                for &i in &order {
                    if !matches!(state[i], State::Pending) {
                        continue;
                    }
                    // A stop signal, else --fail-fast, ends every pending unit unstarted.
                    let unstarted = match (&stopping, &stop_cause) {
                        (Some(c), _) => Some((Finish::NotStarted { cause: c.clone() }, c.clone())),
                        (None, Some(c)) => {
                            Some((Finish::EarlyExit { cause: c.clone() }, c.clone()))
                        }
                        (None, None) => None,
                    };
                    if let Some((finish, cause)) = unstarted {
                        state[i] = State::Done {
                            ok: false,
                            root_cause: Some(cause),
                        };
                        observe(Event::Finished(i, &finish));
                        finishes[i] = Some(finish);
                        done += 1;
                        changed = true;
                        continue;
                    }
                    let mut blocked = false;
                    let mut failed_cause = None;
                    for &w in &waits_for[i] {
                        match &state[w] {
                            State::Done { ok: true, .. } => {}
                            State::Done {
                                ok: false,
                                root_cause,
                            } => {
                                if !opts.ignore_errors && failed_cause.is_none() {
                                    failed_cause = Some(
                                        root_cause
                                            .clone()
                                            .unwrap_or_else(|| graph.nodes[w].name.clone()),
                                    );
                                }
                            }
                            _ => blocked = true,
                        }
                    }
                    if let Some(cause) = failed_cause {
                        let finish = Finish::EarlyExit {
                            cause: cause.clone(),
                        };
                        state[i] = State::Done {
                            ok: false,
                            root_cause: Some(cause),
                        };
                        observe(Event::Finished(i, &finish));
                        finishes[i] = Some(finish);
                        done += 1;
                        changed = true;
                        continue;
                    }
                    if blocked || running.len() >= limit {
                        continue;
                    }
                    state[i] = State::Running;
                    running.push(i);
                    observe(Event::Started(i));
                    let tx = tx.clone();
                    let job = &job;
                    scope.spawn(move || {
                        let started = t0.elapsed();
                        let t = Instant::now();
                        let result = job(i);
                        let _ = tx.send((i, result, started, t.elapsed()));
                    });
                    changed = true;
                }
            }
            if running.is_empty() {
                break;
            }
            observe(Event::Tick(&running, done, total));
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok((i, result, started, elapsed)) => {
                    running.retain(|&r| r != i);
                    done += 1;
                    if !result.ok && opts.fail_fast && stop_cause.is_none() {
                        stop_cause = Some(format!(
                            "{} failed and --fail-fast is set",
                            graph.nodes[i].name
                        ));
                    }
                    state[i] = State::Done {
                        ok: result.ok,
                        root_cause: None,
                    };
                    let finish = Finish::Ran {
                        ok: result.ok,
                        payload: result.payload,
                        started,
                        elapsed,
                    };
                    observe(Event::Finished(i, &finish));
                    finishes[i] = Some(finish);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });

    members
        .iter()
        .map(|&i| {
            finishes[i].take().unwrap_or(Finish::EarlyExit {
                cause: "never became ready".to_string(),
            })
        })
        .collect()
}
