//! Operations on one container through its handle [`Lxc`] (`client.lxc(node, ct_id)`): read,
//! create, update, delete and power. The handle builds the container's paths; nothing here
//! formats a container path by hand.

use serde_json::Value;

use super::diff::{
    config_changes, create_params, is_the_container_we_asked_for, split_root_only_create,
    ConfigChanges,
};
use super::{ApplyOutcome, ContainerSpec, ContainerState};
use crate::api::{segment, Method, Params, PveClient, Replay};
use crate::error::PveError;
use crate::normalise::{value_bool, value_text, value_u64};
use crate::retry::Deadline;
use crate::task::TaskOutcome;

fn is_already_running(error: &PveError) -> bool {
    error
        .server_message()
        .is_some_and(|m| m.contains("already running"))
}

fn is_not_running(error: &PveError) -> bool {
    error
        .server_message()
        .is_some_and(|m| m.contains("not running"))
}
/// One container's handle: `client.lxc(node, ct_id)`. It builds the container's paths
/// (`/nodes/{node}/lxc/{ct_id}/...`) and carries its operations.
#[derive(Debug, Clone)]
pub struct Lxc<'c> {
    client: &'c PveClient,
    node: String,
    ct_id: u32,
    base: String,
}

impl PveClient {
    /// The handle of container `ct_id` on `node`.
    pub fn lxc(&self, node: &str, ct_id: u32) -> Lxc<'_> {
        Lxc {
            client: self,
            node: node.to_string(),
            ct_id,
            base: format!("/nodes/{}/lxc/{ct_id}", segment(node)),
        }
    }
}

impl Lxc<'_> {
    /// `/nodes/{node}/lxc/{ct_id}/{sub}` (`sub` empty: the container itself).
    pub fn path(&self, sub: &str) -> String {
        if sub.is_empty() {
            self.base.clone()
        } else {
            format!("{}/{sub}", self.base)
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn ct_id(&self) -> u32 {
        self.ct_id
    }

    async fn get(&self, sub: &str, deadline: &Deadline) -> Result<Value, PveError> {
        self.client
            .get(&self.path(sub), &Params::new(), deadline)
            .await
    }

    /// A task on one of the container's paths (lock-aware, see [`PveClient::run_task`]).
    async fn task(
        &self,
        method: Method,
        sub: &str,
        params: &Params,
        deadline: &Deadline,
        done: impl Fn(&PveError) -> bool,
    ) -> Result<Option<TaskOutcome>, PveError> {
        self.client
            .run_task(
                method,
                &self.path(sub),
                params,
                Replay::Safe,
                deadline,
                done,
            )
            .await
    }

    /// Reads the container with exactly two API calls (`config` and `status/current`, sent
    /// concurrently). `None` when it does not exist.
    pub async fn read(&self) -> Result<Option<ContainerState>, PveError> {
        self.read_within(&self.client.default_deadline()).await
    }

    /// [`Lxc::read`] bounded by the caller's deadline.
    pub async fn read_within(
        &self,
        deadline: &Deadline,
    ) -> Result<Option<ContainerState>, PveError> {
        let (config, status) = tokio::join!(
            self.get("config", deadline),
            self.get("status/current", deadline)
        );
        let config = match config {
            Ok(config) => config,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let status = match status {
            Ok(status) => status,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(ContainerState::from_api(
            &self.node, self.ct_id, &config, &status,
        )))
    }

    /// The raw config only (one call); `None` when the container does not exist.
    pub(crate) async fn read_config(&self, deadline: &Deadline) -> Result<Option<Value>, PveError> {
        match self.get("config", deadline).await {
            Ok(config) => Ok(Some(config)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Brings the container to `desired`: config PUT with the digest for changed keys only,
    /// resize when the disk grows, start/stop for `started`, and a reboot only when changes are
    /// still pending on a running container that was not just started.
    ///
    /// `prior` should be a recent [`Lxc::read`]: its values decide what is sent and its digest
    /// guards the PUT. If the container changed since (digest conflict) or the answer is lost,
    /// it is read again and what is still to change is sent again. The power state is always
    /// read fresh.
    pub async fn update(
        &self,
        prior: &ContainerState,
        desired: &ContainerSpec,
        deadline: &Deadline,
    ) -> Result<ApplyOutcome, PveError> {
        let mut first_changes = config_changes(prior, desired)?;
        let root_changes = first_changes.split_root_only(prior, desired);
        let shell = self.client.root_shell().cloned();
        if !root_changes.is_empty() && shell.is_none() {
            if let Some(reason) =
                desired.root_only_conflict(self.client.can_change_root_only_options())
            {
                return Err(PveError::Invalid { message: reason });
            }
            // root@pam: everything goes through the API.
            first_changes.set.extend(root_changes.set.iter().cloned());
            first_changes
                .delete
                .extend(root_changes.delete.iter().cloned());
        }
        let growth = first_changes.grow.clone();
        let detached = first_changes.detached.clone();
        let mut warnings = Vec::new();
        let mut changed_config = self
            .put_config_changes(prior, desired, first_changes, deadline)
            .await?;
        if let Some(shell) = shell.filter(|_| !root_changes.is_empty()) {
            self.pct_set(shell.as_ref(), &root_changes.set, &root_changes.delete)
                .await?;
            changed_config = true;
        }
        for (disk, size) in growth {
            let params = Params::new()
                .text("disk", disk)
                .text("size", format!("{size}G"));
            let outcome = self
                .task(Method::Put, "resize", &params, deadline, |e| {
                    e.server_message()
                        .is_some_and(|m| m.contains("already at specified size"))
                })
                .await?;
            if let Some(outcome) = outcome {
                warnings.extend(outcome.warnings);
            }
        }
        let mut started_now = false;
        // The power state decides start/stop/reboot, so read it now rather than trust `prior`.
        let running = self.is_running(deadline).await?;
        if desired.started && !running {
            if let Some(outcome) = self.start(deadline).await? {
                warnings.extend(outcome.warnings);
            }
            started_now = true;
        } else if !desired.started && running {
            if let Some(outcome) = self.shutdown(deadline).await? {
                warnings.extend(outcome.warnings);
            }
        }
        let mut rebooted = false;
        let mut pending = false;
        if changed_config && desired.started && !started_now {
            pending = !self.pending_changes(deadline).await?.is_empty();
            if pending {
                if let Some(outcome) = self.reboot(deadline).await? {
                    warnings.extend(outcome.warnings);
                }
                rebooted = true;
                pending = false;
            }
        }
        let mut state = self
            .read_within(deadline)
            .await?
            .ok_or_else(|| self.vanished("GET", "config", "during the update"))?;
        if desired.delete_detached_volumes
            && !detached.is_empty()
            && self.delete_unused(&state, &detached, deadline).await?
        {
            state = self
                .read_within(deadline)
                .await?
                .ok_or_else(|| self.vanished("GET", "config", "during the update"))?;
        }
        state.pending_reboot = Some(pending);
        Ok(ApplyOutcome {
            state,
            rebooted,
            warnings,
        })
    }

    /// Applies root-only options with `pct set` on the node through `shell`.
    async fn pct_set(
        &self,
        shell: &dyn crate::api::RootShell,
        set: &[(String, String)],
        delete: &[String],
    ) -> Result<(), PveError> {
        let keys: Vec<&str> = set
            .iter()
            .map(|(k, _)| k.as_str())
            .chain(delete.iter().map(String::as_str))
            .collect();
        tracing::debug!(
            ct_id = self.ct_id,
            ?keys,
            "applying root-only options with pct set"
        );
        shell
            .pct_set(&self.node, self.ct_id, set, delete)
            .await
            .map_err(|message| PveError::Invalid {
                message: format!(
                    "container {} on node {}: applying {} with `pct set` on the node failed: {message}",
                    self.ct_id,
                    self.node,
                    keys.join(", ")
                ),
            })
    }

    /// Deletes the `unused<n>` entries (and so the volumes) among `volumes`; returns whether any
    /// was deleted. A volume whose mount point removal still waits for a reboot is not unused yet
    /// and is left alone.
    async fn delete_unused(
        &self,
        state: &ContainerState,
        volumes: &[String],
        deadline: &Deadline,
    ) -> Result<bool, PveError> {
        let keys: Vec<String> = state
            .slots
            .unused
            .iter()
            .filter(|(_, volume)| volumes.contains(volume))
            .map(|(i, _)| format!("unused{i}"))
            .collect();
        if keys.is_empty() {
            return Ok(false);
        }
        let mut params = Params::new().text("delete", keys.join(","));
        if let Some(digest) = &state.digest {
            params.push("digest", digest.clone());
        }
        tracing::debug!(ct_id = self.ct_id, ?keys, "deleting detached volumes");
        self.client
            .call(
                Method::Put,
                &self.path("config"),
                &params,
                Replay::Unsafe,
                deadline,
            )
            .await?;
        Ok(true)
    }

    fn vanished(&self, method: &str, sub: &str, when: &str) -> PveError {
        PveError::NotFound {
            call: crate::error::Call::new(method, &self.path(sub)),
            message: format!("container {} disappeared {when}", self.ct_id),
        }
    }

    /// PUTs the config changes with the digest; on a digest conflict or a lost answer, reads the
    /// container again and recomputes what is still to change. Returns whether anything was sent.
    async fn put_config_changes(
        &self,
        prior: &ContainerState,
        desired: &ContainerSpec,
        first_changes: ConfigChanges,
        deadline: &Deadline,
    ) -> Result<bool, PveError> {
        const MAX_ROUNDS: u32 = 5;
        let path = self.path("config");
        let mut changes = first_changes;
        let mut digest = prior.digest.clone();
        let mut sent = false;
        let mut round = 0;
        loop {
            if changes.is_empty() {
                return Ok(sent);
            }
            let mut params = Params::new();
            for (key, value) in &changes.set {
                params.push(key, value.clone());
            }
            if !changes.delete.is_empty() {
                params.push("delete", changes.delete.join(","));
            }
            if let Some(digest) = &digest {
                params.push("digest", digest.clone());
            }
            tracing::debug!(ct_id = self.ct_id, keys = ?changes.keys(), "updating container config");
            match self
                .client
                .call(Method::Put, &path, &params, Replay::Unsafe, deadline)
                .await
            {
                Ok(_) => return Ok(true),
                Err(error)
                    if (matches!(error, PveError::Conflict { .. }) || error.outcome_unknown())
                        && round + 1 < MAX_ROUNDS
                        && !deadline.is_expired() =>
                {
                    tracing::debug!(error = %error, "config changed or answer lost; re-reading");
                    sent = true;
                    round += 1;
                    let current = self
                        .read_within(deadline)
                        .await?
                        .ok_or_else(|| self.vanished("GET", "config", "during the update"))?;
                    digest = current.digest.clone();
                    changes = config_changes(&current, desired)?;
                    if self.client.root_shell().is_some() {
                        changes.split_root_only(&current, desired);
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Whether the container runs now (`GET .../status/current`).
    pub async fn is_running(&self, deadline: &Deadline) -> Result<bool, PveError> {
        let status = self.get("status/current", deadline).await?;
        Ok(status.get("status").and_then(Value::as_str) == Some("running"))
    }

    /// The keys with changes waiting for a reboot (`GET .../pending`).
    pub async fn pending_changes(&self, deadline: &Deadline) -> Result<Vec<String>, PveError> {
        let data = self.get("pending", deadline).await?;
        Ok(data
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|item| {
                        item.get("pending").is_some()
                            || item
                                .get("delete")
                                .and_then(value_u64)
                                .is_some_and(|d| d > 0)
                    })
                    .filter_map(|item| item.get("key").and_then(value_text))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Stops (if running) and destroys the container with `purge=1` and
    /// `destroy-unreferenced-disks=1`. Already gone is success. Refuses if protection is set.
    pub async fn delete(&self, deadline: &Deadline) -> Result<(), PveError> {
        let ct_id = self.ct_id;
        for _round in 0..5 {
            let Some(config) = self.read_config(deadline).await? else {
                return Ok(());
            };
            if config.get("protection").and_then(value_bool) == Some(true) {
                return Err(PveError::Protected {
                    call: crate::error::Call::new("DELETE", &self.path("")),
                    message: format!("can't remove CT {ct_id} - protection mode enabled"),
                });
            }
            let status = match self.get("status/current", deadline).await {
                Ok(status) => status,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            if status.get("status").and_then(Value::as_str) == Some("running") {
                match self.stop(deadline).await {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let params = Params::new()
                .flag("purge", true)
                .flag("destroy-unreferenced-disks", true);
            let result = self
                .task(Method::Delete, "", &params, deadline, |e| e.is_not_found())
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e)
                    if e.server_message()
                        .is_some_and(|m| m.contains("container is running"))
                        && !deadline.is_expired() =>
                {
                    continue;
                }
                Err(e @ PveError::TaskFailed { .. }) => {
                    // The destroy task may fail after removing the config; gone is gone.
                    if self.read_config(deadline).await?.is_none() {
                        return Ok(());
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(PveError::Invalid {
            message: format!(
                "container {ct_id} on node {} kept being started again while we tried to \
                 destroy it; stop whatever starts it and destroy again",
                self.node
            ),
        })
    }

    /// Starts the container; already running is success (`Ok(None)`).
    pub async fn start(&self, deadline: &Deadline) -> Result<Option<TaskOutcome>, PveError> {
        self.task(
            Method::Post,
            "status/start",
            &Params::new(),
            deadline,
            is_already_running,
        )
        .await
    }

    /// Stops the container at once (no shutdown); not running is success (`Ok(None)`).
    pub async fn stop(&self, deadline: &Deadline) -> Result<Option<TaskOutcome>, PveError> {
        self.task(
            Method::Post,
            "status/stop",
            &Params::new(),
            deadline,
            is_not_running,
        )
        .await
    }

    /// Shuts the container down cleanly, forcing a stop after at most 60 s (or what is left of
    /// the deadline); not running is success (`Ok(None)`).
    pub async fn shutdown(&self, deadline: &Deadline) -> Result<Option<TaskOutcome>, PveError> {
        let timeout = deadline.remaining().as_secs().clamp(1, 60);
        let params = Params::new()
            .flag("forceStop", true)
            .num("timeout", timeout);
        self.task(
            Method::Post,
            "status/shutdown",
            &params,
            deadline,
            is_not_running,
        )
        .await
    }

    /// Reboots the running container (applies pending changes); not running is success.
    pub async fn reboot(&self, deadline: &Deadline) -> Result<Option<TaskOutcome>, PveError> {
        let timeout = deadline.remaining().as_secs().clamp(1, 60);
        let params = Params::new().num("timeout", timeout);
        self.task(
            Method::Post,
            "status/reboot",
            &params,
            deadline,
            is_not_running,
        )
        .await
    }
}

impl PveClient {
    /// Creates container `spec.ct_id` on `spec.node` (`POST /nodes/{node}/lxc`), waits for the
    /// task, starts it if `started`, and returns its state.
    pub async fn create(
        &self,
        spec: &ContainerSpec,
        deadline: &Deadline,
    ) -> Result<ApplyOutcome, PveError> {
        let shell = self.root_shell().cloned();
        let (api_spec, root_options) = match &shell {
            Some(_) => split_root_only_create(spec),
            None => {
                if let Some(reason) = spec.root_only_conflict(self.can_change_root_only_options()) {
                    return Err(PveError::Invalid { message: reason });
                }
                (spec.clone(), Vec::new())
            }
        };
        let mut warnings = Vec::new();
        self.create_container(&api_spec, deadline, &mut warnings)
            .await?;
        let exists = |source: PveError| PveError::ContainerExists {
            node: spec.node.clone(),
            ct_id: spec.ct_id,
            source: Box::new(source),
        };
        if let Some(shell) = shell.filter(|_| !root_options.is_empty()) {
            self.lxc(&spec.node, spec.ct_id)
                .pct_set(shell.as_ref(), &root_options, &[])
                .await
                .map_err(exists)?;
        }
        if spec.started {
            let outcome = self
                .lxc(&spec.node, spec.ct_id)
                .start(deadline)
                .await
                .map_err(exists)?;
            if let Some(outcome) = outcome {
                warnings.extend(outcome.warnings);
            }
        }
        let mut state = self
            .lxc(&spec.node, spec.ct_id)
            .read_within(deadline)
            .await
            .map_err(exists)?
            .ok_or_else(|| {
                exists(PveError::StillWaiting {
                    message: "the container vanished right after it was created".into(),
                })
            })?;
        state.pending_reboot = Some(false);
        Ok(ApplyOutcome {
            state,
            rebooted: false,
            warnings,
        })
    }

    /// The create call and its task, with the adopt-if-ours handling of unknown outcomes.
    async fn create_container(
        &self,
        spec: &ContainerSpec,
        deadline: &Deadline,
        warnings: &mut Vec<String>,
    ) -> Result<(), PveError> {
        let path = format!("/nodes/{}/lxc", segment(&spec.node));
        let params = create_params(spec);
        let policy = self.retry_policy();
        let mut backoff = policy.backoff();
        let mut outcome_was_unknown = false;
        let mut unknown_outcomes: u32 = 0;
        loop {
            let answer = self
                .call(Method::Post, &path, &params, Replay::Unsafe, deadline)
                .await;
            match answer {
                Ok(envelope) => {
                    let upid = envelope.data.as_str().ok_or_else(|| PveError::Protocol {
                        call: crate::error::Call::new("POST", &path),
                        message: "expected a task id (UPID) as the answer".into(),
                    })?;
                    let outcome = match self.wait_task(upid, deadline).await {
                        Ok(outcome) => outcome,
                        Err(error @ PveError::TaskFailed { .. }) => {
                            self.remove_remains_of_failed_create(spec, deadline).await;
                            return Err(error);
                        }
                        Err(error) => return Err(error),
                    };
                    warnings.extend(outcome.warnings);
                    return Ok(());
                }
                Err(error) if error.outcome_unknown() => {
                    outcome_was_unknown = true;
                    unknown_outcomes += 1;
                    if unknown_outcomes > policy.max_attempts {
                        return Err(error);
                    }
                    tracing::debug!(ct_id = spec.ct_id, error = %error, "create outcome unknown");
                }
                Err(PveError::AlreadyExists { .. }) if outcome_was_unknown => {}
                Err(error) => return Err(error),
            }
            // The outcome is unknown: look before doing anything again.
            match self.settle_unknown_create(spec, deadline).await? {
                Settled::Ours => {
                    tracing::info!(
                        ct_id = spec.ct_id,
                        "create answer was lost; adopted the container it created"
                    );
                    return Ok(());
                }
                Settled::Absent => {
                    if !backoff.pause(deadline).await {
                        return Err(crate::api::deadline_exceeded(
                            format!("creating container {}", spec.ct_id),
                            deadline,
                            PveError::StillWaiting {
                                message: "the connection dropped during create and the \
                                          container does not exist"
                                    .into(),
                            },
                        ));
                    }
                }
            }
        }
    }

    /// A failed create task leaves nothing behind: Proxmox normally removes what it made, and
    /// whatever is left under the id is the remains of our own create (the POST was accepted,
    /// so the id was free), which is destroyed so that the next apply can create it afresh.
    async fn remove_remains_of_failed_create(&self, spec: &ContainerSpec, deadline: &Deadline) {
        let lxc = self.lxc(&spec.node, spec.ct_id);
        if let Ok(Some(_)) = lxc.read_config(deadline).await {
            tracing::info!(
                ct_id = spec.ct_id,
                "removing what the failed create task left"
            );
            if let Err(e) = lxc.delete(deadline).await {
                tracing::warn!(ct_id = spec.ct_id, error = %e, "could not remove what the failed create left");
            }
        }
    }

    /// After a create whose answer was lost: wait while the container is being created
    /// (`lock: create`), then adopt it if it is ours, fail if it is someone else's, or report
    /// that it does not exist (so the create can be sent again).
    async fn settle_unknown_create(
        &self,
        spec: &ContainerSpec,
        deadline: &Deadline,
    ) -> Result<Settled, PveError> {
        let mut polls = self.retry_policy().polls();
        loop {
            let Some(state) = self
                .lxc(&spec.node, spec.ct_id)
                .read_within(deadline)
                .await?
            else {
                return Ok(Settled::Absent);
            };
            if state.lock.as_deref() == Some("create") {
                if deadline.is_expired() {
                    return Err(crate::api::deadline_exceeded(
                        format!("creating container {}", spec.ct_id),
                        deadline,
                        PveError::StillWaiting {
                            message: "the container is still being created (lock: create)".into(),
                        },
                    ));
                }
                tokio::time::sleep(polls.next_within(deadline)).await;
                continue;
            }
            if is_the_container_we_asked_for(&state, spec) {
                return Ok(Settled::Ours);
            }
            return Err(PveError::Invalid {
                message: format!(
                    "the connection dropped while creating container {ct} on node {node}, and \
                     container {ct} now exists but does not match what was asked for (hostname \
                     {found:?}, wanted {wanted:?}); it was not adopted. Check who created it; \
                     import it or choose another ct_id",
                    ct = spec.ct_id,
                    node = spec.node,
                    found = state.hostname,
                    wanted = spec.hostname
                ),
            });
        }
    }
}

enum Settled {
    Ours,
    Absent,
}
