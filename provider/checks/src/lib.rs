//! The smoke-check engine: runs ping, TCP, HTTP, DNS, NTP, TLS and systemd-service checks against
//! deployed services, retries each with exponential backoff, and reports every check as OK, FAIL or SKIP.
//!
//! This module knows nothing about Terraform: the `ralf_smoke_check` resource and data source
//! translate Terraform values into [`CheckSpec`], [`RunContext`] and [`RetryPolicy`], call
//! [`run_checks`], and turn the [`Report`] back into Terraform values and diagnostics. Plan-time
//! validation uses the helpers in [`parse`].
//!
//! Semantics the caller can rely on:
//! - Checks run concurrently; results come back in declaration order.
//! - A check that cannot run here (no SSH settings for `service`, ICMP not permitted for `ping`)
//!   is SKIP with the reason, never a silent OK. SKIP is not retried and does not fail the report:
//!   a report whose checks are all SKIP passes, and its summary (`"0 OK, 0 FAIL, 2 SKIP"`) shows it.
//! - Cancelling stops waiting at once; unfinished checks are FAIL "cancelled ...".
//! - Messages never contain private keys, header values or URL passwords.
//! - Host names are resolved by [`NameResolver`] (crate ralf-resolve: hosts file, then
//!   resolv.conf's nameservers), never through the system's NSS and never by a public DNS server.

pub mod dns;
mod engine;
pub mod http;
pub mod ntp;
pub mod parse;
pub mod ping;
mod report;
pub mod retry;
pub mod service;
pub mod ssh;
pub mod tcp;
pub mod tls;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use dns::{DnsCheck, DnsRecordType};
pub use engine::run_checks;
pub use http::HttpCheck;
pub use ntp::NtpCheck;
pub use parse::{parse_duration, ParseError, StatusCodes};
pub use ping::PingCheck;
pub use report::Report;
pub use resolve::{NameResolver, ResolveError};
pub use retry::RetryPolicy;
pub use service::{ContainerRef, ServiceCheck};
pub use ssh::{
    run_on_node, shell_quote, CommandOutput, CommandRunner, SshSettings, SystemCommandRunner,
};
pub use tcp::TcpCheck;
pub use tls::TlsCheck;
pub use tokio_util::sync::CancellationToken;

/// One check as the user declared it: an optional name and what to check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// The user's name for the check; `None` means `<kind>:<target>`.
    pub name: Option<String>,
    pub kind: CheckKind,
}

/// What a check probes.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    /// ICMP echo to a host.
    Ping(PingCheck),
    /// TCP connect to a host and port.
    Tcp(TcpCheck),
    /// An HTTP request whose status (and optionally body) must match.
    Http(HttpCheck),
    /// A systemd unit that must be active inside the container, via `pct exec` over SSH.
    Service(ServiceCheck),
    /// A name that one DNS server must resolve, optionally to expected addresses.
    Dns(DnsCheck),
    /// An NTP server that answers, with this machine's clock within a bound of it.
    Ntp(NtpCheck),
    /// A TLS certificate that verifies for a name and stays valid for some more days.
    Tls(TlsCheck),
}

impl CheckSpec {
    /// A `ping { host }` check.
    pub fn ping(host: impl Into<String>) -> Self {
        Self::unnamed(CheckKind::Ping(PingCheck { host: host.into() }))
    }

    /// A `tcp { host, port }` check.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self::unnamed(CheckKind::Tcp(TcpCheck {
            host: host.into(),
            port,
        }))
    }

    /// An `http { ... }` check.
    pub fn http(check: HttpCheck) -> Self {
        Self::unnamed(CheckKind::Http(check))
    }

    /// A `service { unit }` check.
    pub fn service(unit: impl Into<String>) -> Self {
        Self::unnamed(CheckKind::Service(ServiceCheck { unit: unit.into() }))
    }

    /// The same check with a user-given name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn unnamed(kind: CheckKind) -> Self {
        CheckSpec { name: None, kind }
    }

    /// The check's name: the user's, or `<kind>:<target>` (e.g. `tcp:127.0.0.1:5432`).
    pub fn name(&self) -> String {
        match &self.name {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("{}:{}", self.kind.kind_name(), self.kind.target()),
        }
    }

    /// Checks every value of the check, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        match &self.kind {
            CheckKind::Ping(check) => check.validate(),
            CheckKind::Tcp(check) => check.validate(),
            CheckKind::Http(check) => check.validate(),
            CheckKind::Service(check) => check.validate(),
            CheckKind::Dns(check) => check.validate(),
            CheckKind::Ntp(check) => check.validate(),
            CheckKind::Tls(check) => check.validate(),
        }
    }
}

impl CheckKind {
    /// `ping`, `tcp`, `http`, `service`, `dns`, `ntp` or `tls`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            CheckKind::Ping(_) => "ping",
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Service(_) => "service",
            CheckKind::Dns(_) => "dns",
            CheckKind::Ntp(_) => "ntp",
            CheckKind::Tls(_) => "tls",
        }
    }

    /// What the check probes, as shown in results: the host, `host:port`, the URL (password
    /// hidden) or the unit.
    pub fn target(&self) -> String {
        match self {
            CheckKind::Ping(check) => check.host.clone(),
            CheckKind::Tcp(check) => check.target(),
            CheckKind::Http(check) => check.target(),
            CheckKind::Service(check) => check.unit.clone(),
            CheckKind::Dns(check) => check.target(),
            CheckKind::Ntp(check) => check.target(),
            CheckKind::Tls(check) => check.target(),
        }
    }
}

/// Everything a run needs besides the checks themselves.
#[derive(Clone)]
pub struct RunContext {
    pub retry: RetryPolicy,
    /// The limit for one attempt of one check (`timeout`, default 10s).
    pub attempt_timeout: Duration,
    /// The provider's `ssh` block; `None` makes service checks SKIP.
    pub ssh: Option<SshSettings>,
    /// The container service checks look into (`node` and `ct_id` of the smoke check).
    pub container: Option<ContainerRef>,
    /// Runs the `ssh` program; tests replace it with a fake.
    pub command_runner: Arc<dyn CommandRunner>,
    /// Resolves the host names of ping, tcp, http, ntp and tls checks.
    pub resolver: Arc<NameResolver>,
}

impl RunContext {
    /// The default per-attempt timeout, 10 seconds.
    pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for RunContext {
    fn default() -> Self {
        RunContext {
            retry: RetryPolicy::default(),
            attempt_timeout: Self::DEFAULT_ATTEMPT_TIMEOUT,
            ssh: None,
            container: None,
            command_runner: Arc::new(SystemCommandRunner),
            resolver: Arc::new(NameResolver::system()),
        }
    }
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("retry", &self.retry)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("ssh", &self.ssh)
            .field("container", &self.container)
            .field("resolver", &self.resolver)
            .finish_non_exhaustive()
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub name: String,
    /// `ping`, `tcp`, `http`, `service`, `dns`, `ntp` or `tls`.
    pub kind: String,
    pub target: String,
    pub status: CheckStatus,
    /// Attempts started; 0 when the check could not start (e.g. SKIP for missing SSH settings).
    pub attempts: u32,
    /// Wall time of the check, retries and delays included.
    pub duration_ms: u64,
    /// What happened: for OK what was seen, for FAIL the last error, for SKIP why it did not run.
    pub message: String,
}

/// OK, FAIL or SKIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckStatus {
    Ok,
    Fail,
    Skip,
}

impl CheckStatus {
    /// `"OK"`, `"FAIL"` or `"SKIP"`, as in the `results` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "OK",
            CheckStatus::Fail => "FAIL",
            CheckStatus::Skip => "SKIP",
        }
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one attempt, as each check kind reports it to the retry engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok(String),
    Fail(String),
    Skip(String),
}

/// Joins an error and its sources into one line: `"a: b: c"`, without repeating a source whose
/// text the previous one already contains.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
