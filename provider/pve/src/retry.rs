//! Deadlines and the retry schedule: exponential backoff with jitter, always bounded by the
//! operation's deadline (the resource's `timeouts { create, update, delete }`).
//!
//! The schedule for attempt `n` (0-based) is `min(max_delay, initial_delay * multiplier^n)`, and
//! the delay actually slept is drawn uniformly from the upper half of that value ("equal jitter"),
//! so concurrent clients spread out but never retry faster than half the schedule. A delay is
//! never longer than what is left of the deadline. This module knows nothing about HTTP.

use std::time::{Duration, Instant};

use rand::Rng;

/// The point in time by which an operation must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    started: Instant,
    end: Instant,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        let started = Instant::now();
        Deadline {
            started,
            end: started + timeout,
        }
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.end.saturating_duration_since(Instant::now())
    }

    pub fn is_expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// Time since the deadline was set, for error messages.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The whole budget this deadline was given.
    pub fn budget(&self) -> Duration {
        self.end.saturating_duration_since(self.started)
    }
}

/// How a client retries transient failures and paces its polls.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub initial_delay: Duration,
    /// Upper bound of one delay.
    pub max_delay: Duration,
    /// Growth factor between attempts.
    pub multiplier: f64,
    /// Attempts (first try included) for generic transient errors (5xx, dropped connections).
    /// Lock waits (`CT is locked`, config lock timeouts) are not counted: they go on until the
    /// deadline.
    pub max_attempts: u32,
    /// First interval between task-status polls; it grows to `max_poll_interval`.
    pub poll_interval: Duration,
    pub max_poll_interval: Duration,
    /// How long a freshly started task may be invisible ("no such task") before that is an error.
    pub task_visibility_grace: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            multiplier: 2.0,
            max_attempts: 6,
            poll_interval: Duration::from_millis(250),
            max_poll_interval: Duration::from_secs(1),
            task_visibility_grace: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// A fast policy for tests against the simulator.
    pub fn fast() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_attempts: 8,
            poll_interval: Duration::from_millis(10),
            max_poll_interval: Duration::from_millis(50),
            task_visibility_grace: Duration::from_secs(5),
        }
    }

    /// The un-jittered delay before retry number `attempt` (0 = the first retry).
    pub fn schedule(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        let millis = self.initial_delay.as_secs_f64() * 1000.0 * factor;
        let capped = millis.min(self.max_delay.as_secs_f64() * 1000.0);
        Duration::from_micros((capped * 1000.0) as u64)
    }

    /// The delay to sleep before retry `attempt`: equal jitter over the schedule, clipped to the
    /// time left before `deadline`. `unit` is a uniform draw in [0, 1).
    pub fn jittered(&self, attempt: u32, unit: f64, deadline: &Deadline) -> Duration {
        let base = self.schedule(attempt);
        let half = base / 2;
        let jitter = half.mul_f64(unit.clamp(0.0, 1.0));
        (half + jitter).min(deadline.remaining())
    }

    /// Sleeps before retry `attempt`; returns false (without sleeping) if the deadline has passed.
    pub async fn pause(&self, attempt: u32, deadline: &Deadline) -> bool {
        if deadline.is_expired() {
            return false;
        }
        let unit: f64 = rand::rng().random();
        let delay = self.jittered(attempt, unit, deadline);
        tokio::time::sleep(delay).await;
        !deadline.is_expired()
    }

    /// The interval before task poll number `poll` (0-based): grows from `poll_interval` by 1.5×
    /// up to `max_poll_interval`.
    pub fn poll_delay(&self, poll: u32) -> Duration {
        let factor = 1.5f64.powi(poll.min(32) as i32);
        self.poll_interval
            .mul_f64(factor)
            .min(self.max_poll_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            multiplier: 2.0,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn backoff_doubles_from_the_initial_delay_up_to_the_cap() {
        let p = policy();
        let got: Vec<u128> = (0..7).map(|n| p.schedule(n).as_millis()).collect();
        assert_eq!(got, vec![500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn backoff_survives_huge_attempt_numbers() {
        assert_eq!(policy().schedule(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn jitter_stays_in_the_upper_half_of_the_schedule() {
        let p = policy();
        let deadline = Deadline::after(Duration::from_secs(3600));
        for attempt in 0..6 {
            let base = p.schedule(attempt);
            let low = p.jittered(attempt, 0.0, &deadline);
            let high = p.jittered(attempt, 0.999_999, &deadline);
            assert_eq!(low, base / 2);
            assert!(high <= base && high > base / 2, "{high:?} vs {base:?}");
        }
    }

    #[test]
    fn a_delay_never_outlasts_the_deadline() {
        let p = policy();
        let deadline = Deadline::after(Duration::from_millis(100));
        assert!(p.jittered(10, 0.9, &deadline) <= Duration::from_millis(100));
        let expired = Deadline::after(Duration::ZERO);
        assert_eq!(p.jittered(3, 0.5, &expired), Duration::ZERO);
        assert!(expired.is_expired());
    }

    #[test]
    fn task_polls_start_fast_and_settle_at_the_maximum_interval() {
        let p = RetryPolicy::default();
        assert_eq!(p.poll_delay(0), Duration::from_millis(250));
        assert_eq!(p.poll_delay(1), Duration::from_millis(375));
        assert_eq!(p.poll_delay(20), Duration::from_secs(1));
    }
}
