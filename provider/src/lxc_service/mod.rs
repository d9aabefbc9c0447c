//! `ralf_lxc_service`: one service's LXC container. Translates between Terraform values and the
//! API client's [`ContainerSpec`] / [`ContainerState`]; all Proxmox behaviour lives in
//! [`pve`].
//!
//! Split along its seams: [`schema`] (the attributes), [`model`] (the configuration read once
//! into typed values, defaults and plan-time errors at their paths), [`state`] (what is read
//! back, in the user's representation), and this file (plan, apply, import).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::{Applied, ApplyRequest, Diagnostics, Plan, PlanRequest, Resource, Schema, Value};

use tfplugin::timeouts::{self, Timeouts};

use crate::provider::ProviderState;
use crate::tf::{opt_i64, opt_string, path, without_unknowns};
use pve::lxc::slots::MAX_NETWORK_INDEX;
use pve::{ContainerSpec, ContainerState, Deadline, PveError};

mod model;
mod schema;
mod state;

use model::{assign_indexes, defaults, preferred_network_index, Service};
use schema::schema;
use state::{compose_description, ipv4_of, split_description, state_value};

/// Private-state marker of a plan that replaces the container with this ct_id.
const REPLACING: &str = "replacing:";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The API client's spec for a planned (or prior) value on `node`.
fn spec_from(value: &Value, node: &str) -> ContainerSpec {
    let service = Service::read(value, &mut Diagnostics::new());
    let description = compose_description(
        service.description.as_deref(),
        service.template.as_deref().unwrap_or_default(),
    );
    service.to_spec(node, description)
}

fn validate(config: &Value, diags: &mut Diagnostics) {
    model::validate(config, diags);
    timeouts::validate(config, diags);
}

fn ct_id_of(value: &Value) -> Option<u32> {
    opt_i64(value.get("ct_id")).and_then(|c| u32::try_from(c).ok())
}

fn api_error(diags: &mut Diagnostics, action: &str, ct_id: u32, e: &PveError) {
    diags.error(
        format!("Unable to {action} container {ct_id}"),
        e.to_string(),
    );
}

/// Whether a container found under a resource's ct_id was created by this provider for this
/// resource: its description carries the provider's marker (written at create time, see
/// `compose_description`) naming the configured template, and its hostname is the configured one.
/// Anything else is someone else's and is never adopted.
fn provably_ours(found: &ContainerState, spec: &ContainerSpec) -> bool {
    let (_, template) = split_description(found.description.as_deref());
    template.as_deref() == Some(spec.template.as_str())
        && found.hostname.as_deref() == Some(spec.hostname.as_str())
}

/// A failed plan-time look-up: an error when the API is unusable as configured (credentials,
/// TLS, permissions, an unknown node: nothing will work at apply either), a warning when the
/// failure may pass (a transient server or network error).
pub(crate) fn api_unusable_at_plan(
    diags: &mut Diagnostics,
    summary: &str,
    detail: String,
    error: &PveError,
) {
    if error.is_permanent() {
        diags.error(summary, detail);
    } else {
        diags.warning(summary, detail);
    }
}

/// Whether the container carries the ownership marker this provider writes at create time.
pub(crate) fn carries_ownership_marker(found: &ContainerState) -> bool {
    split_description(found.description.as_deref()).1.is_some()
}

/// How to bring an existing container under this resource.
fn import_hint(node: &str, ct_id: u32) -> String {
    format!(
        "It is not managed by this configuration. To manage it, import it: `terraform import <address> {node}/{ct_id}` (or an import block with id = \"{node}/{ct_id}\"); otherwise choose another ct_id."
    )
}

/// The state to record after a failed step on a container that exists: as read back where
/// possible, else the plan with its unknowns nulled. Never holds an unknown value.
async fn partial_state(
    client: &pve::PveClient,
    node: &str,
    spec: &ContainerSpec,
    planned: &Value,
) -> Value {
    if let Ok(Some(cs)) = client.lxc(node, spec.ct_id).read().await {
        return without_unknowns(&state_value(&cs, planned));
    }
    let mut partial = without_unknowns(planned);
    partial.set_attr("id", Value::string(format!("{node}/{}", spec.ct_id)));
    partial
}

// ---------------------------------------------------------------------------------------------
// The resource

pub struct LxcServiceResource {
    state: Arc<ProviderState>,
}

impl LxcServiceResource {
    pub fn new(state: Arc<ProviderState>) -> LxcServiceResource {
        LxcServiceResource { state }
    }

    /// Whether the container under the planned ct_id on `node` is provably this resource's.
    async fn is_ours(&self, client: &pve::PveClient, node: &str, planned: &Value) -> bool {
        let spec = spec_from(planned, node);
        matches!(
            client.lxc(node, spec.ct_id).read().await,
            Ok(Some(found)) if provably_ours(&found, &spec)
        )
    }

    /// Plan-time checks that need the provider configuration or the API.
    async fn check_plan(&self, request: &PlanRequest<'_>, plan: &mut Plan) {
        let Some(configured) = self.state.configured() else {
            return;
        };
        if configured.client.is_some()
            && !configured.root_pam_login
            && !configured.root_only_over_ssh
        {
            check_root_only(&plan.planned, &mut plan.diagnostics);
        }
        if !request.prior.is_null() {
            check_no_shrink(request.prior, &plan.planned, &mut plan.diagnostics);
        }
        self.plan_time_lookups(request, plan, &configured).await;
    }

    /// The plan-time look-ups against the API (ct_id free, template and storage present), all
    /// in this one function.
    async fn plan_time_lookups(
        &self,
        request: &PlanRequest<'_>,
        plan: &mut Plan,
        configured: &crate::provider::Configured,
    ) {
        let planned = &plan.planned;
        // ct_id already used by a container this state does not hold (during a replacement the
        // id may still belong to the container being replaced).
        let replacing_same_id = ct_id_of(planned)
            .is_some_and(|id| request.prior_private == format!("{REPLACING}{id}").as_bytes());
        if request.prior.is_null() && !replacing_same_id {
            if let (Some(client), Some(ct_id)) = (&configured.client, ct_id_of(planned)) {
                match self.state.lookups.ct_id_in_use(client, ct_id).await {
                    Ok(Some(found))
                        if found.kind == "lxc"
                            && self.is_ours(client, &found.node, planned).await =>
                    {
                        tracing::info!(
                            ct_id,
                            "ct_id holds a container this resource created; apply adopts it"
                        );
                    }
                    Ok(Some(found)) => plan.diagnostics.error_at(
                        path("ct_id"),
                        format!("ct_id {ct_id} is already used"),
                        format!(
                            "The cluster already has a {} with id {ct_id} on node {}{}. {}",
                            if found.kind == "qemu" {
                                "VM"
                            } else {
                                "container"
                            },
                            found.node,
                            found
                                .name
                                .map(|n| format!(" (named {n:?})"))
                                .unwrap_or_default(),
                            import_hint(&found.node, ct_id)
                        ),
                    ),
                    Ok(None) => {}
                    Err(e) => api_unusable_at_plan(
                        &mut plan.diagnostics,
                        "Could not check whether ct_id is free",
                        format!("Looking up ct_id {ct_id} on the cluster failed: {e}"),
                        &e,
                    ),
                }
            }
        }
        if request.prior.is_null() {
            if let (Some(client), Some(node)) = (&configured.client, planned.get("node").as_str()) {
                let lookups = &self.state.lookups;
                check_template_and_storage(lookups, client, node, planned, &mut plan.diagnostics)
                    .await;
            }
        }
    }
}

/// Root-only settings (pve-container's `check_ct_modify_config_perm` in src/PVE/LXC.pm) with
/// credentials that may not set them: an error at each, naming the three ways out.
fn check_root_only(planned: &Value, diags: &mut Diagnostics) {
    const WAYS_OUT: &str = "Proxmox VE lets only root@pam itself set this, and refuses it to every other user and every API token (even root@pam's). Three ways out: \
        (1) configure the provider with username = \"root@pam\" and password (or PROXMOX_VE_USERNAME / PROXMOX_VE_PASSWORD) instead of api_token; \
        (2) set root_only_over_ssh = true in the provider block, with its ssh block, so the provider applies these settings with `pct set` on the node; \
        (3) remove the setting.";
    let features = planned.get("features");
    let unprivileged = planned.get("unprivileged").as_bool() != Some(false);
    for flag in ["keyctl", "fuse"] {
        if features.get(flag).as_bool() == Some(true) {
            diags.error_at(
                path("features").attr(flag),
                format!("{flag} needs root@pam"),
                format!("The feature flag {flag}: {WAYS_OUT}"),
            );
        }
    }
    if !unprivileged && features.get("nesting").as_bool() == Some(true) {
        diags.error_at(path("features").attr("nesting"), "Feature flags of a privileged container need root@pam", format!("nesting on a privileged container (unprivileged = false): {WAYS_OUT} Or set unprivileged = true."));
    }
    if let Some(mounts) = planned.get("mount_points").entries() {
        for (mount_path, mp) in mounts {
            if mp.get("host_path").as_str().is_some() {
                diags.error_at(
                    path("mount_points").key(mount_path).attr("host_path"),
                    "Bind mounts need root@pam",
                    format!(
                        "The bind mount of {:?} at {mount_path:?}: {WAYS_OUT}",
                        mp.get("host_path").as_str().unwrap_or_default()
                    ),
                );
            }
        }
    }
    if let Some(devices) = planned.get("devices").entries() {
        for device_path in devices.keys() {
            diags.error_at(
                path("devices").key(device_path),
                "Device passthrough needs root@pam",
                format!("Passing {device_path:?} through: {WAYS_OUT}"),
            );
        }
    }
}

/// The root disk and volume mount points grow only, and a mount point's volume stays on its
/// storage: errors at the attribute's path.
fn check_no_shrink(prior: &Value, planned: &Value, diags: &mut Diagnostics) {
    let shrink = |diags: &mut Diagnostics,
                  at: tfplugin::AttributePath,
                  what: &str,
                  size: i64,
                  prior_size: i64| {
        diags.error_at(
            at,
            format!("{what} cannot shrink"),
            format!(
                "{what} {size} GiB is smaller than the current {prior_size} GiB, and Proxmox VE cannot shrink a container volume. \
                 Keep size = {prior_size} (or larger), or recreate the container: `terraform apply -replace=<address>` (its data is lost unless backed up)."
            ),
        );
    };
    if let (Some(size), Some(prior_size)) = (
        planned.get("disk").get("size").as_i64(),
        prior.get("disk").get("size").as_i64(),
    ) {
        if size < prior_size {
            shrink(diags, path("disk").attr("size"), "Disk", size, prior_size);
        }
    }
    let Some(mounts) = planned.get("mount_points").entries() else {
        return;
    };
    for (mount_path, mp) in mounts {
        let before = prior.get("mount_points").get(mount_path);
        if before.is_null() {
            continue;
        }
        let at = || path("mount_points").key(mount_path);
        if let (Some(size), Some(prior_size)) =
            (mp.get("size").as_i64(), before.get("size").as_i64())
        {
            if size < prior_size {
                shrink(
                    diags,
                    at().attr("size"),
                    &format!("Mount point {mount_path:?}"),
                    size,
                    prior_size,
                );
            }
        }
        if let (Some(storage), Some(prior_storage)) =
            (mp.get("storage").as_str(), before.get("storage").as_str())
        {
            if storage != prior_storage {
                diags.error_at(at().attr("storage"), "A mount point's volume does not move", format!("The volume of {mount_path:?} is on storage {prior_storage:?}; the provider does not move it to {storage:?}. Keep storage = {prior_storage:?}, or move the volume in Proxmox (Move Volume) and then change storage here."));
            }
        }
    }
}

/// Plan-time checks of a new container against the node: the template exists, and the disk's
/// storage exists and can hold container disks. A failed look-up only warns.
async fn check_template_and_storage(
    lookups: &crate::lookups::Lookups,
    client: &pve::PveClient,
    node: &str,
    planned: &Value,
    diags: &mut Diagnostics,
) {
    if let Some(template) = planned.get("template").as_str() {
        match lookups.template_exists(client, node, template).await {
            Ok(true) => {}
            Ok(false) => diags.error_at(
                path("template"),
                "Template not found",
                format!(
                    "The template {template:?} does not exist on node {node}. List what is there with `pveam list local` on the node,                      and download a template with e.g. `pveam download local ubuntu-24.04-standard_24.04-2_amd64.tar.zst`."
                ),
            ),
            Err(e) => api_unusable_at_plan(diags, "Could not check the template", format!("Listing templates on node {node} failed: {e}"), &e),
        }
    }
    let storage = opt_string(planned.get("disk").get("storage"))
        .unwrap_or_else(|| defaults::DISK_STORAGE.into());
    if planned.get("disk").get("storage").is_unknown() {
        return;
    }
    match lookups.storages(client, node).await {
        Ok(storages) => match storages.iter().find(|s| s.id == storage) {
            Some(s) if s.holds_containers() => {}
            Some(s) => diags.error_at(
                path("disk").attr("storage"),
                "Storage cannot hold container disks",
                format!(
                    "Storage {storage:?} on node {node} ({} storage) does not hold container disks (content `rootdir`). Use one that does, e.g. {}.",
                    s.kind,
                    storages.iter().filter(|s| s.holds_containers()).map(|s| format!("{:?}", s.id)).collect::<Vec<_>>().join(" or ")
                ),
            ),
            None => diags.error_at(
                path("disk").attr("storage"),
                "Storage not found",
                format!(
                    "Node {node} has no storage {storage:?}. Its storages are: {}.",
                    storages.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ),
        },
        Err(e) => api_unusable_at_plan(diags, "Could not check the disk storage", format!("Listing storages on node {node} failed: {e}"), &e),
    }
}

/// The computed parts of a plan the generic pipeline leaves unknown but the provider knows:
/// the defaults of `disk` and `features` for a new container, no networks when none are
/// written, the slot index of every new map element, and the `volume` of a bind mount.
fn fill_computed(prior: &Value, config: &Value, planned: &mut Value) {
    if planned.get("disk").is_unknown() && config.get("disk").is_null() {
        planned.set_attr(
            "disk",
            Value::object([
                ("storage", Value::string(defaults::DISK_STORAGE)),
                ("size", Value::int(defaults::DISK_GIB)),
            ]),
        );
    }
    if planned.get("features").is_unknown() && config.get("features").is_null() {
        planned.set_attr(
            "features",
            Value::object([
                ("nesting", Value::Bool(defaults::NESTING)),
                ("keyctl", Value::Bool(false)),
                ("fuse", Value::Bool(false)),
            ]),
        );
    }
    if planned.get("network").is_unknown() && config.get("network").is_null() {
        planned.set_attr("network", prior.get("network").clone());
    }
    // Left out, these are not managed: an update leaves them as they are, null included.
    if !prior.is_null() {
        for name in ["ostype", "timezone", "nameserver", "searchdomain"] {
            if planned.get(name).is_unknown() && config.get(name).is_null() {
                planned.set_attr(name, prior.get(name).clone());
            }
        }
    }
    fn no_preference(_: &str) -> Option<u32> {
        None
    }
    /// A map attribute, its highest slot index, and the index an element's key prefers.
    type Family = (&'static str, u32, fn(&str) -> Option<u32>);
    let families: [Family; 3] = [
        ("network", MAX_NETWORK_INDEX, preferred_network_index),
        (
            "mount_points",
            pve::lxc::slots::MAX_MOUNT_POINT_INDEX,
            no_preference,
        ),
        ("devices", pve::lxc::slots::MAX_DEVICE_INDEX, no_preference),
    ];
    for (attribute, max, preferred) in families {
        let Value::Map(mut entries) = planned.get(attribute).clone() else {
            continue;
        };
        let known = entries.iter().map(|(k, e)| {
            let index = e.get("index").as_i64().and_then(|i| u32::try_from(i).ok());
            (k.as_str(), index)
        });
        let assigned: Vec<(String, u32)> = assign_indexes(known, preferred, max)
            .into_iter()
            .map(|(k, i)| (k.to_string(), i))
            .collect();
        for (key, index) in assigned {
            if let Some(element) = entries.get_mut(&key) {
                if element.get("index").is_unknown() {
                    element.set_attr("index", Value::int(i64::from(index)));
                }
            }
        }
        if attribute == "mount_points" {
            for (mount_path, element) in entries.iter_mut() {
                let before = prior.get("mount_points").get(mount_path);
                match element.get("host_path").as_str() {
                    Some(host) => {
                        let host = Value::string(host);
                        element.set_attr("volume", host);
                    }
                    None if !before.get("host_path").is_null() => {
                        element.set_attr("volume", Value::unknown());
                    }
                    None => {}
                }
            }
        }
        planned.set_attr(attribute, Value::Map(entries));
    }
}

/// `mac_address` and `ipv4_address` follow `net0` (the element with index 0).
fn plan_net0_values(planned: &mut Value) {
    let network = planned.get("network");
    if network.is_unknown() {
        planned.set_attr("mac_address", Value::unknown());
        planned.set_attr("ipv4_address", Value::unknown());
        return;
    }
    let net0 = network
        .entries()
        .and_then(|m| m.values().find(|e| e.get("index").as_i64() == Some(0)))
        .cloned();
    match net0 {
        Some(net0) => {
            planned.set_attr("mac_address", net0.get("mac_address").clone());
            let ip = net0.get("ip");
            let ipv4 = if ip.is_unknown() {
                Value::unknown()
            } else {
                ipv4_of(ip.as_str()).into()
            };
            planned.set_attr("ipv4_address", ipv4);
        }
        None => {
            planned.set_attr("mac_address", Value::Null);
            planned.set_attr("ipv4_address", Value::Null);
        }
    }
}

/// A replacement keeps nothing Proxmox generated for the old container: MAC addresses and
/// volume ids become unknown again (unless written in the configuration).
fn forget_generated_values(config: &Value, planned: &mut Value) {
    for (attribute, generated) in [("network", "mac_address"), ("mount_points", "volume")] {
        let Value::Map(mut entries) = planned.get(attribute).clone() else {
            continue;
        };
        for (key, element) in entries.iter_mut() {
            let written = !config.get(attribute).get(key).get(generated).is_null();
            if written || element.get("host_path").as_str().is_some() {
                continue;
            }
            element.set_attr(generated, Value::unknown());
        }
        planned.set_attr(attribute, Value::Map(entries));
    }
}

#[async_trait]
impl Resource for LxcServiceResource {
    fn type_name(&self) -> &'static str {
        "ralf_lxc_service"
    }

    fn schema(&self) -> Schema {
        schema().clone()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate(config, diags);
    }

    async fn modify_plan(&self, request: PlanRequest<'_>, plan: &mut Plan) {
        self.state.require_client_at_plan(&mut plan.diagnostics);
        if !self.state.plan_node(request.prior, request.config, plan) {
            return;
        }
        fill_computed(request.prior, request.config, &mut plan.planned);
        // Values derived from the configuration are known now.
        let changing = request.prior.is_null() || !plan.planned.same_as(request.prior);
        if changing {
            if let (Some(node), Some(ct_id)) =
                (plan.planned.get("node").as_str(), ct_id_of(&plan.planned))
            {
                plan.planned
                    .set_attr("id", Value::string(format!("{node}/{ct_id}")));
            }
            if let Some(started) = plan.planned.get("started").as_bool() {
                plan.planned.set_attr(
                    "status",
                    Value::string(if started { "running" } else { "stopped" }),
                );
            }
            plan_net0_values(&mut plan.planned);
        }
        // Should this plan become a replacement (a forcing change, a tainted object or
        // `-replace`), Terraform plans the replacement's create with this private data: it tells
        // the ct_id-in-use check that the id belongs to the container being replaced.
        if let Some(old) = ct_id_of(request.prior) {
            plan.private = format!("{REPLACING}{old}").into_bytes();
        }
        // Replacing keeps nothing of the old container.
        if !plan.requires_replace.is_empty() {
            for name in ["id", "mac_address", "rootfs_volume"] {
                plan.planned.set_attr(name, Value::unknown());
            }
            forget_generated_values(request.config, &mut plan.planned);
            if let (Some(node), Some(ct_id)) =
                (plan.planned.get("node").as_str(), ct_id_of(&plan.planned))
            {
                plan.planned
                    .set_attr("id", Value::string(format!("{node}/{ct_id}")));
            }
        }
        if !request.prior.is_null() {
            for name in ["ssh_public_keys", "password"] {
                if !request.config.get(name).same_as(request.prior.get(name))
                    && !request.config.get(name).is_unknown()
                {
                    plan.diagnostics.warning_at(
                        path(name),
                        format!("{name} applies at creation only"),
                        format!("Proxmox VE sets {name} only when a container is created; the new value is recorded but the running container is not changed. Replace the container to apply it."),
                    );
                }
            }
        }
        self.check_plan(&request, plan).await;
    }

    async fn create(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        let Some((client, _)) = self.state.client(diags) else {
            return Applied::state(Value::Null);
        };
        let node = opt_string(request.planned.get("node")).unwrap_or_default();
        let spec = spec_from(request.planned, &node);
        let deadline = Deadline::after(Timeouts::of(request.planned, DEFAULT_TIMEOUT).create);
        match client.create(&spec, &deadline).await {
            Ok(outcome) => {
                for w in &outcome.warnings {
                    diags.warning(
                        format!("Proxmox warned while creating container {}", spec.ct_id),
                        w.clone(),
                    );
                }
                Applied::state(state_value(&outcome.state, request.planned))
            }
            Err(e) if e.container_exists() => {
                api_error(diags, "finish creating", spec.ct_id, &e);
                // Keep what exists in state (Terraform marks it tainted) so the next apply
                // replaces it and destroy removes it: as read back where possible, with no
                // unknown values in any case.
                Applied::state(partial_state(&client, &node, &spec, request.planned).await)
            }
            Err(e @ PveError::AlreadyExists { .. }) => {
                // Work interrupted before its state was written: adopt the container this
                // resource created, never one it cannot prove is its own.
                match client.lxc(&node, spec.ct_id).read_within(&deadline).await {
                    Ok(Some(found)) if provably_ours(&found, &spec) => {
                        tracing::info!(
                            ct_id = spec.ct_id,
                            "adopting the container this resource created earlier"
                        );
                        match client
                            .lxc(&node, spec.ct_id)
                            .update(&found, &spec, &deadline)
                            .await
                        {
                            Ok(outcome) => {
                                Applied::state(state_value(&outcome.state, request.planned))
                            }
                            Err(e) => {
                                api_error(diags, "finish adopting", spec.ct_id, &e);
                                Applied::state(
                                    partial_state(&client, &node, &spec, request.planned).await,
                                )
                            }
                        }
                    }
                    _ => {
                        diags.error(
                            format!("Unable to create container {}", spec.ct_id),
                            format!("{e}\n\n{}", import_hint(&node, spec.ct_id)),
                        );
                        Applied::state(Value::Null)
                    }
                }
            }
            Err(e) => {
                api_error(diags, "create", spec.ct_id, &e);
                Applied::state(Value::Null)
            }
        }
    }

    async fn read(&self, state: &Value, _private: &[u8], diags: &mut Diagnostics) -> Value {
        let Some((client, _)) = self.state.client(diags) else {
            return state.clone();
        };
        let (Some(node), Some(ct_id)) = (opt_string(state.get("node")), ct_id_of(state)) else {
            diags.error("Invalid state", "The state of this ralf_lxc_service has no node or ct_id; remove it from state and import it again.");
            return state.clone();
        };
        match client.lxc(&node, ct_id).read().await {
            Ok(Some(cs)) => state_value(&cs, state),
            Ok(None) => Value::Null,
            Err(e) => {
                api_error(diags, "read", ct_id, &e);
                state.clone()
            }
        }
    }

    async fn update(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        let Some((client, _)) = self.state.client(diags) else {
            return Applied::state(request.prior.clone());
        };
        let node = opt_string(request.planned.get("node")).unwrap_or_default();
        let spec = spec_from(request.planned, &node);
        let deadline = Deadline::after(Timeouts::of(request.planned, DEFAULT_TIMEOUT).update);
        let current = match client.lxc(&node, spec.ct_id).read_within(&deadline).await {
            Ok(Some(cs)) => cs,
            Ok(None) => {
                diags.error(
                    format!("Container {} disappeared", spec.ct_id),
                    "The container was deleted outside Terraform during this run. Run `terraform apply` again to create it.",
                );
                return Applied::state(Value::Null);
            }
            Err(e) => {
                api_error(diags, "read", spec.ct_id, &e);
                return Applied::state(request.prior.clone());
            }
        };
        match client
            .lxc(&node, spec.ct_id)
            .update(&current, &spec, &deadline)
            .await
        {
            Ok(outcome) => {
                for w in &outcome.warnings {
                    diags.warning(
                        format!("Proxmox warned while updating container {}", spec.ct_id),
                        w.clone(),
                    );
                }
                Applied::state(state_value(&outcome.state, request.planned))
            }
            Err(e) => {
                api_error(diags, "update", spec.ct_id, &e);
                // Record what the container is now, so the next plan shows what is left to do.
                match client.lxc(&node, spec.ct_id).read().await {
                    Ok(Some(cs)) => Applied::state(state_value(&cs, request.prior)),
                    _ => Applied::state(request.prior.clone()),
                }
            }
        }
    }

    async fn delete(&self, prior: &Value, diags: &mut Diagnostics) {
        let Some((client, _)) = self.state.client(diags) else {
            return;
        };
        let (Some(node), Some(ct_id)) = (opt_string(prior.get("node")), ct_id_of(prior)) else {
            return;
        };
        let deadline = Deadline::after(Timeouts::of(prior, DEFAULT_TIMEOUT).delete);
        if let Err(e) = client.lxc(&node, ct_id).delete(&deadline).await {
            api_error(diags, "delete", ct_id, &e);
        }
    }

    async fn import(&self, id: &str, diags: &mut Diagnostics) -> Value {
        let parsed = id
            .split_once('/')
            .and_then(|(node, ct)| Some((node, ct.parse::<u32>().ok()?)));
        let Some((node, ct_id)) = parsed.filter(|(node, _)| !node.is_empty()) else {
            diags.error(
                "Invalid import id",
                format!("Import id {id:?} is not `<node>/<ct_id>`; write it like `pve/4010`."),
            );
            return Value::Null;
        };
        let mut v = schema().block.null_object();
        v.set_attr("id", Value::string(format!("{node}/{ct_id}")));
        v.set_attr("node", Value::string(node));
        v.set_attr("ct_id", Value::int(i64::from(ct_id)));
        v
    }
}
