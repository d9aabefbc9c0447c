//! Container config values as Proxmox stores and prints them: property strings in canonical
//! key order (`print_property_string`, pve-common `src/PVE/JSONSchema.pm`), `net[n]` with a
//! generated MAC address, sorted lowercase tags, space-joined DNS lists, descriptions ending
//! in a newline, and disk sizes in the largest exact unit.

use std::collections::BTreeMap;

use crate::schema::{self, Format, ParamSpec, ParamType};

/// The key specs of a property-string option (`net0`, `rootfs`, `features`, ...).
pub fn property_keys(option: &str) -> Option<Vec<ParamSpec>> {
    let schema = schema::method_schema("PUT", "/nodes/{node}/lxc/{vmid}/config")?;
    match &schema.param(option)?.format {
        Some(Format::PropertyString(keys)) => Some(keys.clone()),
        _ => None,
    }
}

/// The schema type of a config option, for typing GET config output.
pub fn option_type(option: &str) -> Option<ParamType> {
    let schema = schema::method_schema("PUT", "/nodes/{node}/lxc/{vmid}/config")?;
    schema.param(option).map(|p| p.ty)
}

/// Prints a parsed property string: the default key's bare value first, then required keys,
/// then the rest alphabetically.
pub fn print_property_string(keys: &[ParamSpec], values: &BTreeMap<String, String>) -> String {
    let mut parts = Vec::new();
    if let Some(default) = keys.iter().find(|k| k.default_key) {
        if let Some(v) = values.get(default.name) {
            parts.push(v.clone());
        }
    }
    for key in keys.iter().filter(|k| !k.optional && !k.default_key) {
        if let Some(v) = values.get(key.name) {
            parts.push(format!("{}={v}", key.name));
        }
    }
    for (k, v) in values {
        let spec = keys.iter().find(|s| s.name == k);
        let printed_already = spec.is_some_and(|s| s.default_key || !s.optional);
        if !printed_already {
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join(",")
}

/// Parses a stored property-string value leniently (values in the cluster are already valid).
pub fn parse_stored(option: &str, value: &str) -> BTreeMap<String, String> {
    let family = option.trim_end_matches(|c: char| c.is_ascii_digit());
    let keys = property_keys(option).or_else(|| property_keys(&format!("{family}0")));
    match keys {
        Some(keys) => schema::parse_property_string(&keys, value).unwrap_or_default(),
        None => BTreeMap::new(),
    }
}

/// One key of a stored property string such as `net0` or `rootfs`.
pub fn property_value(value: &str, key: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        part.split_once('=')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })
}

/// The bare (default-key) part of a volume property string, e.g. the volume id of `rootfs`.
pub fn default_key_value(value: &str) -> String {
    value
        .split(',')
        .find(|p| !p.contains('='))
        .or_else(|| value.split(',').find_map(|p| p.strip_prefix("volume=")))
        .unwrap_or("")
        .to_string()
}

/// Proxmox's `parse_size`: a number with an optional K/M/G/T unit; no unit means bytes.
pub fn parse_size(value: &str) -> Option<u64> {
    let (number, multiplier) = match value.chars().last()? {
        'K' => (&value[..value.len() - 1], 1u64 << 10),
        'M' => (&value[..value.len() - 1], 1u64 << 20),
        'G' => (&value[..value.len() - 1], 1u64 << 30),
        'T' => (&value[..value.len() - 1], 1u64 << 40),
        _ => (value, 1),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    Some((n * multiplier as f64) as u64)
}

/// Proxmox's `format_size`: the largest unit that represents the size exactly.
pub fn format_size(bytes: u64) -> String {
    let units = [
        ("T", 1u64 << 40),
        ("G", 1u64 << 30),
        ("M", 1u64 << 20),
        ("K", 1u64 << 10),
    ];
    for (unit, size) in units {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// Tags as Proxmox stores them by default: split on separators, lowercased, sorted, unique,
/// joined with `;`.
pub fn normalize_tags(value: &str) -> String {
    let mut tags: Vec<String> = schema_split(value).map(|t| t.to_lowercase()).collect();
    tags.sort();
    tags.dedup();
    tags.join(";")
}

fn schema_split(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c == ',' || c == ';' || c == '\0' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

/// `nameserver` and `searchdomain` read back space-joined.
pub fn normalize_space_list(value: &str) -> String {
    schema_split(value).collect::<Vec<_>>().join(" ")
}

/// A description as it reads back from the config file: `write_pct_config` writes each line
/// of `split(/\n/)` (trailing empty lines dropped) as a `#` comment, and `parse_pct_config`
/// gives every comment line back with `\n`; an empty description leaves no key.
pub fn normalize_description(value: &str) -> String {
    let mut out = String::new();
    for line in value.trim_end_matches('\n').split('\n') {
        out.push_str(line);
        out.push('\n');
    }
    if out.trim_end_matches('\n').is_empty() {
        return String::new();
    }
    out
}

/// Normalises a `net[n]` value: canonical key order, `type=veth`, and a generated `hwaddr`
/// when none is given.
pub fn normalize_net(value: &str, generate_mac: impl FnOnce() -> String) -> String {
    let Some(keys) = property_keys("net0") else {
        return value.to_string();
    };
    let mut parsed = schema::parse_property_string(&keys, value).unwrap_or_default();
    // A given `hwaddr` is kept as written, lower case included (`parse_lxc_network`).
    if !parsed.contains_key("hwaddr") {
        parsed.insert("hwaddr".to_string(), generate_mac());
    }
    parsed.insert("type".to_string(), "veth".to_string());
    print_property_string(&keys, &parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net0_reads_back_in_proxmox_key_order_with_generated_mac() {
        let out = normalize_net(
            "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,tag=40,firewall=1",
            || "BC:24:11:AA:BB:CC".to_string(),
        );
        assert_eq!(
            out,
            "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=BC:24:11:AA:BB:CC,ip=10.0.0.5/24,tag=40,type=veth"
        );
    }

    #[test]
    fn tags_are_lowercased_sorted_and_unique() {
        assert_eq!(normalize_tags("Web;ralf,svc web"), "ralf;svc;web");
    }

    #[test]
    fn sizes_print_in_largest_exact_unit() {
        assert_eq!(format_size(8 << 30), "8G");
        assert_eq!(format_size(1536 << 20), "1536M");
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("1024"), Some(1024));
    }
}
