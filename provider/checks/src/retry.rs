//! The retry schedule of a check: how many attempts, and how long to wait between them
//! (exponential backoff capped at a maximum, computed by `backon`). Pure arithmetic: no
//! sleeping, no I/O.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::parse::{self, ParseError};

/// How often a failed check is tried again, and how long to wait in between.
///
/// The wait after failed attempt `n` (1-based) is `initial_delay * multiplier^(n-1)`, capped at
/// `max_delay`; there is no wait after the last attempt. The defaults (3 attempts, 5s, x2, 20s)
/// wait 5s and then 10s.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, at least 1 (1 = no retries).
    pub attempts: u32,
    pub initial_delay: Duration,
    /// At least 1.
    pub multiplier: f64,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            initial_delay: Duration::from_secs(5),
            multiplier: 2.0,
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Builds a policy from the values of a `retry` block as users write them
    /// (`attempts = 3, initial_delay = "5s", multiplier = 2, max_delay = "20s"`).
    pub fn parse(
        attempts: i64,
        initial_delay: &str,
        multiplier: f64,
        max_delay: &str,
    ) -> Result<Self, ParseError> {
        let attempts = parse::parse_attempts(attempts)?;
        let initial_delay = parse::parse_duration(initial_delay)?;
        parse::validate_multiplier(multiplier)?;
        let max_delay = parse::parse_duration(max_delay)?;
        Ok(RetryPolicy {
            attempts,
            initial_delay,
            multiplier,
            max_delay,
        })
    }

    /// The waits between attempts as a `backon` builder (the workspace's one backoff
    /// mechanism): `attempts - 1` delays from `initial_delay`, times `multiplier`, capped at
    /// `max_delay`, without jitter.
    pub fn backoff_builder(&self) -> ExponentialBuilder {
        let factor = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier as f32
        } else {
            1.0
        };
        ExponentialBuilder::default()
            .with_min_delay(self.initial_delay.min(self.max_delay))
            .with_max_delay(self.max_delay)
            .with_factor(factor)
            .with_max_times(self.attempts.saturating_sub(1) as usize)
    }

    /// The wait after failed attempt `attempt` (1-based), or `None` after the last attempt.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        if attempt == 0 {
            return None;
        }
        self.delays_iter().nth(attempt as usize - 1)
    }

    /// Every wait of a check that fails all its attempts, in order (`attempts - 1` of them).
    pub fn delays(&self) -> Vec<Duration> {
        self.delays_iter().collect()
    }

    /// backon computes in `f32` seconds; the waits are rounded to whole microseconds so that
    /// `100ms * 3` is exactly 300 ms.
    fn delays_iter(&self) -> impl Iterator<Item = Duration> {
        self.backoff_builder()
            .build()
            .map(|d| Duration::from_micros((d.as_secs_f64() * 1e6).round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&s| Duration::from_secs(s)).collect()
    }

    #[test]
    fn default_policy_waits_five_then_ten_seconds() {
        assert_eq!(RetryPolicy::default().delays(), secs(&[5, 10]));
    }

    #[test]
    fn delays_double_until_capped_at_max_delay() {
        let policy = RetryPolicy {
            attempts: 6,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delays(), secs(&[5, 10, 20, 20, 20]));
    }

    #[test]
    fn multiplier_one_gives_a_constant_delay() {
        let policy = RetryPolicy {
            attempts: 4,
            multiplier: 1.0,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delays(), secs(&[5, 5, 5]));
    }

    #[test]
    fn single_attempt_never_waits() {
        let policy = RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delays(), Vec::<Duration>::new());
        assert_eq!(policy.delay_after(1), None);
    }

    #[test]
    fn huge_multiplier_is_capped_instead_of_overflowing() {
        let policy = RetryPolicy {
            attempts: 200,
            multiplier: 1e300,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delay_after(150), Some(Duration::from_secs(20)));
    }

    #[test]
    fn initial_delay_above_max_delay_is_capped() {
        let policy = RetryPolicy {
            attempts: 2,
            initial_delay: Duration::from_secs(60),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.delays(), secs(&[20]));
    }

    #[test]
    fn parse_builds_policy_from_block_values() {
        let policy = RetryPolicy::parse(4, "100ms", 3.0, "1s").unwrap();
        assert_eq!(
            policy.delays(),
            vec![
                Duration::from_millis(100),
                Duration::from_millis(300),
                Duration::from_millis(900)
            ]
        );
    }

    #[test]
    fn parse_rejects_zero_attempts_and_small_multiplier() {
        assert_eq!(
            RetryPolicy::parse(0, "5s", 2.0, "20s"),
            Err(ParseError::AttemptsTooFew { attempts: 0 })
        );
        assert_eq!(
            RetryPolicy::parse(3, "5s", 0.5, "20s"),
            Err(ParseError::MultiplierTooSmall { multiplier: 0.5 })
        );
    }
}
