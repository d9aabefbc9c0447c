//! The `tcp { host, port }` check: passes when a TCP connection to the port opens. A host name
//! is resolved with [`NameResolver`] (hosts file, then resolv.conf), each address tried in turn.

use tokio::net::TcpStream;

use super::parse::{self, ParseError};
use super::Outcome;
use resolve::NameResolver;

/// Connects to `host:port`; the connection is closed at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpCheck {
    pub host: String,
    pub port: u16,
}

impl TcpCheck {
    /// Checks the host and port, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        parse::validate_host(&self.host)?;
        parse::parse_port(i64::from(self.port))?;
        Ok(())
    }

    /// `host:port`, with IPv6 addresses in brackets (`[::1]:5432`).
    pub fn target(&self) -> String {
        host_port(&self.host, self.port)
    }

    pub(crate) async fn attempt(&self, resolver: &NameResolver) -> Outcome {
        let addresses = match resolver.socket_addrs(&self.host, self.port).await {
            Ok(addresses) => addresses,
            Err(error) => return Outcome::Fail(error.to_string()),
        };
        match TcpStream::connect(&addresses[..]).await {
            Ok(stream) => {
                let peer = stream
                    .peer_addr()
                    .map(|addr| addr.to_string())
                    .unwrap_or_else(|_| self.target());
                Outcome::Ok(format!("connected to {peer}"))
            }
            Err(error) => Outcome::Fail(format!("connect to {} failed: {error}", self.target())),
        }
    }
}

/// `host:port`, bracketing IPv6 literals.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
