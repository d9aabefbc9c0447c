//! The errors of the Proxmox VE client, and how raw HTTP answers map onto them.
//!
//! Every message says what went wrong, with what (the HTTP method and API path, never a body, a
//! query string or a secret) and what to do about it. The mapping from status + message to a
//! variant lives here ([`PveError::from_response`]) so that the retry policy and the domain
//! operations match on variants, not on strings. This module knows nothing about Terraform.

use std::collections::BTreeMap;
use std::fmt;

use resolve::ResolveError;

use super::task::Upid;

/// A request as errors name it: method and API path (below `/api2/json`), without query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub method: String,
    pub path: String,
}

impl Call {
    pub fn new(method: &str, path: &str) -> Call {
        Call {
            method: method.to_string(),
            path: path.to_string(),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Everything that can go wrong talking to Proxmox VE.
#[derive(Debug, thiserror::Error)]
pub enum PveError {
    /// The client configuration cannot work (bad endpoint URL, unreadable CA PEM, malformed token).
    #[error("invalid Proxmox VE client configuration: {message}")]
    Config { message: String },

    /// A request the caller built is not acceptable before it reaches Proxmox (e.g. a disk shrink).
    #[error("{message}")]
    Invalid { message: String },

    /// HTTP 401: the credentials were not accepted.
    #[error(
        "{call} was refused with HTTP 401 ({message}): Proxmox VE did not accept the credentials. \
         {hint}"
    )]
    Unauthorized {
        call: Call,
        message: String,
        hint: &'static str,
    },

    /// HTTP 403: authenticated, but not allowed.
    #[error("{call} was refused with HTTP 403: {message}. {hint}")]
    Forbidden {
        call: Call,
        message: String,
        hint: String,
    },

    /// HTTP 400 "Parameter verification failed." with Proxmox's per-parameter messages.
    #[error("{call} was rejected by Proxmox VE's parameter check: {}. Fix these arguments and apply again", format_param_errors(.errors))]
    ParameterVerification {
        call: Call,
        errors: BTreeMap<String, String>,
    },

    /// The object does not exist: HTTP 404, or HTTP 500 "... does not exist" (the "delete
    /// predicate trap": Proxmox reports a missing config file or snapshot as a server error).
    #[error("{call}: {message} (it does not exist on Proxmox VE)")]
    NotFound { call: Call, message: String },

    /// The container is locked by another operation (`CT is locked (snapshot)`).
    #[error(
        "{call}: the container is locked ({lock}) by another operation. Wait for that operation \
         to finish (see the node's task list), or clear a stale lock with `pct unlock <ct_id>` on the node"
    )]
    Locked { call: Call, lock: String },

    /// Proxmox could not take its per-guest config file lock in time (`can't lock file ... got timeout`).
    #[error(
        "{call}: Proxmox VE could not lock the guest's config file in time ({message}); another \
         task holds it. Retry later, or look for a hung task on the node"
    )]
    LockTimeout { call: Call, message: String },

    /// The config digest did not match: somebody else changed the container meanwhile.
    #[error(
        "{call}: the container's configuration was changed by someone else while we updated it \
         ({message}). Refresh and apply again"
    )]
    Conflict { call: Call, message: String },

    /// The vmid is taken (`CT 100 already exists on node 'pve'`).
    #[error("{call}: {message}. Choose another ct_id, or import the existing container")]
    AlreadyExists { call: Call, message: String },

    /// A protection flag forbids the operation.
    #[error(
        "{call}: {message}. Set protection = false on the container (and apply) before destroying \
         or changing its disk"
    )]
    Protected { call: Call, message: String },

    /// A Proxmox task ended with an error.
    #[error(
        "Proxmox VE task {} for {} on node {} failed: {exitstatus}{}",
        .upid.task_type, .upid.id, .upid.node,
        format_log_tail(.log_tail)
    )]
    TaskFailed {
        upid: Box<Upid>,
        exitstatus: String,
        log_tail: Vec<String>,
    },

    /// The connection failed, was dropped or timed out. `outcome_unknown` is true when the
    /// request may have reached Proxmox (so a non-idempotent call may or may not have happened).
    #[error(
        "{call}: connection to Proxmox VE failed ({message}){}. Check that the endpoint is \
         reachable and that pveproxy is running",
        if *.outcome_unknown { "; the request may or may not have been carried out" } else { "" }
    )]
    Transport {
        call: Call,
        message: String,
        outcome_unknown: bool,
    },

    /// The endpoint's host name did not resolve (the hosts file, then resolv.conf's nameservers;
    /// never a public DNS server), so nothing was sent. Retried only when a nameserver did not
    /// answer; without any nameserver it is permanent.
    #[error("{call}: the Proxmox VE endpoint's host name does not resolve: {error}")]
    Resolve {
        call: Call,
        error: Box<ResolveError>,
    },

    /// The server's TLS certificate was not accepted (not retried: it will not change).
    #[error(
        "{call}: the TLS certificate of the Proxmox VE endpoint is not trusted ({message}). Set \
         ca_cert to the PEM of the CA that signed it (on a node: /etc/pve/pve-root-ca.pem), or \
         insecure = true to skip verification"
    )]
    Tls { call: Call, message: String },

    /// Any other error status (5xx, 595/596 proxy errors, 501 ...).
    #[error("{call} failed with HTTP {status}: {message}. {}", server_hint(*.status, message))]
    Server {
        call: Call,
        status: u16,
        message: String,
    },

    /// The answer was not what the API documents (not JSON, wrong shape).
    #[error("{call}: unexpected answer from Proxmox VE: {message}")]
    Protocol { call: Call, message: String },

    /// Something is still in progress (a running task, a lock); used as the `last` reason of
    /// [`PveError::DeadlineExceeded`].
    #[error("{message}")]
    StillWaiting { message: String },

    /// The operation's deadline passed while waiting or retrying; `last` is why it was still waiting.
    #[error(
        "{operation} did not finish within its timeout ({waited_secs} s); last: {last}. Raise the \
         resource's timeouts, or look at the node's task list"
    )]
    DeadlineExceeded {
        operation: String,
        waited_secs: u64,
        last: Box<PveError>,
    },

    /// The container was created but a later step failed: it exists and must be kept in state
    /// (tainted) so that the next apply replaces or cleans it up.
    #[error(
        "container {ct_id} exists on node {node} (created), but a later step failed: {source}. \
         It is kept (tainted) so that the next apply can replace it"
    )]
    ContainerExists {
        node: String,
        ct_id: u32,
        #[source]
        source: Box<PveError>,
    },
}

fn server_hint(status: u16, message: &str) -> &'static str {
    if is_unknown_node(message) {
        return "The node does not exist in this cluster: set `node` to one of the cluster's \
                nodes (`pvecm nodes`, or the names under Datacenter in the web UI)";
    }
    if is_deterministic_refusal(message) {
        return "Proxmox VE refuses this request as given and would refuse it again; fix the \
                value the message names";
    }
    match status {
        595 | 596 | 599 => {
            "pveproxy could not reach pvedaemon or the target node: check that the node is up \
             and that pvedaemon runs (systemctl status pvedaemon)"
        }
        501 => "This Proxmox VE version does not offer this API call; check the server version",
        500..=599 => {
            "Proxmox VE reported a server-side error; if it persists, look at the node's \
             journal (journalctl -u pveproxy -u pvedaemon)"
        }
        _ => "Check the request against the Proxmox VE API documentation",
    }
}

fn format_param_errors(errors: &BTreeMap<String, String>) -> String {
    if errors.is_empty() {
        return "no details given".to_string();
    }
    errors
        .iter()
        .map(|(param, message)| format!("{param}: {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn format_log_tail(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("\ntask log (last lines):\n  {}", lines.join("\n  "))
    }
}

/// The hint for a 401, naming what to check for each way of logging in.
pub(crate) const UNAUTHORIZED_TOKEN_HINT: &str = "Check api_token: it must be \
    `user@realm!tokenid=secret` (e.g. root@pam!terraform=<uuid>), the token must exist and not be \
    expired, and the secret must be the one shown when the token was created";
pub(crate) const UNAUTHORIZED_PASSWORD_HINT: &str = "Check username and password: the username \
    needs its realm (e.g. root@pam), and two-factor authentication is not supported for this login";

impl PveError {
    /// Maps an error answer (status + Proxmox message + 400 `errors` map) onto a variant.
    pub(crate) fn from_response(
        call: Call,
        status: u16,
        message: String,
        errors: BTreeMap<String, String>,
        unauthorized_hint: &'static str,
    ) -> PveError {
        let message = message.trim().to_string();
        let lower = message.to_ascii_lowercase();
        match status {
            401 => PveError::Unauthorized {
                call,
                message: if message.is_empty() {
                    "authentication failure".to_string()
                } else {
                    message
                },
                hint: unauthorized_hint,
            },
            403 => {
                let hint = forbidden_hint(&message);
                PveError::Forbidden {
                    call,
                    message,
                    hint,
                }
            }
            404 => PveError::NotFound { call, message },
            400 if !errors.is_empty() => PveError::ParameterVerification { call, errors },
            _ if lower.contains("got timeout") && lower.contains("lock") => {
                PveError::LockTimeout { call, message }
            }
            _ if parse_locked(&message).is_some() => PveError::Locked {
                lock: parse_locked(&message).unwrap_or_default(),
                call,
            },
            _ if lower.contains("does not exist") || lower.contains("no such resource") => {
                PveError::NotFound { call, message }
            }
            _ if lower.contains("detected modified configuration") => {
                PveError::Conflict { call, message }
            }
            _ if lower.contains("already exists") => PveError::AlreadyExists { call, message },
            _ if lower.contains("protection mode enabled") => PveError::Protected { call, message },
            _ => PveError::Server {
                call,
                status,
                message,
            },
        }
    }

    /// True when the error is a transient server-side condition worth retrying with backoff.
    /// 4xx (auth, permission, parameters), not-found and the deterministic refusals are not.
    pub fn is_transient(&self) -> bool {
        match self {
            PveError::LockTimeout { .. } | PveError::Locked { .. } => true,
            PveError::Resolve { error, .. } => {
                matches!(**error, ResolveError::LookupFailed { .. })
            }
            PveError::Transport {
                outcome_unknown, ..
            } => !outcome_unknown,
            PveError::Server {
                status, message, ..
            } => is_transient_status(*status) && !is_deterministic_refusal(message),
            _ => false,
        }
    }

    /// True when the same request will fail the same way however often it is sent: bad
    /// credentials, permissions, TLS, client configuration, parameter verification, an unknown
    /// node, no nameserver to resolve the endpoint's name, and Proxmox's deterministic refusals. These fail at once and are never retried;
    /// at plan time they are errors. (Everything [`PveError::is_transient`] is retried.)
    pub fn is_permanent(&self) -> bool {
        match self {
            PveError::Unauthorized { .. }
            | PveError::Forbidden { .. }
            | PveError::Tls { .. }
            | PveError::Config { .. }
            | PveError::Invalid { .. }
            | PveError::ParameterVerification { .. } => true,
            PveError::Resolve { error, .. } => {
                matches!(**error, ResolveError::NoNameserver { .. })
            }
            PveError::Server { message, .. } => is_deterministic_refusal(message),
            PveError::NotFound { message, .. } => is_unknown_node(message),
            PveError::DeadlineExceeded { last, .. } => last.is_permanent(),
            _ => false,
        }
    }

    /// True when a request may or may not have been carried out: the connection dropped after
    /// sending, or a server/proxy error that may come after the work was done (500, 502, 504,
    /// 596, 599). 503 and 595 (nothing was forwarded) and lock refusals are not: the request
    /// certainly did not happen. Non-idempotent requests must look before sending again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            PveError::Transport {
                outcome_unknown, ..
            } => *outcome_unknown,
            PveError::Server { status, .. } => {
                self.is_transient() && *status != 503 && *status != 595
            }
            _ => false,
        }
    }

    /// True for "the thing is not there" (404, or a 500 "does not exist").
    pub fn is_not_found(&self) -> bool {
        matches!(self, PveError::NotFound { .. })
    }

    /// True when a create failed after the container came into existence (keep it in state).
    pub fn container_exists(&self) -> bool {
        matches!(self, PveError::ContainerExists { .. })
    }

    /// The Proxmox message of a server error, for matching idempotency answers such as
    /// "CT 100 already running".
    pub(crate) fn server_message(&self) -> Option<&str> {
        match self {
            PveError::Server { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// 5xx except 501 (not implemented), plus the AnyEvent proxy pseudo-statuses 595/596/599.
pub(crate) fn is_transient_status(status: u16) -> bool {
    (500..600).contains(&status) && status != 501
}

/// Proxmox reports most refusals as HTTP 500 with a plain message; those that will fail the same
/// way on every retry are not worth retrying.
fn is_deterministic_refusal(message: &str) -> bool {
    const DETERMINISTIC: &[&str] = &[
        "already running",
        "not running",
        "unable to delete required option",
        "unable to delete read-only option",
        "unable to modify read-only option",
        "unable to shrink disk size",
        "disk is already at specified size",
        "no options specified",
        "reserved name",
        "only allowed for root",
        "only root can",
        "is bigger than bridge mtu",
        "it's a template",
        "used in ha resources",
        "container is running",
        "method '",
        "no such uri",
        "ssh public key validation error",
        "invalid format",
        "value does not look like",
        "parameter verification failed",
    ];
    let lower = message.to_ascii_lowercase();
    is_unknown_node(message) || DETERMINISTIC.iter().any(|needle| lower.contains(needle))
}

/// Proxmox's answers for a node name that is not in the cluster (`hostname lookup 'x' failed`,
/// `no such node`): permanent, never retried.
fn is_unknown_node(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("hostname lookup") || lower.contains("no such node")
}

/// `CT is locked (snapshot)` / `VM is locked (backup)` → the lock name.
pub(crate) fn parse_locked(message: &str) -> Option<String> {
    let start = message.find(" is locked (")?;
    let rest = &message[start + " is locked (".len()..];
    let end = rest.find(')')?;
    let lock = rest[..end].trim();
    if lock.is_empty() {
        None
    } else {
        Some(lock.to_string())
    }
}

fn forbidden_hint(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("root@pam") || lower.contains("only root") {
        "Proxmox VE allows this only to the user root@pam logged in with a password (never to an \
         API token, not even one of root@pam): configure the provider with username = \"root@pam\" \
         and password instead of api_token, or leave the root-only setting (feature flags other \
         than nesting, device passthrough, hookscripts) off"
            .to_string()
    } else if lower.contains("need proper ticket") {
        "This endpoint does not accept API tokens: configure username and password".to_string()
    } else {
        "Grant the missing privilege on the path named above to the user or token (pveum acl \
         modify), and for a privilege-separated token to the token as well"
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, message: &str) -> PveError {
        PveError::from_response(
            Call::new("GET", "/nodes/pve/lxc/100/config"),
            status,
            message.to_string(),
            BTreeMap::new(),
            UNAUTHORIZED_TOKEN_HINT,
        )
    }

    #[test]
    fn missing_config_file_reported_as_http_500_is_not_found() {
        let error = map(
            500,
            "Configuration file 'nodes/pve/lxc/100.conf' does not exist\n",
        );
        assert!(error.is_not_found(), "{error:?}");
        assert!(!error.is_transient());
    }

    #[test]
    fn container_locked_names_the_lock_and_is_waited_for() {
        let error = map(500, "CT is locked (snapshot)");
        match &error {
            PveError::Locked { lock, .. } => assert_eq!(lock, "snapshot"),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(error.is_transient());
    }

    #[test]
    fn config_file_lock_timeout_is_transient() {
        let error = map(
            500,
            "unable to create CT 1000 - can't lock file '/run/lock/lxc/pve-config-1000.lock' - got timeout",
        );
        assert!(matches!(error, PveError::LockTimeout { .. }), "{error:?}");
        assert!(error.is_transient());
    }

    #[test]
    fn proxy_statuses_are_transient_but_501_and_deterministic_500s_are_not() {
        assert!(map(596, "Connection timed out").is_transient());
        assert!(map(595, "Connection refused").is_transient());
        assert!(map(503, "Service Unavailable").is_transient());
        assert!(map(500, "Internal Server Error").is_transient());
        assert!(!map(501, "Method 'GET /foo' not implemented").is_transient());
        assert!(!map(500, "CT 100 already running").is_transient());
        assert!(!map(400, "Bad Request").is_transient());
    }

    #[test]
    fn a_server_error_after_sending_leaves_the_outcome_unknown_but_a_refusal_does_not() {
        assert!(map(500, "Internal Server Error").outcome_unknown());
        assert!(map(596, "Connection timed out").outcome_unknown());
        assert!(!map(595, "Connection refused").outcome_unknown());
        assert!(!map(503, "Service Unavailable").outcome_unknown());
        assert!(!map(500, "CT is locked (backup)").outcome_unknown());
        assert!(!map(500, "CT 100 already running").outcome_unknown());
    }

    #[test]
    fn digest_mismatch_is_a_conflict() {
        let error = map(
            500,
            "detected modified configuration - file changed by other user? Try again.",
        );
        assert!(matches!(error, PveError::Conflict { .. }));
    }

    #[test]
    fn root_pam_feature_refusal_tells_to_use_password_login() {
        let error = map(
            403,
            "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)",
        );
        let text = error.to_string();
        assert!(text.contains("only allowed for root@pam"), "{text}");
        assert!(text.contains("username = \"root@pam\""), "{text}");
    }

    #[test]
    fn parameter_errors_are_listed_by_name() {
        let mut errors = BTreeMap::new();
        errors.insert(
            "vmstate".to_string(),
            "property is not defined in schema and the schema does not allow additional properties"
                .to_string(),
        );
        let error = PveError::from_response(
            Call::new("POST", "/nodes/pve/lxc/100/snapshot"),
            400,
            "Parameter verification failed.".into(),
            errors,
            UNAUTHORIZED_TOKEN_HINT,
        );
        let text = error.to_string();
        assert!(text.contains("vmstate: property is not defined"), "{text}");
        assert!(text.contains("POST /nodes/pve/lxc/100/snapshot"), "{text}");
    }

    #[test]
    fn unauthorized_says_what_to_check() {
        let text = map(401, "authentication failure").to_string();
        assert!(text.contains("HTTP 401"), "{text}");
        assert!(text.contains("user@realm!tokenid=secret"), "{text}");
    }

    #[test]
    fn task_failure_shows_the_log_tail() {
        let error = PveError::TaskFailed {
            upid: Box::new(Upid::parse("UPID:pve:1:2:3:vzcreate:100:root@pam:").unwrap()),
            exitstatus: "unable to create CT 100 - no space left".into(),
            log_tail: vec!["extracting archive".into(), "TASK ERROR: no space".into()],
        };
        let text = error.to_string();
        assert!(text.contains("no space left"));
        assert!(text.contains("TASK ERROR: no space"));
    }

    #[test]
    fn a_resolve_failure_is_retried_only_when_a_nameserver_did_not_answer() {
        let resolve = |error: ResolveError| PveError::Resolve {
            call: Call::new("GET", "/version"),
            error: Box::new(error),
        };
        let no_nameserver = resolve(ResolveError::NoNameserver {
            host: "pve.lan".into(),
            hosts_file: "/etc/hosts".into(),
            resolv_conf: "/etc/resolv.conf".into(),
            resolv_conf_problem: "/etc/resolv.conf cannot be read".into(),
        });
        assert!(no_nameserver.is_permanent() && !no_nameserver.is_transient());
        assert!(!no_nameserver.outcome_unknown(), "nothing was sent");

        let unknown_name = resolve(ResolveError::NoAddress {
            host: "pve.lan".into(),
            resolv_conf: "/etc/resolv.conf".into(),
            servers: "10.10.0.53".into(),
        });
        assert!(
            !unknown_name.is_transient() && !unknown_name.is_permanent(),
            "not retried, but only a warning at plan time: the record may yet be added"
        );

        let no_answer = resolve(ResolveError::LookupFailed {
            host: "pve.lan".into(),
            resolv_conf: "/etc/resolv.conf".into(),
            servers: "10.10.0.53".into(),
            reason: "request timed out".into(),
        });
        assert!(no_answer.is_transient() && !no_answer.is_permanent());
        assert!(no_answer
            .to_string()
            .starts_with("GET /version: the Proxmox VE endpoint's host name does not resolve: cannot resolve \"pve.lan\""));
    }
}
