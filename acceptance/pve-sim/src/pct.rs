//! `pct` emulation: answers `pct exec <vmid> -- systemctl is-active <unit>...` (and
//! `pct status <vmid>`) from a running simulator's admin API, and holds the one parser and
//! dispatcher of `pct` command lines the node's SSH server uses too, so that an SSH test can run it on
//! a real sshd the way Proxmox nodes run `pct`. The simulator is found through
//! `PVE_SIM_ENDPOINT` (`https://...` with `PVE_SIM_CA_FILE`, or `http://...`); the node name for
//! messages comes from `PVE_SIM_NODE` (default `pve`).
//!
//! It knows nothing about the simulator's internals: it only speaks HTTP to `/sim/`. The
//! endpoint's host name is resolved by ralf-resolve (hosts file, then resolv.conf), never through
//! NSS, as the static binary may run where no NSS modules exist.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use resolve::NameResolver;
use serde_json::Value;

/// Exit status of `pct` when its own command fails (Perl's `die`).
const EXIT_DIE: i32 = 255;
/// Exit status of `systemctl is-active` when a unit is not active.
const EXIT_INACTIVE: i32 = 3;
/// Exit status of a shell when a command does not exist.
const EXIT_NOT_FOUND: i32 = 127;

/// What the emulated command printed and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PctOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl PctOutput {
    pub(crate) fn fail(code: i32, stderr: impl Into<String>) -> PctOutput {
        let mut stderr = stderr.into();
        if !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        PctOutput {
            stdout: String::new(),
            stderr,
            code,
        }
    }
}

/// Where the simulator is.
#[derive(Debug, Clone)]
pub struct PctTarget {
    pub endpoint: String,
    pub ca_pem: Option<String>,
    pub node: String,
    /// Resolves the endpoint's host name without NSS: `/etc/hosts`, then `/etc/resolv.conf`'s
    /// nameservers, never a public DNS server (tests pass their own files).
    pub resolver: Arc<NameResolver>,
}

impl PctTarget {
    /// Reads `PVE_SIM_ENDPOINT`, `PVE_SIM_CA_FILE` and `PVE_SIM_NODE`.
    pub fn from_env() -> Result<PctTarget, String> {
        let endpoint = std::env::var("PVE_SIM_ENDPOINT").map_err(|_| {
            "PVE_SIM_ENDPOINT is not set: pve-sim's pct emulation needs the simulator's address, e.g. https://127.0.0.1:8006/".to_string()
        })?;
        let ca_pem = match std::env::var("PVE_SIM_CA_FILE") {
            Ok(path) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read PVE_SIM_CA_FILE {path}: {e}"))?,
            ),
            Err(_) => None,
        };
        let node = std::env::var("PVE_SIM_NODE").unwrap_or_else(|_| "pve".to_string());
        Ok(PctTarget {
            endpoint,
            ca_pem,
            node,
            resolver: Arc::new(NameResolver::system()),
        })
    }
}

/// Runs `pct <args>` (args without the program name) and returns what to print.
pub fn run(args: &[String], target: &PctTarget) -> PctOutput {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return PctOutput::fail(EXIT_DIE, format!("cannot start a runtime: {e}")),
    };
    runtime.block_on(run_async(args, target))
}

/// The usage line of the `pct` subcommands pve-sim knows.
const USAGE: &str = "USAGE: pct exec <vmid> [<extra-args>] -- <command>  |  pct status <vmid>  |  pct set <vmid> [-<option> <value>]...";

/// A `pct` command line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PctCommand {
    /// `pct status <vmid>`
    Status(u32),
    /// `pct exec <vmid> [--] <command>...` (the command is never empty)
    Exec(u32, Vec<String>),
    /// `pct set <vmid> -<option> <value>...`: the options as given, `-delete` included.
    Set(u32, Vec<(String, String)>),
}

impl PctCommand {
    /// Parses the words after `pct`; a usage error is the answer to print.
    pub(crate) fn parse(args: &[String]) -> Result<PctCommand, PctOutput> {
        let usage = || PctOutput::fail(EXIT_DIE, USAGE);
        let (Some(sub), Some(vmid)) = (args.first(), args.get(1).and_then(|v| v.parse().ok()))
        else {
            return Err(usage());
        };
        let rest = &args[2..];
        match sub.as_str() {
            "status" if rest.is_empty() => Ok(PctCommand::Status(vmid)),
            "exec" => {
                let command = match rest.iter().position(|a| a == "--") {
                    Some(i) => rest[i + 1..].to_vec(),
                    None => rest.to_vec(),
                };
                if command.is_empty() {
                    return Err(PctOutput::fail(EXIT_DIE, "missing command"));
                }
                Ok(PctCommand::Exec(vmid, command))
            }
            "set" => parse_set_options(rest).map(|o| PctCommand::Set(vmid, o)),
            _ => Err(usage()),
        }
    }

    pub(crate) fn vmid(&self) -> u32 {
        match self {
            PctCommand::Status(v) | PctCommand::Exec(v, _) | PctCommand::Set(v, _) => *v,
        }
    }
}

/// `-key value`, `--key value` or `--key=value` pairs, as Proxmox's CLI reads options.
fn parse_set_options(words: &[String]) -> Result<Vec<(String, String)>, PctOutput> {
    let mut out = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let Some(name) = word.strip_prefix("--").or_else(|| word.strip_prefix('-')) else {
            return Err(PctOutput::fail(
                EXIT_DIE,
                format!("400 too many arguments\n{USAGE}"),
            ));
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let value = words.next().ok_or_else(|| {
                    PctOutput::fail(EXIT_DIE, format!("option '{name}' needs a value\n{USAGE}"))
                })?;
                (name.to_string(), value.clone())
            }
        };
        out.push((name, value));
    }
    if out.is_empty() {
        return Err(PctOutput::fail(EXIT_DIE, "no options specified"));
    }
    Ok(out)
}

/// The one dispatcher of `pct status` and `pct exec` for both callers (this emulation and the
/// node's SSH server): given whether the container exists and runs, the answer when the
/// command is decided here, or `None` when `exec` should run the command inside it.
pub(crate) fn decide(command: &PctCommand, node: &str, running: Option<bool>) -> Option<PctOutput> {
    let vmid = command.vmid();
    let Some(running) = running else {
        return Some(PctOutput::fail(
            EXIT_DIE,
            format!("Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist"),
        ));
    };
    match command {
        PctCommand::Status(_) => Some(PctOutput {
            stdout: format!("status: {}\n", if running { "running" } else { "stopped" }),
            stderr: String::new(),
            code: 0,
        }),
        PctCommand::Exec(..) if !running => {
            Some(PctOutput::fail(EXIT_DIE, format!("CT {vmid} not running")))
        }
        PctCommand::Exec(..) | PctCommand::Set(..) => None,
    }
}

/// The async form of [`run`]: `status` and `exec` from the simulator's admin API; `set`
/// needs root on the node, which only the node's SSH server (`pve-sim --ssh-listen`) has.
pub async fn run_async(args: &[String], target: &PctTarget) -> PctOutput {
    let command = match PctCommand::parse(args) {
        Ok(c) => c,
        Err(out) => return out,
    };
    if let PctCommand::Set(..) = command {
        return PctOutput::fail(
            EXIT_DIE,
            "pve-sim's pct emulation cannot change a config; run `pct set` through the node's SSH server (pve-sim --ssh-listen)",
        );
    }
    let guest = match fetch_guest(target, command.vmid()).await {
        Ok(g) => g,
        Err(e) => return PctOutput::fail(EXIT_DIE, e),
    };
    let running = guest
        .as_ref()
        .map(|g| g.get("running").and_then(Value::as_bool).unwrap_or(false));
    if let Some(answer) = decide(&command, &target.node, running) {
        return answer;
    }
    match (&command, guest) {
        (PctCommand::Exec(_, words), Some(guest)) => exec_in_guest(words, &guest),
        _ => PctOutput::fail(EXIT_DIE, USAGE),
    }
}

/// Emulates a command inside the guest: `systemctl is-active [--quiet] <unit>...`, also when
/// wrapped in `sh -c` / `bash -c`.
pub(crate) fn exec_in_guest(command: &[String], guest: &Value) -> PctOutput {
    if let (Some(shell), Some(flag), Some(script)) =
        (command.first(), command.get(1), command.get(2))
    {
        let is_shell = matches!(shell.rsplit('/').next(), Some("sh" | "bash"));
        if is_shell && flag == "-c" {
            let words: Vec<String> = script.split_whitespace().map(str::to_string).collect();
            return exec_in_guest(&words, guest);
        }
    }
    let program = command.first().map(|p| p.rsplit('/').next().unwrap_or(p));
    if program != Some("systemctl") || command.get(1).map(String::as_str) != Some("is-active") {
        return PctOutput::fail(
            EXIT_NOT_FOUND,
            format!(
                "pve-sim: only 'systemctl is-active <unit>...' runs inside a simulated container, not: {}",
                command.join(" ")
            ),
        );
    }
    let quiet = command[2..].iter().any(|a| a == "--quiet" || a == "-q");
    let units: Vec<&String> = command[2..]
        .iter()
        .filter(|a| !a.starts_with('-'))
        .collect();
    if units.is_empty() {
        return PctOutput::fail(1, "Too few arguments.");
    }
    let states = guest.get("units").and_then(Value::as_object);
    let mut stdout = String::new();
    let mut all_active = true;
    for unit in units {
        let with_suffix = if unit.contains('.') {
            unit.clone()
        } else {
            format!("{unit}.service")
        };
        let state = states
            .and_then(|s| s.get(&with_suffix).or_else(|| s.get(unit.as_str())))
            .and_then(Value::as_str)
            .unwrap_or("inactive");
        if state != "active" {
            all_active = false;
        }
        if !quiet {
            stdout.push_str(state);
            stdout.push('\n');
        }
    }
    PctOutput {
        stdout,
        stderr: String::new(),
        code: if all_active { 0 } else { EXIT_INACTIVE },
    }
}

/// `GET /sim/guests/{vmid}`: `None` when the container does not exist.
async fn fetch_guest(target: &PctTarget, vmid: u32) -> Result<Option<Value>, String> {
    let (status, body) = admin_get(target, &format!("/sim/guests/{vmid}")).await?;
    match status {
        200 => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| format!("unexpected answer from the simulator: {e}")),
        404 => Ok(None),
        other => Err(format!(
            "the simulator answered HTTP {other} to GET /sim/guests/{vmid}"
        )),
    }
}

/// A minimal HTTP/1.1 GET against the simulator (HTTPS with the given CA, or plain HTTP).
pub async fn admin_get(target: &PctTarget, path: &str) -> Result<(u16, Bytes), String> {
    match tokio::time::timeout(
        std::time::Duration::from_secs(15),
        admin_get_inner(target, path),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the simulator at {} did not answer GET {path} within 15 s",
            target.endpoint
        )),
    }
}

async fn admin_get_inner(target: &PctTarget, path: &str) -> Result<(u16, Bytes), String> {
    let (tls, rest) = if let Some(rest) = target.endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = target.endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(format!(
            "PVE_SIM_ENDPOINT '{}' must start with https:// or http://",
            target.endpoint
        ));
    };
    let authority = rest.split('/').next().unwrap_or(rest).to_string();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("PVE_SIM_ENDPOINT '{}' has no valid port", target.endpoint))?;
            (host, port)
        }
        _ => (authority.as_str(), if tls { 443 } else { 80 }),
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addresses = target
        .resolver
        .socket_addrs(&host, port)
        .await
        .map_err(|e| format!("cannot reach the simulator at {authority}: {e}"))?;
    let stream = tokio::net::TcpStream::connect(&addresses[..])
        .await
        .map_err(|e| format!("cannot connect to the simulator at {authority}: {e}"))?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    if tls {
        let connector = tls_connector(target.ca_pem.as_deref())?;
        let server_name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("invalid host '{host}': {e}"))?;
        let stream = connector
            .connect(server_name, stream)
            .await
            .map_err(|e| format!("TLS handshake with the simulator failed: {e}"))?;
        send(stream, request).await
    } else {
        send(stream, request).await
    }
}

async fn send<S>(stream: S, request: hyper::Request<Empty<Bytes>>) -> Result<(u16, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with the simulator failed: {e}"))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request to the simulator failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the simulator's answer failed: {e}"))?
        .to_bytes();
    Ok((status, body))
}

fn tls_connector(ca_pem: Option<&str>) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::pem::PemObject;
    let ca_pem = ca_pem.ok_or_else(|| {
        "PVE_SIM_CA_FILE is not set: an https endpoint needs the simulator's CA certificate (pve-sim --cert-out FILE)".to_string()
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert =
            cert.map_err(|e| format!("PVE_SIM_CA_FILE holds no valid PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("PVE_SIM_CA_FILE certificate rejected: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmd(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn is_active_reports_state_and_exit_code_like_systemctl() {
        let guest = json!({ "units": { "nginx.service": "active", "redis.service": "failed" } });
        let out = exec_in_guest(&cmd("systemctl is-active nginx"), &guest);
        assert_eq!((out.stdout.as_str(), out.code), ("active\n", 0));
        let out = exec_in_guest(&cmd("systemctl is-active redis.service"), &guest);
        assert_eq!((out.stdout.as_str(), out.code), ("failed\n", 3));
        let out = exec_in_guest(&cmd("systemctl is-active --quiet postgresql"), &guest);
        assert_eq!((out.stdout.as_str(), out.code), ("", 3));
    }

    #[test]
    fn shell_wrapped_is_active_is_understood() {
        let guest = json!({ "units": { "nginx.service": "active" } });
        let command = vec![
            "sh".to_string(),
            "-c".to_string(),
            "systemctl is-active nginx.service".to_string(),
        ];
        assert_eq!(exec_in_guest(&command, &guest).code, 0);
    }
}
