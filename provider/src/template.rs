//! `ralf_template`: makes sure a container template (vztmpl) is on a storage of a node,
//! downloading it from Proxmox's appliance index as `pveam download` does. Translates between
//! Terraform values and [`pve::aplinfo`]; the plan-time look-ups come from [`crate::lookups`].
//!
//! A template may be shared by containers this configuration does not manage, so destroy keeps
//! the file unless `delete_on_destroy = true`. A template that is already on the storage when
//! the resource is created is taken over as it is, without a download.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::timeouts::{self, Operation, Timeouts};
use tfplugin::{
    Applied, ApplyRequest, Attribute, Block, Diagnostics, Plan, PlanRequest, Resource, Schema,
    Type, Value,
};

use crate::lxc_service::api_unusable_at_plan;
use crate::provider::ProviderState;
use crate::tf::{opt_bool, opt_string, path};
use pve::aplinfo::{closest_templates, template_volume_id};
use pve::{Deadline, PveError};

const DEFAULT_STORAGE: &str = "local";
/// Downloads of a few hundred MiB over a slow line take minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// Longest template name Proxmox accepts (pve-manager `PVE/API2/Nodes.pm`, `apl_download`).
const TEMPLATE_MAX: usize = 255;

fn schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(build_schema)
}

fn build_schema() -> Schema {
    Schema::new(
        0,
        Block::new("A container template (vztmpl) on a storage of a node, downloaded from Proxmox's appliance index (as `pveam download` does) when it is not there. Destroy keeps the file unless `delete_on_destroy = true`.")
            .attr(Attribute::computed("id", Type::String).keep_state().describe("`<node>/<storage>/<template>`."))
            .attr(Attribute::optional("node", Type::String).also_computed().replaces().keep_state().describe("Node to hold the template (defaults to the provider's `node`). Changing it replaces the resource."))
            .attr(Attribute::with_default("storage", Type::String, DEFAULT_STORAGE).replaces().describe("Storage for the template; it must hold `vztmpl` content. Changing it replaces the resource."))
            .attr(Attribute::required("template", Type::String).replaces().describe("The appliance's file name as `pveam available` lists it, e.g. `debian-12-standard_12.7-1_amd64.tar.zst`. Changing it replaces the resource."))
            .attr(Attribute::computed("volume_id", Type::String).keep_state().describe("The template's volume id, e.g. `local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`: what `ralf_lxc_service.template` takes."))
            .attr(Attribute::with_default("delete_on_destroy", Type::Bool, false).describe("Whether destroy deletes the template file from the storage. Off by default: other containers may use the template."))
            .block(timeouts::block(&[Operation::Create, Operation::Delete], DEFAULT_TIMEOUT)),
    )
}

/// Node, storage and template of a value, when all are known.
fn location(value: &Value) -> Option<(String, String, String)> {
    Some((
        opt_string(value.get("node"))?,
        opt_string(value.get("storage"))?,
        opt_string(value.get("template"))?,
    ))
}

fn state_value(base: &Value, node: &str, storage: &str, template: &str) -> Value {
    let mut v = base.clone();
    v.set_attr("id", Value::string(format!("{node}/{storage}/{template}")));
    v.set_attr("node", Value::string(node));
    v.set_attr("storage", Value::string(storage));
    v.set_attr("template", Value::string(template));
    v.set_attr(
        "volume_id",
        Value::string(template_volume_id(storage, template)),
    );
    if v.get("delete_on_destroy").is_null() {
        v.set_attr("delete_on_destroy", Value::Bool(false));
    }
    v
}

/// What to say about a failed download: Proxmox's answer, and where the whole task log is.
fn download_error_detail(error: &PveError, node: &str) -> String {
    match error {
        PveError::TaskFailed { upid, .. } => format!(
            "{error}\n\nThe whole task log: `pvenode task log {}` on node {node} (or the node's Tasks panel). Nothing was stored; the next apply downloads again.",
            upid.raw
        ),
        _ => error.to_string(),
    }
}

pub struct TemplateResource {
    state: Arc<ProviderState>,
}

impl TemplateResource {
    pub fn new(state: Arc<ProviderState>) -> TemplateResource {
        TemplateResource { state }
    }

    /// Plan-time checks of a new template: the storage exists and holds templates, and the
    /// template is either on it already or in the node's appliance index.
    async fn check_new(&self, node: &str, storage: &str, template: &str, diags: &mut Diagnostics) {
        let Some(configured) = self.state.configured() else {
            return;
        };
        let Some(client) = &configured.client else {
            return;
        };
        let lookups = &self.state.lookups;
        match lookups.storages(client, node).await {
            Ok(storages) => match storages.iter().find(|s| s.id == storage) {
                Some(s) if s.content.contains("vztmpl") => {}
                found => {
                    let holding: Vec<String> = storages
                        .iter()
                        .filter(|s| s.content.contains("vztmpl"))
                        .map(|s| format!("{:?}", s.id))
                        .collect();
                    let what = match found {
                        Some(s) => format!("Storage {storage:?} on node {node} ({} storage) does not hold container templates (content `vztmpl`).", s.kind),
                        None => format!("Node {node} has no storage {storage:?}."),
                    };
                    diags.error_at(
                        path("storage"),
                        "Storage cannot hold templates",
                        format!(
                            "{what} Use one that does ({}), or add `vztmpl` to its content (Datacenter > Storage > Edit, or `pvesm set {storage} --content ...,vztmpl`).",
                            if holding.is_empty() { "none does on this node".to_string() } else { holding.join(" or ") }
                        ),
                    );
                    return;
                }
            },
            Err(e) => {
                api_unusable_at_plan(
                    diags,
                    "Could not check the template storage",
                    format!("Listing storages on node {node} failed: {e}"),
                    &e,
                );
                return;
            }
        }
        let volid = template_volume_id(storage, template);
        if let Ok(present) = lookups.template_volumes(client, node, storage).await {
            if present
                .as_ref()
                .as_ref()
                .is_some_and(|v| v.contains(&volid))
            {
                return;
            }
        }
        match lookups.appliances(client, node).await {
            Ok(index) => {
                if !index.iter().any(|a| a.template == template) {
                    let near = closest_templates(template, &index, 3);
                    let hint = if near.is_empty() {
                        "Run `pveam update` and `pveam available --section system` on the node to see the names.".to_string()
                    } else {
                        format!(
                            "Did you mean {}? (`pveam available --section system` on the node lists them all.)",
                            near.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(" or ")
                        )
                    };
                    diags.error_at(
                        path("template"),
                        "Unknown template",
                        format!(
                            "Node {node}'s appliance index has no template {template:?}. {hint}"
                        ),
                    );
                }
            }
            Err(e) => api_unusable_at_plan(
                diags,
                "Could not check the template name",
                format!("Reading the appliance index of node {node} failed: {e}"),
                &e,
            ),
        }
    }
}

#[async_trait]
impl Resource for TemplateResource {
    fn type_name(&self) -> &'static str {
        "ralf_template"
    }

    fn schema(&self) -> Schema {
        schema().clone()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(template) = config.get("template").as_str() {
            if template.is_empty() || template.contains('/') || template.len() > TEMPLATE_MAX {
                diags.error_at(
                    path("template"),
                    "Invalid template",
                    format!("template {template:?} is not an appliance file name: write the name `pveam available` lists (at most {TEMPLATE_MAX} characters, no `/`), e.g. \"debian-12-standard_12.7-1_amd64.tar.zst\"; the volume id comes out as `volume_id`."),
                );
            }
        }
        timeouts::validate(config, diags);
    }

    async fn modify_plan(&self, request: PlanRequest<'_>, plan: &mut Plan) {
        self.state.require_client_at_plan(&mut plan.diagnostics);
        if !self.state.plan_node(request.prior, request.config, plan) {
            return;
        }
        let creating = request.prior.is_null() || !plan.requires_replace.is_empty();
        if !creating {
            return;
        }
        let Some((node, storage, template)) = location(&plan.planned) else {
            return;
        };
        let volid = template_volume_id(&storage, &template);
        plan.planned
            .set_attr("id", Value::string(format!("{node}/{storage}/{template}")));
        plan.planned.set_attr("volume_id", Value::string(&volid));
        self.check_new(&node, &storage, &template, &mut plan.diagnostics)
            .await;
        // Containers planned after this may name the template before it is downloaded.
        self.state.lookups.note_planned_template(&node, &volid);
    }

    async fn create(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        let Some((client, _)) = self.state.client(diags) else {
            return Applied::state(Value::Null);
        };
        let Some((node, storage, template)) = location(request.planned) else {
            diags.error(
                "Invalid template",
                "node, storage and template must be known to download a template.",
            );
            return Applied::state(Value::Null);
        };
        let volid = template_volume_id(&storage, &template);
        let deadline = Deadline::after(Timeouts::of(request.planned, DEFAULT_TIMEOUT).create);
        // Apply looks again: the plan-time listing may be old.
        let present = match client.template_volumes(&node, &storage).await {
            Ok(volumes) => volumes.is_some_and(|v| v.contains(&volid)),
            Err(e) => {
                diags.error(
                    format!("Unable to list the templates on storage {storage:?} of node {node}"),
                    e.to_string(),
                );
                return Applied::state(Value::Null);
            }
        };
        if present {
            tracing::info!(volid, "template already on the storage; taking it over");
        } else {
            match client
                .download_appliance(&node, &storage, &template, &deadline)
                .await
            {
                Ok(outcome) => {
                    for w in outcome.warnings {
                        diags.warning(
                            format!("Proxmox warned while downloading template {template:?}"),
                            w,
                        );
                    }
                    self.state.lookups.note_template_downloaded(&node, &volid);
                }
                Err(e) => {
                    diags.error(
                        format!("Unable to download template {template:?} to storage {storage:?} of node {node}"),
                        download_error_detail(&e, &node),
                    );
                    return Applied::state(Value::Null);
                }
            }
        }
        Applied::state(state_value(request.planned, &node, &storage, &template))
    }

    async fn read(&self, state: &Value, _private: &[u8], diags: &mut Diagnostics) -> Value {
        let Some((client, _)) = self.state.client(diags) else {
            return state.clone();
        };
        let Some((node, storage, template)) = location(state) else {
            diags.error("Invalid state", "The state of this ralf_template has no node, storage or template; remove it from state and import it again.");
            return state.clone();
        };
        let volid = template_volume_id(&storage, &template);
        match client.template_volumes(&node, &storage).await {
            Ok(Some(volumes)) if volumes.contains(&volid) => {
                state_value(state, &node, &storage, &template)
            }
            // Gone (or its storage is): drop it from state so the next apply downloads it again.
            Ok(_) => Value::Null,
            Err(e) => {
                diags.error(
                    format!("Unable to read template {template:?} on storage {storage:?} of node {node}"),
                    e.to_string(),
                );
                state.clone()
            }
        }
    }

    async fn update(&self, request: ApplyRequest<'_>, _diags: &mut Diagnostics) -> Applied {
        // Only delete_on_destroy and timeouts change in place; both live in Terraform alone.
        Applied::state(request.planned.clone())
    }

    async fn delete(&self, prior: &Value, diags: &mut Diagnostics) {
        let Some((node, storage, template)) = location(prior) else {
            return;
        };
        if opt_bool(prior.get("delete_on_destroy")) != Some(true) {
            tracing::info!(
                template,
                storage,
                node,
                "keeping the template file (delete_on_destroy is false)"
            );
            return;
        }
        let Some((client, _)) = self.state.client(diags) else {
            return;
        };
        let volid = template_volume_id(&storage, &template);
        let deadline = Deadline::after(Timeouts::of(prior, DEFAULT_TIMEOUT).delete);
        if let Err(e) = client
            .delete_volume(&node, &storage, &volid, &deadline)
            .await
        {
            diags.error(
                format!("Unable to delete template {volid:?} on node {node}"),
                e.to_string(),
            );
        }
    }

    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Value {
        let parts: Vec<&str> = id.splitn(3, '/').collect();
        let [node, storage, template] = parts.as_slice() else {
            diags.error("Invalid import id", format!("Import id {id:?} is not `<node>/<storage>/<template>`; write it like `pve/local/debian-12-standard_12.7-1_amd64.tar.zst`."));
            return Value::Null;
        };
        if node.is_empty() || storage.is_empty() || template.is_empty() || template.contains('/') {
            diags.error("Invalid import id", format!("Import id {id:?} is not `<node>/<storage>/<template>`; write it like `pve/local/debian-12-standard_12.7-1_amd64.tar.zst`."));
            return Value::Null;
        }
        state_value(&schema().block.null_object(), node, storage, template)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_names_the_volume_a_container_takes_and_keeps_the_file_by_default() {
        let v = state_value(
            &schema().block.null_object(),
            "pve",
            "local",
            "debian-12-standard_12.7-1_amd64.tar.zst",
        );
        assert_eq!(
            v.get("volume_id").as_str(),
            Some("local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")
        );
        assert_eq!(
            v.get("id").as_str(),
            Some("pve/local/debian-12-standard_12.7-1_amd64.tar.zst")
        );
        assert_eq!(v.get("delete_on_destroy").as_bool(), Some(false));
    }

    #[test]
    fn a_failed_download_names_the_task_log() {
        let upid = pve::Upid::parse(
            "UPID:pve:00001234:00ABCDEF:66000000:download:debian.tar.zst:root@pam!ralf:",
        )
        .unwrap();
        let error = PveError::TaskFailed {
            upid: Box::new(upid),
            exitstatus: "download failed: 404 Not Found".into(),
            log_tail: vec!["downloading http://...".into()],
        };
        let detail = download_error_detail(&error, "pve");
        assert!(
            detail.contains("pvenode task log UPID:pve:00001234"),
            "{detail}"
        );
        assert!(detail.contains("404 Not Found"), "{detail}");
    }
}
