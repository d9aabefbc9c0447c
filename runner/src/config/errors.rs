//! The `errors { retry "<name>" {} ignore "<name>" {} }` block (Terragrunt's
//! `docs/.../config-blocks-and-attributes` "errors"): which failed runs are retried, how often and
//! after how long, and which errors are ignored. Without the block, Terragrunt's default
//! retryable errors apply (`internal/retry` in gruntwork-io/terragrunt), 3 attempts, 5 s apart.
//! This module only decides; running and sleeping happen in [`crate::run`].

use hcl::{Map, Value};
use std::time::Duration;

/// Terragrunt's default retryable errors (also `get_default_retryable_errors()`).
pub const DEFAULT_RETRYABLE_ERRORS: &[&str] = &[
    r"(?s).*Failed to load state.*tcp.*timeout.*",
    r"(?s).*Failed to load backend.*TLS handshake timeout.*",
    r"(?s).*Creating metric alarm failed.*request to update this alarm is in progress.*",
    r"(?s).*Error installing provider.*TLS handshake timeout.*",
    r"(?s).*Error configuring the backend.*TLS handshake timeout.*",
    r"(?s).*Error installing provider.*tcp.*timeout.*",
    r"(?s).*Error installing provider.*tcp.*connection reset by peer.*",
    r"NoSuchBucket: The specified bucket does not exist",
    r"(?s).*Error creating SSM parameter: TooManyUpdates:.*",
    r"(?s).*app.terraform.io.*: 429 Too Many Requests.*",
    r"(?s).*ssh_exchange_identification.*Connection closed by remote host.*",
    r"(?s).*Client\.Timeout exceeded while awaiting headers.*",
    r"(?s).*Could not download module.*The requested URL returned error: 429.*",
    r"(?s).*net/http: TLS.*handshake timeout.*",
    r"(?s).*could not query provider registry.*context deadline exceeded.*",
    r"(?s).*provider.*TLS handshake timeout.*",
    r"(?s).*provider.*tcp.*timeout.*",
    r"(?s).*provider.*tcp.*connection reset by peer.*",
    r"(?s).*provider.*context deadline exceeded.*",
    r"(?s).*registry.*context deadline exceeded.*",
    r"(?s).*Failed to resolve provider.*timeout.*",
    r"(?s).*Failed to resolve provider.*connection reset by peer.*",
    r"(?s).*Failed to resolve provider.*context deadline exceeded.*",
    r"(?s).*could not connect to registry.*timeout.*",
    r"(?s).*could not connect to registry.*connection reset by peer.*",
    r"(?s).*could not connect to registry.*context deadline exceeded.*",
    r"(?s).*failed to request discovery document.*context deadline exceeded.*",
    r"(?s).*Failed to query available provider packages.*timeout.*",
    r"(?s).*Failed to query available provider packages.*connection reset by peer.*",
    r"(?s).*Failed to query available provider packages.*context deadline exceeded.*",
];

/// `retry "<name>" { retryable_errors, max_attempts, sleep_interval_sec }`.
#[derive(Debug, Clone)]
pub struct RetryRule {
    pub name: String,
    pub patterns: Vec<regex::Regex>,
    /// Runs in all, the first included.
    pub max_attempts: u32,
    pub sleep: Duration,
}

/// `ignore "<name>" { ignorable_errors, message }`; a pattern starting with `!` keeps an error
/// that a positive pattern matched.
#[derive(Debug, Clone)]
pub struct IgnoreRule {
    pub name: String,
    pub patterns: Vec<regex::Regex>,
    pub exceptions: Vec<regex::Regex>,
    pub message: Option<String>,
}

/// A unit's error handling.
#[derive(Debug, Clone)]
pub struct ErrorsConfig {
    pub retries: Vec<RetryRule>,
    pub ignores: Vec<IgnoreRule>,
}

impl Default for ErrorsConfig {
    /// Terragrunt's default: retry its default retryable errors, 3 attempts, 5 s apart.
    fn default() -> Self {
        ErrorsConfig {
            retries: vec![RetryRule {
                name: "default".into(),
                patterns: DEFAULT_RETRYABLE_ERRORS
                    .iter()
                    .filter_map(|p| regex::Regex::new(p).ok())
                    .collect(),
                max_attempts: 3,
                sleep: Duration::from_secs(5),
            }],
            ignores: Vec::new(),
        }
    }
}

impl ErrorsConfig {
    /// Reads the evaluated `errors` block; `None` gives the defaults.
    pub fn from_value(v: Option<&Value>) -> Result<ErrorsConfig, String> {
        let Some(v) = v else {
            return Ok(ErrorsConfig::default());
        };
        let m = v
            .as_object()
            .ok_or_else(|| "errors must be a block".to_string())?;
        let labelled = |key: &str| -> Vec<(String, Map<String, Value>)> {
            match m.get(key) {
                Some(Value::Object(rules)) => rules
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_object().cloned().unwrap_or_default()))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut out = ErrorsConfig {
            retries: Vec::new(),
            ignores: Vec::new(),
        };
        for (name, r) in labelled("retry") {
            let patterns = regexes(&name, r.get("retryable_errors"), "retryable_errors")?;
            let max_attempts = r
                .get("max_attempts")
                .and_then(Value::as_u64)
                .unwrap_or(3)
                .max(1) as u32;
            let sleep = r
                .get("sleep_interval_sec")
                .and_then(Value::as_f64)
                .unwrap_or(5.0)
                .max(0.0);
            out.retries.push(RetryRule {
                name,
                patterns: patterns.into_iter().map(|(_, re)| re).collect(),
                max_attempts,
                sleep: Duration::from_secs_f64(sleep),
            });
        }
        for (name, r) in labelled("ignore") {
            let all = regexes(&name, r.get("ignorable_errors"), "ignorable_errors")?;
            let (exceptions, patterns): (Vec<_>, Vec<_>) =
                all.into_iter().partition(|(neg, _)| *neg);
            out.ignores.push(IgnoreRule {
                name,
                patterns: patterns.into_iter().map(|(_, re)| re).collect(),
                exceptions: exceptions.into_iter().map(|(_, re)| re).collect(),
                message: r.get("message").and_then(Value::as_str).map(str::to_string),
            });
        }
        Ok(out)
    }

    /// The retry rule whose patterns match `output`.
    pub fn retry_for(&self, output: &str) -> Option<&RetryRule> {
        self.retries
            .iter()
            .find(|r| r.patterns.iter().any(|p| p.is_match(output)))
    }

    /// The ignore rule that lets `output`'s error pass.
    pub fn ignore_for(&self, output: &str) -> Option<&IgnoreRule> {
        self.ignores.iter().find(|r| {
            r.patterns.iter().any(|p| p.is_match(output))
                && !r.exceptions.iter().any(|p| p.is_match(output))
        })
    }
}

/// The patterns of a list attribute, each with whether it was negated (`!`).
fn regexes(rule: &str, v: Option<&Value>, attr: &str) -> Result<Vec<(bool, regex::Regex)>, String> {
    let items = match v {
        Some(Value::Array(items)) => items,
        _ => return Err(format!("errors rule {rule:?} needs a list `{attr}`")),
    };
    items
        .iter()
        .map(|i| {
            let s = i
                .as_str()
                .ok_or_else(|| format!("errors rule {rule:?}: `{attr}` holds strings only"))?;
            let (neg, pat) = match s.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, s),
            };
            regex::Regex::new(pat)
                .map(|re| (neg, re))
                .map_err(|e| format!("errors rule {rule:?}: invalid pattern {s:?}: {e}"))
        })
        .collect()
}
