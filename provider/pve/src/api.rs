//! Transport and authentication for the Proxmox VE API: TLS, API-token and ticket login, the
//! `{"data": ...}` envelope, error mapping and the bounded retry loop.
//!
//! [`PveClient`] is cheap to clone (an `Arc` inside) and safe to share between concurrent
//! Terraform calls. Secrets live in [`Secret`], whose `Debug` is redacted; headers carrying them
//! are marked sensitive; no body or query string is ever logged or put into an error. Domain
//! operations (containers, snapshots, tasks) live in sibling modules and use [`PveClient::call`].
//! This module knows nothing about Terraform.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::Retryable;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use resolve::{NameResolver, ReqwestResolver, ResolveError};
use serde_json::Value;

use super::error::{Call, PveError, UNAUTHORIZED_PASSWORD_HINT, UNAUTHORIZED_TOKEN_HINT};
use super::retry::{Deadline, RetryPolicy};

/// A secret string (API token secret, password). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

/// How the client logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// API token: `id` is `user@realm!tokenid`. Tokens can never set root-only options.
    Token { id: String, secret: Secret },
    /// Ticket login (`POST /access/ticket`) with a username including its realm (`root@pam`).
    Password { username: String, password: Secret },
}

impl Auth {
    /// Parses the provider's `api_token` form `user@realm!tokenid=secret`.
    pub fn from_api_token(token: &str) -> Result<Auth, PveError> {
        let invalid = |why: &str| PveError::Config {
            message: format!(
                "api_token {why}: it must look like `user@realm!tokenid=secret`, e.g. \
                 `root@pam!terraform=xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`"
            ),
        };
        let token = token.trim();
        let (id, secret) = token
            .split_once('=')
            .ok_or_else(|| invalid("has no `=` between the token id and the secret"))?;
        let (user, token_name) = id
            .split_once('!')
            .ok_or_else(|| invalid("has no `!` between the user and the token name"))?;
        if !user.contains('@') || user.starts_with('@') || user.ends_with('@') {
            return Err(invalid("names no realm for the user (`user@realm`)"));
        }
        if token_name.is_empty() {
            return Err(invalid("has an empty token name"));
        }
        if secret.is_empty() {
            return Err(invalid("has an empty secret"));
        }
        Ok(Auth::Token {
            id: id.to_string(),
            secret: Secret::new(secret),
        })
    }

    /// The Proxmox user the server will see: the token id for tokens (never plain `root@pam`).
    pub fn effective_user(&self) -> &str {
        match self {
            Auth::Token { id, .. } => id,
            Auth::Password { username, .. } => username,
        }
    }

    /// Whether Proxmox's root-only checks (feature flags other than nesting, device passthrough,
    /// hookscripts) will pass: only a `root@pam` password login does.
    pub fn is_root_pam_login(&self) -> bool {
        matches!(self, Auth::Password { username, .. } if username == "root@pam")
    }
}

/// Everything needed to build a [`PveClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://host:8006/` (a trailing `/api2/json` is accepted too).
    pub endpoint: String,
    pub auth: Auth,
    /// Skip TLS certificate verification (off by default).
    pub insecure: bool,
    /// PEM of the CA that signed the API certificate, added to the trusted roots.
    pub ca_cert: Option<String>,
    /// Limit for one HTTP exchange.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Deadline used by operations the caller gives none (reads).
    pub default_timeout: Duration,
    /// Tickets last 2 h; renew them after this age.
    pub ticket_renew_after: Duration,
    /// Resolves the endpoint's host name: by default `/etc/hosts`, then the nameservers of
    /// `/etc/resolv.conf`, never a public DNS server (tests pass their own files).
    pub resolver: Arc<NameResolver>,
}

impl ClientConfig {
    pub fn new(endpoint: impl Into<String>, auth: Auth) -> ClientConfig {
        ClientConfig {
            endpoint: endpoint.into(),
            auth,
            insecure: false,
            ca_cert: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            default_timeout: Duration::from_secs(300),
            ticket_renew_after: Duration::from_secs(105 * 60),
            resolver: Arc::new(NameResolver::system()),
        }
    }
}

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// Whether a request may be sent again when its outcome is unknown (connection dropped after
/// sending). Reads and requests whose repetition is harmless are `Safe`; creations are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    Safe,
    Unsafe,
}

/// Request parameters in Proxmox's encoding: form body for POST/PUT, query string for GET/DELETE,
/// booleans as `0`/`1`. Has no `Debug` on purpose: values may be secrets.
#[derive(Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    pub fn text(mut self, key: &str, value: impl Into<String>) -> Params {
        self.0.push((key.to_string(), value.into()));
        self
    }

    pub fn flag(self, key: &str, value: bool) -> Params {
        self.text(key, if value { "1" } else { "0" })
    }

    pub fn num(self, key: &str, value: impl fmt::Display) -> Params {
        self.text(key, value.to_string())
    }

    pub fn push(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_string(), value.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parameter names only (for logs).
    pub fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A successful answer: `data` plus the optional `total` some lists carry.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub data: Value,
    pub total: Option<u64>,
}

/// Characters left as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment (node names, UPIDs, snapshot names, volume ids).
pub fn segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// The Proxmox VE API client.
#[derive(Clone)]
pub struct PveClient {
    inner: Arc<Inner>,
    /// Applies root-only options on the node when the API login may not (see [`RootShell`]).
    root_shell: Option<Arc<dyn RootShell>>,
}

/// The future a [`RootShell`] returns.
pub type RootShellFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

/// Runs `pct set <ct_id> -<key> <value> ... [-delete <keys>]` as root on a node, for the options
/// Proxmox VE gives only to `root@pam` (pve-container's `check_ct_modify_config_perm` in
/// src/PVE/LXC.pm) when the API login is a token or another user. The caller provides it (over
/// SSH, say); this crate knows nothing of how. The error is a message for the user.
pub trait RootShell: Send + Sync {
    fn pct_set<'a>(
        &'a self,
        node: &'a str,
        ct_id: u32,
        set: &'a [(String, String)],
        delete: &'a [String],
    ) -> RootShellFuture<'a>;
}

impl fmt::Debug for PveClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PveClient")
            .field("api_base", &self.inner.api_base)
            .field("user", &self.inner.config.auth.effective_user())
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    api_base: String,
    config: ClientConfig,
    token_header: Option<HeaderValue>,
    ticket: tokio::sync::Mutex<Option<Ticket>>,
}

struct Ticket {
    cookie: HeaderValue,
    csrf: HeaderValue,
    obtained: Instant,
}

impl PveClient {
    /// Builds the client (no request is made: a ticket login happens on first use).
    pub fn new(config: ClientConfig) -> Result<PveClient, PveError> {
        let api_base = api_base(&config.endpoint)?;
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .user_agent(concat!(
                "terraform-provider-ralf/",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .dns_resolver(ReqwestResolver(config.resolver.clone()));
        if config.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(pem) = &config.ca_cert {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                PveError::Config {
                    message: format!("ca_cert is not a readable PEM certificate ({e})"),
                }
            })?;
            if certs.is_empty() {
                return Err(PveError::Config {
                    message:
                        "ca_cert holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
                            .into(),
                });
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| PveError::Config {
            message: format!("cannot build the HTTPS client ({e})"),
        })?;
        let token_header = match &config.auth {
            Auth::Token { id, secret } => {
                let mut value =
                    HeaderValue::from_str(&format!("PVEAPIToken={id}={}", secret.expose()))
                        .map_err(|_| PveError::Config {
                            message: "api_token contains characters not allowed in an HTTP \
                                      header"
                                .into(),
                        })?;
                value.set_sensitive(true);
                Some(value)
            }
            Auth::Password { .. } => None,
        };
        Ok(PveClient {
            inner: Arc::new(Inner {
                http,
                api_base,
                config,
                token_header,
                ticket: tokio::sync::Mutex::new(None),
            }),
            root_shell: None,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.config.retry
    }

    /// A deadline of the client's default timeout, for operations the caller gives none.
    pub fn default_deadline(&self) -> Deadline {
        Deadline::after(self.inner.config.default_timeout)
    }

    /// Whether root-only settings (feature flags other than nesting, bind mounts, devices) can
    /// be changed through the API with these credentials; see [`Auth::is_root_pam_login`].
    pub fn can_change_root_only_options(&self) -> bool {
        self.inner.config.auth.is_root_pam_login()
    }

    /// This client, applying root-only options through `shell` instead of the API.
    pub fn with_root_shell(mut self, shell: Arc<dyn RootShell>) -> PveClient {
        self.root_shell = Some(shell);
        self
    }

    /// The shell for root-only options, when the API login cannot set them and one is given.
    pub(crate) fn root_shell(&self) -> Option<&Arc<dyn RootShell>> {
        self.root_shell
            .as_ref()
            .filter(|_| !self.can_change_root_only_options())
    }

    /// One request with retries: transient errors (5xx except 501, 595/596/599, failed
    /// connections) are retried with backoff up to `max_attempts`; lock waits (`CT is locked`,
    /// config-lock timeouts) are retried until the deadline. 4xx are never retried. For
    /// [`Replay::Unsafe`] requests, errors after which the request may have been carried out
    /// ([`PveError::outcome_unknown`]) are returned at once instead of retried.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        replay: Replay,
        deadline: &Deadline,
    ) -> Result<Envelope, PveError> {
        let policy = &self.inner.config.retry;
        // Retries that count against `max_attempts` (lock waits do not), and whether the
        // deadline is what stopped them.
        let mut transient_failures: u32 = 0;
        let mut out_of_time = false;
        let result = (|| self.send(method, path, params))
            .retry(policy.backoff_builder())
            .when(|error: &PveError| {
                // A non-idempotent request whose outcome is unknown goes back to the caller,
                // which looks at the result before deciding to send it again.
                let retryable = if error.outcome_unknown() {
                    replay == Replay::Safe
                } else {
                    error.is_transient()
                };
                if !retryable {
                    return false;
                }
                if !matches!(
                    error,
                    PveError::Locked { .. } | PveError::LockTimeout { .. }
                ) {
                    transient_failures += 1;
                    if transient_failures >= policy.max_attempts {
                        return false;
                    }
                }
                out_of_time = deadline.is_expired();
                !out_of_time
            })
            .adjust(|_, delay| delay.map(|d| d.min(deadline.remaining())))
            .notify(|error: &PveError, delay: Duration| {
                tracing::debug!(
                    method = method.as_str(),
                    path,
                    delay_ms = delay.as_millis() as u64,
                    error = %error,
                    "retrying Proxmox VE request"
                );
            })
            .await;
        match result {
            Err(error) if out_of_time => Err(deadline_exceeded(
                format!("{} {path}", method.as_str()),
                deadline,
                error,
            )),
            other => other,
        }
    }

    /// `GET path` with retries, returning `data`.
    pub async fn get(
        &self,
        path: &str,
        params: &Params,
        deadline: &Deadline,
    ) -> Result<Value, PveError> {
        Ok(self
            .call(Method::Get, path, params, Replay::Safe, deadline)
            .await?
            .data)
    }

    /// One request, authenticated; a ticket rejected with 401 is renewed once.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        params: &Params,
    ) -> Result<Envelope, PveError> {
        match &self.inner.config.auth {
            Auth::Token { .. } => {
                let mut headers = HeaderMap::new();
                if let Some(value) = &self.inner.token_header {
                    headers.insert(AUTHORIZATION, value.clone());
                }
                self.send_raw(method, path, params, headers, UNAUTHORIZED_TOKEN_HINT)
                    .await
            }
            Auth::Password { .. } => {
                let (headers, fresh) = self.ticket_headers(method, false).await?;
                match self
                    .send_raw(method, path, params, headers, UNAUTHORIZED_PASSWORD_HINT)
                    .await
                {
                    Err(PveError::Unauthorized { .. }) if !fresh => {
                        let (headers, _) = self.ticket_headers(method, true).await?;
                        self.send_raw(method, path, params, headers, UNAUTHORIZED_PASSWORD_HINT)
                            .await
                    }
                    other => other,
                }
            }
        }
    }

    /// Cookie (+ CSRF header for writes) of a valid ticket, logging in when there is none, it is
    /// older than `ticket_renew_after`, or `renew` is set. Returns whether the ticket is fresh.
    async fn ticket_headers(
        &self,
        method: Method,
        renew: bool,
    ) -> Result<(HeaderMap, bool), PveError> {
        let mut guard = self.inner.ticket.lock().await;
        let renew_after = self.inner.config.ticket_renew_after;
        let mut fresh = false;
        let stale = match guard.as_ref() {
            None => true,
            Some(ticket) => renew || ticket.obtained.elapsed() >= renew_after,
        };
        if stale {
            *guard = Some(self.login().await?);
            fresh = true;
        }
        let mut headers = HeaderMap::new();
        if let Some(ticket) = guard.as_ref() {
            headers.insert(COOKIE, ticket.cookie.clone());
            if method != Method::Get {
                headers.insert("CSRFPreventionToken", ticket.csrf.clone());
            }
        }
        Ok((headers, fresh))
    }

    /// `POST /access/ticket` with the configured username and password.
    async fn login(&self) -> Result<Ticket, PveError> {
        let Auth::Password { username, password } = &self.inner.config.auth else {
            return Err(PveError::Config {
                message: "ticket login needs username and password".into(),
            });
        };
        let params = Params::new()
            .text("username", username.clone())
            .text("password", password.expose());
        let path = "/access/ticket";
        let envelope = self
            .send_raw(
                Method::Post,
                path,
                &params,
                HeaderMap::new(),
                UNAUTHORIZED_PASSWORD_HINT,
            )
            .await?;
        let call = Call::new("POST", path);
        let field = |name: &str| -> Result<String, PveError> {
            envelope
                .data
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| PveError::Protocol {
                    call: call.clone(),
                    message: format!("the login answer has no `{name}`"),
                })
        };
        let ticket = field("ticket")?;
        let csrf = field("CSRFPreventionToken")?;
        let header = |value: String| -> Result<HeaderValue, PveError> {
            let mut value = HeaderValue::from_str(&value).map_err(|_| PveError::Protocol {
                call: call.clone(),
                message: "the login answer holds characters not allowed in a header".into(),
            })?;
            value.set_sensitive(true);
            Ok(value)
        };
        tracing::debug!(user = %username, "logged in to Proxmox VE (ticket)");
        Ok(Ticket {
            cookie: header(format!("PVEAuthCookie={ticket}"))?,
            csrf: header(csrf)?,
            obtained: Instant::now(),
        })
    }

    /// One HTTP exchange with the given auth headers; maps every failure onto [`PveError`].
    async fn send_raw(
        &self,
        method: Method,
        path: &str,
        params: &Params,
        headers: HeaderMap,
        unauthorized_hint: &'static str,
    ) -> Result<Envelope, PveError> {
        let call = Call::new(method.as_str(), path);
        let url = format!("{}{}", self.inner.api_base, path);
        let mut request = self
            .inner
            .http
            .request(method.to_reqwest(), &url)
            .headers(headers);
        if !params.is_empty() {
            request = match method {
                Method::Get | Method::Delete => request.query(&params.0),
                Method::Post | Method::Put => request.form(&params.0),
            };
        }
        let started = Instant::now();
        let response = request.send().await.map_err(|e| {
            if let Some(error) = resolve_error(&e) {
                return PveError::Resolve {
                    call: call.clone(),
                    error: Box::new(error.clone()),
                };
            }
            let message = describe_transport_error(&e);
            if e.is_connect() && is_certificate_problem(&message) {
                PveError::Tls {
                    call: call.clone(),
                    message,
                }
            } else {
                PveError::Transport {
                    call: call.clone(),
                    message,
                    outcome_unknown: !e.is_connect(),
                }
            }
        })?;
        let status = response.status().as_u16();
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| response.status().canonical_reason().map(str::to_string))
            .unwrap_or_default();
        let body = response.bytes().await.map_err(|e| PveError::Transport {
            call: call.clone(),
            message: describe_transport_error(&e),
            outcome_unknown: true,
        })?;
        tracing::debug!(
            method = method.as_str(),
            path,
            status,
            params = ?params.keys(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Proxmox VE request"
        );
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        if (200..300).contains(&status) {
            let value = parsed.ok_or_else(|| PveError::Protocol {
                call: call.clone(),
                message: format!("HTTP {status} with a body that is not JSON"),
            })?;
            return Ok(Envelope {
                data: value.get("data").cloned().unwrap_or(Value::Null),
                total: value.get("total").and_then(super::normalise::value_u64),
            });
        }
        let body_message = parsed
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        let errors: BTreeMap<String, String> = parsed
            .as_ref()
            .and_then(|v| v.get("errors"))
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.trim().to_string(),
                            other => other.to_string(),
                        };
                        (k.clone(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let message = body_message.unwrap_or(reason);
        Err(PveError::from_response(
            call,
            status,
            message,
            errors,
            unauthorized_hint,
        ))
    }
}

/// Wraps the last error of a wait that ran out of time.
pub(crate) fn deadline_exceeded(
    operation: String,
    deadline: &Deadline,
    last: PveError,
) -> PveError {
    PveError::DeadlineExceeded {
        operation,
        waited_secs: deadline.elapsed().as_secs(),
        last: Box::new(last),
    }
}

/// `https://host:8006/` → `https://host:8006/api2/json`.
fn api_base(endpoint: &str) -> Result<String, PveError> {
    let trimmed = endpoint.trim();
    let url = url::Url::parse(trimmed).map_err(|e| PveError::Config {
        message: format!("endpoint `{trimmed}` is not a URL ({e}); expected https://host:8006/"),
    })?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(PveError::Config {
            message: format!("endpoint `{trimmed}` must start with https:// (or http://)"),
        });
    }
    if url.host_str().is_none() {
        return Err(PveError::Config {
            message: format!("endpoint `{trimmed}` names no host"),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PveError::Config {
            message: "endpoint must not carry credentials; use api_token or username/password"
                .into(),
        });
    }
    let mut base = trimmed.trim_end_matches('/').to_string();
    if let Some(stripped) = base.strip_suffix("/api2/json") {
        base = stripped.to_string();
    }
    Ok(format!("{base}/api2/json"))
}

/// Whether a connect failure is about the certificate (unknown issuer, bad name, expired ...).
fn is_certificate_problem(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("certificate") || lower.contains("unknownissuer")
}

/// The resolver's own error when the endpoint's host name did not resolve (nothing was sent).
fn resolve_error(error: &reqwest::Error) -> Option<&ResolveError> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(error) = cause.downcast_ref::<ResolveError>() {
            return Some(error);
        }
        source = cause.source();
    }
    None
}

/// A short description of a reqwest failure, without the URL (which the caller names itself).
fn describe_transport_error(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_token_splits_into_id_and_secret() {
        let auth = Auth::from_api_token("root@pam!ralf=1234-abcd").unwrap();
        match &auth {
            Auth::Token { id, secret } => {
                assert_eq!(id, "root@pam!ralf");
                assert_eq!(secret.expose(), "1234-abcd");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(auth.effective_user(), "root@pam!ralf");
        assert!(!auth.is_root_pam_login());
    }

    #[test]
    fn malformed_api_tokens_are_refused_without_echoing_the_secret() {
        for bad in [
            "root@pam=hunter2",
            "root!x=hunter2",
            "@pam!x=hunter2",
            "root@pam!=hunter2",
            "root@pam!x=",
            "nothing",
        ] {
            let error = Auth::from_api_token(bad).unwrap_err().to_string();
            assert!(error.contains("user@realm!tokenid=secret"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = ClientConfig::new(
            "https://pve:8006/",
            Auth::Password {
                username: "root@pam".into(),
                password: Secret::new("hunter2"),
            },
        );
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"));
        let token = Auth::from_api_token("root@pam!ralf=s3cr3t-value").unwrap();
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }

    #[test]
    fn only_a_root_pam_password_login_passes_root_only_checks() {
        let root = Auth::Password {
            username: "root@pam".into(),
            password: Secret::new("x"),
        };
        let other = Auth::Password {
            username: "admin@pve".into(),
            password: Secret::new("x"),
        };
        assert!(root.is_root_pam_login());
        assert!(!other.is_root_pam_login());
    }

    #[test]
    fn endpoint_forms_map_to_the_json_api_base() {
        assert_eq!(
            api_base("https://pve:8006/").unwrap(),
            "https://pve:8006/api2/json"
        );
        assert_eq!(
            api_base("https://pve:8006").unwrap(),
            "https://pve:8006/api2/json"
        );
        assert_eq!(
            api_base("https://pve:8006/api2/json/").unwrap(),
            "https://pve:8006/api2/json"
        );
        assert!(api_base("pve:8006").is_err());
        assert!(api_base("ftp://pve/").is_err());
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(
            segment("UPID:pve:0009E9B0:103F1191:660069E7:vzcreate:101:root@pam!x:"),
            "UPID%3Apve%3A0009E9B0%3A103F1191%3A660069E7%3Avzcreate%3A101%3Aroot%40pam%21x%3A"
        );
        assert_eq!(segment("pre-install"), "pre-install");
    }

    #[test]
    fn booleans_are_sent_as_zero_or_one() {
        let params = Params::new().flag("start", true).flag("onboot", false);
        assert_eq!(params.get("start"), Some("1"));
        assert_eq!(params.get("onboot"), Some("0"));
    }
}
