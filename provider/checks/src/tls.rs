//! The `tls { host }` check: a TLS handshake whose certificate verifies for a server name and
//! stays valid for at least `min_days_valid` more days.
//!
//! Certificates are verified against the `ca_cert` given, else the system's trust store; this
//! check has no way to turn verification off (that is what it checks). It knows nothing about
//! Terraform.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::parse::{self, ParseError};
use super::tcp::host_port;
use super::{error_chain, Outcome};
use resolve::NameResolver;

const SECONDS_PER_DAY: i64 = 86_400;

/// Connects to `host:port` with TLS and inspects the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsCheck {
    pub host: String,
    pub port: u16,
    /// The name the certificate must be valid for; `None` means `host`.
    pub server_name: Option<String>,
    /// PEM certificates to trust instead of the system's store (a private CA).
    pub ca_cert: Option<String>,
    /// How many more days the certificate must stay valid.
    pub min_days_valid: u32,
}

/// A tls check ready to attempt: its trust store and server name built once.
pub(crate) struct PreparedTls {
    check: TlsCheck,
    server_name: ServerName<'static>,
    connector: TlsConnector,
}

impl std::fmt::Debug for PreparedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedTls")
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl TlsCheck {
    /// The HTTPS port.
    pub const DEFAULT_PORT: u16 = 443;
    /// Days of validity required when none is configured: renewals usually run 30 days ahead.
    pub const DEFAULT_MIN_DAYS_VALID: u32 = 14;

    /// Checks every value, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        parse::validate_host(&self.host)?;
        parse::parse_port(i64::from(self.port))?;
        self.parse_server_name()?;
        if let Some(pem) = &self.ca_cert {
            parse::parse_ca_cert(pem)?;
        }
        Ok(())
    }

    /// `host:port`, with the server name when it differs: `10.10.0.5:443 (gitea.ralf.lan)`.
    pub fn target(&self) -> String {
        match &self.server_name {
            Some(name) if name != &self.host => {
                format!("{} ({name})", host_port(&self.host, self.port))
            }
            _ => host_port(&self.host, self.port),
        }
    }

    fn name_to_verify(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    fn parse_server_name(&self) -> Result<ServerName<'static>, ParseError> {
        parse_server_name(self.name_to_verify())
    }

    pub(crate) fn prepare(&self) -> Result<PreparedTls, Outcome> {
        let invalid = |error: ParseError| Outcome::Fail(format!("tls check is not valid: {error}"));
        let server_name = self.parse_server_name().map_err(invalid)?;
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_cert {
            Some(pem) => {
                for cert in parse::parse_ca_cert(pem).map_err(invalid)? {
                    roots.add(cert).map_err(|error| {
                        Outcome::Fail(format!("ca_cert cannot be used as a trust anchor: {error}"))
                    })?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for cert in native.certs {
                    // A certificate of the system's store that rustls cannot use is skipped, as
                    // every TLS client does; the handshake then says if nothing trusted the server.
                    let _ = roots.add(cert);
                }
                if roots.is_empty() {
                    return Err(Outcome::Fail(
                        "the system's trust store has no usable CA certificate (install \
                         ca-certificates, or set ca_cert to the CA that signed the server's \
                         certificate)"
                            .to_string(),
                    ));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| Outcome::Fail(format!("cannot set up TLS: {error}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(PreparedTls {
            check: self.clone(),
            server_name,
            connector: TlsConnector::from(Arc::new(config)),
        })
    }
}

impl PreparedTls {
    pub(crate) async fn attempt(&self, resolver: &NameResolver) -> Outcome {
        let check = &self.check;
        let addresses = match resolver.socket_addrs(&check.host, check.port).await {
            Ok(addresses) => addresses,
            Err(error) => return Outcome::Fail(error.to_string()),
        };
        let stream = match TcpStream::connect(&addresses[..]).await {
            Ok(stream) => stream,
            Err(error) => {
                return Outcome::Fail(format!("connect to {} failed: {error}", check.target()))
            }
        };
        let tls = match self
            .connector
            .connect(self.server_name.clone(), stream)
            .await
        {
            Ok(tls) => tls,
            Err(error) => {
                return Outcome::Fail(format!(
                    "TLS handshake with {} for \"{}\" failed: {}",
                    host_port(&check.host, check.port),
                    check.name_to_verify(),
                    error_chain(&error)
                ))
            }
        };
        let (_, connection) = tls.get_ref();
        let Some(leaf) = connection
            .peer_certificates()
            .and_then(|certs| certs.first())
        else {
            return Outcome::Fail(format!("{} sent no certificate", check.target()));
        };
        let not_after = match x509_parser::parse_x509_certificate(leaf.as_ref()) {
            Ok((_, certificate)) => certificate.validity().not_after.timestamp(),
            Err(error) => {
                return Outcome::Fail(format!(
                    "the certificate of {} cannot be read: {error}",
                    check.target()
                ))
            }
        };
        judge(check, not_after, unix_now())
    }
}

/// Parses the `server_name` of a tls check: the DNS name or IP address the certificate must be
/// valid for.
pub fn parse_server_name(name: &str) -> Result<ServerName<'static>, ParseError> {
    ServerName::try_from(name.to_string()).map_err(|_| ParseError::TlsServerNameInvalid {
        name: name.to_string(),
    })
}

/// OK when the certificate ending at `not_after` has `min_days_valid` days left at `now`.
fn judge(check: &TlsCheck, not_after: i64, now: i64) -> Outcome {
    let days_left = (not_after - now).div_euclid(SECONDS_PER_DAY);
    let until = format_date(not_after);
    if days_left >= i64::from(check.min_days_valid) {
        Outcome::Ok(format!(
            "certificate for \"{}\" verifies; valid until {until} ({days_left} days left)",
            check.name_to_verify()
        ))
    } else {
        Outcome::Fail(format!(
            "certificate for \"{}\" verifies but expires {until}, in {days_left} days: fewer \
             than the {} days required; renew it",
            check.name_to_verify(),
            check.min_days_valid
        ))
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// `2027-03-01` for a Unix time.
fn format_date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_else(|| format!("@{unix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(min_days_valid: u32) -> TlsCheck {
        TlsCheck {
            host: "127.0.0.1".into(),
            port: 443,
            server_name: Some("gitea.ralf.lan".into()),
            ca_cert: None,
            min_days_valid,
        }
    }

    #[test]
    fn a_certificate_with_enough_days_left_passes_and_says_until_when() {
        let now = 1_800_000_000;
        let outcome = judge(&check(14), now + 30 * SECONDS_PER_DAY, now);
        assert!(
            matches!(&outcome, Outcome::Ok(m) if m.contains("30 days left")),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_certificate_expiring_sooner_than_required_fails_saying_renew() {
        let now = 1_800_000_000;
        let outcome = judge(&check(14), now + 3 * SECONDS_PER_DAY, now);
        assert!(
            matches!(&outcome, Outcome::Fail(m) if m.contains("in 3 days") && m.contains("renew")),
            "{outcome:?}"
        );
    }
}
