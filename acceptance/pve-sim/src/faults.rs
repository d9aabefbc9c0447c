//! Fault injection for `/sim/faults`: per endpoint pattern (or `*`), a kind (HTTP 500/503/596,
//! dropped connection, config-lock timeout, failing task), triggered always, at a rate, or for
//! the next N matching calls; a seed makes random triggering repeatable.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Http500,
    Http503,
    Http596,
    Drop,
    LockTimeout,
    TaskFail,
}

impl FaultKind {
    pub fn parse(s: &str) -> Option<FaultKind> {
        Some(match s {
            "http500" => FaultKind::Http500,
            "http503" => FaultKind::Http503,
            "http596" => FaultKind::Http596,
            "drop" => FaultKind::Drop,
            "lock_timeout" => FaultKind::LockTimeout,
            "task_fail" => FaultKind::TaskFail,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Http500 => "http500",
            FaultKind::Http503 => "http503",
            FaultKind::Http596 => "http596",
            FaultKind::Drop => "drop",
            FaultKind::LockTimeout => "lock_timeout",
            FaultKind::TaskFail => "task_fail",
        }
    }
}

/// The JSON body of `POST /sim/faults`.
#[derive(Debug, Deserialize)]
pub(crate) struct FaultSpec {
    pub endpoint: String,
    pub kind: String,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub seed: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct Fault {
    pub id: u64,
    pub endpoint: String,
    pub kind: FaultKind,
    pub rate: Option<f64>,
    pub remaining: Option<u64>,
    pub triggered: u64,
    rng: StdRng,
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    next_id: u64,
    pub list: Vec<Fault>,
}

impl Faults {
    /// Adds a fault; the error says what is wrong with the spec.
    pub fn add(&mut self, spec: FaultSpec) -> Result<u64, String> {
        let kind = FaultKind::parse(&spec.kind).ok_or_else(|| {
            format!(
                "unknown fault kind '{}': use http500, http503, http596, drop, lock_timeout or task_fail",
                spec.kind
            )
        })?;
        if let Some(rate) = spec.rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("rate {rate} is outside 0..1"));
            }
        }
        let endpoint = spec.endpoint.trim().to_string();
        if endpoint != "*" && endpoint.split_once(' ').is_none() {
            return Err(format!(
                "endpoint '{endpoint}' must be '*' or 'METHOD /path/{{pattern}}', e.g. 'POST /nodes/{{node}}/lxc'"
            ));
        }
        self.next_id += 1;
        let rng = match spec.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        self.list.push(Fault {
            id: self.next_id,
            endpoint,
            kind,
            rate: spec.rate,
            remaining: spec.count,
            triggered: 0,
            rng,
        });
        Ok(self.next_id)
    }

    /// Decides whether a call to `endpoint` (`METHOD pattern`) meets a fault. `task_endpoint`
    /// says whether the call starts a task (only those can meet `task_fail`).
    pub fn take(&mut self, endpoint: &str, task_endpoint: bool) -> Option<FaultKind> {
        for fault in &mut self.list {
            if fault.endpoint != "*" && fault.endpoint != endpoint {
                continue;
            }
            if fault.kind == FaultKind::TaskFail && !task_endpoint {
                continue;
            }
            if fault.remaining == Some(0) {
                continue;
            }
            let hit = match fault.rate {
                Some(rate) => fault.rng.random::<f64>() < rate,
                None => true,
            };
            if hit {
                if let Some(r) = fault.remaining.as_mut() {
                    *r -= 1;
                }
                fault.triggered += 1;
                return Some(fault.kind);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        endpoint: &str,
        kind: &str,
        rate: Option<f64>,
        count: Option<u64>,
        seed: Option<u64>,
    ) -> FaultSpec {
        FaultSpec {
            endpoint: endpoint.into(),
            kind: kind.into(),
            rate,
            count,
            seed,
        }
    }

    #[test]
    fn count_limits_a_fault_to_the_next_n_calls() {
        let mut faults = Faults::default();
        faults
            .add(spec("GET /version", "http500", None, Some(2), None))
            .expect("valid");
        assert_eq!(faults.take("GET /version", false), Some(FaultKind::Http500));
        assert_eq!(faults.take("GET /nodes", false), None);
        assert_eq!(faults.take("GET /version", false), Some(FaultKind::Http500));
        assert_eq!(faults.take("GET /version", false), None);
    }

    #[test]
    fn a_seed_makes_random_faults_repeatable() {
        let run = || {
            let mut faults = Faults::default();
            faults
                .add(spec("*", "http503", Some(0.3), None, Some(42)))
                .expect("valid");
            (0..100)
                .map(|_| faults.take("GET /version", false).is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let hits = first.iter().filter(|h| **h).count();
        assert!(
            (10..=50).contains(&hits),
            "about 30 of 100 calls fail, got {hits}"
        );
    }
}
