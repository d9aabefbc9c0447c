//! The `ralf_lxc_service` schema. `disk`, `network` and `features` are nested attributes,
//! optional and computed: a configuration may write them (with or without their defaults) or
//! leave them out, and Proxmox's values fill in what it leaves out, so an import plans no
//! changes either way. `network`, `mount_points` and `devices` are maps keyed by what the
//! container sees (interface name, mount path, device path): reordering them changes nothing,
//! and each element keeps its Proxmox index (`net<n>`, `mp<n>`, `dev<n>`) in state.
//!
//! The defaults themselves live in [`super::model::defaults`].

use tfplugin::timeouts::{self, Operation};
use tfplugin::{Attribute, Block, NestedAttributes, Nesting, Schema, Type, Value};

use super::model::defaults;
use super::DEFAULT_TIMEOUT;

/// The schema, built once: every refresh builds a state object from it.
pub(super) fn schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(build_schema)
}

/// A root disk without a storage in state (just imported) does not replace for that.
fn storage_changes(prior: &Value, planned: &Value) -> bool {
    !prior.is_null() && !planned.is_unknown() && prior != planned
}

/// An imported container has no template in state until read: do not replace for that.
fn template_changes(prior: &Value, _planned: &Value) -> bool {
    !prior.is_null()
}

/// `index`: the Proxmox slot of a map element, chosen by the provider unless written.
fn index_attribute(family: &str, max: u32) -> Attribute {
    Attribute::optional("index", Type::Number)
        .also_computed()
        .keep_state()
        .describe(&format!(
            "Proxmox slot `{family}<index>`, 0-{max}. Left out, the provider picks one and keeps it in state."
        ))
}

fn disk() -> NestedAttributes {
    NestedAttributes::new(
        Nesting::Single,
        vec![
            Attribute::with_default("storage", Type::String, defaults::DISK_STORAGE)
                .replaces_if(storage_changes)
                .describe("Storage of the root disk. Changing it replaces the container."),
            Attribute::with_default("size", Type::Number, defaults::DISK_GIB)
                .describe("Size in GiB, a whole number (grows in place, never shrinks)."),
        ],
    )
}

fn network() -> NestedAttributes {
    NestedAttributes::new(
        Nesting::Map,
        vec![
            index_attribute("net", pve::lxc::slots::MAX_NETWORK_INDEX),
            Attribute::with_default("bridge", Type::String, defaults::BRIDGE).describe("Bridge on the node."),
            Attribute::optional("ip", Type::String).describe("IPv4 in CIDR notation (`10.10.40.30/24`) or `dhcp`."),
            Attribute::optional("gateway", Type::String).describe("IPv4 gateway inside the subnet of `ip`."),
            Attribute::optional("ip6", Type::String).describe("IPv6 in CIDR notation (`2001:db8::30/64`), `dhcp` or `auto` (SLAAC)."),
            Attribute::optional("gateway6", Type::String).describe("IPv6 gateway (with a static `ip6`)."),
            Attribute::optional("vlan", Type::Number).describe("VLAN tag, 1-4094."),
            Attribute::optional("mtu", Type::Number).describe("MTU, 64-65535 (the bridge's when left out)."),
            Attribute::optional("rate_limit", Type::Number).describe("Rate limit in MB/s (fractions allowed)."),
            Attribute::with_default("firewall", Type::Bool, false).describe("Enable the Proxmox firewall on the interface."),
            Attribute::optional("mac_address", Type::String)
                .also_computed()
                .keep_state()
                .describe("MAC address. Left out, Proxmox generates one, and it stays the same across updates."),
        ],
    )
}

fn mount_points() -> NestedAttributes {
    NestedAttributes::new(
        Nesting::Map,
        vec![
            index_attribute("mp", pve::lxc::slots::MAX_MOUNT_POINT_INDEX),
            Attribute::optional("storage", Type::String).describe("Storage of a volume of its own (with `size`)."),
            Attribute::optional("size", Type::Number).describe("Size of the volume in GiB, a whole number (grows in place, never shrinks)."),
            Attribute::optional("host_path", Type::String).describe("A directory of the node to bind-mount instead of a volume (needs root@pam, see the guide)."),
            Attribute::with_default("read_only", Type::Bool, false).describe("Mount read-only."),
            Attribute::with_default("backup", Type::Bool, false).describe("Include the volume in vzdump backups."),
            Attribute::with_default("quota", Type::Bool, false).describe("Enable user quotas inside the container."),
            Attribute::optional("acl", Type::Bool).describe("POSIX ACLs (left out: the storage's default)."),
            Attribute::with_default("shared", Type::Bool, false).describe("The volume is reachable from every node (not migrated)."),
            Attribute::with_default("replicate", Type::Bool, true).describe("Include the volume in storage replication."),
            Attribute::computed("volume", Type::String).keep_state().describe("Volume id (`local-lvm:vm-4010-disk-1`), or the host path of a bind mount."),
        ],
    )
}

fn devices() -> NestedAttributes {
    NestedAttributes::new(
        Nesting::Map,
        vec![
            index_attribute("dev", pve::lxc::slots::MAX_DEVICE_INDEX),
            Attribute::optional("mode", Type::String)
                .describe("Access mode inside the container, octal (`0666`)."),
            Attribute::optional("uid", Type::Number)
                .describe("Owner user id inside the container."),
            Attribute::optional("gid", Type::Number)
                .describe("Owner group id inside the container."),
        ],
    )
}

fn features() -> NestedAttributes {
    NestedAttributes::new(
        Nesting::Single,
        vec![
            Attribute::with_default("nesting", Type::Bool, true)
                .describe("Allow nested containers (systemd needs it on recent distributions)."),
            Attribute::with_default("keyctl", Type::Bool, false)
                .describe("Allow the keyctl() system call (root-only, see the guide)."),
            Attribute::with_default("fuse", Type::Bool, false)
                .describe("Allow FUSE mounts (root-only, see the guide)."),
        ],
    )
}

fn build_schema() -> Schema {
    Schema::new(
        0,
        Block::new("A service's LXC container on Proxmox VE.")
            .attr(Attribute::computed("id", Type::String).keep_state().describe("`<node>/<ct_id>`."))
            .attr(Attribute::optional("node", Type::String).also_computed().replaces().keep_state().describe("Node of the container (defaults to the provider's `node`). Changing it replaces the container."))
            .attr(Attribute::required("ct_id", Type::Number).replaces().describe("Container id, 100-999999999. Changing it replaces the container."))
            .attr(Attribute::required("hostname", Type::String).describe("Hostname (a DNS name)."))
            .attr(Attribute::required("template", Type::String).replaces_if(template_changes).describe("vztmpl volume id, e.g. `local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst`. Changing it replaces the container."))
            .attr(Attribute::optional("ostype", Type::String).also_computed().keep_state().describe("OS type for Proxmox's set-up scripts (`debian`, `ubuntu`, `alpine` ...). Left out, Proxmox derives it from the template."))
            .attr(Attribute::with_default("cores", Type::Number, defaults::CORES).describe("CPU cores."))
            .attr(Attribute::optional("cpu_limit", Type::Number).describe("CPU time limit in cores, fractions allowed (`1.5`), 0-8192. Left out: no limit."))
            .attr(Attribute::optional("cpu_units", Type::Number).describe("CPU weight against other guests, 1-500000 (Proxmox's default 100 when left out)."))
            .attr(Attribute::with_default("memory", Type::Number, defaults::MEMORY_MIB).describe("Memory in MiB (at least 16)."))
            .attr(Attribute::with_default("swap", Type::Number, defaults::SWAP_MIB).describe("Swap in MiB."))
            .attr(Attribute::with_default("unprivileged", Type::Bool, true).replaces().describe("Unprivileged container. Changing it replaces the container."))
            .attr(Attribute::with_default("started", Type::Bool, true).describe("Whether the container runs."))
            .attr(Attribute::with_default("start_on_boot", Type::Bool, true).describe("Start with the node."))
            .attr(Attribute::optional("startup_order", Type::Number).describe("Start order among guests of the node (lower first)."))
            .attr(Attribute::optional("startup_up_delay", Type::Number).describe("Seconds to wait after starting this container before starting the next guest."))
            .attr(Attribute::optional("startup_down_delay", Type::Number).describe("Seconds to wait for this container to shut down before it is stopped."))
            .attr(Attribute::optional("timezone", Type::String).also_computed().keep_state().describe("Time zone inside the container: `host` or a zone name such as `Europe/Berlin`. Left out, it is not managed (Proxmox's value, if any, is shown)."))
            .attr(Attribute::optional("tags", Type::set(Type::String)).describe("Tags (Proxmox stores them lowercase)."))
            .attr(Attribute::optional("description", Type::String).describe("Notes shown in Proxmox."))
            .attr(Attribute::with_default("protection", Type::Bool, false).describe("Protect the container from removal; set false before destroying."))
            .attr(Attribute::optional("nameserver", Type::String).also_computed().keep_state().describe("DNS servers, space separated. Left unset, Proxmox copies the node's."))
            .attr(Attribute::optional("searchdomain", Type::String).also_computed().keep_state().describe("DNS search domain. Left unset, Proxmox copies the node's."))
            .attr(Attribute::optional("ssh_public_keys", Type::list(Type::String)).describe("SSH public keys for root, installed at creation (changing them later does not touch the container)."))
            .attr(Attribute::optional("password", Type::String).sensitive().describe("Root password, set at creation (changing it later does not touch the container)."))
            .attr(Attribute::optional_nested("disk", disk()).also_computed().keep_state().describe("The root disk: `{ storage, size }`. Left out: 8 GiB on `local-lvm` for a new container, and whatever it has for an existing one."))
            .attr(Attribute::optional_nested("network", network()).also_computed().keep_state().describe("Network interfaces by their name inside the container: `{ eth0 = { ip = \"dhcp\" } }` (`net0`..`net31`). Left out: none for a new container, and whatever it has for an existing one; `{}` removes them all."))
            .attr(Attribute::optional_nested("mount_points", mount_points()).describe("Mount points by their path inside the container (`mp0`..`mp255`): a volume of its own (`storage`, `size`) or a bind mount (`host_path`). Removing one detaches its volume (Proxmox keeps it as `unused<n>`) unless `delete_detached_volumes` is true."))
            .attr(Attribute::with_default("delete_detached_volumes", Type::Bool, false).describe("Delete the volume of a mount point removed from the configuration instead of keeping it as `unused<n>`. Destroying the container deletes all its volumes either way."))
            .attr(Attribute::optional_nested("devices", devices()).describe("Devices passed through, by their path on the node (`/dev/net/tun`, `/dev/dri/renderD128`; `dev0`..`dev255`; root-only, see the guide)."))
            .attr(Attribute::optional_nested("features", features()).also_computed().keep_state().describe("Feature flags: `{ nesting, keyctl, fuse }`. Only `nesting` can be set with an API token unless the provider applies root-only settings over SSH."))
            .attr(Attribute::computed("status", Type::String).describe("`running` or `stopped`."))
            .attr(Attribute::computed("mac_address", Type::String).keep_state().describe("MAC address of `net0`."))
            .attr(Attribute::computed("ipv4_address", Type::String).describe("Static IPv4 address of `net0`, without prefix (null for DHCP)."))
            .attr(Attribute::computed("rootfs_volume", Type::String).keep_state().describe("Volume id of the root disk."))
            .block(timeouts::block(
                &[Operation::Create, Operation::Update, Operation::Delete],
                DEFAULT_TIMEOUT,
            )),
    )
}
