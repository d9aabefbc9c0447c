//! The report of a run: when it passes, its summary line and the failure and skip texts the
//! provider puts into diagnostics.

use checks::{CheckResult, CheckStatus, Report};

fn result(
    name: &str,
    kind: &str,
    target: &str,
    status: CheckStatus,
    attempts: u32,
    message: &str,
) -> CheckResult {
    CheckResult {
        name: name.to_string(),
        kind: kind.to_string(),
        target: target.to_string(),
        status,
        attempts,
        duration_ms: 12,
        message: message.to_string(),
    }
}

fn mixed_report() -> Report {
    Report {
        results: vec![
            result("ping:10.10.40.30", "ping", "10.10.40.30", CheckStatus::Ok, 1, "echo reply from 10.10.40.30 in 0.210ms"),
            result("db", "tcp", "10.10.40.30:5432", CheckStatus::Fail, 3, "connect to 10.10.40.30:5432 failed: Connection refused (os error 111)"),
            result("http:http://10.10.40.30/health", "http", "http://10.10.40.30/health", CheckStatus::Fail, 1, "status 503 is not in 200-299"),
            result("service:nginx.service", "service", "nginx.service", CheckStatus::Skip, 0, "no SSH settings in the provider's ssh block: service checks run `pct exec` on the node over SSH"),
            result("tcp:10.10.40.30:22", "tcp", "10.10.40.30:22", CheckStatus::Ok, 2, "connected to 10.10.40.30:22"),
        ],
    }
}

#[test]
fn summary_counts_each_status() {
    assert_eq!(mixed_report().summary(), "2 OK, 2 FAIL, 1 SKIP");
}

#[test]
fn any_fail_fails_the_report() {
    assert!(!mixed_report().passed());
}

#[test]
fn failure_report_lists_every_failed_check_with_target_attempts_and_last_error() {
    assert_eq!(
        mixed_report().failure_report().unwrap(),
        "2 of 5 smoke checks failed (2 OK, 2 FAIL, 1 SKIP):\n\
         - db (tcp 10.10.40.30:5432), 3 attempts: connect to 10.10.40.30:5432 failed: Connection refused (os error 111)\n\
         - http:http://10.10.40.30/health (http http://10.10.40.30/health), 1 attempt: status 503 is not in 200-299"
    );
}

#[test]
fn skip_report_lists_skipped_checks_with_the_reason() {
    assert_eq!(
        mixed_report().skip_report().unwrap(),
        "1 of 5 smoke checks were skipped (2 OK, 2 FAIL, 1 SKIP):\n\
         - service:nginx.service (service nginx.service), not attempted: no SSH settings in the provider's ssh block: service checks run `pct exec` on the node over SSH"
    );
}

#[test]
fn skipped_checks_do_not_fail_the_report() {
    let mut report = mixed_report();
    report.results.retain(|r| r.status != CheckStatus::Fail);
    assert!(report.passed());
    assert_eq!(report.summary(), "2 OK, 0 FAIL, 1 SKIP");
    assert_eq!(report.failure_report(), None);
}

#[test]
fn a_report_of_only_skips_passes_and_the_summary_shows_it() {
    let mut report = mixed_report();
    report.results.retain(|r| r.status == CheckStatus::Skip);
    assert!(report.passed());
    assert_eq!(report.summary(), "0 OK, 0 FAIL, 1 SKIP");
    assert!(report.skip_report().is_some());
}

#[test]
fn statuses_spell_as_in_the_results_attribute() {
    assert_eq!(CheckStatus::Ok.to_string(), "OK");
    assert_eq!(CheckStatus::Fail.to_string(), "FAIL");
    assert_eq!(CheckStatus::Skip.as_str(), "SKIP");
}
