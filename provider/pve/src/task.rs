//! Proxmox tasks: UPID parsing, waiting for a task to stop, and reading its log.
//!
//! Every mutating call except config PUTs returns a UPID at once; the outcome comes from
//! `GET /nodes/{node}/tasks/{upid}/status` (`exitstatus` `OK`, `WARNINGS: n`, or the error text)
//! and the task log. A task may be invisible ("no such task") for a moment after it was started;
//! that is tolerated for `RetryPolicy::task_visibility_grace`. This module knows nothing about
//! Terraform.

use std::time::Instant;

use backon::Retryable;
use serde_json::Value;

use super::api::{deadline_exceeded, segment, Params, PveClient};
use super::error::{Call, PveError};
use super::normalise::{value_text, value_u64};
use super::retry::Deadline;

/// Lines of the task log kept in errors and warnings.
pub const LOG_TAIL_LINES: usize = 12;

/// A parsed task id: `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upid {
    pub raw: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: i64,
    pub task_type: String,
    /// The object the task works on (the vmid for container tasks; may be empty).
    pub id: String,
    pub user: String,
}

impl Upid {
    pub fn parse(text: &str) -> Option<Upid> {
        let text = text.trim();
        let rest = text.strip_prefix("UPID:")?;
        let parts: Vec<&str> = rest.split(':').collect();
        // node, pid, pstart, starttime, type, id, user, "" (trailing colon)
        if parts.len() < 7 {
            return None;
        }
        let node = parts[0];
        if node.is_empty()
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return None;
        }
        let pid = u32::from_str_radix(parts[1], 16).ok()?;
        let pstart = u64::from_str_radix(parts[2], 16).ok()?;
        let starttime = i64::from_str_radix(parts[3], 16).ok()?;
        let task_type = parts[4];
        if task_type.is_empty() {
            return None;
        }
        let user = parts[6];
        if user.is_empty() {
            return None;
        }
        Some(Upid {
            raw: text.to_string(),
            node: node.to_string(),
            pid,
            pstart,
            starttime,
            task_type: task_type.to_string(),
            id: parts[5].to_string(),
            user: user.to_string(),
        })
    }
}

/// A task that finished without error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutcome {
    pub upid: String,
    /// `WARN:` lines of the log when the task ended with `WARNINGS: n` (empty otherwise).
    pub warnings: Vec<String>,
}

/// How a finished task's `exitstatus` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    Ok,
    Warnings(u32),
    Failed(String),
}

impl ExitStatus {
    pub fn parse(text: &str) -> ExitStatus {
        let text = text.trim();
        if text == "OK" {
            ExitStatus::Ok
        } else if let Some(count) = text.strip_prefix("WARNINGS") {
            let count = count.trim_start_matches(':').trim().parse().unwrap_or(1);
            ExitStatus::Warnings(count)
        } else {
            ExitStatus::Failed(text.to_string())
        }
    }
}

fn is_task_not_visible(error: &PveError) -> bool {
    match error {
        PveError::NotFound { .. } => true,
        PveError::ParameterVerification { errors, .. } => errors
            .values()
            .any(|m| m.to_ascii_lowercase().contains("no such task")),
        PveError::Server { message, .. } => message.to_ascii_lowercase().contains("no such task"),
        _ => false,
    }
}

impl PveClient {
    /// Waits for the task to stop. `OK` → Ok; `WARNINGS: n` → Ok with the warning lines;
    /// anything else → [`PveError::TaskFailed`] with the last lines of the log.
    pub async fn wait_task(
        &self,
        upid: &str,
        deadline: &Deadline,
    ) -> Result<TaskOutcome, PveError> {
        let parsed = Upid::parse(upid).ok_or_else(|| PveError::Protocol {
            call: Call::new("POST", "(task)"),
            message: format!("`{upid}` is not a task id (UPID)"),
        })?;
        let path = format!(
            "/nodes/{}/tasks/{}/status",
            segment(&parsed.node),
            segment(&parsed.raw)
        );
        let policy = self.retry_policy();
        let mut polls = policy.polls();
        let started = Instant::now();
        loop {
            match self.get(&path, &Params::new(), deadline).await {
                Ok(status) => {
                    let state = status.get("status").and_then(Value::as_str).unwrap_or("");
                    if state == "stopped" {
                        let exit = status
                            .get("exitstatus")
                            .and_then(value_text)
                            .unwrap_or_else(|| "unexpected status".to_string());
                        return self.finish_task(&parsed, &exit, deadline).await;
                    }
                }
                Err(error)
                    if is_task_not_visible(&error)
                        && started.elapsed() < policy.task_visibility_grace => {}
                Err(error) => return Err(error),
            }
            if deadline.is_expired() {
                return Err(deadline_exceeded(
                    format!("waiting for task {} ({})", parsed.task_type, parsed.raw),
                    deadline,
                    PveError::StillWaiting {
                        message: format!(
                            "task {} for {} on node {} is still running",
                            parsed.task_type, parsed.id, parsed.node
                        ),
                    },
                ));
            }
            tokio::time::sleep(polls.next_within(deadline)).await;
        }
    }

    async fn finish_task(
        &self,
        upid: &Upid,
        exitstatus: &str,
        deadline: &Deadline,
    ) -> Result<TaskOutcome, PveError> {
        match ExitStatus::parse(exitstatus) {
            ExitStatus::Ok => Ok(TaskOutcome {
                upid: upid.raw.clone(),
                warnings: Vec::new(),
            }),
            ExitStatus::Warnings(_) => {
                let log = self.task_log(upid, deadline).await.unwrap_or_default();
                let mut warnings: Vec<String> = log
                    .iter()
                    .filter(|line| line.contains("WARN"))
                    .cloned()
                    .collect();
                if warnings.is_empty() {
                    warnings.push(format!("task ended with {exitstatus}"));
                }
                tracing::warn!(task = %upid.raw, count = warnings.len(), "Proxmox task ended with warnings");
                Ok(TaskOutcome {
                    upid: upid.raw.clone(),
                    warnings,
                })
            }
            ExitStatus::Failed(message) => {
                let log = self.task_log(upid, deadline).await.unwrap_or_default();
                let skip = log.len().saturating_sub(LOG_TAIL_LINES);
                Err(PveError::TaskFailed {
                    upid: Box::new(upid.clone()),
                    exitstatus: message,
                    log_tail: log.into_iter().skip(skip).collect(),
                })
            }
        }
    }

    /// The last lines of a task's log (at most a few hundred lines are read).
    pub async fn task_log(
        &self,
        upid: &Upid,
        deadline: &Deadline,
    ) -> Result<Vec<String>, PveError> {
        const PAGE: u64 = 500;
        let path = format!(
            "/nodes/{}/tasks/{}/log",
            segment(&upid.node),
            segment(&upid.raw)
        );
        let first = self
            .call(
                super::api::Method::Get,
                &path,
                &Params::new().num("start", 0).num("limit", PAGE),
                super::api::Replay::Safe,
                deadline,
            )
            .await?;
        let mut lines = log_lines(&first.data);
        if let Some(total) = first.total {
            if total > PAGE {
                let start = total.saturating_sub(LOG_TAIL_LINES as u64);
                let tail = self
                    .get(
                        &path,
                        &Params::new().num("start", start).num("limit", PAGE),
                        deadline,
                    )
                    .await?;
                lines = log_lines(&tail);
            }
        }
        Ok(lines)
    }
}

/// True when a failed task failed only because the guest was locked by another operation (or its
/// config lock timed out): such a task is started again after a pause, until the deadline.
pub fn failed_on_lock(error: &PveError) -> bool {
    match error {
        PveError::TaskFailed { exitstatus, .. } => {
            let lower = exitstatus.to_ascii_lowercase();
            lower.contains(" is locked (")
                || (lower.contains("lock") && lower.contains("got timeout"))
        }
        _ => false,
    }
}

impl PveClient {
    /// Starts a task (`POST`/`PUT`/`DELETE` returning a UPID) and waits for it, lock-aware: a
    /// refusal or task failure because the guest is locked is retried until the deadline.
    /// `done` recognises answers that mean "already done" (e.g. `CT 100 already running`); for
    /// those `Ok(None)` is returned without a task.
    pub async fn run_task(
        &self,
        method: super::api::Method,
        path: &str,
        params: &Params,
        replay: super::api::Replay,
        deadline: &Deadline,
        done: impl Fn(&PveError) -> bool,
    ) -> Result<Option<TaskOutcome>, PveError> {
        let start_and_wait = || async {
            let envelope = self.call(method, path, params, replay, deadline).await?;
            match envelope.data.as_str() {
                Some(upid) => self.wait_task(upid, deadline).await,
                None => Err(PveError::Protocol {
                    call: Call::new(method.as_str(), path),
                    message: "expected a task id (UPID) as the answer".into(),
                }),
            }
        };
        let mut out_of_time = false;
        let result = start_and_wait
            .retry(self.retry_policy().backoff_builder())
            .when(|error: &PveError| {
                if done(error) || !failed_on_lock(error) {
                    return false;
                }
                out_of_time = deadline.is_expired();
                !out_of_time
            })
            .adjust(|_, delay| delay.map(|d| d.min(deadline.remaining())))
            .notify(|error: &PveError, _| {
                tracing::debug!(path, error = %error, "task failed on a lock; retrying");
            })
            .await;
        match result {
            Ok(outcome) => Ok(Some(outcome)),
            Err(error) if done(&error) => Ok(None),
            Err(error) if out_of_time => Err(deadline_exceeded(
                format!("{} {path}", method.as_str()),
                deadline,
                error,
            )),
            Err(error) => Err(error),
        }
    }
}

/// Whether a delete failed only because the object is not there (404, a 500 "does not exist",
/// or a task that ended so): for deletes, that is success.
pub(crate) fn says_missing(error: &PveError) -> bool {
    match error {
        PveError::NotFound { .. } => true,
        PveError::TaskFailed { exitstatus, .. } => exitstatus.contains("does not exist"),
        _ => false,
    }
}

impl PveClient {
    /// Sends a `DELETE` that starts a task and waits for it (lock-aware, see
    /// [`PveClient::run_task`]); an object already gone counts as deleted.
    pub(crate) async fn delete_task(
        &self,
        path: &str,
        deadline: &Deadline,
    ) -> Result<(), PveError> {
        match self
            .run_task(
                super::api::Method::Delete,
                path,
                &Params::new(),
                super::api::Replay::Safe,
                deadline,
                says_missing,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if says_missing(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// `[{n, t}]` → the `t` texts in `n` order.
fn log_lines(data: &Value) -> Vec<String> {
    let mut numbered: Vec<(u64, String)> = data
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let text = item.get("t").and_then(value_text)?;
                    let n = item.get("n").and_then(value_u64).unwrap_or(0);
                    Some((n, text))
                })
                .collect()
        })
        .unwrap_or_default();
    numbered.sort_by_key(|(n, _)| *n);
    numbered.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upid_fields_are_parsed_from_hex() {
        let upid =
            Upid::parse("UPID:pve0:0009E9B0:103F1191:660069E7:vzcreate:101:root@pam:").unwrap();
        assert_eq!(upid.node, "pve0");
        assert_eq!(upid.pid, 0x0009E9B0);
        assert_eq!(upid.pstart, 0x103F1191);
        assert_eq!(upid.starttime, 0x660069E7);
        assert_eq!(upid.task_type, "vzcreate");
        assert_eq!(upid.id, "101");
        assert_eq!(upid.user, "root@pam");
    }

    #[test]
    fn upid_of_a_token_names_the_token_user() {
        let upid =
            Upid::parse("UPID:pve:00001234:00ABCDEF:66000000:vzstart:4010:root@pam!ralf:").unwrap();
        assert_eq!(upid.user, "root@pam!ralf");
        assert_eq!(upid.id, "4010");
    }

    #[test]
    fn things_that_are_not_upids_are_refused() {
        assert!(Upid::parse("").is_none());
        assert!(Upid::parse("UPID:pve:xyz:1:2:vzcreate:100:root@pam:").is_none());
        assert!(Upid::parse("UPID:pve:1:2").is_none());
        assert!(Upid::parse("TASK:pve:1:2:3:vzcreate:100:root@pam:").is_none());
    }

    #[test]
    fn exit_statuses_are_ok_warnings_or_failure() {
        assert_eq!(ExitStatus::parse("OK"), ExitStatus::Ok);
        assert_eq!(ExitStatus::parse("WARNINGS: 2"), ExitStatus::Warnings(2));
        assert_eq!(
            ExitStatus::parse("snapshot feature is not available"),
            ExitStatus::Failed("snapshot feature is not available".into())
        );
    }

    fn failed(exitstatus: &str) -> PveError {
        PveError::TaskFailed {
            upid: Box::new(Upid::parse("UPID:pve:1:2:3:vzsnapshot:100:root@pam:").unwrap()),
            exitstatus: exitstatus.into(),
            log_tail: Vec::new(),
        }
    }

    #[test]
    fn a_task_that_failed_on_a_lock_is_started_again_but_other_failures_are_final() {
        assert!(failed_on_lock(&failed("CT is locked (snapshot)")));
        assert!(failed_on_lock(&failed(
            "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout"
        )));
        assert!(!failed_on_lock(&failed(
            "snapshot feature is not available"
        )));
        assert!(!failed_on_lock(&failed("snapshot name 'x' already used")));
    }

    #[test]
    fn a_task_not_yet_visible_is_recognised_in_its_several_shapes() {
        use crate::error::Call;
        let call = || Call::new("GET", "/nodes/pve/tasks/x/status");
        let mut errors = std::collections::BTreeMap::new();
        errors.insert("upid".to_string(), "no such task".to_string());
        assert!(is_task_not_visible(&PveError::ParameterVerification {
            call: call(),
            errors
        }));
        assert!(is_task_not_visible(&PveError::NotFound {
            call: call(),
            message: "not found".into()
        }));
        assert!(!is_task_not_visible(&PveError::Server {
            call: call(),
            status: 500,
            message: "boom".into()
        }));
    }

    #[test]
    fn a_delete_of_something_already_gone_counts_as_done() {
        let call = || Call::new("DELETE", "/nodes/pve/storage/local/content/x");
        assert!(says_missing(&PveError::NotFound {
            call: call(),
            message: "volume does not exist".into()
        }));
        assert!(says_missing(&failed("snapshot 'base' does not exist")));
        assert!(!says_missing(&failed("Logical volume in use")));
        assert!(!says_missing(&PveError::Server {
            call: call(),
            status: 500,
            message: "boom".into()
        }));
    }

    #[test]
    fn log_lines_come_back_in_line_number_order() {
        let data =
            json!([{"n": 2, "t": "second"}, {"n": 1, "t": "first"}, {"n": 3, "t": "TASK OK"}]);
        assert_eq!(log_lines(&data), vec!["first", "second", "TASK OK"]);
    }
}
