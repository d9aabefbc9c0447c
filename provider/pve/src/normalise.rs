//! Parsing Proxmox's config values and normalising them to the user's representation, so that an
//! unchanged configuration never shows a diff (Proxmox prints these back its own way; see docs/resources/lxc_service.md): property strings (`net0`,
//! `rootfs`, `features`, `startup`), tags, sizes, the description's trailing newline, DNS lists,
//! and lenient JSON scalars (numbers that arrive as strings, booleans as 0/1).
//!
//! Pure functions only: no I/O, no Terraform.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A JSON scalar as u64: a number, or a string holding one (Proxmox returns both).
pub fn value_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.to_string().parse::<f64>().ok().map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Bool(b) => Some(u64::from(*b)),
        _ => None,
    }
}

/// A JSON scalar as i64 (snapshot times and the like).
pub fn value_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// A Proxmox boolean: `1`/`0`, `"1"`/`"0"`, JSON true/false, or the property-string words.
pub fn value_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(_) => value_u64(value).map(|n| n != 0),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

/// A JSON scalar as text (strings as they are, numbers printed).
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

/// `1|on|yes|true` and `0|off|no|false`, as Proxmox's `parse_boolean`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "yes" | "true" => Some(true),
        "0" | "off" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// A property string `a=1,b=2` (or `default,b=2` where the first item has no key) as ordered
/// pairs. Items without `=` get the key given as `default_key`.
pub fn parse_property_string(text: &str, default_key: Option<&str>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((key, value)) => {
                map.insert(key.trim().to_string(), value.trim().to_string());
            }
            None => {
                if let Some(key) = default_key {
                    map.insert(key.to_string(), item.to_string());
                }
            }
        }
    }
    map
}

/// Tags as the user's set: split on `[,; ]`, lowercased, deduplicated and sorted, which is what
/// Proxmox stores by default (`ralf;svc;web`).
pub fn normalise_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    tags.into_iter()
        .flat_map(|t| t.split([',', ';', ' ']))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The `tags` value Proxmox expects: `a;b;c`.
pub fn format_tags(tags: &BTreeSet<String>) -> String {
    tags.iter().cloned().collect::<Vec<_>>().join(";")
}

/// The description as the user wrote it: Proxmox stores it as comment lines and returns it with
/// a trailing newline. Empty means none.
pub fn normalise_description(text: &str) -> Option<String> {
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    if trimmed.is_empty() {
        None
    } else {
        Some(trimmed.to_string())
    }
}

/// A DNS list (`nameserver`, `searchdomain`) as Proxmox returns it: items split on `[,; \s]`,
/// joined by one space. `"1.1.1.1, 9.9.9.9"` → `"1.1.1.1 9.9.9.9"`.
pub fn normalise_dns_list(text: &str) -> Option<String> {
    let items: Vec<&str> = text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        None
    } else {
        Some(items.join(" "))
    }
}

/// A Proxmox size (`8G`, `512M`, `1T`, `4096K`, bare bytes) in bytes.
pub fn parse_size_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&text[..i], text[i..].to_ascii_uppercase()),
        None => (text, String::new()),
    };
    let value: f64 = number.trim().parse().ok()?;
    let multiplier: f64 = match unit.trim_end_matches('B') {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    if value < 0.0 {
        return None;
    }
    Some((value * multiplier).round() as u64)
}

const GIB: u64 = 1024 * 1024 * 1024;

/// Bytes → whole GiB, rounded up (a 4.5 GiB disk is reported as 5 so that asking for 5 is a
/// grow, never a shrink).
pub fn bytes_to_gib_ceil(bytes: u64) -> u64 {
    bytes.div_ceil(GIB)
}

/// The root disk as read back: `local-lvm:vm-105-disk-0,size=8G`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFs {
    /// Full volume id, `local-lvm:vm-105-disk-0`.
    pub volume: String,
    /// Storage id, the part before `:`.
    pub storage: String,
    pub size_bytes: Option<u64>,
    /// Options other than volume and size (acl, mountoptions, quota ...), kept as they are.
    pub options: BTreeMap<String, String>,
}

impl RootFs {
    pub fn parse(text: &str) -> Option<RootFs> {
        let mut map = parse_property_string(text, Some("volume"));
        let volume = map.remove("volume")?;
        let storage = volume.split_once(':').map(|(s, _)| s.to_string())?;
        let size_bytes = map.remove("size").and_then(|s| parse_size_bytes(&s));
        Some(RootFs {
            volume,
            storage,
            size_bytes,
            options: map,
        })
    }

    pub fn size_gib(&self) -> Option<u64> {
        self.size_bytes.map(bytes_to_gib_ceil)
    }
}

/// The first network interface as read back:
/// `name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=BC:24:11:..,ip=10.0.0.5/24,tag=40,type=veth`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetIf {
    pub name: String,
    pub bridge: Option<String>,
    /// `10.0.0.5/24`, `dhcp` or `manual`, as configured.
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub vlan: Option<u32>,
    /// `2001:db8::5/64`, `dhcp`, `auto` or `manual`, as configured.
    pub ip6: Option<String>,
    pub gateway6: Option<String>,
    pub mtu: Option<u32>,
    /// Rate limit in MB/s, as Proxmox prints it (`12.5`).
    pub rate: Option<String>,
    pub firewall: bool,
    /// MAC address as Proxmox stores it (a given one keeps its case, generated ones are upper
    /// case), so an update sends back exactly what is configured.
    pub hwaddr: Option<String>,
    /// Keys this client does not manage (type, link_down, trunks ...), kept on update.
    pub other: BTreeMap<String, String>,
}

impl NetIf {
    pub fn parse(text: &str) -> NetIf {
        let mut map = parse_property_string(text, None);
        NetIf {
            name: map.remove("name").unwrap_or_else(|| "eth0".to_string()),
            bridge: map.remove("bridge"),
            ip: map.remove("ip"),
            gateway: map.remove("gw"),
            vlan: map.remove("tag").and_then(|t| t.parse().ok()),
            ip6: map.remove("ip6"),
            gateway6: map.remove("gw6"),
            mtu: map.remove("mtu").and_then(|t| t.parse().ok()),
            rate: map.remove("rate"),
            firewall: map
                .remove("firewall")
                .and_then(|f| parse_bool(&f))
                .unwrap_or(false),
            hwaddr: map.remove("hwaddr"),
            other: map,
        }
    }

    /// The property string to send, in Proxmox's own order (name first, the rest sorted).
    pub fn format(&self) -> String {
        let mut map: BTreeMap<&str, String> = BTreeMap::new();
        if let Some(v) = &self.bridge {
            map.insert("bridge", v.clone());
        }
        if self.firewall {
            map.insert("firewall", "1".into());
        }
        if let Some(v) = &self.gateway {
            map.insert("gw", v.clone());
        }
        if let Some(v) = &self.gateway6 {
            map.insert("gw6", v.clone());
        }
        if let Some(v) = &self.ip6 {
            map.insert("ip6", v.clone());
        }
        if let Some(v) = self.mtu {
            map.insert("mtu", v.to_string());
        }
        if let Some(v) = &self.rate {
            map.insert("rate", v.clone());
        }
        if let Some(v) = &self.hwaddr {
            map.insert("hwaddr", v.clone());
        }
        if let Some(v) = &self.ip {
            map.insert("ip", v.clone());
        }
        if let Some(v) = self.vlan {
            map.insert("tag", v.to_string());
        }
        for (k, v) in &self.other {
            map.entry(k.as_str()).or_insert_with(|| v.clone());
        }
        let mut parts = vec![format!("name={}", self.name)];
        parts.extend(map.into_iter().map(|(k, v)| format!("{k}={v}")));
        parts.join(",")
    }

    /// The static IPv4 address without its prefix (`10.0.0.5/24` → `10.0.0.5`); `None` for dhcp.
    pub fn ipv4_address(&self) -> Option<String> {
        let ip = self.ip.as_deref()?;
        let (address, _) = ip.split_once('/')?;
        address
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(|a| a.to_string())
    }
}

/// Feature flags as read back (`keyctl=1,nesting=1`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Features {
    pub nesting: bool,
    pub keyctl: bool,
    pub fuse: bool,
    /// Flags this client does not manage (mknod, mount, force_rw_sys), kept on update.
    pub other: BTreeMap<String, String>,
}

impl Features {
    pub fn parse(text: &str) -> Features {
        let mut map = parse_property_string(text, None);
        let mut flag = |key: &str| {
            map.remove(key)
                .and_then(|v| parse_bool(&v))
                .unwrap_or(false)
        };
        let nesting = flag("nesting");
        let keyctl = flag("keyctl");
        let fuse = flag("fuse");
        Features {
            nesting,
            keyctl,
            fuse,
            other: map,
        }
    }

    /// The property string to send; empty when no flag is set (then `features` is deleted).
    pub fn format(&self) -> String {
        let mut map: BTreeMap<&str, String> = BTreeMap::new();
        if self.fuse {
            map.insert("fuse", "1".into());
        }
        if self.keyctl {
            map.insert("keyctl", "1".into());
        }
        if self.nesting {
            map.insert("nesting", "1".into());
        }
        for (k, v) in &self.other {
            map.entry(k.as_str()).or_insert_with(|| v.clone());
        }
        map.into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The flags Proxmox lets only `root@pam` (password login) change on an unprivileged CT:
    /// everything except nesting.
    pub fn root_only_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if self.keyctl {
            flags.push("keyctl");
        }
        if self.fuse {
            flags.push("fuse");
        }
        flags
    }
}

/// `startup`: `order=3,up=30,down=60` (or a bare `3`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Startup {
    pub order: Option<u32>,
    /// Seconds to wait after starting this guest before starting the next.
    pub up: Option<u32>,
    /// Seconds to wait for this guest to shut down before stopping it.
    pub down: Option<u32>,
    pub other: BTreeMap<String, String>,
}

impl Startup {
    pub fn parse(text: &str) -> Startup {
        let mut map = parse_property_string(text, Some("order"));
        Startup {
            order: map.remove("order").and_then(|o| o.parse().ok()),
            up: map.remove("up").and_then(|o| o.parse().ok()),
            down: map.remove("down").and_then(|o| o.parse().ok()),
            other: map,
        }
    }

    /// The value to send, or `None` when nothing is set (then `startup` is deleted).
    pub fn format(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(order) = self.order {
            parts.push(format!("order={order}"));
        }
        if let Some(up) = self.up {
            parts.push(format!("up={up}"));
        }
        if let Some(down) = self.down {
            parts.push(format!("down={down}"));
        }
        parts.extend(self.other.iter().map(|(k, v)| format!("{k}={v}")));
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(","))
        }
    }
}

/// Unix seconds → RFC 3339 (UTC), as `ralf_snapshot.snaptime` shows it.
pub fn unix_to_rfc3339(seconds: i64) -> Option<String> {
    let time = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    time.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn net0_read_back_is_parsed_into_the_users_fields_and_the_generated_mac() {
        let net = NetIf::parse(
            "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=bc:24:11:aa:bb:cc,ip=10.0.0.5/24,tag=40,type=veth",
        );
        assert_eq!(net.name, "eth0");
        assert_eq!(net.bridge.as_deref(), Some("vmbr0"));
        assert_eq!(net.ip.as_deref(), Some("10.0.0.5/24"));
        assert_eq!(net.gateway.as_deref(), Some("10.0.0.1"));
        assert_eq!(net.vlan, Some(40));
        assert!(net.firewall);
        assert_eq!(net.hwaddr.as_deref(), Some("bc:24:11:aa:bb:cc"));
        assert_eq!(net.ipv4_address().as_deref(), Some("10.0.0.5"));
        assert_eq!(net.other.get("type").map(String::as_str), Some("veth"));
        let v6 = NetIf::parse("name=eth1,bridge=vmbr1,ip6=auto,mtu=9000,rate=12.5");
        assert_eq!(
            (v6.ip6.as_deref(), v6.mtu, v6.rate.as_deref()),
            (Some("auto"), Some(9000), Some("12.5"))
        );
        assert_eq!(
            v6.format(),
            "name=eth1,bridge=vmbr1,ip6=auto,mtu=9000,rate=12.5"
        );
    }

    #[test]
    fn net0_is_written_in_proxmox_order_and_keeps_unmanaged_keys() {
        let mut net = NetIf::parse(
            "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth,mtu=1400",
        );
        net.ip = Some("10.10.40.30/24".into());
        net.gateway = Some("10.10.40.1".into());
        assert_eq!(
            net.format(),
            "name=eth0,bridge=vmbr0,gw=10.10.40.1,hwaddr=BC:24:11:00:00:01,ip=10.10.40.30/24,mtu=1400,type=veth"
        );
    }

    #[test]
    fn dhcp_has_no_static_ipv4_address() {
        assert_eq!(NetIf::parse("name=eth0,ip=dhcp").ipv4_address(), None);
    }

    #[test]
    fn rootfs_read_back_gives_storage_size_in_gib_and_volume() {
        let rootfs = RootFs::parse("local-lvm:vm-105-disk-0,size=8G").unwrap();
        assert_eq!(rootfs.storage, "local-lvm");
        assert_eq!(rootfs.volume, "local-lvm:vm-105-disk-0");
        assert_eq!(rootfs.size_gib(), Some(8));
        let odd = RootFs::parse("volume=local:105/vm-105-disk-0.raw,size=4608M,acl=1").unwrap();
        assert_eq!(odd.storage, "local");
        assert_eq!(odd.size_gib(), Some(5));
        assert_eq!(odd.options.get("acl").map(String::as_str), Some("1"));
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(parse_size_bytes("8G"), Some(8 * GIB));
        assert_eq!(parse_size_bytes("512M"), Some(512 * 1024 * 1024));
        assert_eq!(parse_size_bytes("1T"), Some(1024 * GIB));
        assert_eq!(parse_size_bytes("1.5G"), Some(GIB + GIB / 2));
        assert_eq!(parse_size_bytes("4096"), Some(4096));
        assert_eq!(parse_size_bytes("8X"), None);
    }

    #[test]
    fn features_parse_in_any_order_and_format_sorted() {
        let features = Features::parse("nesting=1,keyctl=1");
        assert!(features.nesting && features.keyctl && !features.fuse);
        assert_eq!(features.format(), "keyctl=1,nesting=1");
        assert_eq!(Features::parse("keyctl=1,nesting=1"), features);
        assert_eq!(features.root_only_flags(), vec!["keyctl"]);
        assert_eq!(Features::default().format(), "");
        let mixed = Features::parse("nesting=true,mknod=1");
        assert!(mixed.nesting);
        assert_eq!(mixed.format(), "mknod=1,nesting=1");
    }

    #[test]
    fn tags_are_a_lowercase_sorted_set() {
        let tags = normalise_tags(["Web;ralf,svc", "web"]);
        assert_eq!(format_tags(&tags), "ralf;svc;web");
    }

    #[test]
    fn description_loses_the_trailing_newline_proxmox_adds() {
        assert_eq!(normalise_description("hello\n").as_deref(), Some("hello"));
        assert_eq!(
            normalise_description("two\nlines\n").as_deref(),
            Some("two\nlines")
        );
        assert_eq!(normalise_description("\n"), None);
        assert_eq!(normalise_description(""), None);
    }

    #[test]
    fn dns_lists_are_space_joined() {
        assert_eq!(
            normalise_dns_list("1.1.1.1, 9.9.9.9").as_deref(),
            Some("1.1.1.1 9.9.9.9")
        );
        assert_eq!(normalise_dns_list("  "), None);
    }

    #[test]
    fn startup_order_is_read_from_either_form() {
        assert_eq!(Startup::parse("order=3,up=30").order, Some(3));
        assert_eq!(Startup::parse("order=3,up=30,down=60").down, Some(60));
        assert_eq!(Startup::parse("7").order, Some(7));
        assert_eq!(
            Startup::parse("order=3,up=30").format().as_deref(),
            Some("order=3,up=30")
        );
        assert_eq!(Startup::default().format(), None);
    }

    #[test]
    fn json_scalars_are_read_leniently() {
        assert_eq!(value_u64(&json!(101)), Some(101));
        assert_eq!(value_u64(&json!("101")), Some(101));
        assert_eq!(value_bool(&json!(1)), Some(true));
        assert_eq!(value_bool(&json!("0")), Some(false));
        assert_eq!(value_bool(&json!(true)), Some(true));
        assert_eq!(value_text(&json!(2)).as_deref(), Some("2"));
    }

    #[test]
    fn snaptime_is_rfc3339_utc() {
        assert_eq!(
            unix_to_rfc3339(1_700_000_000).as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
    }
}
