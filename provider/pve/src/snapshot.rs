//! Container snapshots: list, create, change the description, delete and roll back, all waiting
//! for the container's lock instead of failing when another operation holds it.
//!
//! Proxmox quirks handled here: the list ends with a `current` pseudo-entry (skipped); a missing
//! snapshot is HTTP 500 "snapshot 'x' does not exist" (treated as gone); most lock and name
//! errors come from inside the task, not from the HTTP answer. This module knows nothing about
//! Terraform.

use serde_json::Value;

use super::api::{segment, Method, Params, PveClient, Replay};
use super::error::PveError;
use super::normalise::{normalise_description, unix_to_rfc3339, value_i64, value_text};
use super::retry::Deadline;
use super::task::TaskOutcome;

/// One snapshot as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    /// Without the trailing newline Proxmox adds; `None` when empty.
    pub description: Option<String>,
    /// The snapshot this one was taken on top of.
    pub parent: Option<String>,
    /// Unix seconds.
    pub snaptime: Option<i64>,
    /// `snaptime` as RFC 3339 (UTC).
    pub snaptime_rfc3339: Option<String>,
    /// Set while a snapshot is being created or deleted (`prepare`, `delete`).
    pub snapstate: Option<String>,
}

impl SnapshotInfo {
    fn from_api(item: &Value) -> Option<SnapshotInfo> {
        let name = item.get("name").and_then(value_text)?;
        let snaptime = item.get("snaptime").and_then(value_i64).filter(|t| *t > 0);
        Some(SnapshotInfo {
            description: item
                .get("description")
                .and_then(value_text)
                .and_then(|d| normalise_description(&d)),
            parent: item
                .get("parent")
                .and_then(value_text)
                .filter(|p| !p.is_empty()),
            snaptime_rfc3339: snaptime.and_then(unix_to_rfc3339),
            snaptime,
            snapstate: item
                .get("snapstate")
                .and_then(value_text)
                .filter(|s| !s.is_empty()),
            name,
        })
    }
}

/// Checks a snapshot name as Proxmox will (a configid of 2-40 characters starting with a letter,
/// then letters, digits, `_` or `-`; not the reserved `current` or `vzdump`).
pub fn validate_snapshot_name(name: &str) -> Result<(), PveError> {
    let invalid = |why: &str| PveError::Invalid {
        message: format!(
            "snapshot name `{name}` {why}: use 2-40 characters, starting with a letter, then \
             letters, digits, `_` or `-` (e.g. pre-install)"
        ),
    };
    let lower = name.to_ascii_lowercase();
    if lower == "current" || lower == "vzdump" {
        return Err(PveError::Invalid {
            message: format!(
                "snapshot name `{name}` is reserved by Proxmox VE; choose another name (e.g. \
                 pre-install)"
            ),
        });
    }
    if name.len() < 2 || name.len() > 40 {
        return Err(invalid("has the wrong length"));
    }
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err(invalid("does not start with a letter"));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(invalid("contains characters Proxmox VE does not allow"));
    }
    Ok(())
}

/// Oldest first: by time, then by depth in the parent chain (a snapshot and its child taken in
/// the same second keep their order), then by name.
fn order_snapshots(snapshots: &mut [SnapshotInfo]) {
    let parents: std::collections::HashMap<String, Option<String>> = snapshots
        .iter()
        .map(|s| (s.name.clone(), s.parent.clone()))
        .collect();
    let depth = |name: &str| {
        let mut depth = 0usize;
        let mut current = parents.get(name).cloned().flatten();
        while let Some(parent) = current {
            depth += 1;
            if depth > parents.len() {
                break; // a cycle would be a server bug; do not loop forever
            }
            current = parents.get(&parent).cloned().flatten();
        }
        depth
    };
    snapshots.sort_by_cached_key(|s| (s.snaptime.unwrap_or(0), depth(&s.name), s.name.clone()));
}

impl PveClient {
    /// The container's snapshots (without the `current` pseudo-entry), ordered parent first
    /// where the chain allows, else by time. A missing container is [`PveError::NotFound`].
    pub async fn list_snapshots(
        &self,
        node: &str,
        ct_id: u32,
    ) -> Result<Vec<SnapshotInfo>, PveError> {
        self.list_snapshots_within(node, ct_id, &self.default_deadline())
            .await
    }

    pub async fn list_snapshots_within(
        &self,
        node: &str,
        ct_id: u32,
        deadline: &Deadline,
    ) -> Result<Vec<SnapshotInfo>, PveError> {
        let data = self
            .get(
                &self.lxc(node, ct_id).path("snapshot"),
                &Params::new(),
                deadline,
            )
            .await?;
        let mut snapshots: Vec<SnapshotInfo> = data
            .as_array()
            .map(|items| items.iter().filter_map(SnapshotInfo::from_api).collect())
            .unwrap_or_default();
        snapshots.retain(|s| s.name != "current");
        order_snapshots(&mut snapshots);
        Ok(snapshots)
    }

    /// One snapshot; `None` when it or its container does not exist (one API call).
    pub async fn get_snapshot(
        &self,
        node: &str,
        ct_id: u32,
        name: &str,
    ) -> Result<Option<SnapshotInfo>, PveError> {
        match self.list_snapshots(node, ct_id).await {
            Ok(list) => Ok(list.into_iter().find(|s| s.name == name)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Takes a snapshot and returns it as listed. Waits for the container's lock; a lost answer
    /// is settled by looking at the snapshot list, never by blindly asking again.
    pub async fn create_snapshot(
        &self,
        node: &str,
        ct_id: u32,
        name: &str,
        description: Option<&str>,
        deadline: &Deadline,
    ) -> Result<(SnapshotInfo, Vec<String>), PveError> {
        validate_snapshot_name(name)?;
        let path = self.lxc(node, ct_id).path("snapshot");
        let mut params = Params::new().text("snapname", name);
        if let Some(description) = description.and_then(normalise_description) {
            params.push("description", description);
        }
        let mut warnings = Vec::new();
        let mut outcome_was_unknown = false;
        let mut unknown_outcomes: u32 = 0;
        loop {
            match self
                .run_task(
                    Method::Post,
                    &path,
                    &params,
                    Replay::Unsafe,
                    deadline,
                    |_| false,
                )
                .await
            {
                Ok(outcome) => {
                    warnings.extend(outcome.map(|o: TaskOutcome| o.warnings).unwrap_or_default());
                    break;
                }
                Err(error) if error.outcome_unknown() => {
                    outcome_was_unknown = true;
                    unknown_outcomes += 1;
                    if unknown_outcomes > self.retry_policy().max_attempts {
                        return Err(error);
                    }
                    if self
                        .settle_lost_snapshot(node, ct_id, name, deadline)
                        .await?
                    {
                        break;
                    }
                }
                Err(PveError::TaskFailed { exitstatus, .. })
                    if outcome_was_unknown && exitstatus.contains("already used") =>
                {
                    // Our lost request took it after all.
                    if self
                        .settle_lost_snapshot(node, ct_id, name, deadline)
                        .await?
                    {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let info = self
            .list_snapshots_within(node, ct_id, deadline)
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| PveError::StillWaiting {
                message: format!(
                    "snapshot {name} of container {ct_id} was taken but is not listed"
                ),
            })?;
        Ok((info, warnings))
    }

    /// After a snapshot request whose answer was lost: true once the snapshot exists and is
    /// complete; false when it does not exist, no task holds the container's lock and a short
    /// grace has passed (then the request can be sent again).
    async fn settle_lost_snapshot(
        &self,
        node: &str,
        ct_id: u32,
        name: &str,
        deadline: &Deadline,
    ) -> Result<bool, PveError> {
        const IDLE_POLLS_BEFORE_RETRY: u32 = 3;
        let mut polls = self.retry_policy().polls();
        let mut idle_polls = 0;
        loop {
            let found = self
                .list_snapshots_within(node, ct_id, deadline)
                .await?
                .into_iter()
                .find(|s| s.name == name);
            match found {
                Some(s) if s.snapstate.is_none() => return Ok(true),
                Some(_) => {}
                None => {
                    let locked = self
                        .lxc(node, ct_id)
                        .read_config(deadline)
                        .await?
                        .and_then(|c| c.get("lock").and_then(value_text))
                        .is_some_and(|l| !l.is_empty());
                    if !locked {
                        idle_polls += 1;
                        if idle_polls >= IDLE_POLLS_BEFORE_RETRY {
                            return Ok(false);
                        }
                    }
                }
            }
            if deadline.is_expired() {
                return Err(super::api::deadline_exceeded(
                    format!("taking snapshot {name} of container {ct_id}"),
                    deadline,
                    PveError::StillWaiting {
                        message: "the answer to the snapshot request was lost and the snapshot \
                                  is not complete yet"
                            .into(),
                    },
                ));
            }
            tokio::time::sleep(polls.next_within(deadline)).await;
        }
    }

    /// Changes a snapshot's description (`PUT .../snapshot/{name}/config`), waiting for locks.
    pub async fn update_snapshot_description(
        &self,
        node: &str,
        ct_id: u32,
        name: &str,
        description: Option<&str>,
        deadline: &Deadline,
    ) -> Result<(), PveError> {
        let path = format!(
            "{}/{}/config",
            self.lxc(node, ct_id).path("snapshot"),
            segment(name)
        );
        let description = description
            .and_then(normalise_description)
            .unwrap_or_default();
        self.call(
            Method::Put,
            &path,
            &Params::new().text("description", description),
            Replay::Safe,
            deadline,
        )
        .await?;
        Ok(())
    }

    /// Deletes a snapshot; already gone (or container gone) is success.
    pub async fn delete_snapshot(
        &self,
        node: &str,
        ct_id: u32,
        name: &str,
        deadline: &Deadline,
    ) -> Result<(), PveError> {
        let path = format!(
            "{}/{}",
            self.lxc(node, ct_id).path("snapshot"),
            segment(name)
        );
        self.delete_task(&path, deadline).await
    }

    /// Rolls the container back to the snapshot (Proxmox force-stops a running container) and,
    /// with `start`, starts it again: with `start=1` in the same task where the server supports
    /// it, else with a separate start.
    pub async fn rollback(
        &self,
        node: &str,
        ct_id: u32,
        name: &str,
        start: bool,
        deadline: &Deadline,
    ) -> Result<Vec<String>, PveError> {
        let path = format!(
            "{}/{}/rollback",
            self.lxc(node, ct_id).path("snapshot"),
            segment(name)
        );
        let params = if start {
            Params::new().flag("start", true)
        } else {
            Params::new()
        };
        let mut warnings = Vec::new();
        let first = self
            .run_task(Method::Post, &path, &params, Replay::Safe, deadline, |_| {
                false
            })
            .await;
        let start_separately = match first {
            Ok(outcome) => {
                warnings.extend(outcome.map(|o| o.warnings).unwrap_or_default());
                false
            }
            Err(PveError::ParameterVerification { errors, .. })
                if start && errors.contains_key("start") =>
            {
                let outcome = self
                    .run_task(
                        Method::Post,
                        &path,
                        &Params::new(),
                        Replay::Safe,
                        deadline,
                        |_| false,
                    )
                    .await?;
                warnings.extend(outcome.map(|o| o.warnings).unwrap_or_default());
                true
            }
            Err(e) => return Err(e),
        };
        if start_separately {
            if let Some(outcome) = self.lxc(node, ct_id).start(deadline).await? {
                warnings.extend(outcome.warnings);
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn snapshot_names_follow_proxmox_rules() {
        assert!(validate_snapshot_name("pre-install").is_ok());
        assert!(validate_snapshot_name("post_install2").is_ok());
        for bad in [
            "x",
            "1abc",
            "current",
            "VZDUMP",
            "has space",
            &"a".repeat(41),
        ] {
            assert!(validate_snapshot_name(bad).is_err(), "{bad} accepted");
        }
        let text = validate_snapshot_name("current").unwrap_err().to_string();
        assert!(text.contains("reserved"), "{text}");
    }

    #[test]
    fn snapshots_taken_in_the_same_second_are_ordered_parent_first() {
        let snap = |name: &str, parent: Option<&str>| SnapshotInfo {
            name: name.into(),
            description: None,
            parent: parent.map(str::to_string),
            snaptime: Some(100),
            snaptime_rfc3339: None,
            snapstate: None,
        };
        let mut list = vec![
            snap("b-child", Some("z-root")),
            snap("z-root", None),
            snap("a-grandchild", Some("b-child")),
        ];
        order_snapshots(&mut list);
        let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["z-root", "b-child", "a-grandchild"]);
    }

    #[test]
    fn listed_snapshot_is_normalised() {
        let info = SnapshotInfo::from_api(&json!({
            "name": "pre-install", "snaptime": 1700000000, "description": "before\n", "parent": "base"
        }))
        .unwrap();
        assert_eq!(info.description.as_deref(), Some("before"));
        assert_eq!(info.parent.as_deref(), Some("base"));
        assert_eq!(
            info.snaptime_rfc3339.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        let bare = SnapshotInfo::from_api(&json!({"name": "x1", "snaptime": 0, "description": ""}))
            .unwrap();
        assert_eq!(
            (bare.description, bare.snaptime, bare.parent),
            (None, None, None)
        );
    }
}
