//! What Proxmox VE accepts as input, one home per rule: guest ids, whole numbers in range,
//! hostnames, IPv4 CIDRs, tags, bridge names, DNS server lists, description and password lengths.
//! The resources run these at plan time so that nothing Proxmox would refuse reaches apply.
//!
//! Rules follow `pve-common/src/PVE/JSONSchema.pm` (`pve-vmid`, `dns-name`, `pve-tag-list`,
//! `pve-bridge-id`, integer ranges) and `pve-container/src/PVE/LXC/Config.pm` (lengths). Pure
//! functions only: no I/O, no Terraform.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// A broken rule: a short summary (for a diagnostic's title) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct RuleError {
    pub summary: String,
    pub detail: String,
}

impl RuleError {
    fn new(summary: impl Into<String>, detail: impl Into<String>) -> RuleError {
        RuleError {
            summary: summary.into(),
            detail: detail.into(),
        }
    }
}

/// A guest id (container or VM): a whole number in 100..=999999999 (`pve-vmid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CtId(u32);

impl CtId {
    pub const MIN: u32 = 100;
    pub const MAX: u32 = 999_999_999;

    /// The id in a number as Terraform passes it (`ct_id = 4010`).
    pub fn from_number(number: f64) -> Result<CtId, RuleError> {
        let whole = whole_number("ct_id", number)?;
        CtId::new(whole)
    }

    pub fn new(id: i64) -> Result<CtId, RuleError> {
        match u32::try_from(id) {
            Ok(id) if (CtId::MIN..=CtId::MAX).contains(&id) => Ok(CtId(id)),
            _ => Err(RuleError::new(
                "ct_id out of range",
                format!(
                    "ct_id {id} is outside 100-999999999, the ids Proxmox VE allows for guests."
                ),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for CtId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `number` as a whole number; `name` is the attribute, for the message.
pub fn whole_number(name: &str, number: f64) -> Result<i64, RuleError> {
    if !number.is_finite() || number.fract() != 0.0 || number.abs() > 9.0e15 {
        return Err(RuleError::new(
            format!("{name} must be a whole number"),
            format!("{name} = {number} must be a whole number: Proxmox VE takes integers only."),
        ));
    }
    Ok(number as i64)
}

/// `number` as a whole number in `min..=max` (`max` `None`: no upper bound).
pub fn whole_in_range(
    name: &str,
    number: f64,
    min: i64,
    max: Option<i64>,
    unit: &str,
) -> Result<i64, RuleError> {
    let value = whole_number(name, number)?;
    let above = max.is_some_and(|max| value > max);
    if value < min || above {
        let range = match max {
            Some(max) => format!("{min}-{max}"),
            None => format!("at least {min}"),
        };
        return Err(RuleError::new(
            format!("{name} out of range"),
            format!("{name} = {value}{unit} is outside {range}, what Proxmox VE accepts."),
        ));
    }
    Ok(value)
}

/// A hostname Proxmox accepts (`dns-name`): dot-separated labels of letters, digits and hyphens,
/// not starting or ending with a hyphen.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An IPv4 address with its prefix length, `10.10.40.30/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// Parses `a.b.c.d/len` (`len` 0..=32).
    pub fn parse(text: &str) -> Option<Ipv4Cidr> {
        let (addr, len) = text.split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = len.parse().ok()?;
        (prefix <= 32).then_some(Ipv4Cidr { addr, prefix })
    }

    /// Whether `other` lies in this address's subnet.
    pub fn contains(&self, other: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        };
        u32::from(self.addr) & mask == u32::from(other) & mask
    }
}

/// A tag Proxmox accepts (`pve-tag-list` item): `[a-z0-9_][a-z0-9_\-+.]*`, any case.
pub fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'))
}

/// A bridge name Proxmox accepts (`pve-bridge-id`): 1-15 letters, digits, `-`, `_` or `.`
/// (a Linux interface name).
pub fn valid_bridge(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The items of a DNS server list (`nameserver`) that are not IP addresses. Items are separated
/// by spaces, commas or semicolons, as Proxmox splits them.
pub fn invalid_nameservers(list: &str) -> Vec<String> {
    list.split([' ', ',', ';'])
        .filter(|item| !item.is_empty())
        .filter(|item| item.parse::<IpAddr>().is_err())
        .map(str::to_string)
        .collect()
}

/// The longest description Proxmox stores (characters).
pub const DESCRIPTION_MAX: usize = 8192;
/// The shortest root password Proxmox accepts (characters).
pub const PASSWORD_MIN: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ct_id_is_a_whole_number_between_100_and_999999999() {
        assert_eq!(CtId::from_number(4010.0).unwrap().get(), 4010);
        let fractional = CtId::from_number(100.5).unwrap_err();
        assert_eq!(fractional.summary, "ct_id must be a whole number");
        let small = CtId::from_number(99.0).unwrap_err();
        assert_eq!(small.summary, "ct_id out of range");
        assert!(small.detail.contains("outside 100-999999999"), "{small}");
        assert!(CtId::new(1_000_000_000).is_err());
    }

    #[test]
    fn ranges_name_the_attribute_and_the_bounds() {
        assert_eq!(whole_in_range("swap", 0.0, 0, None, " MiB"), Ok(0));
        let error = whole_in_range("swap", -1.0, 0, None, " MiB").unwrap_err();
        assert_eq!(error.summary, "swap out of range");
        assert!(error.detail.contains("at least 0"), "{error}");
        let error = whole_in_range("memory", 1024.5, 16, None, " MiB").unwrap_err();
        assert_eq!(error.summary, "memory must be a whole number");
    }

    #[test]
    fn hostnames_must_be_dns_names() {
        assert!(valid_hostname("vaultwarden"));
        assert!(valid_hostname("mail.home.lan"));
        assert!(!valid_hostname("under_score"));
        assert!(!valid_hostname("-lead"));
        assert!(!valid_hostname(""));
    }

    #[test]
    fn gateway_must_lie_in_the_subnet() {
        let cidr = Ipv4Cidr::parse("10.10.40.30/24").unwrap();
        assert!(cidr.contains("10.10.40.1".parse().unwrap()));
        assert!(!cidr.contains("10.10.41.1".parse().unwrap()));
        assert!(Ipv4Cidr::parse("10.10.40.30").is_none());
    }

    #[test]
    fn tags_follow_proxmox_tag_rule() {
        assert!(valid_tag("ralf"));
        assert!(valid_tag("Web_1.2+x-y"));
        assert!(!valid_tag("two words"));
        assert!(!valid_tag("a;b"));
        assert!(!valid_tag("-lead"));
        assert!(!valid_tag(""));
    }

    #[test]
    fn bridges_and_nameservers_follow_proxmox_syntax() {
        assert!(valid_bridge("vmbr0"));
        assert!(!valid_bridge("vm br0"));
        assert!(!valid_bridge("a-very-long-bridge-name"));
        assert!(invalid_nameservers("1.1.1.1 9.9.9.9,2001:db8::1").is_empty());
        assert_eq!(
            invalid_nameservers("1.1.1.1 dns.example"),
            vec!["dns.example"]
        );
    }
}
