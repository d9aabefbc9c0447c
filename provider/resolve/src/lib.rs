//! Host names to addresses without the system's NSS: the hosts file (`/etc/hosts`) first, then
//! the nameservers of `/etc/resolv.conf`, all in Rust, so a static binary resolves the same way
//! on any distribution and in an empty root (no glibc `getaddrinfo`, no NSS modules loaded at run
//! time; see docs/guides/installing.md). The smoke checks, the Proxmox VE API client and the
//! simulator's `pct` resolve through [`NameResolver`]; with the `reqwest` feature,
//! [`ReqwestResolver`] makes a reqwest client do the same.
//!
//! Names are never sent anywhere else: with no usable resolv.conf the lookup fails saying so and
//! naming both files, unlike hickory's and reqwest's defaults, which fall back to public DNS
//! servers. `localhost` (and `*.localhost`) not in the hosts file is the loopback address, as
//! RFC 6761 section 6.3 asks. IP literals never reach a resolver.
//!
//! The files are read once per [`NameResolver`], on the first lookup; which files is the
//! caller's choice ([`NameResolver::from_files`]), so tests need no global state. This crate
//! knows nothing about Proxmox, Terraform or checks.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
#[cfg(feature = "reqwest")]
use std::sync::Arc;

use hickory_resolver::config::{LookupIpStrategy, ResolveHosts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use tokio::sync::OnceCell;

/// Why a host name has no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "cannot resolve \"{host}\": it is not in {hosts_file}, and {resolv_conf_problem}; names \
         are never sent to public DNS servers: add the name to {hosts_file}, a `nameserver` line \
         to {resolv_conf}, or use an IP address"
    )]
    NoNameserver {
        host: String,
        hosts_file: String,
        resolv_conf: String,
        resolv_conf_problem: String,
    },
    #[error(
        "cannot resolve \"{host}\" through the nameservers of {resolv_conf} ({servers}): {reason}"
    )]
    LookupFailed {
        host: String,
        resolv_conf: String,
        servers: String,
        reason: String,
    },
    #[error("cannot resolve \"{host}\": the nameservers of {resolv_conf} ({servers}) know no address for it")]
    NoAddress {
        host: String,
        resolv_conf: String,
        servers: String,
    },
}

/// Resolves host names from a hosts file and a resolv.conf (by default the system's).
pub struct NameResolver {
    hosts_file: PathBuf,
    resolv_conf: PathBuf,
    loaded: OnceCell<Loaded>,
}

struct Loaded {
    /// Lower-case names without the final dot, each with its addresses in file order.
    hosts: HashMap<String, Vec<IpAddr>>,
    dns: Result<Dns, String>,
}

struct Dns {
    resolver: TokioResolver,
    /// `10.10.0.53, 10.10.0.54`, for messages.
    servers: String,
}

impl NameResolver {
    /// `/etc/hosts` then `/etc/resolv.conf`.
    pub fn system() -> NameResolver {
        NameResolver::from_files("/etc/hosts", "/etc/resolv.conf")
    }

    /// Another hosts file and resolv.conf (tests, or a chroot's own files).
    pub fn from_files(hosts_file: impl Into<PathBuf>, resolv_conf: impl Into<PathBuf>) -> Self {
        NameResolver {
            hosts_file: hosts_file.into(),
            resolv_conf: resolv_conf.into(),
            loaded: OnceCell::new(),
        }
    }

    /// Every address of `host`: an IP literal as it is, else the hosts file's addresses, else
    /// the DNS answer (IPv4 first, then IPv6).
    pub async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(address) = literal.parse::<IpAddr>() {
            return Ok(vec![address]);
        }
        let key = host.trim_end_matches('.').to_ascii_lowercase();
        let loaded = self.loaded.get_or_init(|| self.load()).await;
        if let Some(addresses) = loaded.hosts.get(&key) {
            return Ok(addresses.clone());
        }
        if key == "localhost" || key.ends_with(".localhost") {
            return Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]);
        }
        let dns = loaded
            .dns
            .as_ref()
            .map_err(|problem| ResolveError::NoNameserver {
                host: host.to_string(),
                hosts_file: self.hosts_file.display().to_string(),
                resolv_conf: self.resolv_conf.display().to_string(),
                resolv_conf_problem: problem.clone(),
            })?;
        // The name is absolute: no search domains are appended to a name with dots (resolv.conf's
        // `ndots` still applies to single labels).
        let lookup = dns.resolver.lookup_ip(host).await.map_err(|error| {
            if error.is_nx_domain() || error.is_no_records_found() {
                return ResolveError::NoAddress {
                    host: host.to_string(),
                    resolv_conf: self.resolv_conf.display().to_string(),
                    servers: dns.servers.clone(),
                };
            }
            ResolveError::LookupFailed {
                host: host.to_string(),
                resolv_conf: self.resolv_conf.display().to_string(),
                servers: dns.servers.clone(),
                // hickory's messages already hold their causes ("io error: ...").
                reason: error.to_string(),
            }
        })?;
        let addresses: Vec<IpAddr> = lookup.iter().collect();
        if addresses.is_empty() {
            return Err(ResolveError::NoAddress {
                host: host.to_string(),
                resolv_conf: self.resolv_conf.display().to_string(),
                servers: dns.servers.clone(),
            });
        }
        Ok(addresses)
    }

    /// Every address of `host` with `port`, for a connect that tries each in turn.
    pub async fn socket_addrs(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        Ok(self
            .lookup(host)
            .await?
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }

    async fn load(&self) -> Loaded {
        // A missing hosts file (an empty root) is an empty one; the error names the path anyway.
        let hosts = std::fs::read_to_string(&self.hosts_file)
            .map(|text| parse_hosts(&text))
            .unwrap_or_default();
        Loaded {
            hosts,
            dns: dns_from_resolv_conf(&self.resolv_conf),
        }
    }
}

impl Default for NameResolver {
    fn default() -> Self {
        NameResolver::system()
    }
}

impl fmt::Debug for NameResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameResolver")
            .field("hosts_file", &self.hosts_file)
            .field("resolv_conf", &self.resolv_conf)
            .finish_non_exhaustive()
    }
}

/// The resolv.conf's nameservers as a hickory resolver, or why there is none.
fn dns_from_resolv_conf(path: &Path) -> Result<Dns, String> {
    let text = std::fs::read(path)
        .map_err(|error| format!("{} cannot be read ({error})", path.display()))?;
    let (config, mut options) = hickory_resolver::system_conf::parse_resolv_conf(&text)
        .map_err(|error| format!("{} names no usable nameserver ({error})", path.display()))?;
    if config.name_servers().is_empty() {
        return Err(format!("{} names no nameserver", path.display()));
    }
    let servers = config
        .name_servers()
        .iter()
        .map(|server| server.ip.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // The hosts file was consulted already, from the path this resolver was given.
    options.use_hosts_file = ResolveHosts::Never;
    options.ip_strategy = LookupIpStrategy::Ipv4thenIpv6;
    let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
        .map_err(|error| format!("{} cannot be used ({error})", path.display()))?;
    Ok(Dns { resolver, servers })
}

/// `address name [aliases...]` lines; `#` starts a comment.
fn parse_hosts(text: &str) -> HashMap<String, Vec<IpAddr>> {
    let mut hosts: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(Ok(address)) = fields
            .next()
            .map(|a| a.split('%').next().unwrap_or(a).parse::<IpAddr>())
        else {
            continue;
        };
        for name in fields {
            let entry = hosts
                .entry(name.trim_end_matches('.').to_ascii_lowercase())
                .or_default();
            if !entry.contains(&address) {
                entry.push(address);
            }
        }
    }
    hosts
}

/// [`NameResolver`] as reqwest's resolver (`ClientBuilder::dns_resolver`), so an HTTP client
/// resolves the same way. A failed lookup is the [`ResolveError`] itself, which a caller finds
/// among the sources of reqwest's error.
#[cfg(feature = "reqwest")]
#[derive(Debug, Clone)]
pub struct ReqwestResolver(pub Arc<NameResolver>);

#[cfg(feature = "reqwest")]
impl reqwest::dns::Resolve for ReqwestResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.0.clone();
        Box::pin(async move {
            let addresses = resolver.socket_addrs(name.as_str(), 0).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_file_gives_every_name_of_a_line_its_address_ignoring_comments_and_case() {
        let hosts = parse_hosts(
            "# comment\n127.0.0.1 localhost\n10.10.20.10  Gitea.ralf.lan gitea # the forge\n\
             fd00::10 gitea.ralf.lan\nnot-an-address foo\n",
        );
        assert_eq!(
            hosts["gitea.ralf.lan"],
            vec![
                "10.10.20.10".parse::<IpAddr>().unwrap(),
                "fd00::10".parse().unwrap()
            ]
        );
        assert_eq!(
            hosts["gitea"],
            vec!["10.10.20.10".parse::<IpAddr>().unwrap()]
        );
        assert!(!hosts.contains_key("foo"));
    }
}
