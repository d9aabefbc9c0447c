//! The `ralf_containers` data source: the node's containers (id, hostname, status, tags,
//! configured and live IPv4 addresses, snapshot names), read-only, so that `check {}` blocks can
//! assert IP drift against the catalogue and that every service has its snapshots. It translates
//! between Terraform values and [`pve::inventory`]; the API calls and their cost are there.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use tfplugin::{Attribute, Block, DataSource, Diagnostics, Schema, Type, Value};

use crate::provider::ProviderState;
use crate::tf::{opt_string, path, strings};
use pve::{ContainerSummary, InventoryFilter};

fn container_type() -> Type {
    Type::object([
        ("ct_id", Type::Number),
        ("node", Type::String),
        ("hostname", Type::String),
        ("status", Type::String),
        ("tags", Type::list(Type::String)),
        ("ipv4_addresses", Type::list(Type::String)),
        ("live_ipv4_addresses", Type::list(Type::String)),
        ("snapshots", Type::list(Type::String)),
    ])
}

fn schema() -> Schema {
    let block = Block::new("Lists the node's containers (templates left out) with their addresses and snapshots, on every read. Costs one API call for the list, then per container kept by the filters two (`config`, `snapshot`), three while it runs (`interfaces`); at most 4 containers are read at once.")
        .attr(Attribute::optional("node", Type::String).describe("Node to list (defaults to the provider's `node`)."))
        .attr(Attribute::optional("tags", Type::set(Type::String)).describe("Keep only containers carrying all these tags."))
        .attr(Attribute::optional("hostname_prefix", Type::String).describe("Keep only containers whose hostname starts with this."))
        .attr(Attribute::computed("id", Type::String).describe("The node listed."))
        .attr(
            Attribute::computed("containers", Type::list(container_type()))
                .describe("One object per container, by `ct_id`: `ct_id`, `node`, `hostname`, `status` (`running`, `stopped`), `tags` (sorted), `ipv4_addresses` (static addresses of net0, net1, ... without prefix length; dhcp gives none), `live_ipv4_addresses` (what the running container reports, loopback left out; empty while stopped), `snapshots` (names, parent first)."),
        )
        .attr(
            Attribute::computed("ipv4_by_hostname", Type::map(Type::String))
                .describe("Hostname to its first static IPv4 address, else its first live one; containers without an address are left out. With duplicate hostnames the lowest `ct_id` wins (and a warning says so)."),
        )
        .attr(
            Attribute::computed("snapshots_by_hostname", Type::map(Type::list(Type::String)))
                .describe("Hostname to its snapshot names, parent first; duplicate hostnames as in `ipv4_by_hostname`."),
        );
    Schema::new(0, block)
}

/// The `ralf_containers` data source.
pub struct ContainersDataSource {
    state: Arc<ProviderState>,
}

impl ContainersDataSource {
    pub fn new(state: Arc<ProviderState>) -> ContainersDataSource {
        ContainersDataSource { state }
    }
}

fn filter_of(config: &Value) -> InventoryFilter {
    InventoryFilter {
        tags: pve::normalise::normalise_tags(
            strings(config.get("tags")).iter().map(String::as_str),
        ),
        hostname_prefix: opt_string(config.get("hostname_prefix")).filter(|p| !p.is_empty()),
    }
}

fn strings_value<'a>(items: impl IntoIterator<Item = &'a String>) -> Value {
    Value::List(items.into_iter().map(Value::string).collect())
}

fn container_value(c: &ContainerSummary) -> Value {
    Value::object([
        ("ct_id", Value::int(i64::from(c.ct_id))),
        ("node", Value::string(&c.node)),
        ("hostname", Value::string(&c.hostname)),
        ("status", Value::string(&c.status)),
        ("tags", strings_value(&c.tags)),
        ("ipv4_addresses", strings_value(&c.ipv4_addresses)),
        ("live_ipv4_addresses", strings_value(&c.live_ipv4_addresses)),
        ("snapshots", strings_value(&c.snapshots)),
    ])
}

/// The containers by hostname, the lowest id first; the hostnames used more than once.
fn by_hostname(
    containers: &[ContainerSummary],
) -> (BTreeMap<&str, &ContainerSummary>, BTreeSet<&str>) {
    let mut map = BTreeMap::new();
    let mut duplicates = BTreeSet::new();
    for c in containers {
        if map.contains_key(c.hostname.as_str()) {
            duplicates.insert(c.hostname.as_str());
        } else {
            map.insert(c.hostname.as_str(), c);
        }
    }
    (map, duplicates)
}

#[async_trait]
impl DataSource for ContainersDataSource {
    fn type_name(&self) -> &'static str {
        "ralf_containers"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for tag in config.get("tags").elements() {
            if let Some(tag) = tag.as_str() {
                if !pve::rules::valid_tag(tag) {
                    diags.error_at(
                        path("tags"),
                        "Invalid tag",
                        format!("tag {tag:?} cannot be a Proxmox tag (letters, digits, `_`, `-`, `+` and `.`, starting with a letter, digit or `_`), so no container carries it: fix the spelling."),
                    );
                }
            }
        }
    }

    async fn read(&self, config: &Value, diags: &mut Diagnostics) -> Value {
        let Some((client, _)) = self.state.client(diags) else {
            return Value::Null;
        };
        let Some(node) = self.state.node_for(opt_string(config.get("node"))) else {
            diags.error_at(
                path("node"),
                "No node",
                "Set `node` here, or a default `node` in the provider block (or PROXMOX_VE_NODE).",
            );
            return Value::Null;
        };
        let containers = match client.list_containers(&node, &filter_of(config)).await {
            Ok(containers) => containers,
            Err(e) => {
                diags.error(
                    format!("Cannot list the containers of node {node}"),
                    format!("{e}"),
                );
                return Value::Null;
            }
        };
        let (named, duplicates) = by_hostname(&containers);
        if !duplicates.is_empty() {
            let list: Vec<_> = duplicates.iter().map(|h| format!("{h:?}")).collect();
            diags.warning(
                "Containers share a hostname",
                format!(
                    "On node {node} the hostnames {} are used by more than one container; ipv4_by_hostname and snapshots_by_hostname show the lowest ct_id of each. `containers` lists them all.",
                    list.join(", ")
                ),
            );
        }
        let addresses = named
            .iter()
            .filter_map(|(hostname, c)| {
                let address = c.ipv4_addresses.first().or(c.live_ipv4_addresses.first())?;
                Some((hostname.to_string(), Value::string(address)))
            })
            .collect();
        let snapshots = named
            .iter()
            .map(|(hostname, c)| (hostname.to_string(), strings_value(&c.snapshots)))
            .collect();
        let mut value = config.clone();
        value.set_attr("id", Value::string(&node));
        value.set_attr(
            "containers",
            Value::List(containers.iter().map(container_value).collect()),
        );
        value.set_attr("ipv4_by_hostname", Value::Map(addresses));
        value.set_attr("snapshots_by_hostname", Value::Map(snapshots));
        value
    }
}
