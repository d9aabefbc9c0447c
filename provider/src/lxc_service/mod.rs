//! `ralf_lxc_service`: one service's LXC container. Translates between Terraform values and the
//! API client's [`ContainerSpec`] / [`ContainerState`]; all Proxmox behaviour lives in
//! [`pve`].
//!
//! Drift rules: values read back are put in the user's representation (tag case, description
//! newline, blocks left out of the configuration stay out while the container matches their
//! defaults), so an unchanged configuration never shows a diff. Proxmox keeps no record of the
//! template a container came from, so the resource notes it in an HTML comment at the end of the
//! container's description (invisible in the Proxmox UI) and reads it back from there; that is
//! what lets an import plan no changes.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tfplugin::{
    Applied, ApplyRequest, Attribute, AttributePath, Block, Diagnostics, NestedBlock, Nesting,
    Plan, PlanRequest, Resource, Schema, Type, Value,
};

use tfplugin::timeouts::{self, Operation, Timeouts};

use crate::provider::ProviderState;
use crate::tf::{opt_bool, opt_i64, opt_string, path, strings, without_unknowns};
use pve::rules;
use pve::{
    ContainerSpec, ContainerState, CtId, Deadline, DiskSpec, FeaturesSpec, Ipv4Cidr, NetworkSpec,
    PveError,
};

const TEMPLATE_MARKER_START: &str = "<!-- ralf:template=";
const TEMPLATE_MARKER_END: &str = " -->";
/// Room the description keeps for the template marker (its text plus a template volume id).
const TEMPLATE_MARKER_ROOM: usize = 320;
const DEFAULT_STORAGE: &str = "local-lvm";
const DEFAULT_DISK_GIB: i64 = 8;
/// Private-state marker of a plan that replaces the container with this ct_id.
const REPLACING: &str = "replacing:";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The schema, built once: every refresh builds a state object from it.
fn schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(build_schema)
}

/// A left-out disk block means the default storage: not a reason to replace.
fn storage_changes(prior: &Value, planned: &Value) -> bool {
    let effective = |v: &Value| v.as_str().unwrap_or(DEFAULT_STORAGE).to_string();
    effective(prior) != effective(planned)
}

/// An imported container has no template in state until read: do not replace for that.
fn template_changes(prior: &Value, _planned: &Value) -> bool {
    !prior.is_null()
}

fn build_schema() -> Schema {
    let disk = Block::new("The root disk. Grows in place; Proxmox cannot shrink it.")
        .attr(
            Attribute::with_default("storage", Type::String, DEFAULT_STORAGE)
                .replaces_if(storage_changes)
                .describe("Storage of the root disk."),
        )
        .attr(
            Attribute::with_default("size", Type::Number, DEFAULT_DISK_GIB)
                .describe("Size in GiB (grows in place, never shrinks)."),
        );
    let network = Block::new("The first network interface (`net0`, `eth0` inside).")
        .attr(
            Attribute::with_default("bridge", Type::String, "vmbr0")
                .describe("Bridge on the node."),
        )
        .attr(
            Attribute::optional("ip", Type::String)
                .describe("IPv4 in CIDR notation (`10.10.40.30/24`) or `dhcp`."),
        )
        .attr(
            Attribute::optional("gateway", Type::String)
                .describe("IPv4 gateway inside the subnet of `ip`."),
        )
        .attr(Attribute::optional("vlan", Type::Number).describe("VLAN tag."))
        .attr(
            Attribute::with_default("firewall", Type::Bool, false)
                .describe("Enable the Proxmox firewall on the interface."),
        );
    let features = Block::new("Feature flags. Only `nesting` can be set with an API token: Proxmox allows `keyctl` and `fuse` only to `root@pam` logged in with a password.")
        .attr(Attribute::with_default("nesting", Type::Bool, true).describe("Allow nested containers (systemd needs it on recent distributions)."))
        .attr(Attribute::with_default("keyctl", Type::Bool, false).describe("Allow the keyctl() system call (needs a root@pam password login)."))
        .attr(Attribute::with_default("fuse", Type::Bool, false).describe("Allow FUSE mounts (needs a root@pam password login)."));
    Schema::new(
        0,
        Block::new("A service's LXC container on Proxmox VE.")
            .attr(Attribute::computed("id", Type::String).keep_state().describe("`<node>/<ct_id>`."))
            .attr(Attribute::optional("node", Type::String).also_computed().replaces().keep_state().describe("Node of the container (defaults to the provider's `node`). Changing it replaces the container."))
            .attr(Attribute::required("ct_id", Type::Number).replaces().describe("Container id, 100-999999999. Changing it replaces the container."))
            .attr(Attribute::required("hostname", Type::String).describe("Hostname (a DNS name)."))
            .attr(Attribute::required("template", Type::String).replaces_if(template_changes).describe("vztmpl volume id, e.g. `local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst`. Changing it replaces the container."))
            .attr(Attribute::with_default("cores", Type::Number, 1i64).describe("CPU cores."))
            .attr(Attribute::with_default("memory", Type::Number, 1024i64).describe("Memory in MiB (at least 16)."))
            .attr(Attribute::with_default("swap", Type::Number, 512i64).describe("Swap in MiB."))
            .attr(Attribute::with_default("unprivileged", Type::Bool, true).replaces().describe("Unprivileged container. Changing it replaces the container."))
            .attr(Attribute::with_default("started", Type::Bool, true).describe("Whether the container runs."))
            .attr(Attribute::with_default("start_on_boot", Type::Bool, true).describe("Start with the node."))
            .attr(Attribute::optional("startup_order", Type::Number).describe("Start order among guests of the node."))
            .attr(Attribute::optional("tags", Type::set(Type::String)).describe("Tags (Proxmox stores them lowercase)."))
            .attr(Attribute::optional("description", Type::String).describe("Notes shown in Proxmox."))
            .attr(Attribute::with_default("protection", Type::Bool, false).describe("Protect the container from removal; set false before destroying."))
            .attr(Attribute::optional("nameserver", Type::String).also_computed().keep_state().describe("DNS servers, space separated. Left unset, Proxmox copies the node's."))
            .attr(Attribute::optional("searchdomain", Type::String).also_computed().keep_state().describe("DNS search domain. Left unset, Proxmox copies the node's."))
            .attr(Attribute::optional("ssh_public_keys", Type::list(Type::String)).describe("SSH public keys for root, installed at creation (changing them later does not touch the container)."))
            .attr(Attribute::optional("password", Type::String).sensitive().describe("Root password, set at creation (changing it later does not touch the container)."))
            .attr(Attribute::computed("status", Type::String).describe("`running` or `stopped`."))
            .attr(Attribute::computed("mac_address", Type::String).keep_state().describe("MAC address of `net0`."))
            .attr(Attribute::computed("ipv4_address", Type::String).describe("Static IPv4 address of `net0`, without prefix (null for DHCP)."))
            .attr(Attribute::computed("rootfs_volume", Type::String).keep_state().describe("Volume id of the root disk."))
            .block(NestedBlock::new("disk", Nesting::Single, disk))
            .block(NestedBlock::new("network", Nesting::Single, network))
            .block(NestedBlock::new("features", Nesting::Single, features))
            .block(timeouts::block(
                &[Operation::Create, Operation::Update, Operation::Delete],
                DEFAULT_TIMEOUT,
            )),
    )
}

// ---------------------------------------------------------------------------------------------
// Validation: everything Proxmox would refuse is refused here, at its attribute path (the rules
// themselves live in `pve::rules`).

/// A whole number in range at `at`, reported as an error there.
fn check_whole(
    diags: &mut Diagnostics,
    at: AttributePath,
    name: &str,
    value: &Value,
    min: i64,
    max: Option<i64>,
    unit: &str,
) {
    if let Some(number) = value.as_f64() {
        if let Err(e) = rules::whole_in_range(name, number, min, max, unit) {
            diags.error_at(at, e.summary, e.detail);
        }
    }
}

fn validate(config: &Value, diags: &mut Diagnostics) {
    if let Some(id) = config.get("ct_id").as_f64() {
        if let Err(e) = CtId::from_number(id) {
            diags.error_at(path("ct_id"), e.summary, e.detail);
        }
    }
    if let Some(name) = config.get("hostname").as_str() {
        if !rules::valid_hostname(name) {
            diags.error_at(
                path("hostname"),
                "Invalid hostname",
                format!("hostname {name:?} is not a DNS name: use letters, digits and hyphens in dot-separated labels, e.g. \"vaultwarden\" or \"mail.home.lan\"."),
            );
        }
    }
    match config.get("memory").as_f64() {
        Some(memory) if memory < 16.0 => diags.error_at(
            path("memory"),
            "memory too small",
            format!("memory = {memory} MiB is below 16 MiB, the least Proxmox VE accepts."),
        ),
        _ => check_whole(
            diags,
            path("memory"),
            "memory",
            config.get("memory"),
            16,
            None,
            " MiB",
        ),
    }
    if let Some(cores) = config.get("cores").as_f64() {
        if !(1.0..=8192.0).contains(&cores) || cores.fract() != 0.0 {
            diags.error_at(
                path("cores"),
                "Invalid cores",
                format!("cores = {cores} must be a whole number of at least 1."),
            );
        }
    }
    check_whole(
        diags,
        path("swap"),
        "swap",
        config.get("swap"),
        0,
        None,
        " MiB",
    );
    check_whole(
        diags,
        path("startup_order"),
        "startup_order",
        config.get("startup_order"),
        0,
        None,
        "",
    );
    if let Some(size) = config.get("disk").get("size").as_f64() {
        if size < 1.0 || size.fract() != 0.0 {
            diags.error_at(
                path("disk").attr("size"),
                "Invalid disk size",
                format!("disk size {size} must be a whole number of GiB, at least 1."),
            );
        }
    }
    for tag in strings(config.get("tags")) {
        if !rules::valid_tag(&tag) {
            diags.error_at(
                path("tags"),
                "Invalid tag",
                format!("tag {tag:?} does not follow Proxmox VE's tag rule: it starts with a letter, digit or `_`, and has only letters, digits and `_ - + .` (no spaces, `;` or `,`). Split it into several tags or rename it."),
            );
        }
    }
    if let Some(description) = config.get("description").as_str() {
        let length = description.chars().count() + TEMPLATE_MARKER_ROOM;
        if length > rules::DESCRIPTION_MAX {
            diags.error_at(
                path("description"),
                "description too long",
                format!("description has {} characters; Proxmox VE stores at most {} and the provider adds its marker, so keep it under {}.", description.chars().count(), rules::DESCRIPTION_MAX, rules::DESCRIPTION_MAX - TEMPLATE_MARKER_ROOM),
            );
        }
    }
    if let Some(password) = config.get("password").as_str() {
        if password.chars().count() < rules::PASSWORD_MIN {
            diags.error_at(
                path("password"),
                "password too short",
                format!("The root password must have at least {} characters (Proxmox VE refuses shorter ones).", rules::PASSWORD_MIN),
            );
        }
    }
    if let Some(list) = config.get("nameserver").as_str() {
        let bad = rules::invalid_nameservers(list);
        if !bad.is_empty() {
            diags.error_at(
                path("nameserver"),
                "Invalid nameserver",
                format!("nameserver {list:?}: {} not an IP address. List DNS server addresses separated by spaces, e.g. \"1.1.1.1 9.9.9.9\".", bad.iter().map(|b| format!("{b:?}")).collect::<Vec<_>>().join(", ") + if bad.len() == 1 { " is" } else { " are" }),
            );
        }
    }
    let network = config.get("network");
    if let Some(bridge) = network.get("bridge").as_str() {
        if !rules::valid_bridge(bridge) {
            diags.error_at(
                path("network").attr("bridge"),
                "Invalid bridge",
                format!("bridge {bridge:?} is not a bridge name: 1-15 letters, digits, `-`, `_` or `.`, e.g. \"vmbr0\"."),
            );
        }
    }
    let ip = network.get("ip").as_str();
    let mut cidr = None;
    if let Some(ip) = ip {
        if ip != "dhcp" {
            match Ipv4Cidr::parse(ip) {
                Some(c) => cidr = Some(c),
                None => diags.error_at(
                    path("network").attr("ip"),
                    "Invalid ip",
                    format!("ip {ip:?} is neither an IPv4 address in CIDR notation (e.g. \"10.10.40.30/24\") nor \"dhcp\"."),
                ),
            }
        }
    }
    if let Some(gateway) = network.get("gateway").as_str() {
        match gateway.parse::<Ipv4Addr>() {
            Err(_) => diags.error_at(
                path("network").attr("gateway"),
                "Invalid gateway",
                format!("gateway {gateway:?} is not an IPv4 address, e.g. \"10.10.40.1\"."),
            ),
            Ok(gw) => {
                if ip == Some("dhcp") {
                    diags.error_at(path("network").attr("gateway"), "gateway with dhcp", "A gateway only goes with a static ip; with ip = \"dhcp\" the DHCP server provides it. Remove gateway.");
                } else if let Some(cidr) = cidr {
                    if !cidr.contains(gw) {
                        diags.error_at(
                            path("network").attr("gateway"),
                            "Gateway outside the subnet",
                            format!("gateway {gw} is not inside {}/{}: the container could not reach it. Use an address of that subnet (e.g. the .1 of it) or fix the prefix length.", cidr.addr, cidr.prefix),
                        );
                    }
                }
            }
        }
    }
    if let Some(vlan) = network.get("vlan").as_f64() {
        if !(1.0..=4094.0).contains(&vlan) || vlan.fract() != 0.0 {
            diags.error_at(
                path("network").attr("vlan"),
                "Invalid vlan",
                format!("vlan {vlan} is outside 1-4094."),
            );
        }
    }
    timeouts::validate(config, diags);
}

// ---------------------------------------------------------------------------------------------
// Translation

fn spec_from(value: &Value, node: &str) -> ContainerSpec {
    let ct_id = opt_i64(value.get("ct_id"))
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0);
    let template = opt_string(value.get("template")).unwrap_or_default();
    let mut spec = ContainerSpec::new(
        node,
        ct_id,
        &opt_string(value.get("hostname")).unwrap_or_default(),
        &template,
    );
    let num = |name: &str, default: u64| {
        opt_i64(value.get(name))
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(default)
    };
    spec.cores = u32::try_from(num("cores", 1)).unwrap_or(1);
    spec.memory = num("memory", 1024);
    spec.swap = num("swap", 512);
    spec.unprivileged = opt_bool(value.get("unprivileged")).unwrap_or(true);
    spec.started = opt_bool(value.get("started")).unwrap_or(true);
    spec.start_on_boot = opt_bool(value.get("start_on_boot")).unwrap_or(true);
    spec.startup_order = opt_i64(value.get("startup_order")).and_then(|v| u32::try_from(v).ok());
    spec.tags = strings(value.get("tags"))
        .into_iter()
        .map(|t| t.to_ascii_lowercase())
        .collect();
    spec.description = Some(compose_description(
        opt_string(value.get("description")).as_deref(),
        &template,
    ));
    spec.protection = opt_bool(value.get("protection")).unwrap_or(false);
    spec.nameserver = opt_string(value.get("nameserver"));
    spec.searchdomain = opt_string(value.get("searchdomain"));
    spec.ssh_public_keys = strings(value.get("ssh_public_keys"));
    spec.password = opt_string(value.get("password")).map(Into::into);
    let disk = value.get("disk");
    spec.disk = DiskSpec {
        storage: opt_string(disk.get("storage")).unwrap_or_else(|| DEFAULT_STORAGE.into()),
        size: opt_i64(disk.get("size"))
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(DEFAULT_DISK_GIB as u64),
    };
    let network = value.get("network");
    spec.network = (!network.is_null()).then(|| NetworkSpec {
        bridge: opt_string(network.get("bridge")).unwrap_or_else(|| "vmbr0".into()),
        ip: opt_string(network.get("ip")),
        gateway: opt_string(network.get("gateway")),
        vlan: opt_i64(network.get("vlan")).and_then(|v| u32::try_from(v).ok()),
        firewall: opt_bool(network.get("firewall")).unwrap_or(false),
    });
    let features = value.get("features");
    spec.features = FeaturesSpec {
        nesting: opt_bool(features.get("nesting")).unwrap_or(true),
        keyctl: opt_bool(features.get("keyctl")).unwrap_or(false),
        fuse: opt_bool(features.get("fuse")).unwrap_or(false),
    };
    spec
}

/// The description stored in Proxmox: the user's text, then the template marker.
fn compose_description(user: Option<&str>, template: &str) -> String {
    let marker = format!("{TEMPLATE_MARKER_START}{template}{TEMPLATE_MARKER_END}");
    match user {
        Some(text) if !text.is_empty() => format!("{text}\n{marker}"),
        _ => marker,
    }
}

/// Splits a stored description into the user's text and the recorded template.
fn split_description(stored: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(text) = stored else {
        return (None, None);
    };
    match text.rfind(TEMPLATE_MARKER_START) {
        Some(start)
            if text[start..]
                .trim_end()
                .ends_with(TEMPLATE_MARKER_END.trim_end()) =>
        {
            let inner = &text[start + TEMPLATE_MARKER_START.len()..];
            let template = inner
                .trim_end()
                .trim_end_matches(TEMPLATE_MARKER_END.trim_end())
                .trim()
                .to_string();
            let user = text[..start].strip_suffix('\n').unwrap_or(&text[..start]);
            ((!user.is_empty()).then(|| user.to_string()), Some(template))
        }
        _ => (Some(text.to_string()), None),
    }
}

fn ipv4_of(ip: Option<&str>) -> Option<String> {
    ip.filter(|ip| *ip != "dhcp")
        .map(|ip| ip.split('/').next().unwrap_or(ip).to_string())
}

/// The state value for a container as read, in the representation of `prior` (the previous
/// state or the plan): blocks the configuration leaves out stay out while they match defaults.
/// After an import (no prior blocks) the same rule applies, so a configuration that leaves
/// default blocks out plans no changes.
fn state_value(cs: &ContainerState, prior: &Value) -> Value {
    let mut v = schema().block.null_object();
    let int = |n: u64| Value::int(i64::try_from(n).unwrap_or(i64::MAX));
    let (description, template) = split_description(cs.description.as_deref());
    v.set_attr("id", Value::string(cs.id()));
    v.set_attr("node", Value::string(&cs.node));
    v.set_attr("ct_id", int(u64::from(cs.ct_id)));
    v.set_attr("hostname", cs.hostname.clone().into());
    v.set_attr(
        "template",
        template
            .or_else(|| opt_string(prior.get("template")))
            .into(),
    );
    v.set_attr(
        "cores",
        cs.cores
            .map(|c| int(u64::from(c)))
            .unwrap_or_else(|| prior.get("cores").clone()),
    );
    v.set_attr("memory", int(cs.memory));
    v.set_attr("swap", int(cs.swap));
    v.set_attr("unprivileged", Value::Bool(cs.unprivileged));
    v.set_attr("started", Value::Bool(cs.started()));
    v.set_attr("start_on_boot", Value::Bool(cs.start_on_boot));
    v.set_attr(
        "startup_order",
        cs.startup_order
            .map(|o| int(u64::from(o)))
            .unwrap_or(Value::Null),
    );
    // Tags: keep the user's spelling when it differs only in case.
    let read_tags: BTreeSet<String> = cs.tags.clone();
    let prior_tags = strings(prior.get("tags"));
    let prior_lower: BTreeSet<String> = prior_tags.iter().map(|t| t.to_ascii_lowercase()).collect();
    let tags = if !prior.get("tags").is_null() && prior_lower == read_tags {
        prior.get("tags").clone()
    } else if read_tags.is_empty() && prior.get("tags").is_null() {
        Value::Null
    } else {
        Value::Set(read_tags.into_iter().map(Value::String).collect())
    };
    v.set_attr("tags", tags);
    v.set_attr("description", description.into());
    v.set_attr("protection", Value::Bool(cs.protection));
    v.set_attr("nameserver", cs.nameserver.clone().into());
    v.set_attr("searchdomain", cs.searchdomain.clone().into());
    // Create-only values are not readable: keep what the state had.
    v.set_attr("ssh_public_keys", prior.get("ssh_public_keys").clone());
    v.set_attr("password", prior.get("password").clone());
    v.set_attr("status", Value::string(&cs.status));
    v.set_attr(
        "mac_address",
        cs.network
            .as_ref()
            .and_then(|n| n.mac_address.clone())
            .into(),
    );
    v.set_attr(
        "ipv4_address",
        cs.network
            .as_ref()
            .and_then(|n| ipv4_of(n.ip.as_deref()))
            .into(),
    );
    v.set_attr(
        "rootfs_volume",
        cs.disk.as_ref().map(|d| d.volume.clone()).into(),
    );

    let disk = cs.disk.as_ref().map(|d| {
        Value::object([
            ("storage", Value::string(&d.storage)),
            ("size", int(d.size)),
        ])
    });
    let disk_is_default = cs
        .disk
        .as_ref()
        .is_none_or(|d| d.storage == DEFAULT_STORAGE && d.size == DEFAULT_DISK_GIB as u64);
    v.set_attr(
        "disk",
        keep_out_if_default(prior.get("disk"), disk, disk_is_default),
    );

    let network = cs.network.as_ref().map(|n| {
        Value::object([
            ("bridge", n.bridge.clone().into()),
            ("ip", n.ip.clone().into()),
            ("gateway", n.gateway.clone().into()),
            (
                "vlan",
                n.vlan.map(|x| int(u64::from(x))).unwrap_or(Value::Null),
            ),
            ("firewall", Value::Bool(n.firewall)),
        ])
    });
    v.set_attr(
        "network",
        keep_out_if_default(prior.get("network"), network.clone(), network.is_none()),
    );

    let f = cs.features;
    let features = Value::object([
        ("nesting", Value::Bool(f.nesting)),
        ("keyctl", Value::Bool(f.keyctl)),
        ("fuse", Value::Bool(f.fuse)),
    ]);
    let features_default = f.nesting && !f.keyctl && !f.fuse;
    v.set_attr(
        "features",
        keep_out_if_default(prior.get("features"), Some(features), features_default),
    );
    v.set_attr("timeouts", prior.get("timeouts").clone());
    v
}

fn keep_out_if_default(prior: &Value, read: Option<Value>, is_default: bool) -> Value {
    if prior.is_null() && is_default {
        Value::Null
    } else {
        read.unwrap_or(Value::Null)
    }
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
fn api_unusable_at_plan(diags: &mut Diagnostics, summary: &str, detail: String, error: &PveError) {
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
        let planned = &plan.planned;
        let Some(configured) = self.state.configured() else {
            return;
        };
        // Root-only feature flags with a token.
        let features = planned.get("features");
        if !configured.root_pam_login && configured.client.is_some() {
            for flag in ["keyctl", "fuse"] {
                if features.get(flag).as_bool() == Some(true) {
                    plan.diagnostics.error_at(
                        path("features").attr(flag),
                        format!("{flag} needs a root@pam password login"),
                        format!(
                            "Proxmox VE lets only root@pam itself set the feature flag {flag}, and refuses it to every API token (even root@pam's tokens). \
                             Configure the provider with username = \"root@pam\" and password (or PROXMOX_VE_USERNAME / PROXMOX_VE_PASSWORD) instead of api_token, or set {flag} = false."
                        ),
                    );
                }
            }
        }
        // Disk shrink.
        if !request.prior.is_null() {
            let prior_size = request
                .prior
                .get("disk")
                .get("size")
                .as_i64()
                .unwrap_or(DEFAULT_DISK_GIB);
            if let Some(size) = planned
                .get("disk")
                .get("size")
                .as_i64()
                .or(Some(DEFAULT_DISK_GIB).filter(|_| planned.get("disk").is_null()))
            {
                if size < prior_size {
                    plan.diagnostics.error_at(
                        path("disk").attr("size"),
                        "Disk cannot shrink",
                        format!(
                            "disk size {size} GiB is smaller than the current {prior_size} GiB, and Proxmox VE cannot shrink a container disk. \
                             Keep size = {prior_size} (or larger), or recreate the container: `terraform apply -replace=<address>` (its data is lost unless backed up)."
                        ),
                    );
                }
            }
        }
        // ct_id already used by a container this state does not hold (during a replacement the
        // id may still belong to the container being replaced).
        let replacing_same_id = ct_id_of(planned)
            .is_some_and(|id| request.prior_private == format!("{REPLACING}{id}").as_bytes());
        if request.prior.is_null() && !replacing_same_id {
            if let (Some(client), Some(ct_id)) = (&configured.client, ct_id_of(planned)) {
                match client.ct_id_in_use(ct_id).await {
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
                check_template_and_storage(client, node, planned, &mut plan.diagnostics).await;
            }
        }
    }
}

/// Plan-time checks of a new container against the node: the template exists, and the disk's
/// storage exists and can hold container disks. A failed look-up only warns.
async fn check_template_and_storage(
    client: &pve::PveClient,
    node: &str,
    planned: &Value,
    diags: &mut Diagnostics,
) {
    if let Some(template) = planned.get("template").as_str() {
        match client.template_exists(node, template).await {
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
    let storage =
        opt_string(planned.get("disk").get("storage")).unwrap_or_else(|| DEFAULT_STORAGE.into());
    if planned.get("disk").get("storage").is_unknown() {
        return;
    }
    match client.list_storages(node).await {
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
            let ip = plan.planned.get("network").get("ip");
            if !ip.is_unknown() {
                plan.planned
                    .set_attr("ipv4_address", ipv4_of(ip.as_str()).into());
            }
            if plan.planned.get("network").is_null() && !request.prior.is_null() {
                plan.planned
                    .set_attr("mac_address", request.prior.get("mac_address").clone());
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_marker_round_trips_through_the_description() {
        let stored = compose_description(Some("Vaultwarden\nline 2"), "local:vztmpl/u.tar.zst");
        assert_eq!(
            split_description(Some(&stored)),
            (
                Some("Vaultwarden\nline 2".into()),
                Some("local:vztmpl/u.tar.zst".into())
            )
        );
        let bare = compose_description(None, "local:vztmpl/u.tar.zst");
        assert_eq!(
            split_description(Some(&bare)),
            (None, Some("local:vztmpl/u.tar.zst".into()))
        );
        assert_eq!(
            split_description(Some("hand written")),
            (Some("hand written".into()), None)
        );
    }
}
