//! The `provider "ralf"` block: its schema, its environment-variable fallbacks, and the state
//! shared with every resource once Terraform has configured the provider.
//!
//! Configuration is resolved once per process in `configure`; resources ask [`ProviderState`] for
//! the Proxmox client only when they need one, so `ralf_smoke_check` works with no endpoint at all.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tfplugin::{
    Attribute, Block, DataSource, Diagnostics, NestedBlock, Nesting, Resource, Schema, Type, Value,
};
use tokio_util::sync::CancellationToken;

use crate::tf::{opt_bool, opt_i64, opt_string, path, string_map};
use checks::SshSettings;
use pve::{Auth, ClientConfig, PveClient};

/// The source address users write in `required_providers`.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/ralf-homelab/ralf";

/// What `configure` resolved, shared by all resources of this process.
#[derive(Default)]
pub struct ProviderState {
    configured: RwLock<Option<Arc<Configured>>>,
    /// Fires when Terraform asks the provider to stop (Ctrl-C).
    pub cancel: CancellationToken,
    /// Snapshots (`<node>/<ct_id>/<name>`) this run plans to take: a `rollback_to` may name one
    /// of them before it exists. Terraform plans a snapshot before the smoke check that
    /// references it.
    planned_snapshots: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Plan-time look-ups (guest ids, storages, templates), made once per process.
    pub lookups: crate::lookups::Lookups,
}

/// The resolved provider configuration.
pub struct Configured {
    /// `None` when no endpoint is configured (smoke checks still work).
    pub client: Option<PveClient>,
    /// Why there is no client, for the error shown when a resource needs one.
    pub client_error: Option<String>,
    pub default_node: Option<String>,
    pub ssh: Option<SshSettings>,
    /// Whether the login may set root-only options (feature flags other than nesting).
    pub root_pam_login: bool,
    /// Whether root-only options are applied with `pct set` over SSH (the user opted in and
    /// the `ssh` block is there).
    pub root_only_over_ssh: bool,
    /// Whether the endpoint and credentials are known at all (false: unknown at plan time).
    pub endpoint_known: bool,
}

impl ProviderState {
    pub fn configured(&self) -> Option<Arc<Configured>> {
        self.configured.read().ok().and_then(|c| c.clone())
    }

    /// The Proxmox client, or an error diagnostic saying how to configure one.
    pub fn client(&self, diags: &mut Diagnostics) -> Option<(PveClient, Arc<Configured>)> {
        let Some(configured) = self.configured() else {
            diags.error(
                "Provider not configured",
                "Terraform did not configure the ralf provider before using it (a Terraform bug).",
            );
            return None;
        };
        match &configured.client {
            Some(client) => Some((client.clone(), configured.clone())),
            None => {
                diags.error(
                    "No Proxmox VE endpoint configured",
                    configured.client_error.clone().unwrap_or_else(|| {
                        "Set `endpoint` and credentials in the provider \"ralf\" block, or PROXMOX_VE_ENDPOINT with PROXMOX_VE_API_TOKEN (or PROXMOX_VE_USERNAME and PROXMOX_VE_PASSWORD).".into()
                    }),
                );
                None
            }
        }
    }

    /// At plan time: an error when the provider cannot reach Proxmox at all (no endpoint or no
    /// credentials), so the user learns it before apply. Silent while the provider configuration
    /// is still unknown (it depends on other resources).
    pub fn require_client_at_plan(&self, diags: &mut Diagnostics) {
        if let Some(configured) = self.configured() {
            if configured.endpoint_known && configured.client.is_none() {
                self.client(diags);
            }
        }
    }

    /// Plans `node` for a resource whose configuration leaves it out: the node in state, else
    /// the provider's default. A configured node, even one not known yet, is kept as written.
    /// Returns false (with an error) when there is no node at all.
    pub fn plan_node(&self, prior: &Value, config: &Value, plan: &mut tfplugin::Plan) -> bool {
        if !config.get("node").is_null() {
            return true;
        }
        match opt_string(prior.get("node")).or_else(|| self.node_for(None)) {
            Some(node) => {
                plan.planned.set_attr("node", Value::string(node));
                true
            }
            None => {
                plan.diagnostics.error_at(
                    path("node"),
                    "No node",
                    "Set `node` here, or a default `node` in the provider block (or PROXMOX_VE_NODE).",
                );
                false
            }
        }
    }

    /// The node a resource uses: its own `node`, else the provider's default.
    /// Notes that this run plans to take snapshot `name` of `ct_id` on `node`.
    pub fn note_planned_snapshot(&self, node: &str, ct_id: u32, name: &str) {
        if let Ok(mut set) = self.planned_snapshots.lock() {
            set.insert(format!("{node}/{ct_id}/{name}"));
        }
    }

    /// Whether this run plans to take that snapshot.
    pub fn snapshot_is_planned(&self, node: &str, ct_id: u32, name: &str) -> bool {
        self.planned_snapshots
            .lock()
            .is_ok_and(|set| set.contains(&format!("{node}/{ct_id}/{name}")))
    }

    pub fn node_for(&self, configured_node: Option<String>) -> Option<String> {
        configured_node.or_else(|| self.configured().and_then(|c| c.default_node.clone()))
    }
}

/// The provider: holds the shared state and hands it to each resource.
pub struct RalfProvider {
    state: Arc<ProviderState>,
}

impl RalfProvider {
    pub fn new() -> RalfProvider {
        RalfProvider {
            state: Arc::new(ProviderState::default()),
        }
    }
}

impl Default for RalfProvider {
    fn default() -> Self {
        RalfProvider::new()
    }
}

fn provider_schema() -> Schema {
    let ssh = Block::new("SSH access to the Proxmox nodes, for `service` smoke checks (`pct exec` runs on the node). Host keys are checked: trust a node by listing its key in `known_hosts`.")
        .attr(Attribute::optional("username", Type::String).describe("SSH user on the nodes (default `root`; env `PROXMOX_VE_SSH_USERNAME`)."))
        .attr(Attribute::optional("private_key", Type::String).sensitive().describe("PEM private key (env `PROXMOX_VE_SSH_PRIVATE_KEY`). Never logged."))
        .attr(Attribute::optional("agent", Type::Bool).describe("Use the SSH agent at `SSH_AUTH_SOCK`."))
        .attr(Attribute::optional("port", Type::Number).describe("SSH port (default 22; env `PROXMOX_VE_SSH_PORT`)."))
        .attr(Attribute::optional("address", Type::String).describe("Address of the node(s); defaults to the endpoint's host."))
        .attr(Attribute::optional("node_addresses", Type::map(Type::String)).describe("Per-node addresses for clusters, e.g. `{ pve2 = \"10.10.0.12\" }`."))
        .attr(Attribute::optional("known_hosts", Type::String).describe("known_hosts lines to trust (e.g. the output of `ssh-keyscan -p 22 NODE`). Without it (or env `PROXMOX_VE_SSH_KNOWN_HOSTS`), your own known_hosts files are used."));
    Schema::new(
        0,
        Block::new("The RALF provider manages Proxmox VE LXC service containers, their snapshots, and smoke checks.")
            .attr(Attribute::optional("endpoint", Type::String).describe("Proxmox VE API endpoint, `https://host:8006/` (env `PROXMOX_VE_ENDPOINT`)."))
            .attr(Attribute::optional("api_token", Type::String).sensitive().describe("API token `user@realm!tokenid=secret` (env `PROXMOX_VE_API_TOKEN`)."))
            .attr(Attribute::optional("username", Type::String).describe("Login user with realm, e.g. `root@pam` (env `PROXMOX_VE_USERNAME`). Only a `root@pam` login may set feature flags other than nesting."))
            .attr(Attribute::optional("password", Type::String).sensitive().describe("Login password (env `PROXMOX_VE_PASSWORD`)."))
            .attr(Attribute::optional("insecure", Type::Bool).describe("Skip TLS verification of the API (env `PROXMOX_VE_INSECURE`). Off by default."))
            .attr(Attribute::optional("ca_cert", Type::String).describe("PEM of the CA that signed the API certificate (env `PROXMOX_VE_CA_CERT`)."))
            .attr(Attribute::optional("node", Type::String).describe("Default node for resources that set none (env `PROXMOX_VE_NODE`)."))
            .attr(Attribute::optional("root_only_over_ssh", Type::Bool).describe("Apply the settings Proxmox VE gives only to `root@pam` (feature flags other than nesting, bind mounts, device passthrough) with `pct set` on the node over the `ssh` connection, when logged in with an API token or another user. Off by default; needs the `ssh` block with a root login on the node."))
            .block(NestedBlock::new("ssh", Nesting::Single, ssh)),
    )
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_bool(name: &str) -> Option<bool> {
    env(name).map(|v| parse_bool(&v).unwrap_or(false))
}

/// A boolean as written in an environment variable; `None` when it is none.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether `text` holds a PEM block with one of `labels` (`-----BEGIN <label>-----`), with a
/// matching end line and base64 between them; the error says what is wrong.
fn check_pem(text: &str, labels: &[&str]) -> Result<(), String> {
    let trimmed = text.trim();
    let Some(label) = labels
        .iter()
        .find(|l| trimmed.starts_with(&format!("-----BEGIN {l}-----")))
    else {
        return Err("does not start with a PEM header".into());
    };
    let end = format!("-----END {label}-----");
    if !trimmed.ends_with(&end) {
        return Err(format!("has no `{end}` line"));
    }
    let body = &trimmed[format!("-----BEGIN {label}-----").len()..trimmed.len() - end.len()];
    let base64 =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') || c.is_whitespace();
    let encoded: String = body.lines().filter(|l| !l.contains(':')).collect();
    if encoded.trim().is_empty() || !encoded.chars().all(base64) {
        return Err("holds no base64 between its header and end lines".into());
    }
    Ok(())
}

/// Resolves the configuration (attributes first, then environment variables).
fn resolve(config: &Value, diags: &mut Diagnostics) -> Configured {
    let endpoint_value = config.get("endpoint");
    let endpoint_known = !endpoint_value.is_unknown()
        && !config.get("api_token").is_unknown()
        && !config.get("password").is_unknown();
    let endpoint = opt_string(endpoint_value).or_else(|| env("PROXMOX_VE_ENDPOINT"));
    let api_token = opt_string(config.get("api_token")).or_else(|| env("PROXMOX_VE_API_TOKEN"));
    let username = opt_string(config.get("username")).or_else(|| env("PROXMOX_VE_USERNAME"));
    let password = opt_string(config.get("password")).or_else(|| env("PROXMOX_VE_PASSWORD"));
    let insecure = opt_bool(config.get("insecure"))
        .or_else(|| env_bool("PROXMOX_VE_INSECURE"))
        .unwrap_or(false);
    let ca_cert = opt_string(config.get("ca_cert")).or_else(|| env("PROXMOX_VE_CA_CERT"));
    let default_node = opt_string(config.get("node")).or_else(|| env("PROXMOX_VE_NODE"));

    let ssh = resolve_ssh(config.get("ssh"), endpoint.as_deref(), diags);
    let root_only_over_ssh = opt_bool(config.get("root_only_over_ssh")).unwrap_or(false);
    if root_only_over_ssh && ssh.is_none() {
        diags.error_at(
            path("root_only_over_ssh"),
            "root_only_over_ssh needs the ssh block",
            "root_only_over_ssh = true applies root-only settings with `pct set` on the node over SSH, but the provider has no ssh block. Add one (with username = \"root\" and a private_key or agent), or remove root_only_over_ssh.",
        );
    }

    let mut client_error = None;
    let mut root_pam_login = false;
    let client = match (&endpoint, &api_token, &username, &password) {
        (None, ..) => None,
        (Some(endpoint), token, user, pass) => {
            let auth = if let (Some(user), Some(pass)) = (user, pass) {
                // A password login wins: it is the only one that may set root-only options.
                Some(Auth::Password {
                    username: user.clone(),
                    password: pass.clone().into(),
                })
            } else if let Some(token) = token {
                match Auth::from_api_token(token) {
                    Ok(auth) => Some(auth),
                    Err(e) => {
                        diags.error_at(path("api_token"), "Invalid API token", e.to_string());
                        None
                    }
                }
            } else {
                client_error = Some(format!(
                    "The endpoint {endpoint} is set but no credentials are: set `api_token` (or PROXMOX_VE_API_TOKEN), or `username` and `password` (or PROXMOX_VE_USERNAME and PROXMOX_VE_PASSWORD)."
                ));
                None
            };
            auth.and_then(|auth| {
                root_pam_login = auth.is_root_pam_login();
                let mut cfg = ClientConfig::new(endpoint.clone(), auth);
                cfg.insecure = insecure;
                cfg.ca_cert = ca_cert.clone();
                match PveClient::new(cfg) {
                    Ok(client) => match (&ssh, root_only_over_ssh && !root_pam_login) {
                        (Some(settings), true) => Some(client.with_root_shell(Arc::new(
                            crate::root_shell::SshRootShell::new(settings.clone()),
                        ))),
                        _ => Some(client),
                    },
                    Err(e) => {
                        diags.error_at(
                            path("endpoint"),
                            "Cannot set up the Proxmox VE client",
                            e.to_string(),
                        );
                        None
                    }
                }
            })
        }
    };
    Configured {
        client,
        client_error,
        default_node,
        root_only_over_ssh: root_only_over_ssh && ssh.is_some(),
        ssh,
        root_pam_login,
        endpoint_known,
    }
}

fn resolve_ssh(
    block: &Value,
    endpoint: Option<&str>,
    diags: &mut Diagnostics,
) -> Option<SshSettings> {
    let env_user = env("PROXMOX_VE_SSH_USERNAME");
    let env_key = env("PROXMOX_VE_SSH_PRIVATE_KEY");
    let env_port = env("PROXMOX_VE_SSH_PORT");
    let env_known_hosts = env("PROXMOX_VE_SSH_KNOWN_HOSTS");
    if block.is_null()
        && env_user.is_none()
        && env_key.is_none()
        && env_port.is_none()
        && env_known_hosts.is_none()
    {
        return None;
    }
    let mut settings = SshSettings::default();
    if let Some(user) = opt_string(block.get("username")).or(env_user) {
        settings.username = user;
    }
    settings.private_key = opt_string(block.get("private_key")).or(env_key);
    settings.agent = opt_bool(block.get("agent")).unwrap_or(false);
    let port = opt_i64(block.get("port")).or_else(|| env_port.and_then(|p| p.trim().parse().ok()));
    if let Some(port) = port {
        match u16::try_from(port) {
            Ok(p) if p > 0 => settings.port = p,
            _ => diags.error_at(
                path("ssh").attr("port"),
                "Invalid SSH port",
                format!("port {port} is outside 1-65535."),
            ),
        }
    }
    settings.address = opt_string(block.get("address"));
    settings.node_addresses = string_map(block.get("node_addresses"));
    settings.known_hosts = opt_string(block.get("known_hosts")).or(env_known_hosts);
    settings.endpoint_host = endpoint
        .and_then(|e| url::Url::parse(e).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    Some(settings)
}

#[async_trait]
impl tfplugin::Provider for RalfProvider {
    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![
            Arc::new(crate::smoke_check::SmokeCheckResource::new(
                self.state.clone(),
            )),
            Arc::new(crate::lxc_service::LxcServiceResource::new(
                self.state.clone(),
            )),
            Arc::new(crate::snapshot::SnapshotResource::new(self.state.clone())),
            Arc::new(crate::template::TemplateResource::new(self.state.clone())),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![
            Arc::new(crate::smoke_check::SmokeCheckDataSource::new(
                self.state.clone(),
            )),
            Arc::new(crate::containers::ContainersDataSource::new(
                self.state.clone(),
            )),
        ]
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if let Some(token) = opt_string(config.get("api_token")) {
            if let Err(e) = Auth::from_api_token(&token) {
                diags.error_at(path("api_token"), "Invalid API token", e.to_string());
            }
        }
        if let Some(endpoint) = opt_string(config.get("endpoint")) {
            match url::Url::parse(&endpoint) {
                Ok(u) if u.scheme() == "https" || u.scheme() == "http" => {}
                _ => diags.error_at(
                    path("endpoint"),
                    "Invalid endpoint",
                    format!("endpoint {endpoint:?} is not an http(s) URL; write it like `https://pve.example.com:8006/`."),
                ),
            }
        }
        if let Some(pem) = opt_string(config.get("ca_cert")) {
            if let Err(reason) = check_pem(&pem, &["CERTIFICATE"]) {
                diags.error_at(path("ca_cert"), "Invalid ca_cert", format!("ca_cert {reason}: give the PEM of the CA that signed the API certificate (-----BEGIN CERTIFICATE----- ...)."));
            }
        }
        let ssh = config.get("ssh");
        if let Some(key) = opt_string(ssh.get("private_key")) {
            if let Err(reason) = check_pem(
                &key,
                &[
                    "PRIVATE KEY",
                    "OPENSSH PRIVATE KEY",
                    "RSA PRIVATE KEY",
                    "EC PRIVATE KEY",
                ],
            ) {
                diags.error_at(path("ssh").attr("private_key"), "Invalid SSH private key", format!("private_key {reason}: give the whole PEM file (-----BEGIN OPENSSH PRIVATE KEY----- ...), e.g. file(\"~/.ssh/id_ed25519\")."));
            }
        }
        if let Some(known_hosts) = opt_string(ssh.get("known_hosts")) {
            for (n, line) in known_hosts.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if line.split_whitespace().count() < 3 {
                    diags.error_at(path("ssh").attr("known_hosts"), "Invalid known_hosts", format!("known_hosts line {} is not `host key-type base64-key` (as `ssh-keyscan NODE` prints): {line:?}.", n + 1));
                    break;
                }
            }
        }
        if let Some(value) = env("PROXMOX_VE_INSECURE") {
            if parse_bool(&value).is_none() && config.get("insecure").is_null() {
                diags.error_at(path("insecure"), "Invalid PROXMOX_VE_INSECURE", format!("PROXMOX_VE_INSECURE = {value:?} is not a boolean: use true or false (1/0, yes/no, on/off)."));
            }
        }
        let has_user = !config.get("username").is_null();
        let has_password = !config.get("password").is_null();
        if has_user != has_password {
            diags.error_at(
                path(if has_user { "password" } else { "username" }),
                "Incomplete login",
                "`username` and `password` go together: set both for a ticket login, or neither and use `api_token`.",
            );
        }
    }

    async fn configure(&self, config: &Value, terraform_version: &str, diags: &mut Diagnostics) {
        tracing::debug!(terraform_version, "configuring the ralf provider");
        let configured = resolve(config, diags);
        if let Ok(mut slot) = self.state.configured.write() {
            *slot = Some(Arc::new(configured));
        }
    }

    async fn stop(&self) {
        self.state.cancel.cancel();
    }
}
