//! The node's containers as an inventory, for read-only assertions (the `ralf_containers` data
//! source): id, hostname, status, tags, configured and live IPv4 addresses, snapshot names.
//!
//! Cost, in API calls: one `GET /nodes/{node}/lxc`, then for each container the filter keeps
//! (templates are left out) its `config` and `snapshot` list, and `interfaces` while it runs; at
//! most [`CONCURRENT_READS`] containers are read at once. Filters apply to the list call's fields
//! (tags, name), so a container filtered out costs nothing more. This module knows nothing about
//! Terraform.

use std::collections::BTreeSet;

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::api::{segment, Params, PveClient};
use super::error::PveError;
use super::normalise::{normalise_tags, value_bool, value_text, value_u64, NetIf};

/// How many containers are read at the same time.
pub const CONCURRENT_READS: usize = 4;

/// Which containers to list; an empty filter keeps every container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFilter {
    /// Tags a container must all carry (normalised as Proxmox stores them: lower case).
    pub tags: BTreeSet<String>,
    /// The start of the hostnames to keep.
    pub hostname_prefix: Option<String>,
}

impl InventoryFilter {
    fn keeps(&self, hostname: &str, tags: &BTreeSet<String>) -> bool {
        self.tags.is_subset(tags)
            && self
                .hostname_prefix
                .as_deref()
                .is_none_or(|prefix| hostname.starts_with(prefix))
    }
}

/// One container as the inventory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    pub node: String,
    pub ct_id: u32,
    pub hostname: String,
    /// `running` or `stopped` (as Proxmox says).
    pub status: String,
    pub tags: BTreeSet<String>,
    /// Static IPv4 addresses of `net0`, `net1`, ... in that order, without prefix length.
    pub ipv4_addresses: Vec<String>,
    /// IPv4 addresses the running container reports (`interfaces`), loopback interface left out;
    /// empty while it is stopped or when the node cannot tell.
    pub live_ipv4_addresses: Vec<String>,
    /// Snapshot names, parent first (without Proxmox's `current`).
    pub snapshots: Vec<String>,
}

/// A container as the list call gives it.
struct Listed {
    ct_id: u32,
    name: String,
    status: String,
    tags: BTreeSet<String>,
}

impl PveClient {
    /// The node's containers the filter keeps, ordered by id. A container removed while this
    /// runs is left out.
    pub async fn list_containers(
        &self,
        node: &str,
        filter: &InventoryFilter,
    ) -> Result<Vec<ContainerSummary>, PveError> {
        let data = self
            .get(
                &format!("/nodes/{}/lxc", segment(node)),
                &Params::new(),
                &self.default_deadline(),
            )
            .await?;
        let mut listed: Vec<Listed> = data
            .as_array()
            .map(|items| items.iter().filter_map(listed_from_api).collect())
            .unwrap_or_default();
        listed.retain(|c| filter.keeps(&c.name, &c.tags));
        listed.sort_by_key(|c| c.ct_id);

        let summaries: Vec<Option<ContainerSummary>> = futures::stream::iter(listed)
            .map(|c| self.container_summary(node, c.ct_id, c.name, c.status, c.tags))
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await?;
        Ok(summaries.into_iter().flatten().collect())
    }

    /// One container's details; `None` when it disappeared since the list call.
    async fn container_summary(
        &self,
        node: &str,
        ct_id: u32,
        listed_name: String,
        status: String,
        tags: BTreeSet<String>,
    ) -> Result<Option<ContainerSummary>, PveError> {
        let lxc = self.lxc(node, ct_id);
        let deadline = self.default_deadline();
        let (config_path, no_params) = (lxc.path("config"), Params::new());
        let (config, snapshots) = tokio::join!(
            self.get(&config_path, &no_params, &deadline),
            self.list_snapshots_within(node, ct_id, &deadline),
        );
        let (config, snapshots) = match (config, snapshots) {
            (Ok(config), Ok(snapshots)) => (config, snapshots),
            (Err(e), _) | (_, Err(e)) if e.is_not_found() => return Ok(None),
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let live_ipv4_addresses = if status == "running" {
            // Older nodes, or a container stopping right now, may not answer: no live addresses.
            match self
                .get(&lxc.path("interfaces"), &Params::new(), &deadline)
                .await
            {
                Ok(interfaces) => live_ipv4(&interfaces),
                Err(_) => Vec::new(),
            }
        } else {
            Vec::new()
        };
        Ok(Some(ContainerSummary {
            node: node.to_string(),
            ct_id,
            hostname: config
                .get("hostname")
                .and_then(value_text)
                .unwrap_or(listed_name),
            status,
            tags,
            ipv4_addresses: configured_ipv4(&config),
            live_ipv4_addresses,
            snapshots: snapshots.into_iter().map(|s| s.name).collect(),
        }))
    }
}

fn listed_from_api(item: &Value) -> Option<Listed> {
    if item.get("template").and_then(value_bool) == Some(true) {
        return None;
    }
    let ct_id = u32::try_from(item.get("vmid").and_then(value_u64)?).ok()?;
    let tags = item
        .get("tags")
        .and_then(value_text)
        .map(|t| normalise_tags([t.as_str()]))
        .unwrap_or_default();
    Some(Listed {
        ct_id,
        name: item.get("name").and_then(value_text).unwrap_or_default(),
        status: item
            .get("status")
            .and_then(value_text)
            .unwrap_or_else(|| "unknown".to_string()),
        tags,
    })
}

/// The static IPv4 addresses of `net0` .. `netN`, in interface order.
fn configured_ipv4(config: &Value) -> Vec<String> {
    let Some(object) = config.as_object() else {
        return Vec::new();
    };
    let mut nets: Vec<(u32, String)> = object
        .iter()
        .filter_map(|(key, value)| {
            let index = key.strip_prefix("net")?.parse::<u32>().ok()?;
            let address = NetIf::parse(&value_text(value)?).ipv4_address()?;
            Some((index, address))
        })
        .collect();
    nets.sort();
    nets.into_iter().map(|(_, address)| address).collect()
}

/// IPv4 addresses from `interfaces`: each entry's `ip-addresses` of type `inet` (newer nodes),
/// else its `inet` (`10.0.0.5/24`); the `lo` interface is left out.
fn live_ipv4(interfaces: &Value) -> Vec<String> {
    let mut addresses = Vec::new();
    for interface in interfaces.as_array().into_iter().flatten() {
        if interface.get("name").and_then(Value::as_str) == Some("lo") {
            continue;
        }
        let listed: Vec<String> = interface
            .get("ip-addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|a| a.get("ip-address-type").and_then(Value::as_str) == Some("inet"))
            .filter_map(|a| a.get("ip-address").and_then(value_text))
            .collect();
        let found = if listed.is_empty() {
            interface
                .get("inet")
                .and_then(Value::as_str)
                .and_then(|inet| inet.split('/').next())
                .map(str::to_string)
                .into_iter()
                .collect()
        } else {
            listed
        };
        for address in found {
            if address.parse::<std::net::Ipv4Addr>().is_ok() && !addresses.contains(&address) {
                addresses.push(address);
            }
        }
    }
    addresses
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configured_addresses_follow_the_interface_order_and_skip_dhcp() {
        let config = json!({
            "hostname": "gitea",
            "net1": "name=eth1,bridge=vmbr1,ip=10.10.99.5/24",
            "net0": "name=eth0,bridge=vmbr0,ip=10.10.20.10/24,gw=10.10.20.1",
            "net2": "name=eth2,bridge=vmbr2,ip=dhcp",
        });
        assert_eq!(configured_ipv4(&config), vec!["10.10.20.10", "10.10.99.5"]);
    }

    #[test]
    fn live_addresses_come_from_either_interfaces_format_without_loopback() {
        let interfaces = json!([
            { "name": "lo", "inet": "127.0.0.1/8" },
            { "name": "eth0", "inet": "10.10.20.10/24", "inet6": "fe80::1/64" },
            { "name": "eth1", "ip-addresses": [
                { "ip-address": "fd00::5", "ip-address-type": "inet6" },
                { "ip-address": "10.10.99.5", "ip-address-type": "inet" },
            ] },
        ]);
        assert_eq!(live_ipv4(&interfaces), vec!["10.10.20.10", "10.10.99.5"]);
        assert!(live_ipv4(&Value::Null).is_empty());
    }

    #[test]
    fn the_filter_needs_every_tag_and_the_hostname_prefix() {
        let filter = InventoryFilter {
            tags: ["ralf".to_string(), "base".to_string()].into(),
            hostname_prefix: Some("git".to_string()),
        };
        let tags: BTreeSet<String> = ["base", "ralf", "web"].map(String::from).into();
        assert!(filter.keeps("gitea", &tags));
        assert!(!filter.keeps("minio", &tags));
        assert!(!filter.keeps("gitea", &["ralf".to_string()].into()));
        assert!(InventoryFilter::default().keeps("anything", &BTreeSet::new()));
    }
}
