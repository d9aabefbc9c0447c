//! `errors { retry {} ignore {} }`: a matching error is retried up to `max_attempts`, an
//! ignorable one lets the unit succeed (unless a `!` pattern keeps it), the report says
//! "retry succeeded" / "error ignored", and without the block Terragrunt's default retryable
//! errors are retried. A stand-in terraform fails a set number of times with a set message.

use std::path::{Path, PathBuf};
use std::process::Command;

const FLAKY_TF: &str = r#"#!/bin/sh
if [ "$1" = init ]; then
  [ -n "$INIT_MSG" ] && { echo "Error: $INIT_MSG" >&2; exit 1; }
  exit 0
fi
n=$(cat .attempts 2>/dev/null || echo 0); n=$((n+1)); echo $n > .attempts
if [ "$n" -le "$FAILS" ]; then echo "Error: $MSG" >&2; exit 1; fi
echo "Apply complete! Resources: 0 added, 0 changed, 0 destroyed."
"#;

const ERRORS_BLOCK: &str = r#"
errors {
  retry "transient" {
    retryable_errors   = [".*glitch.*"]
    max_attempts       = 3
    sleep_interval_sec = 0
  }
  ignore "known" {
    ignorable_errors = [".*known quirk.*", "!.*fatal.*"]
    message          = "the quirk is harmless"
  }
}
"#;

fn setup(config: &str) -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let unit = tmp.path().join("live/app");
    std::fs::create_dir_all(&unit).expect("unit");
    std::fs::write(unit.join("terragrunt.hcl"), config).expect("config");
    let tf = tmp.path().join("flaky-tf");
    std::fs::write(&tf, FLAKY_TF).expect("stand-in");
    std::fs::set_permissions(&tf, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let root = tmp.path().join("live");
    (tmp, root, tf.display().to_string())
}

/// Runs apply; returns (exit code, attempts made, the report row).
fn apply(root: &Path, tf: &str, fails: u32, msg: &str) -> (Option<i32>, u32, serde_json::Value) {
    let report = root.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args(["run", "--all", "--tf-path", tf, "--report-file"])
        .arg(&report)
        .arg("apply")
        .current_dir(root)
        .env("FAILS", fails.to_string())
        .env("MSG", msg)
        .output()
        .expect("ralf starts");
    let attempts = std::fs::read_to_string(root.join("app/.attempts"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    (out.status.code(), attempts, rows[0].clone())
}

#[test]
fn a_retryable_error_is_retried_and_the_report_says_retry_succeeded() {
    let (_t, root, tf) = setup(ERRORS_BLOCK);
    let (code, attempts, row) = apply(&root, &tf, 2, "a glitch in the API");
    assert_eq!(code, Some(0), "{row}");
    assert_eq!(attempts, 3);
    assert_eq!(row["Result"], "succeeded");
    assert_eq!(row["Reason"], "retry succeeded");
}

#[test]
fn retries_stop_at_max_attempts() {
    let (_t, root, tf) = setup(ERRORS_BLOCK);
    let (code, attempts, row) = apply(&root, &tf, 5, "a glitch in the API");
    assert_eq!(code, Some(1));
    assert_eq!(attempts, 3, "max_attempts counts the first run");
    assert_eq!(row["Result"], "failed");
}

#[test]
fn an_ignorable_error_lets_the_unit_succeed_with_its_message() {
    let (_t, root, tf) = setup(ERRORS_BLOCK);
    let (code, attempts, row) = apply(&root, &tf, 9, "a known quirk");
    assert_eq!(code, Some(0), "{row}");
    assert_eq!(attempts, 1, "ignored, not retried");
    assert_eq!(row["Reason"], "error ignored");
    assert_eq!(row["Cause"], "the quirk is harmless");
}

#[test]
fn a_negated_pattern_keeps_an_error_that_would_be_ignored() {
    let (_t, root, tf) = setup(ERRORS_BLOCK);
    let (code, _, row) = apply(&root, &tf, 9, "a known quirk turned fatal");
    assert_eq!(code, Some(1));
    assert_eq!(row["Result"], "failed");
}

#[test]
fn without_an_errors_block_terragrunts_default_retryable_errors_are_retried() {
    let (_t, root, tf) = setup("");
    let (code, attempts, row) = apply(
        &root,
        &tf,
        1,
        "Get https://registry: net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
    );
    assert_eq!(code, Some(0), "{row}");
    assert_eq!(attempts, 2);
    assert_eq!(row["Reason"], "retry succeeded");
    let (_t, root, tf) = setup("");
    let (code, attempts, _) = apply(&root, &tf, 1, "Invalid resource type");
    assert_eq!(
        (code, attempts),
        (Some(1), 1),
        "other errors are not retried"
    );
}

const SLOW_RETRY: &str = r#"
errors {
  retry "transient" {
    retryable_errors   = [".*glitch.*"]
    max_attempts       = 3
    sleep_interval_sec = 600
  }
}
"#;

/// Starts apply with a stand-in that keeps failing with `env`'s error, waits for ralf to say it
/// will retry, sends SIGINT, and returns (exit code, apply attempts made, all output).
fn interrupt_retry_wait(env: (&str, &str)) -> (Option<i32>, u32, String) {
    use std::io::{BufRead, BufReader};
    let (_t, root, tf) = setup(SLOW_RETRY);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ralf"))
        .args(["run", "--all", "--tf-path", &tf, "apply"])
        .current_dir(&root)
        .env("FAILS", "5")
        .env("MSG", "a glitch in the API")
        .env(env.0, env.1)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ralf starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref().map_while(Result::ok) {
        let waiting = line.contains("matches; attempt 2 of 3 in 600s");
        seen.push(line);
        if waiting {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("attempt 2 of 3")),
        "ralf never said it would retry:\n{}",
        seen.join("\n")
    );
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().expect("ralf exits");
    let attempts = std::fs::read_to_string(root.join("app/.attempts"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    (status.code(), attempts, seen.join("\n"))
}

#[test]
fn ctrl_c_during_a_retry_wait_stops_the_run_without_another_attempt() {
    let (code, attempts, out) = interrupt_retry_wait(("UNUSED", ""));
    assert_eq!(code, Some(130), "{out}");
    assert_eq!(attempts, 1, "no attempt after the signal: {out}");
}

#[test]
fn ctrl_c_during_an_auto_init_retry_wait_stops_the_run_before_apply() {
    let (code, attempts, out) = interrupt_retry_wait(("INIT_MSG", "a glitch in the backend"));
    assert!(
        out.contains("init failed with an error that `retry"),
        "{out}"
    );
    assert_eq!(code, Some(130), "{out}");
    assert_eq!(attempts, 0, "apply never ran: {out}");
}
