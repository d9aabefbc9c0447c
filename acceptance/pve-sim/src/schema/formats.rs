//! Validators for Proxmox's named string formats (`pve-vmid`, `dns-name`, `pve-tag-list`, ...)
//! with the messages Proxmox gives. A `-list` suffix splits the value on commas, semicolons,
//! whitespace or NUL and checks every item.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Checks `value` against the named format; the error is the text after `invalid format - `.
pub fn check_named_format(format: &str, value: &str) -> Result<(), String> {
    if let Some(item_format) = format.strip_suffix("-list") {
        for item in split_list(value) {
            check_single(item_format, item)?;
        }
        return Ok(());
    }
    if let Some(item_format) = format.strip_suffix("-opt") {
        if value.is_empty() {
            return Ok(());
        }
        return check_single(item_format, value);
    }
    check_single(format, value)
}

/// Proxmox's `split_list`: separators are `,`, `;`, whitespace and NUL.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c == ',' || c == ';' || c == '\0' || c.is_whitespace())
        .filter(|s| !s.is_empty())
}

fn is_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    !bytes.is_empty()
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(is_label)
}

pub fn is_configid(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

pub fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'.'))
}

fn is_storage_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_cidr_v4(value: &str) -> bool {
    match value.split_once('/') {
        Some((ip, prefix)) => {
            ip.parse::<Ipv4Addr>().is_ok()
                && prefix.parse::<u8>().is_ok_and(|p| (8..=32).contains(&p))
        }
        None => false,
    }
}

fn is_cidr_v6(value: &str) -> bool {
    match value.split_once('/') {
        Some((ip, prefix)) => {
            ip.parse::<Ipv6Addr>().is_ok()
                && prefix.parse::<u8>().is_ok_and(|p| (8..=128).contains(&p))
        }
        None => false,
    }
}

fn is_volume_id(value: &str) -> bool {
    match value.split_once(':') {
        Some((storage, name)) => is_storage_id(storage) && !name.is_empty(),
        None => false,
    }
}

fn is_unicast_mac(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
        && u8::from_str_radix(parts[0], 16).is_ok_and(|first| first & 1 == 0)
}

fn is_disk_size(value: &str) -> bool {
    let number = value.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(value);
    match number.split_once('.') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => !number.is_empty() && number.bytes().all(|c| c.is_ascii_digit()),
    }
}

fn is_startup_order(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    value.split(',').all(|part| {
        let part = part.trim();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        part.is_empty()
            || digits(part.strip_prefix("order=").unwrap_or(part))
            || part.strip_prefix("up=").is_some_and(digits)
            || part.strip_prefix("down=").is_some_and(digits)
    })
}

fn check_single(format: &str, value: &str) -> Result<(), String> {
    let ok = |b: bool, msg: String| if b { Ok(()) } else { Err(msg) };
    match format {
        "pve-vmid" => ok(
            value.len() >= 3
                && value.len() <= 9
                && !value.starts_with('0')
                && value.bytes().all(|b| b.is_ascii_digit()),
            "value does not look like a valid VM ID".into(),
        ),
        "pve-node" => ok(
            is_label(value),
            "value does not look like a valid node name".into(),
        ),
        "dns-name" => ok(
            is_dns_name(value),
            "value does not look like a valid DNS name".into(),
        ),
        "pve-configid" => ok(
            is_configid(value),
            format!("invalid configuration ID '{value}'"),
        ),
        "pve-tag" => ok(is_tag(value), "invalid characters in tag".into()),
        "pve-startup-order" => ok(
            is_startup_order(value),
            "unable to parse startup options".into(),
        ),
        "pve-storage-id" => ok(
            is_storage_id(value),
            format!("storage ID '{value}' contains illegal characters"),
        ),
        "pve-poolid" => ok(
            !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/')),
            format!("invalid pool ID '{value}'"),
        ),
        "pve-volume-id" => ok(
            is_volume_id(value),
            format!("unable to parse volume ID '{value}'"),
        ),
        "ipv4" => ok(
            value.parse::<Ipv4Addr>().is_ok(),
            "value does not look like a valid IPv4 address".into(),
        ),
        "ipv6" => ok(
            value.parse::<Ipv6Addr>().is_ok(),
            "value does not look like a valid IPv6 address".into(),
        ),
        "pve-ipv4-config" => ok(
            value == "dhcp" || value == "manual" || is_cidr_v4(value),
            "value does not look like a valid ipv4 network configuration".into(),
        ),
        "pve-ipv6-config" => ok(
            matches!(value, "auto" | "dhcp" | "manual") || is_cidr_v6(value),
            "value does not look like a valid ipv6 network configuration".into(),
        ),
        "mac-addr" => ok(
            is_unicast_mac(value),
            "value does not look like a valid unicast MAC address".into(),
        ),
        "disk-size" => ok(
            is_disk_size(value),
            format!("value does not look like a valid disk size: {value}"),
        ),
        "lxc-ip-with-ll-iface" => {
            let ip = value.split_once('%').map_or(value, |(ip, _iface)| ip);
            ok(
                ip.parse::<std::net::IpAddr>().is_ok(),
                "value does not look like a valid IP address".into(),
            )
        }
        // pve-container `src/PVE/LXC/Config.pm` (`verify_lxc_mp_string`): no `/./`, `/../`,
        // trailing `/.` or `/..`, or leading `../`.
        "pve-lxc-mp-string" => {
            let dots = |s: &str| s == "." || s == "..";
            let illegal = value
                .split('/')
                .enumerate()
                .any(|(i, part)| dots(part) && (i > 0 || part == ".." && value.len() > 2));
            ok(
                !illegal,
                format!("{value} contains illegal character sequences"),
            )
        }
        // `verify_lxc_dev_string`: under `/dev/`, without `/.` or `/..` path parts.
        "pve-lxc-dev-string" => ok(
            value.starts_with("/dev/") && !value.split('/').skip(1).any(|p| p == "." || p == ".."),
            format!("{value} is not a valid device path"),
        ),
        "pve-ct-timezone" => ok(
            value == "host"
                || value == "UTC"
                || (value.contains('/')
                    && value.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+')
                    })),
            format!("invalid time zone '{value}'"),
        ),
        "pve-realm" => ok(
            value.len() >= 2
                && value.as_bytes()[0].is_ascii_alphabetic()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')),
            format!("realm ID '{value}' contains illegal characters"),
        ),
        "pve-priv" => ok(
            !value.is_empty()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.'),
            format!("invalid privilege name '{value}'"),
        ),
        "pve-storage-content" => ok(
            matches!(
                value,
                "images" | "rootdir" | "vztmpl" | "iso" | "backup" | "snippets" | "import" | "none"
            ),
            format!("invalid content type '{value}'"),
        ),
        "pve-task-status-type" => ok(
            matches!(
                value.to_ascii_lowercase().as_str(),
                "ok" | "error" | "warning" | "unknown"
            ),
            format!("invalid status '{value}'"),
        ),
        // A format the table names but this simulator does not check: accept, as Proxmox
        // accepts the plain string format.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmid_format_follows_proxmox_regex() {
        assert!(check_named_format("pve-vmid", "100").is_ok());
        assert!(check_named_format("pve-vmid", "999999999").is_ok());
        assert_eq!(
            check_named_format("pve-vmid", "99").unwrap_err(),
            "value does not look like a valid VM ID"
        );
        assert!(check_named_format("pve-vmid", "1000000000").is_err());
        assert!(check_named_format("pve-vmid", "0100").is_err());
    }

    #[test]
    fn tag_list_is_split_on_separators() {
        assert!(check_named_format("pve-tag-list", "Web;ralf,svc").is_ok());
        assert_eq!(
            check_named_format("pve-tag-list", "ok;no way!").unwrap_err(),
            "invalid characters in tag"
        );
    }

    #[test]
    fn ipv4_config_needs_a_prefix_between_8_and_32() {
        assert!(check_named_format("pve-ipv4-config", "10.0.0.5/24").is_ok());
        assert!(check_named_format("pve-ipv4-config", "dhcp").is_ok());
        assert!(check_named_format("pve-ipv4-config", "10.0.0.5").is_err());
        assert!(check_named_format("pve-ipv4-config", "10.0.0.5/7").is_err());
    }

    #[test]
    fn mac_must_be_unicast() {
        assert!(check_named_format("mac-addr", "BC:24:11:00:00:01").is_ok());
        assert!(check_named_format("mac-addr", "01:24:11:00:00:01").is_err());
    }
}
