//! `ralf_snapshot`: a named snapshot of a service container (`pre-install`, `post-install`), with
//! an on-demand rollback through `rollback_trigger`. Translates between Terraform values and the
//! API client's snapshot operations in [`pve`], which wait for the container's lock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::{
    Applied, ApplyRequest, Attribute, Block, Diagnostics, Plan, PlanRequest, Resource, Schema,
    Type, Value,
};

use crate::provider::ProviderState;
use crate::tf::{opt_i64, opt_string, path};
use pve::snapshot::validate_snapshot_name;
use pve::{CtId, Deadline, SnapshotInfo};

const TIMEOUT: Duration = Duration::from_secs(600);

fn schema() -> Schema {
    Schema::new(
        0,
        Block::new("A snapshot of a container. Changing `rollback_trigger` to a new value rolls the container back to this snapshot and starts it again.")
            .attr(Attribute::computed("id", Type::String).keep_state().describe("`<node>/<ct_id>/<name>`."))
            .attr(Attribute::optional("node", Type::String).also_computed().replaces().keep_state().describe("Node of the container (defaults to the provider's `node`)."))
            .attr(Attribute::required("ct_id", Type::Number).replaces().describe("The container."))
            .attr(Attribute::required("name", Type::String).replaces().describe("2-40 characters, starting with a letter; not `current` or `vzdump`."))
            .attr(Attribute::optional("description", Type::String).describe("Description; updated in place."))
            .attr(Attribute::optional("rollback_trigger", Type::String).describe("Whenever this changes to a new non-null value, apply rolls the container back to this snapshot and starts it."))
            .attr(Attribute::computed("parent", Type::String).keep_state().describe("The snapshot this one was taken on top of."))
            .attr(Attribute::computed("snaptime", Type::String).keep_state().describe("When the snapshot was taken (RFC 3339)."))
    )
}

fn ct_id_of(v: &Value) -> Option<u32> {
    opt_i64(v.get("ct_id")).and_then(|c| u32::try_from(c).ok())
}

fn state_value(base: &Value, node: &str, ct_id: u32, info: &SnapshotInfo) -> Value {
    let mut v = base.clone();
    v.set_attr("id", Value::string(format!("{node}/{ct_id}/{}", info.name)));
    v.set_attr("node", Value::string(node));
    v.set_attr("ct_id", Value::int(i64::from(ct_id)));
    v.set_attr("name", Value::string(&info.name));
    v.set_attr("description", info.description.clone().into());
    v.set_attr("parent", info.parent.clone().into());
    v.set_attr("snaptime", info.snaptime_rfc3339.clone().into());
    v
}

/// A snapshot found under the configured name before this resource has state.
enum Existing {
    None,
    /// Provably taken by this resource: see [`existing_snapshot`].
    Ours(SnapshotInfo),
    NotOurs,
}

/// Looks for snapshot `name` of the container. It is this resource's own when the container
/// carries the provider's ownership marker (written at create time in its description, see
/// `lxc_service::provably_ours`) and the snapshot's description is the configured one; anything
/// else was taken by someone else and is never adopted.
async fn existing_snapshot(
    client: &pve::PveClient,
    node: &str,
    ct_id: u32,
    name: &str,
    description: Option<&str>,
) -> Existing {
    let Ok(Some(info)) = client.get_snapshot(node, ct_id, name).await else {
        return Existing::None;
    };
    let container_is_ours = matches!(
        client.lxc(node, ct_id).read().await,
        Ok(Some(cs)) if crate::lxc_service::carries_ownership_marker(&cs)
    );
    let wanted = description.and_then(pve::normalise::normalise_description);
    if container_is_ours && info.description == wanted {
        Existing::Ours(info)
    } else {
        Existing::NotOurs
    }
}

fn import_hint(node: &str, ct_id: u32, name: &str) -> String {
    format!(
        "Container {ct_id} already has a snapshot named {name:?} that this configuration did not take. To manage it, import it: `terraform import <address> {node}/{ct_id}/{name}` (or an import block with id = \"{node}/{ct_id}/{name}\"); otherwise choose another name."
    )
}

pub struct SnapshotResource {
    state: Arc<ProviderState>,
}

impl SnapshotResource {
    /// A snapshot already under the configured name is a plan error with the import command,
    /// unless it is provably this resource's own (then apply adopts it).
    async fn check_name_is_free(&self, planned: &Value, diags: &mut Diagnostics) {
        let Some(configured) = self.state.configured() else {
            return;
        };
        let (Some(client), Some(node), Some(ct_id), Some(name)) = (
            &configured.client,
            planned.get("node").as_str(),
            ct_id_of(planned),
            planned.get("name").as_str(),
        ) else {
            return;
        };
        let description = planned.get("description").as_str();
        if let Existing::NotOurs = existing_snapshot(client, node, ct_id, name, description).await {
            diags.error_at(
                path("name"),
                format!("Snapshot {name:?} already exists"),
                import_hint(node, ct_id, name),
            );
        }
    }

    pub fn new(state: Arc<ProviderState>) -> SnapshotResource {
        SnapshotResource { state }
    }
}

impl SnapshotResource {
    /// Where the API tells (the container exists already), refuses at plan time a snapshot of a
    /// container whose root disk lives on storage that cannot take snapshots.
    async fn check_storage_can_snapshot(&self, planned: &Value, diags: &mut Diagnostics) {
        let Some(configured) = self.state.configured() else {
            return;
        };
        let (Some(client), Some(node), Some(ct_id)) = (
            &configured.client,
            planned.get("node").as_str(),
            ct_id_of(planned),
        ) else {
            return;
        };
        let Ok(Some(container)) = client.lxc(node, ct_id).read().await else {
            return;
        };
        let Some(storage) = container.disk.as_ref().map(|d| d.storage.clone()) else {
            return;
        };
        let Ok(storages) = self.state.lookups.storages(client, node).await else {
            return;
        };
        if let Some(info) = storages.iter().find(|s| s.id == storage) {
            if !info.supports_snapshots() {
                diags.error_at(
                    path("ct_id"),
                    "Storage cannot take snapshots",
                    format!(
                        "Container {ct_id}'s root disk is on storage {storage:?} ({} storage), which cannot take snapshots. \
                         Move the disk to LVM-thin, ZFS, Ceph RBD or btrfs storage (e.g. `pct move-volume {ct_id} rootfs local-lvm`), or drop this snapshot.",
                        info.kind
                    ),
                );
            }
        }
    }
}

#[async_trait]
impl Resource for SnapshotResource {
    fn type_name(&self) -> &'static str {
        "ralf_snapshot"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(name) = config.get("name").as_str() {
            if let Err(e) = validate_snapshot_name(name) {
                diags.error_at(path("name"), "Invalid snapshot name", e.to_string());
            }
        }
        if let Some(id) = config.get("ct_id").as_f64() {
            if let Err(e) = CtId::from_number(id) {
                diags.error_at(path("ct_id"), e.summary, e.detail);
            }
        }
    }

    async fn modify_plan(&self, request: PlanRequest<'_>, plan: &mut Plan) {
        self.state.require_client_at_plan(&mut plan.diagnostics);
        if !self.state.plan_node(request.prior, request.config, plan) {
            return;
        }
        if request.prior.is_null() || !plan.requires_replace.is_empty() {
            if let (Some(node), Some(ct_id), Some(name)) = (
                plan.planned.get("node").as_str(),
                ct_id_of(&plan.planned),
                plan.planned.get("name").as_str(),
            ) {
                self.state.note_planned_snapshot(node, ct_id, name);
                plan.planned
                    .set_attr("id", Value::string(format!("{node}/{ct_id}/{name}")));
            }
        }
        if request.prior.is_null() {
            self.check_storage_can_snapshot(&plan.planned, &mut plan.diagnostics)
                .await;
            self.check_name_is_free(&plan.planned, &mut plan.diagnostics)
                .await;
        }
    }

    async fn create(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        let Some((client, _)) = self.state.client(diags) else {
            return Applied::state(Value::Null);
        };
        let node = opt_string(request.planned.get("node")).unwrap_or_default();
        let (Some(ct_id), Some(name)) = (
            ct_id_of(request.planned),
            opt_string(request.planned.get("name")),
        ) else {
            diags.error(
                "Invalid snapshot",
                "ct_id and name must be known to take a snapshot.",
            );
            return Applied::state(Value::Null);
        };
        let description = opt_string(request.planned.get("description"));
        let deadline = Deadline::after(TIMEOUT);
        match client
            .create_snapshot(&node, ct_id, &name, description.as_deref(), &deadline)
            .await
        {
            Ok((info, warnings)) => {
                for w in warnings {
                    diags.warning(
                        format!(
                            "Proxmox warned while taking snapshot {name:?} of container {ct_id}"
                        ),
                        w,
                    );
                }
                Applied::state(state_value(request.planned, &node, ct_id, &info))
            }
            Err(e) if e.to_string().contains("already used") => {
                // Work interrupted before its state was written: adopt the snapshot this
                // resource took, never one it cannot prove is its own.
                match existing_snapshot(&client, &node, ct_id, &name, description.as_deref()).await
                {
                    Existing::Ours(info) => {
                        tracing::info!(
                            ct_id,
                            name,
                            "adopting the snapshot this resource took earlier"
                        );
                        Applied::state(state_value(request.planned, &node, ct_id, &info))
                    }
                    _ => {
                        diags.error(
                            format!("Unable to take snapshot {name:?} of container {ct_id}"),
                            format!("{e}\n\n{}", import_hint(&node, ct_id, &name)),
                        );
                        Applied::state(Value::Null)
                    }
                }
            }
            Err(e) => {
                diags.error(
                    format!("Unable to take snapshot {name:?} of container {ct_id}"),
                    e.to_string(),
                );
                Applied::state(Value::Null)
            }
        }
    }

    async fn read(&self, state: &Value, _private: &[u8], diags: &mut Diagnostics) -> Value {
        let Some((client, _)) = self.state.client(diags) else {
            return state.clone();
        };
        let (Some(node), Some(ct_id), Some(name)) = (
            opt_string(state.get("node")),
            ct_id_of(state),
            opt_string(state.get("name")),
        ) else {
            diags.error("Invalid state", "This ralf_snapshot's state has no node, ct_id or name; remove it from state and import it again.");
            return state.clone();
        };
        match client.get_snapshot(&node, ct_id, &name).await {
            // Gone (or its container is gone): drop it from state so the next apply recreates it.
            Ok(None) => Value::Null,
            Ok(Some(info)) => {
                let mut v = state_value(state, &node, ct_id, &info);
                // The trigger lives only in Terraform.
                v.set_attr("rollback_trigger", state.get("rollback_trigger").clone());
                v
            }
            Err(e) => {
                diags.error(
                    format!("Unable to read snapshot {name:?} of container {ct_id}"),
                    e.to_string(),
                );
                state.clone()
            }
        }
    }

    async fn update(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        let Some((client, _)) = self.state.client(diags) else {
            return Applied::state(request.prior.clone());
        };
        let node = opt_string(request.planned.get("node")).unwrap_or_default();
        let (Some(ct_id), Some(name)) = (
            ct_id_of(request.planned),
            opt_string(request.planned.get("name")),
        ) else {
            return Applied::state(request.prior.clone());
        };
        let deadline = Deadline::after(TIMEOUT);
        let mut state = request.prior.clone();
        let description = request.planned.get("description");
        if !description.same_as(request.prior.get("description")) {
            if let Err(e) = client
                .update_snapshot_description(&node, ct_id, &name, description.as_str(), &deadline)
                .await
            {
                diags.error(
                    format!("Unable to update snapshot {name:?} of container {ct_id}"),
                    e.to_string(),
                );
                return Applied::state(state);
            }
            state.set_attr("description", description.clone());
        }
        let trigger = request.planned.get("rollback_trigger");
        if !trigger.is_null() && !trigger.same_as(request.prior.get("rollback_trigger")) {
            match client.rollback(&node, ct_id, &name, true, &deadline).await {
                Ok(warnings) => {
                    for w in warnings {
                        diags.warning(
                            format!(
                                "Proxmox warned while rolling container {ct_id} back to {name:?}"
                            ),
                            w,
                        );
                    }
                }
                Err(e) => {
                    diags.error(
                        format!("Unable to roll container {ct_id} back to snapshot {name:?}"),
                        e.to_string(),
                    );
                    return Applied::state(state);
                }
            }
        }
        state.set_attr("rollback_trigger", trigger.clone());
        Applied::state(state)
    }

    async fn delete(&self, prior: &Value, diags: &mut Diagnostics) {
        let Some((client, _)) = self.state.client(diags) else {
            return;
        };
        let (Some(node), Some(ct_id), Some(name)) = (
            opt_string(prior.get("node")),
            ct_id_of(prior),
            opt_string(prior.get("name")),
        ) else {
            return;
        };
        let deadline = Deadline::after(TIMEOUT);
        if let Err(e) = client.delete_snapshot(&node, ct_id, &name, &deadline).await {
            if !e.is_not_found() {
                diags.error(
                    format!("Unable to delete snapshot {name:?} of container {ct_id}"),
                    e.to_string(),
                );
            }
        }
    }

    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Value {
        let parts: Vec<&str> = id.split('/').collect();
        let parsed = match parts.as_slice() {
            [node, ct, name] if !node.is_empty() && !name.is_empty() => {
                ct.parse::<u32>().ok().map(|ct| (*node, ct, *name))
            }
            _ => None,
        };
        let Some((node, ct_id, name)) = parsed else {
            diags.error("Invalid import id", format!("Import id {id:?} is not `<node>/<ct_id>/<name>`; write it like `pve/4010/pre-install`."));
            return Value::Null;
        };
        let mut v = schema().block.null_object();
        v.set_attr("id", Value::string(id));
        v.set_attr("node", Value::string(node));
        v.set_attr("ct_id", Value::int(i64::from(ct_id)));
        v.set_attr("name", Value::string(name));
        v
    }
}
