//! From a container as read back ([`ContainerState`]) to the resource's state value, in the
//! user's representation: tag case and the description's marker as in [`state_value`], create-only
//! values kept from the prior state, and every nested attribute filled in from Proxmox (so an
//! import with or without the defaults written plans no changes).
//!
//! Proxmox keeps no record of the template a container came from, so the resource notes it in
//! an HTML comment at the end of the container's description (invisible in the Proxmox UI) and
//! reads it back from there; that is what lets an import plan no changes.

use std::collections::{BTreeMap, BTreeSet};

use tfplugin::{Number, Value};

use crate::tf::{opt_string, strings};
use pve::ContainerState;

use super::schema::schema;

const TEMPLATE_MARKER_START: &str = "<!-- ralf:template=";
const TEMPLATE_MARKER_END: &str = " -->";

/// The description stored in Proxmox: the user's text, then the template marker.
pub(super) fn compose_description(user: Option<&str>, template: &str) -> String {
    let marker = format!("{TEMPLATE_MARKER_START}{template}{TEMPLATE_MARKER_END}");
    match user {
        Some(text) if !text.is_empty() => format!("{text}\n{marker}"),
        _ => marker,
    }
}

/// Splits a stored description into the user's text and the recorded template.
pub(super) fn split_description(stored: Option<&str>) -> (Option<String>, Option<String>) {
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

pub(super) fn ipv4_of(ip: Option<&str>) -> Option<String> {
    ip.filter(|ip| *ip != "dhcp" && *ip != "manual")
        .map(|ip| ip.split('/').next().unwrap_or(ip).to_string())
}

fn int(n: u64) -> Value {
    Value::int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn opt_int(n: Option<u32>) -> Value {
    n.map(|n| int(u64::from(n))).unwrap_or(Value::Null)
}

fn float(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::int(n as i64)
    } else {
        Value::Number(Number::Float(n))
    }
}

/// A map attribute's value: null when there is nothing and the prior value was null too (the
/// configuration leaves it out), else the map.
fn map_value(prior: &Value, entries: BTreeMap<String, Value>) -> Value {
    if entries.is_empty() && !matches!(prior, Value::Map(_)) {
        Value::Null
    } else {
        Value::Map(entries)
    }
}

/// The state value for a container as read, in the representation of `prior` (the previous
/// state or the plan).
pub(super) fn state_value(cs: &ContainerState, prior: &Value) -> Value {
    let mut v = schema().block.null_object();
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
    v.set_attr("ostype", cs.ostype.clone().into());
    v.set_attr(
        "cores",
        cs.cores
            .map(|c| int(u64::from(c)))
            .unwrap_or_else(|| prior.get("cores").clone()),
    );
    v.set_attr("cpu_limit", cs.cpu_limit.map(float).unwrap_or(Value::Null));
    v.set_attr("cpu_units", opt_int(cs.cpu_units));
    v.set_attr("memory", int(cs.memory));
    v.set_attr("swap", int(cs.swap));
    v.set_attr("unprivileged", Value::Bool(cs.unprivileged));
    v.set_attr("started", Value::Bool(cs.started()));
    v.set_attr("start_on_boot", Value::Bool(cs.start_on_boot));
    v.set_attr("startup_order", opt_int(cs.startup_order));
    v.set_attr("startup_up_delay", opt_int(cs.startup_up_delay));
    v.set_attr("startup_down_delay", opt_int(cs.startup_down_delay));
    v.set_attr("timezone", cs.timezone.clone().into());
    // Tags: keep the user's spelling when it differs only in case.
    let read_tags: BTreeSet<String> = cs.tags.clone();
    let prior_lower: BTreeSet<String> = strings(prior.get("tags"))
        .iter()
        .map(|t| t.to_ascii_lowercase())
        .collect();
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
    v.set_attr(
        "delete_detached_volumes",
        Value::Bool(
            prior
                .get("delete_detached_volumes")
                .as_bool()
                .unwrap_or(false),
        ),
    );
    v.set_attr("status", Value::string(&cs.status));
    let net0 = cs.net0();
    v.set_attr(
        "mac_address",
        net0.and_then(|n| n.mac_address.clone()).into(),
    );
    v.set_attr(
        "ipv4_address",
        net0.and_then(|n| ipv4_of(n.ip.as_deref())).into(),
    );
    v.set_attr(
        "rootfs_volume",
        cs.disk.as_ref().map(|d| d.volume.clone()).into(),
    );
    v.set_attr(
        "disk",
        match &cs.disk {
            Some(d) => Value::object([
                ("storage", Value::string(&d.storage)),
                ("size", int(d.size)),
            ]),
            None => prior.get("disk").clone(),
        },
    );
    let networks = cs
        .slots
        .networks
        .values()
        .map(|n| {
            let object = Value::object([
                ("index", int(u64::from(n.index))),
                ("bridge", n.bridge.clone().into()),
                ("ip", n.ip.clone().into()),
                ("gateway", n.gateway.clone().into()),
                ("ip6", n.ip6.clone().into()),
                ("gateway6", n.gateway6.clone().into()),
                ("vlan", opt_int(n.vlan)),
                ("mtu", opt_int(n.mtu)),
                ("rate_limit", n.rate.map(float).unwrap_or(Value::Null)),
                ("firewall", Value::Bool(n.firewall)),
                ("mac_address", n.mac_address.clone().into()),
            ]);
            (n.name.clone(), object)
        })
        .collect();
    v.set_attr("network", map_value(prior.get("network"), networks));
    let mount_points = cs
        .slots
        .mount_points
        .values()
        .map(|m| {
            let object = Value::object([
                ("index", int(u64::from(m.index))),
                ("storage", m.storage.clone().into()),
                ("size", m.size.map(int).unwrap_or(Value::Null)),
                (
                    "host_path",
                    if m.is_bind() {
                        Value::string(&m.volume)
                    } else {
                        Value::Null
                    },
                ),
                ("read_only", Value::Bool(m.read_only)),
                ("backup", Value::Bool(m.backup)),
                ("quota", Value::Bool(m.quota)),
                ("acl", m.acl.map(Value::Bool).unwrap_or(Value::Null)),
                ("shared", Value::Bool(m.shared)),
                ("replicate", Value::Bool(m.replicate)),
                ("volume", Value::string(&m.volume)),
            ]);
            (m.path.clone(), object)
        })
        .collect();
    v.set_attr(
        "mount_points",
        map_value(prior.get("mount_points"), mount_points),
    );
    let devices = cs
        .slots
        .devices
        .values()
        .map(|d| {
            let object = Value::object([
                ("index", int(u64::from(d.index))),
                ("mode", d.mode.clone().into()),
                ("uid", opt_int(d.uid)),
                ("gid", opt_int(d.gid)),
            ]);
            (d.path.clone(), object)
        })
        .collect();
    v.set_attr("devices", map_value(prior.get("devices"), devices));
    let f = cs.features;
    v.set_attr(
        "features",
        Value::object([
            ("nesting", Value::Bool(f.nesting)),
            ("keyctl", Value::Bool(f.keyctl)),
            ("fuse", Value::Bool(f.fuse)),
        ]),
    );
    v.set_attr("timeouts", prior.get("timeouts").clone());
    v
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

    #[test]
    fn everything_proxmox_holds_is_in_state_so_an_import_needs_no_defaults_written() {
        let config = serde_json::json!({
            "hostname": "pg", "memory": 2048, "swap": 512, "cores": 2, "unprivileged": 1,
            "onboot": 1, "ostype": "debian", "cpulimit": "1.5", "cpuunits": 200,
            "startup": "order=2,up=30,down=60",
            "rootfs": "local-lvm:vm-4010-disk-0,size=8G",
            "mp0": "local-lvm:vm-4010-disk-1,mp=/var/lib/postgresql,backup=1,size=16G",
            "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
            "net1": "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:00:00:02,ip=10.0.0.5/24,type=veth",
            "dev0": "/dev/net/tun,mode=0666",
            "features": "nesting=1",
        });
        let cs = ContainerState::from_api(
            "pve",
            4010,
            &config,
            &serde_json::json!({"status": "running"}),
        );
        let v = state_value(&cs, &Value::Null);
        assert_eq!(v.get("disk").get("size"), &Value::int(8));
        assert_eq!(v.get("network").get("eth1").get("index"), &Value::int(1));
        assert_eq!(
            v.get("network").get("eth1").get("ip"),
            &Value::string("10.0.0.5/24")
        );
        assert_eq!(v.get("mac_address"), &Value::string("BC:24:11:00:00:01"));
        let data = v.get("mount_points").get("/var/lib/postgresql");
        assert_eq!(data.get("size"), &Value::int(16));
        assert_eq!(
            data.get("volume"),
            &Value::string("local-lvm:vm-4010-disk-1")
        );
        assert_eq!(data.get("replicate"), &Value::Bool(true));
        assert_eq!(
            v.get("devices").get("/dev/net/tun").get("mode"),
            &Value::string("0666")
        );
        assert_eq!(v.get("features").get("nesting"), &Value::Bool(true));
        assert_eq!(v.get("cpu_limit"), &Value::Number(Number::Float(1.5)));
        assert_eq!(v.get("startup_down_delay"), &Value::int(60));
        assert_eq!(v.get("ostype"), &Value::string("debian"));
    }
}
