//! The lab's network: one host bridge with the first address of the lab range, IPv4
//! forwarding off on it and IPv6 disabled, so the range exists only on this bridge and in the
//! containers' namespaces joined to it by veth. No NAT and no route off the machine are ever
//! added.

use std::net::Ipv4Addr;

use super::process::check_blocking;
use super::LabError;

/// An IPv4 prefix such as 198.18.0.0/15.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Range {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Range {
    fn mask(self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    pub fn contains(self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == u32::from(self.base) & self.mask()
    }
}

impl std::fmt::Display for Ipv4Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl std::str::FromStr for Ipv4Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("'{s}' is not an IPv4 prefix like 198.18.0.0/15");
        let (base, prefix) = s.split_once('/').ok_or_else(invalid)?;
        let base: Ipv4Addr = base.parse().map_err(|_| invalid())?;
        let prefix: u8 = prefix.parse().map_err(|_| invalid())?;
        if prefix > 32 {
            return Err(invalid());
        }
        Ok(Ipv4Range { base, prefix })
    }
}

/// The lab bridge and its range.
#[derive(Debug, Clone)]
pub struct LabNetwork {
    /// Host bridge name (at most 15 characters); every container's `net[n]` joins it,
    /// whatever `bridge=` it names.
    pub bridge: String,
    /// The range containers' addresses and gateways must lie in.
    pub range: Ipv4Range,
    /// The bridge's own address (the containers' gateway), inside `range`.
    pub bridge_address: Ipv4Addr,
}

/// The benchmarking range of RFC 2544.
pub const LAB_RANGE: Ipv4Range = Ipv4Range {
    base: Ipv4Addr::new(198, 18, 0, 0),
    prefix: 15,
};

impl Default for LabNetwork {
    fn default() -> Self {
        LabNetwork {
            bridge: "pvesimlab0".to_string(),
            range: LAB_RANGE,
            bridge_address: Ipv4Addr::new(198, 18, 0, 1),
        }
    }
}

impl LabNetwork {
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        self.range.contains(addr) && addr != self.bridge_address
    }

    fn exists(&self) -> bool {
        std::path::Path::new("/sys/class/net")
            .join(&self.bridge)
            .exists()
    }

    /// Creates the bridge; refuses when it exists already (another lab, or a leftover).
    pub fn create(&self) -> Result<(), LabError> {
        if !self.range.contains(self.bridge_address) {
            return Err(LabError::Command(format!(
                "the bridge address {} is outside the lab range {}",
                self.bridge_address, self.range
            )));
        }
        if self.exists() {
            return Err(LabError::BridgeExists(self.bridge.clone()));
        }
        let address = format!("{}/{}", self.bridge_address, self.range.prefix);
        let steps: [&[&str]; 3] = [
            &["link", "add", &self.bridge, "type", "bridge"],
            &["addr", "add", &address, "dev", &self.bridge],
            &["link", "set", &self.bridge, "up"],
        ];
        for args in steps {
            if let Err(e) = check_blocking("ip", args) {
                self.remove();
                return Err(LabError::Command(e));
            }
        }
        // Packets arriving on the bridge are never forwarded elsewhere, even if the host
        // forwards on other interfaces; IPv6 stays off the bridge.
        let sysctls = [
            (
                format!("/proc/sys/net/ipv4/conf/{}/forwarding", self.bridge),
                "0",
            ),
            (
                format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", self.bridge),
                "1",
            ),
        ];
        for (path, value) in sysctls {
            if let Err(e) = std::fs::write(&path, value) {
                tracing::warn!("lab: cannot write {value} to {path}: {e}");
            }
        }
        Ok(())
    }

    /// Deletes the bridge (and with it the veths still attached); whether it existed.
    pub fn remove(&self) -> bool {
        if !self.exists() {
            return false;
        }
        if let Err(e) = check_blocking("ip", &["link", "del", &self.bridge]) {
            tracing::error!("lab: {e}");
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_range_is_198_18_0_0_15_and_nothing_else() {
        let net = LabNetwork::default();
        assert!(net.contains(Ipv4Addr::new(198, 18, 20, 20)));
        assert!(net.contains(Ipv4Addr::new(198, 19, 255, 254)));
        assert!(!net.contains(Ipv4Addr::new(198, 20, 0, 1)));
        assert!(!net.contains(Ipv4Addr::new(10, 10, 20, 20)));
        assert!(!net.contains(Ipv4Addr::new(127, 0, 20, 20)));
        assert!(
            !net.contains(net.bridge_address),
            "the bridge's own address is no container's"
        );
    }

    #[test]
    fn a_range_is_parsed_and_printed_as_a_prefix() {
        let range: Ipv4Range = "198.18.0.0/15".parse().unwrap();
        assert_eq!(range, LAB_RANGE);
        assert_eq!(range.to_string(), "198.18.0.0/15");
        assert!("198.18.0.0".parse::<Ipv4Range>().is_err());
        assert!("198.18.0.0/33".parse::<Ipv4Range>().is_err());
    }
}
