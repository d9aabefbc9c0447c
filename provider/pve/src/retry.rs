//! Deadlines and the retry schedule: exponential backoff with jitter, always bounded by the
//! operation's deadline (the resource's `timeouts { create, update, delete }`).
//!
//! The schedule for attempt `n` (0-based) is `min(max_delay, initial_delay * multiplier^n)`, and
//! the delay actually slept lies in the upper half of that value ("equal jitter"), so concurrent
//! clients spread out but never retry faster than half the schedule. A delay is never longer than
//! what is left of the deadline. The delays come from the `backon` crate, the one backoff
//! mechanism of the workspace; this module holds only the client's settings. It knows nothing
//! about HTTP.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

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
    /// First interval between task-status polls; it grows by [`POLL_GROWTH`] per poll to
    /// `max_poll_interval`.
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
            // Most container tasks take 1-3 s: the first checks come soon, and a task is never
            // noticed more than a quarter second after it stopped.
            poll_interval: Duration::from_millis(100),
            max_poll_interval: Duration::from_millis(250),
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

    /// The retry delays as a `backon` builder: exponential from half the schedule, with jitter
    /// adding up to as much again, so each delay lies in the upper half of `initial_delay *
    /// multiplier^n` capped at `max_delay` ("equal jitter"). Unbounded in count: callers stop
    /// at `max_attempts` or at their deadline.
    pub fn backoff_builder(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_delay / 2)
            .with_max_delay(self.max_delay / 2)
            .with_factor(self.multiplier.max(1.0) as f32)
            .with_jitter()
            .without_max_times()
    }

    /// A fresh sequence of retry delays, each clipped to a deadline by [`Backoff::pause`].
    pub fn backoff(&self) -> Backoff {
        Backoff {
            delays: self.backoff_builder().build(),
        }
    }

    /// The task-poll intervals: from `poll_interval`, growing [`POLL_GROWTH`]x per poll up to
    /// `max_poll_interval`, without jitter (a poll is a cheap read of one task's status).
    pub fn polls(&self) -> Backoff {
        Backoff {
            delays: self.polls_builder().build(),
        }
    }

    /// The pause before poll `attempt + 1` (`attempt` 0 is the pause after the first check): the
    /// schedule [`RetryPolicy::polls`] follows, as a function of the attempt number alone.
    pub fn poll_delay(&self, attempt: usize) -> Duration {
        self.polls_builder()
            .build()
            .nth(attempt)
            .unwrap_or(self.max_poll_interval)
    }

    fn polls_builder(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.poll_interval)
            .with_max_delay(self.max_poll_interval)
            .with_factor(POLL_GROWTH)
            .without_max_times()
    }
}

/// Growth of the interval between two task-status polls.
pub const POLL_GROWTH: f32 = 1.5;

/// One operation's sequence of pauses (retry delays or poll intervals), from `backon`.
#[derive(Debug)]
pub struct Backoff {
    delays: ExponentialBackoff,
}

impl Backoff {
    /// The next pause, clipped to what is left of `deadline`.
    pub fn next_within(&mut self, deadline: &Deadline) -> Duration {
        self.delays
            .next()
            .unwrap_or_default()
            .min(deadline.remaining())
    }

    /// Sleeps the next pause; returns false (without sleeping) if the deadline has passed, or
    /// after sleeping if it has passed by then.
    pub async fn pause(&mut self, deadline: &Deadline) -> bool {
        if deadline.is_expired() {
            return false;
        }
        tokio::time::sleep(self.next_within(deadline)).await;
        !deadline.is_expired()
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

    fn schedule_ms(n: u32) -> u128 {
        (500u128 << n.min(4)).min(8000)
    }

    #[test]
    fn delays_double_from_the_initial_delay_up_to_the_cap_in_the_upper_half() {
        let deadline = Deadline::after(Duration::from_secs(3600));
        let mut backoff = policy().backoff();
        for n in 0..8 {
            let delay = backoff.next_within(&deadline).as_millis();
            let base = schedule_ms(n);
            assert!(
                delay >= base / 2 && delay <= base,
                "retry {n}: {delay} ms vs {base} ms"
            );
        }
    }

    #[test]
    fn a_delay_never_outlasts_the_deadline() {
        let deadline = Deadline::after(Duration::from_millis(100));
        let mut backoff = policy().backoff();
        for _ in 0..10 {
            assert!(backoff.next_within(&deadline) <= Duration::from_millis(100));
        }
        let expired = Deadline::after(Duration::ZERO);
        assert_eq!(policy().backoff().next_within(&expired), Duration::ZERO);
        assert!(expired.is_expired());
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Whole milliseconds (backon computes the growth in f32 seconds, a few ns off).
    fn rounded_ms(d: Duration) -> u64 {
        (d.as_secs_f64() * 1000.0).round() as u64
    }

    /// When a task that stops after `task` is first seen stopped: the checks happen at the
    /// running sums of the schedule (the time of each request left out).
    fn noticed_at(policy: &RetryPolicy, task: Duration) -> u64 {
        let mut checked_at = Duration::ZERO;
        let mut attempt = 0;
        while checked_at < task {
            checked_at += policy.poll_delay(attempt);
            attempt += 1;
        }
        rounded_ms(checked_at)
    }

    #[test]
    fn task_polls_start_after_100_ms_and_settle_at_250_ms() {
        let policy = RetryPolicy::default();
        let schedule: Vec<u64> = (0..6).map(|n| rounded_ms(policy.poll_delay(n))).collect();
        assert_eq!(schedule, [100, 150, 225, 250, 250, 250]);
        assert_eq!(rounded_ms(policy.poll_delay(10_000)), 250);
    }

    #[test]
    fn a_task_of_one_and_a_half_seconds_is_noticed_within_a_quarter_second() {
        let policy = RetryPolicy::default();
        assert_eq!(noticed_at(&policy, ms(1500)), 1725);
        // The schedule before (250 ms growing to 1 s) noticed the same task at 2,031 ms.
        let before = RetryPolicy {
            poll_interval: ms(250),
            max_poll_interval: ms(1000),
            ..RetryPolicy::default()
        };
        assert_eq!(noticed_at(&before, ms(1500)), 2031);
    }

    #[test]
    fn no_task_is_noticed_later_than_the_longest_interval_after_it_stopped() {
        let policy = RetryPolicy::default();
        for task_ms in (50..20_000).step_by(37) {
            let late = noticed_at(&policy, ms(task_ms)) - task_ms;
            assert!(
                late <= 250,
                "a {task_ms} ms task was noticed {late} ms late"
            );
        }
    }

    #[test]
    fn the_poll_sequence_follows_the_schedule_and_stops_at_the_deadline() {
        let policy = RetryPolicy::default();
        let deadline = Deadline::after(Duration::from_secs(3600));
        let mut polls = policy.polls();
        for n in 0..8 {
            assert_eq!(polls.next_within(&deadline), policy.poll_delay(n));
        }
        let expired = Deadline::after(Duration::ZERO);
        assert_eq!(policy.polls().next_within(&expired), Duration::ZERO);
    }
}
