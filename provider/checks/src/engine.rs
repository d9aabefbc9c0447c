//! Runs checks: all at once, each with its retries, per-attempt timeout and backoff, all of it
//! stopping promptly when the cancellation token fires.

use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use super::parse::format_duration;
use super::{
    dns, http, service, tls, CheckKind, CheckResult, CheckSpec, CheckStatus, Outcome, Report,
    RunContext,
};

/// Runs every check concurrently and returns their results in declaration order.
///
/// When `cancel` fires, waiting stops at once: checks that had not finished are FAIL with a
/// message saying they were cancelled (and the last error seen, if any).
pub async fn run_checks(
    checks: &[CheckSpec],
    ctx: &RunContext,
    cancel: &CancellationToken,
) -> Report {
    let results = join_all(checks.iter().map(|spec| run_check(spec, ctx, cancel))).await;
    Report { results }
}

/// A check ready to attempt: its configuration parsed once, before the first attempt.
enum Prepared<'a> {
    Ping(&'a super::PingCheck),
    Tcp(&'a super::TcpCheck),
    Http(http::PreparedHttp),
    Service(service::PreparedService<'a>),
    Dns(dns::PreparedDns),
    Ntp(&'a super::NtpCheck),
    Tls(tls::PreparedTls),
}

impl Prepared<'_> {
    async fn attempt(&self, ctx: &RunContext) -> Outcome {
        match self {
            Prepared::Ping(check) => check.attempt(&ctx.resolver).await,
            Prepared::Tcp(check) => check.attempt(&ctx.resolver).await,
            Prepared::Http(check) => check.attempt().await,
            Prepared::Service(check) => check.attempt(ctx).await,
            Prepared::Dns(check) => check.attempt().await,
            Prepared::Ntp(check) => check.attempt(&ctx.resolver).await,
            Prepared::Tls(check) => check.attempt(&ctx.resolver).await,
        }
    }

    fn timeout_message(&self, timeout: Duration) -> String {
        let limit = format_duration(timeout);
        match self {
            Prepared::Ping(_) => format!("no echo reply within the {limit} per-attempt timeout"),
            Prepared::Tcp(_) => format!("no connection within the {limit} per-attempt timeout"),
            Prepared::Http(_) => format!("no response within the {limit} per-attempt timeout"),
            Prepared::Service(_) => {
                format!("no answer from the node within the {limit} per-attempt timeout")
            }
            Prepared::Dns(_) => format!("no DNS answer within the {limit} per-attempt timeout"),
            Prepared::Ntp(_) => format!("no NTP answer within the {limit} per-attempt timeout"),
            Prepared::Tls(_) => {
                format!("no TLS handshake within the {limit} per-attempt timeout")
            }
        }
    }
}

async fn run_check(spec: &CheckSpec, ctx: &RunContext, cancel: &CancellationToken) -> CheckResult {
    let started = Instant::now();
    let mut result = CheckResult {
        name: spec.name(),
        kind: spec.kind.kind_name().to_string(),
        target: spec.kind.target(),
        status: CheckStatus::Fail,
        attempts: 0,
        duration_ms: 0,
        message: String::new(),
    };
    let prepared = match &spec.kind {
        CheckKind::Ping(check) => Ok(Prepared::Ping(check)),
        CheckKind::Tcp(check) => Ok(Prepared::Tcp(check)),
        CheckKind::Http(check) => check.prepare(&ctx.resolver).map(Prepared::Http),
        CheckKind::Service(check) => check.prepare(ctx).map(Prepared::Service),
        CheckKind::Dns(check) => check.prepare().map(Prepared::Dns),
        CheckKind::Ntp(check) => Ok(Prepared::Ntp(check)),
        CheckKind::Tls(check) => check.prepare().map(Prepared::Tls),
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(outcome) => {
            apply_outcome(&mut result, outcome);
            result.duration_ms = elapsed_ms(started);
            return result;
        }
    };

    let mut last_error: Option<String> = None;
    loop {
        result.attempts += 1;
        let attempt = tokio::time::timeout(ctx.attempt_timeout, prepared.attempt(ctx));
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                cancelled(&mut result, last_error.as_deref(), false);
                break;
            }
            finished = attempt => match finished {
                Ok(outcome) => outcome,
                Err(_elapsed) => Outcome::Fail(prepared.timeout_message(ctx.attempt_timeout)),
            },
        };
        tracing::debug!(
            check = %result.name,
            attempt = result.attempts,
            outcome = ?outcome,
            "smoke check attempt finished"
        );
        let Outcome::Fail(error) = outcome else {
            apply_outcome(&mut result, outcome);
            break;
        };
        let Some(delay) = ctx.retry.delay_after(result.attempts) else {
            apply_outcome(&mut result, Outcome::Fail(error));
            break;
        };
        last_error = Some(error);
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                cancelled(&mut result, last_error.as_deref(), true);
                break;
            }
            _ = tokio::time::sleep(delay) => {}
        }
    }
    result.duration_ms = elapsed_ms(started);
    result
}

fn apply_outcome(result: &mut CheckResult, outcome: Outcome) {
    let (status, message) = match outcome {
        Outcome::Ok(message) => (CheckStatus::Ok, message),
        Outcome::Fail(message) => (CheckStatus::Fail, message),
        Outcome::Skip(message) => (CheckStatus::Skip, message),
    };
    result.status = status;
    result.message = message;
}

fn cancelled(result: &mut CheckResult, last_error: Option<&str>, waiting: bool) {
    result.status = CheckStatus::Fail;
    let when = if waiting {
        format!("after attempt {}", result.attempts)
    } else {
        format!("during attempt {}", result.attempts)
    };
    result.message = match last_error {
        Some(error) => {
            format!("cancelled {when} (the provider was asked to stop); last error: {error}")
        }
        None => format!("cancelled {when} (the provider was asked to stop)"),
    };
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
