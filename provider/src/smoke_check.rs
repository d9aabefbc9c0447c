//! `ralf_smoke_check` (resource and data source), with ping, tcp, http, service, dns, ntp and tls
//! check blocks: translates Terraform values into the check
//! engine's types ([`checks`]) and its report back into `results`, `summary`, `passed` and
//! diagnostics. The checks themselves know nothing of Terraform.
//!
//! The resource runs its checks on create and whenever its configuration changes (e.g.
//! `triggers`), never on refresh. The data source runs them on every read, for `check {}` blocks.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tfplugin::{
    Applied, ApplyRequest, Attribute, AttributePath, Block, DataSource, Diagnostics, NestedBlock,
    Nesting, Plan, PlanRequest, Resource, Schema, Type, Value,
};

use crate::provider::ProviderState;
use crate::tf::{opt_bool, opt_i64, opt_string, path, string_map, strings};
use checks::{
    self, parse, CheckKind, CheckSpec, ContainerRef, DnsCheck, DnsRecordType, HttpCheck, NtpCheck,
    PingCheck, Report, RetryPolicy, RunContext, ServiceCheck, TcpCheck, TlsCheck,
};
use pve::Deadline;

const RESULT_FIELDS: [(&str, Type); 7] = [
    ("name", Type::String),
    ("kind", Type::String),
    ("target", Type::String),
    ("status", Type::String),
    ("attempts", Type::Number),
    ("duration_ms", Type::Number),
    ("message", Type::String),
];

fn result_type() -> Type {
    Type::object(RESULT_FIELDS.iter().cloned())
}

fn check_name_attr() -> Attribute {
    Attribute::optional("name", Type::String)
        .describe("Name shown in results; defaults to `<kind>:<target>`.")
}

/// The arguments shared by the resource and the data source.
fn check_block(description: &str) -> Block {
    let ping = Block::new("ICMP echo to a host. SKIP when ICMP is not permitted here.")
        .attr(check_name_attr())
        .attr(Attribute::required("host", Type::String).describe("IP address or DNS name."));
    let tcp = Block::new("TCP connect to a host and port.")
        .attr(check_name_attr())
        .attr(Attribute::required("host", Type::String).describe("IP address or DNS name."))
        .attr(Attribute::required("port", Type::Number).describe("Port, 1-65535."));
    let http = Block::new("An HTTP(S) request whose status (and optionally body) must match.")
        .attr(check_name_attr())
        .attr(Attribute::required("url", Type::String).describe("Absolute http or https URL."))
        .attr(Attribute::with_default("method", Type::String, "GET").describe("HTTP method."))
        .attr(
            Attribute::with_default("status_codes", Type::String, "200-299")
                .describe("Accepted status codes and ranges, e.g. `\"200,301-308\"`."),
        )
        .attr(
            Attribute::optional("body_contains", Type::String)
                .describe("Text the response body must contain."),
        )
        .attr(
            Attribute::optional("headers", Type::map(Type::String))
                .sensitive()
                .describe("Request headers (values may be secrets)."),
        )
        .attr(
            Attribute::with_default("insecure_tls", Type::Bool, false)
                .describe("Skip TLS verification."),
        )
        .attr(
            Attribute::optional("ca_cert", Type::String)
                .describe("PEM of the CA to trust instead of the system's."),
        );
    let service = Block::new("A systemd unit that must be active inside `ct_id`, checked with `pct exec` over the provider's SSH settings. SKIP without SSH settings.")
        .attr(check_name_attr())
        .attr(Attribute::required("unit", Type::String).describe("Unit name, e.g. `nginx.service`."));
    let dns = Block::new("A DNS name that one server must resolve (one UDP question to `server`, never the system's resolver), optionally to expected addresses. The result is named `dns:<name> <type> @<server>:<port>`.")
        .attr(Attribute::required("name", Type::String).describe("The DNS name to resolve, e.g. `gitea.ralf.lan` (in this block `name` is the name asked for, not the check's label)."))
        .attr(Attribute::required("server", Type::String).describe("IP address of the DNS server to ask, e.g. `10.10.0.53`."))
        .attr(Attribute::with_default("port", Type::Number, i64::from(DnsCheck::DEFAULT_PORT)).describe("The server's port, 1-65535."))
        .attr(Attribute::with_default("type", Type::String, "A").describe("`\"A\"` (IPv4) or `\"AAAA\"` (IPv6)."))
        .attr(Attribute::optional("expect", Type::list(Type::String)).describe("Addresses that must all be in the answer; unset or empty: any address passes."));
    let ntp = Block::new("An NTP server that answers one SNTP query as a synchronised source, with this machine's clock within `max_offset` of it. Never sets the clock.")
        .attr(check_name_attr())
        .attr(Attribute::required("server", Type::String).describe("IP address or DNS name of the NTP server."))
        .attr(Attribute::with_default("port", Type::Number, i64::from(NtpCheck::DEFAULT_PORT)).describe("The server's port, 1-65535."))
        .attr(Attribute::with_default("max_offset", Type::String, "1s").describe("Largest clock offset that passes, e.g. `\"500ms\"`."));
    let tls = Block::new("A TLS handshake whose certificate verifies for `server_name` (against `ca_cert`, else the system's trust store) and stays valid for `min_days_valid` more days. Verification cannot be turned off: it is what this check checks.")
        .attr(check_name_attr())
        .attr(Attribute::required("host", Type::String).describe("IP address or DNS name to connect to."))
        .attr(Attribute::with_default("port", Type::Number, i64::from(TlsCheck::DEFAULT_PORT)).describe("Port, 1-65535."))
        .attr(Attribute::optional("server_name", Type::String).describe("The name the certificate must be valid for (sent as SNI); defaults to `host`."))
        .attr(Attribute::with_default("min_days_valid", Type::Number, i64::from(TlsCheck::DEFAULT_MIN_DAYS_VALID)).describe("Days the certificate must stay valid from now; 0 only asks that it has not expired."))
        .attr(Attribute::optional("ca_cert", Type::String).describe("PEM of the CA to trust instead of the system's."));
    let retry = Block::new("Retries of each check, with exponential backoff.")
        .attr(
            Attribute::optional("attempts", Type::Number)
                .describe("Attempts in total (default 3; 1 = no retry)."),
        )
        .attr(
            Attribute::optional("initial_delay", Type::String)
                .describe("Wait after the first failure (default `\"5s\"`)."),
        )
        .attr(
            Attribute::optional("multiplier", Type::Number)
                .describe("Factor applied to the wait after each failure (default 2)."),
        )
        .attr(
            Attribute::optional("max_delay", Type::String)
                .describe("Longest wait between attempts (default `\"20s\"`)."),
        );
    Block::new(description)
        .attr(Attribute::optional("node", Type::String).describe("Node of `ct_id` (defaults to the provider's `node`)."))
        .attr(Attribute::optional("ct_id", Type::Number).describe("Container the `service` checks look into and `rollback` rolls back."))
        .attr(Attribute::with_default("timeout", Type::String, "10s").describe("Limit of one attempt of one check."))
        .attr(
            Attribute::with_default("on_failure", Type::String, "fail")
                .describe("`\"fail\"` fails the apply, `\"warn\"` only warns, `\"rollback\"` rolls `ct_id` back to `rollback_to`, starts it, and fails."),
        )
        .attr(Attribute::optional("rollback_to", Type::String).describe("Snapshot to roll back to; required with `on_failure = \"rollback\"`."))
        .attr(Attribute::computed("passed", Type::Bool).describe("True when no check failed."))
        .attr(Attribute::computed("summary", Type::String).describe("E.g. `\"3 OK, 1 FAIL, 0 SKIP\"`."))
        .attr(
            Attribute::computed("results", Type::list(result_type()))
                .describe("One object per check, kinds in the order ping, tcp, http, service, dns, ntp, tls, each kind in declaration order: `name`, `kind`, `target`, `status` (OK, FAIL, SKIP), `attempts`, `duration_ms`, `message`."),
        )
        .block(NestedBlock::new("ping", Nesting::List, ping))
        .block(NestedBlock::new("tcp", Nesting::List, tcp))
        .block(NestedBlock::new("http", Nesting::List, http))
        .block(NestedBlock::new("service", Nesting::List, service))
        .block(NestedBlock::new("dns", Nesting::List, dns))
        .block(NestedBlock::new("ntp", Nesting::List, ntp))
        .block(NestedBlock::new("tls", Nesting::List, tls))
        .block(NestedBlock::new("retry", Nesting::Single, retry))
}

fn resource_schema() -> Schema {
    let block = check_block("Runs smoke checks after a deployment: ping, TCP, HTTP, systemd units, DNS, NTP and TLS certificates, with retries. Runs on create and when its checks or `triggers` change; fails, warns or rolls back on failure.")
        .attr(Attribute::computed("id", Type::String).keep_state().describe("Identifier of this check run."))
        .attr(Attribute::optional("triggers", Type::map(Type::String)).describe("Arbitrary values; any change re-runs the checks."));
    Schema::new(0, block)
}

fn data_source_schema() -> Schema {
    let block = check_block("Runs smoke checks on every read; use it in a `check {}` block to report failures as warnings.")
        .attr(Attribute::computed("id", Type::String).describe("Identifier of this check run."));
    Schema::new(0, block)
}

/// Where the checks point, as parsed from a (wholly known) configuration.
struct CheckPlan {
    checks: Vec<CheckSpec>,
    retry: RetryPolicy,
    timeout: Duration,
    on_failure: OnFailure,
    container: Option<ContainerRef>,
    rollback_to: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnFailure {
    Fail,
    Warn,
    Rollback,
}

/// Validates every known value and reports each problem at its attribute. Unknown values are
/// skipped (they are checked again at apply time).
fn validate_config(config: &Value, allow_rollback: bool, diags: &mut Diagnostics) {
    let at = |block: &str, i: usize, attr: &str| AttributePath::root(block).index(i).attr(attr);
    for (i, ping) in config.get("ping").elements().iter().enumerate() {
        if let Some(host) = ping.get("host").as_str() {
            if let Err(e) = parse::validate_host(host) {
                diags.error_at(at("ping", i, "host"), "Invalid ping host", e.to_string());
            }
        }
    }
    for (i, tcp) in config.get("tcp").elements().iter().enumerate() {
        if let Some(host) = tcp.get("host").as_str() {
            if let Err(e) = parse::validate_host(host) {
                diags.error_at(at("tcp", i, "host"), "Invalid tcp host", e.to_string());
            }
        }
        if let Some(port) = tcp.get("port").as_f64() {
            let port = if port.fract() == 0.0 { port as i64 } else { -1 };
            if let Err(e) = parse::parse_port(port) {
                diags.error_at(at("tcp", i, "port"), "Invalid tcp port", e.to_string());
            }
        }
    }
    for (i, http) in config.get("http").elements().iter().enumerate() {
        if let Some(url) = http.get("url").as_str() {
            if let Err(e) = parse::parse_url(url) {
                diags.error_at(at("http", i, "url"), "Invalid URL", e.to_string());
            }
        }
        if let Some(codes) = http.get("status_codes").as_str() {
            if let Err(e) = codes.parse::<parse::StatusCodes>() {
                diags.error_at(
                    at("http", i, "status_codes"),
                    "Invalid status_codes",
                    e.to_string(),
                );
            }
        }
        if let Some(method) = http.get("method").as_str() {
            if let Err(e) = parse::parse_method(method) {
                diags.error_at(
                    at("http", i, "method"),
                    "Invalid HTTP method",
                    e.to_string(),
                );
            }
        }
        for (name, value) in string_map(http.get("headers")) {
            if let Err(e) = parse::validate_header(&name, &value) {
                diags.error_at(
                    at("http", i, "headers").key(&name),
                    "Invalid header",
                    e.to_string(),
                );
            }
        }
        if let Some(pem) = http.get("ca_cert").as_str() {
            if http.get("insecure_tls").as_bool() == Some(true) {
                diags.error_at(
                    at("http", i, "ca_cert"),
                    "Conflicting TLS settings",
                    parse::ParseError::CaCertWithInsecureTls.to_string(),
                );
            } else if let Err(e) = parse::parse_ca_cert(pem) {
                diags.error_at(at("http", i, "ca_cert"), "Invalid ca_cert", e.to_string());
            }
        }
    }
    validate_dns_ntp_tls(config, diags);
    let services = config.get("service").elements();
    for (i, service) in services.iter().enumerate() {
        if let Some(unit) = service.get("unit").as_str() {
            if let Err(e) = parse::validate_unit(unit) {
                diags.error_at(at("service", i, "unit"), "Invalid unit", e.to_string());
            }
        }
    }
    let ct_id = config.get("ct_id");
    if !services.is_empty() && ct_id.is_null() {
        diags.error_at(
            path("ct_id"),
            "service checks need ct_id",
            "A `service` check looks inside a container: set `ct_id` (and `node` unless the provider sets one) to the container that runs the unit.",
        );
    }
    if let Some(id) = ct_id.as_f64() {
        if let Err(e) = pve::CtId::from_number(id) {
            diags.error_at(path("ct_id"), e.summary, e.detail);
        }
    }
    let retry = config.get("retry");
    if let Some(attempts) = retry.get("attempts").as_i64() {
        if let Err(e) = parse::parse_attempts(attempts) {
            diags.error_at(
                path("retry").attr("attempts"),
                "Invalid retry attempts",
                e.to_string(),
            );
        }
    }
    if let Some(m) = retry.get("multiplier").as_f64() {
        if let Err(e) = parse::validate_multiplier(m) {
            diags.error_at(
                path("retry").attr("multiplier"),
                "Invalid retry multiplier",
                e.to_string(),
            );
        }
    }
    for name in ["initial_delay", "max_delay"] {
        if let Some(text) = retry.get(name).as_str() {
            if let Err(e) = parse::parse_duration(text) {
                diags.error_at(
                    path("retry").attr(name),
                    format!("Invalid {name}"),
                    e.to_string(),
                );
            }
        }
    }
    if let Some(text) = config.get("timeout").as_str() {
        if let Err(e) = parse::parse_positive_duration("timeout", text) {
            diags.error_at(path("timeout"), "Invalid timeout", e.to_string());
        }
    }
    if let Some(mode) = config.get("on_failure").as_str() {
        match mode {
            "fail" | "warn" => {}
            "rollback" if !allow_rollback => diags.error_at(
                path("on_failure"),
                "rollback is not available in the data source",
                "The ralf_smoke_check data source only reads: use on_failure = \"fail\" or \"warn\", and the ralf_smoke_check resource to roll back.",
            ),
            "rollback" => {
                if config.get("rollback_to").is_null() {
                    diags.error_at(
                        path("rollback_to"),
                        "rollback needs rollback_to",
                        "on_failure = \"rollback\" rolls the container back to a snapshot: set rollback_to to its name (e.g. \"pre-install\") and ct_id to the container.",
                    );
                }
                if ct_id.is_null() {
                    diags.error_at(
                        path("ct_id"),
                        "rollback needs ct_id",
                        "on_failure = \"rollback\" rolls a container back: set ct_id to the container (and rollback_to to the snapshot).",
                    );
                }
            }
            other => diags.error_at(
                path("on_failure"),
                "Invalid on_failure",
                format!("on_failure {other:?} is not one of \"fail\", \"warn\" or \"rollback\"."),
            ),
        }
    }
    let total = CHECK_BLOCKS
        .iter()
        .map(|b| config.get(b).elements().len())
        .sum::<usize>();
    if total == 0 && config.is_wholly_known() {
        diags.warning("No checks declared", "This ralf_smoke_check declares no ping, tcp, http, service, dns, ntp or tls block, so it checks nothing.");
    }
}

/// The check blocks, in the order their results are listed.
const CHECK_BLOCKS: [&str; 7] = ["ping", "tcp", "http", "service", "dns", "ntp", "tls"];

/// A port as Terraform gives it (a number, maybe fractional) checked as a TCP/UDP port.
fn port_of(value: &Value) -> Option<Result<u16, parse::ParseError>> {
    let port = value.as_f64()?;
    let port = if port.fract() == 0.0 { port as i64 } else { -1 };
    Some(parse::parse_port(port))
}

/// The `dns`, `ntp` and `tls` blocks: every known value, each error at its attribute.
fn validate_dns_ntp_tls(config: &Value, diags: &mut Diagnostics) {
    let at = |block: &str, i: usize, attr: &str| AttributePath::root(block).index(i).attr(attr);
    let mut check = |result: Result<(), parse::ParseError>, path: AttributePath, summary: &str| {
        if let Err(e) = result {
            diags.error_at(path, summary, e.to_string());
        }
    };
    for (i, dns) in config.get("dns").elements().iter().enumerate() {
        if let Some(name) = dns.get("name").as_str() {
            check(
                checks::dns::validate_name(name),
                at("dns", i, "name"),
                "Invalid dns name",
            );
        }
        if let Some(server) = dns.get("server").as_str() {
            check(
                checks::dns::parse_server(server).map(drop),
                at("dns", i, "server"),
                "Invalid dns server",
            );
        }
        if let Some(port) = port_of(dns.get("port")) {
            check(port.map(drop), at("dns", i, "port"), "Invalid dns port");
        }
        let record_type = dns.get("type").as_str().map(str::parse::<DnsRecordType>);
        if let Some(Err(e)) = &record_type {
            check(Err(e.clone()), at("dns", i, "type"), "Invalid dns type");
        }
        let record_type = match record_type {
            Some(Ok(t)) => t,
            _ => DnsRecordType::A,
        };
        for (j, address) in dns.get("expect").elements().iter().enumerate() {
            if let Some(address) = address.as_str() {
                check(
                    checks::dns::parse_expected(address, record_type).map(drop),
                    at("dns", i, "expect").index(j),
                    "Invalid dns expect",
                );
            }
        }
    }
    for (i, ntp) in config.get("ntp").elements().iter().enumerate() {
        if let Some(server) = ntp.get("server").as_str() {
            check(
                parse::validate_host(server),
                at("ntp", i, "server"),
                "Invalid ntp server",
            );
        }
        if let Some(port) = port_of(ntp.get("port")) {
            check(port.map(drop), at("ntp", i, "port"), "Invalid ntp port");
        }
        if let Some(text) = ntp.get("max_offset").as_str() {
            check(
                parse::parse_positive_duration("max_offset", text).map(drop),
                at("ntp", i, "max_offset"),
                "Invalid max_offset",
            );
        }
    }
    for (i, tls) in config.get("tls").elements().iter().enumerate() {
        if let Some(host) = tls.get("host").as_str() {
            check(
                parse::validate_host(host),
                at("tls", i, "host"),
                "Invalid tls host",
            );
        }
        if let Some(port) = port_of(tls.get("port")) {
            check(port.map(drop), at("tls", i, "port"), "Invalid tls port");
        }
        if let Some(name) = tls.get("server_name").as_str() {
            check(
                checks::tls::parse_server_name(name).map(drop),
                at("tls", i, "server_name"),
                "Invalid tls server_name",
            );
        }
        if let Some(days) = tls.get("min_days_valid").as_f64() {
            check(
                parse::parse_min_days_valid(days).map(drop),
                at("tls", i, "min_days_valid"),
                "Invalid min_days_valid",
            );
        }
        if let Some(pem) = tls.get("ca_cert").as_str() {
            check(
                parse::parse_ca_cert(pem).map(drop),
                at("tls", i, "ca_cert"),
                "Invalid ca_cert",
            );
        }
    }
}

/// Builds the engine's inputs from a wholly known configuration (validated beforehand).
fn check_plan(config: &Value, state: &ProviderState, diags: &mut Diagnostics) -> Option<CheckPlan> {
    let mut checks = Vec::new();
    let named = |spec: CheckSpec, block: &Value| match opt_string(block.get("name")) {
        Some(name) => spec.named(name),
        None => spec,
    };
    for ping in config.get("ping").elements() {
        let spec = CheckSpec {
            name: None,
            kind: CheckKind::Ping(PingCheck {
                host: opt_string(ping.get("host")).unwrap_or_default(),
            }),
        };
        checks.push(named(spec, ping));
    }
    for tcp in config.get("tcp").elements() {
        let port = opt_i64(tcp.get("port"))
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(0);
        let spec = CheckSpec {
            name: None,
            kind: CheckKind::Tcp(TcpCheck {
                host: opt_string(tcp.get("host")).unwrap_or_default(),
                port,
            }),
        };
        checks.push(named(spec, tcp));
    }
    for http in config.get("http").elements() {
        let check = HttpCheck {
            url: opt_string(http.get("url")).unwrap_or_default(),
            method: opt_string(http.get("method")).unwrap_or_else(|| "GET".into()),
            status_codes: opt_string(http.get("status_codes")).unwrap_or_else(|| "200-299".into()),
            body_contains: opt_string(http.get("body_contains")),
            headers: string_map(http.get("headers")),
            insecure_tls: opt_bool(http.get("insecure_tls")).unwrap_or(false),
            ca_cert: opt_string(http.get("ca_cert")),
        };
        checks.push(named(
            CheckSpec {
                name: None,
                kind: CheckKind::Http(check),
            },
            http,
        ));
    }
    for service in config.get("service").elements() {
        let spec = CheckSpec {
            name: None,
            kind: CheckKind::Service(ServiceCheck {
                unit: opt_string(service.get("unit")).unwrap_or_default(),
            }),
        };
        checks.push(named(spec, service));
    }
    for dns in config.get("dns").elements() {
        let check = DnsCheck {
            name: opt_string(dns.get("name")).unwrap_or_default(),
            server: opt_string(dns.get("server")).unwrap_or_default(),
            port: configured_port(dns.get("port"), DnsCheck::DEFAULT_PORT),
            record_type: dns
                .get("type")
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or(DnsRecordType::A),
            expect: strings(dns.get("expect")),
        };
        checks.push(CheckSpec {
            name: None,
            kind: CheckKind::Dns(check),
        });
    }
    for ntp in config.get("ntp").elements() {
        let check = NtpCheck {
            server: opt_string(ntp.get("server")).unwrap_or_default(),
            port: configured_port(ntp.get("port"), NtpCheck::DEFAULT_PORT),
            max_offset: opt_string(ntp.get("max_offset"))
                .and_then(|d| parse::parse_positive_duration("max_offset", &d).ok())
                .unwrap_or(NtpCheck::DEFAULT_MAX_OFFSET),
        };
        let spec = CheckSpec {
            name: None,
            kind: CheckKind::Ntp(check),
        };
        checks.push(named(spec, ntp));
    }
    for tls in config.get("tls").elements() {
        let check = TlsCheck {
            host: opt_string(tls.get("host")).unwrap_or_default(),
            port: configured_port(tls.get("port"), TlsCheck::DEFAULT_PORT),
            server_name: opt_string(tls.get("server_name")),
            ca_cert: opt_string(tls.get("ca_cert")),
            min_days_valid: tls
                .get("min_days_valid")
                .as_f64()
                .and_then(|d| parse::parse_min_days_valid(d).ok())
                .unwrap_or(TlsCheck::DEFAULT_MIN_DAYS_VALID),
        };
        let spec = CheckSpec {
            name: None,
            kind: CheckKind::Tls(check),
        };
        checks.push(named(spec, tls));
    }
    let retry_block = config.get("retry");
    let defaults = RetryPolicy::default();
    let retry = RetryPolicy {
        attempts: opt_i64(retry_block.get("attempts"))
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(defaults.attempts),
        initial_delay: opt_string(retry_block.get("initial_delay"))
            .and_then(|d| parse::parse_duration(&d).ok())
            .unwrap_or(defaults.initial_delay),
        multiplier: retry_block
            .get("multiplier")
            .as_f64()
            .unwrap_or(defaults.multiplier),
        max_delay: opt_string(retry_block.get("max_delay"))
            .and_then(|d| parse::parse_duration(&d).ok())
            .unwrap_or(defaults.max_delay),
    };
    let timeout = opt_string(config.get("timeout"))
        .and_then(|t| parse::parse_positive_duration("timeout", &t).ok())
        .unwrap_or(RunContext::DEFAULT_ATTEMPT_TIMEOUT);
    let on_failure = match config.get("on_failure").as_str() {
        Some("warn") => OnFailure::Warn,
        Some("rollback") => OnFailure::Rollback,
        _ => OnFailure::Fail,
    };
    let node = state.node_for(opt_string(config.get("node")));
    let ct_id = opt_i64(config.get("ct_id")).and_then(|c| u32::try_from(c).ok());
    let container = match (node, ct_id) {
        (Some(node), Some(ct_id)) => Some(ContainerRef { node, ct_id }),
        (None, Some(_)) => {
            diags.error_at(
                path("node"),
                "No node for ct_id",
                "Set `node` here or in the provider block (or PROXMOX_VE_NODE).",
            );
            return None;
        }
        _ => None,
    };
    Some(CheckPlan {
        checks,
        retry,
        timeout,
        on_failure,
        container,
        rollback_to: opt_string(config.get("rollback_to")),
    })
}

/// A validated port, or the kind's default while none is known.
fn configured_port(value: &Value, default: u16) -> u16 {
    opt_i64(value)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(default)
}

async fn run(plan: &CheckPlan, state: &ProviderState) -> Report {
    let ssh = state.configured().and_then(|c| c.ssh.clone());
    let ctx = RunContext {
        retry: plan.retry.clone(),
        attempt_timeout: plan.timeout,
        ssh,
        container: plan.container.clone(),
        ..RunContext::default()
    };
    checks::run_checks(&plan.checks, &ctx, &state.cancel).await
}

fn results_value(report: &Report) -> Value {
    Value::List(
        report
            .results
            .iter()
            .map(|r| {
                Value::object([
                    ("name", Value::string(&r.name)),
                    ("kind", Value::string(&r.kind)),
                    ("target", Value::string(&r.target)),
                    ("status", Value::string(r.status.as_str())),
                    ("attempts", Value::int(i64::from(r.attempts))),
                    (
                        "duration_ms",
                        Value::int(i64::try_from(r.duration_ms).unwrap_or(i64::MAX)),
                    ),
                    ("message", Value::string(&r.message)),
                ])
            })
            .collect(),
    )
}

/// Fills the computed attributes of `base` from a report.
fn with_report(base: &Value, report: &Report, id: Option<String>) -> Value {
    let mut v = base.clone();
    v.set_attr("passed", Value::Bool(report.passed()));
    v.set_attr("summary", Value::string(report.summary()));
    v.set_attr("results", results_value(report));
    if let Some(id) = id {
        v.set_attr("id", Value::string(id));
    }
    v
}

fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("smoke-{nanos:x}")
}

/// What a failed run means for the apply, per `on_failure`. Returns whether the apply failed.
async fn handle_failure(
    plan: &CheckPlan,
    report: &Report,
    state: &ProviderState,
    diags: &mut Diagnostics,
) -> bool {
    if let Some(skips) = report.skip_report() {
        diags.warning(format!("Smoke checks skipped: {}", report.summary()), skips);
    }
    let Some(failures) = report.failure_report() else {
        return false;
    };
    match plan.on_failure {
        OnFailure::Warn => {
            diags.warning(
                format!("Smoke checks failed: {}", report.summary()),
                failures,
            );
            false
        }
        OnFailure::Fail => {
            diags.error(
                format!("Smoke checks failed: {}", report.summary()),
                failures,
            );
            true
        }
        OnFailure::Rollback => {
            let (Some(container), Some(snapshot)) = (&plan.container, &plan.rollback_to) else {
                diags.error(
                    format!("Smoke checks failed: {}", report.summary()),
                    failures,
                );
                return true;
            };
            let mut client_diags = Diagnostics::new();
            let Some((client, _)) = state.client(&mut client_diags) else {
                diags.error(
                    format!("Smoke checks failed: {}; rollback impossible", report.summary()),
                    format!("{failures}\n\nThe rollback to snapshot {snapshot:?} could not run: no Proxmox endpoint is configured."),
                );
                return true;
            };
            let deadline = Deadline::after(Duration::from_secs(600));
            match client.rollback(&container.node, container.ct_id, snapshot, true, &deadline).await {
                Ok(_) => diags.error(
                    format!("Smoke checks failed: {}; container {} rolled back to {snapshot:?}", report.summary(), container.ct_id),
                    format!(
                        "{failures}\n\nContainer {} on node {} was rolled back to snapshot {snapshot:?} and started again. Fix the service and apply again to re-run the checks.",
                        container.ct_id, container.node
                    ),
                ),
                Err(e) => diags.error(
                    format!("Smoke checks failed: {}; rollback to {snapshot:?} failed too", report.summary()),
                    format!("{failures}\n\nRolling container {} back to snapshot {snapshot:?} failed: {e}", container.ct_id),
                ),
            }
            true
        }
    }
}

/// The `ralf_smoke_check` resource.
pub struct SmokeCheckResource {
    state: Arc<ProviderState>,
}

impl SmokeCheckResource {
    pub fn new(state: Arc<ProviderState>) -> SmokeCheckResource {
        SmokeCheckResource { state }
    }

    async fn run_and_record(&self, request: &ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        let Some(plan) = check_plan(request.config, &self.state, diags) else {
            return Applied::state(request.prior.clone());
        };
        let report = run(&plan, &self.state).await;
        if self.state.cancel.is_cancelled() {
            // Interrupted checks say nothing about the service: never roll back for them.
            diags.error(
                "Smoke checks interrupted",
                format!("Terraform was asked to stop while the checks ran ({}); nothing was rolled back. Apply again to run them.", report.summary()),
            );
            return Applied::state(request.prior.clone());
        }
        let failed = handle_failure(&plan, &report, &self.state, diags).await;
        if failed {
            // Record nothing new: the prior state (or none) makes the next plan run the checks again.
            return Applied::state(request.prior.clone());
        }
        let id = opt_string(request.prior.get("id")).unwrap_or_else(new_id);
        Applied::state(with_report(request.planned, &report, Some(id)))
    }
}

impl SmokeCheckResource {
    /// `rollback_to` must name a snapshot that exists, or one this run plans to take (declared
    /// in the same configuration and referenced, e.g. `ralf_snapshot.pre_install.name`), so
    /// that the rollback cannot fail exactly when it is needed. Checked only where the API can
    /// tell: the container exists.
    async fn check_rollback_target(&self, config: &Value, plan: &mut Plan) {
        let (Some(snapshot), Some(ct_id)) = (
            config.get("rollback_to").as_str(),
            config
                .get("ct_id")
                .as_i64()
                .and_then(|c| u32::try_from(c).ok()),
        ) else {
            return;
        };
        let Some(configured) = self.state.configured() else {
            return;
        };
        let (Some(client), Some(node)) = (
            configured.client.as_ref(),
            self.state.node_for(opt_string(config.get("node"))),
        ) else {
            return;
        };
        if self.state.snapshot_is_planned(&node, ct_id, snapshot) {
            return;
        }
        let Ok(snapshots) = client.list_snapshots(&node, ct_id).await else {
            return; // no container (yet) or no answer: nothing to say
        };
        if !snapshots.iter().any(|s| s.name == snapshot) {
            let names: Vec<_> = snapshots.iter().map(|s| format!("{:?}", s.name)).collect();
            plan.diagnostics.error_at(
                path("rollback_to"),
                format!("Snapshot {snapshot:?} does not exist"),
                format!(
                    "Container {ct_id} on node {node} has no snapshot {snapshot:?} (it has {}), so the rollback would fail exactly when it is needed. \
                     Name an existing snapshot, or declare it with a ralf_snapshot resource and reference it: rollback_to = ralf_snapshot.<name>.name.",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                ),
            );
        }
    }
}

#[async_trait]
impl Resource for SmokeCheckResource {
    fn type_name(&self) -> &'static str {
        "ralf_smoke_check"
    }

    fn schema(&self) -> Schema {
        resource_schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_config(config, true, diags);
    }

    async fn modify_plan(&self, request: PlanRequest<'_>, plan: &mut Plan) {
        self.check_rollback_target(request.config, plan).await;
    }

    async fn create(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        self.run_and_record(&request, diags).await
    }

    async fn read(&self, state: &Value, _private: &[u8], _diags: &mut Diagnostics) -> Value {
        // Checks run on create and on change only; a refresh keeps the recorded results.
        state.clone()
    }

    async fn update(&self, request: ApplyRequest<'_>, diags: &mut Diagnostics) -> Applied {
        self.run_and_record(&request, diags).await
    }

    async fn delete(&self, _prior: &Value, _diags: &mut Diagnostics) {}
}

/// The `ralf_smoke_check` data source.
pub struct SmokeCheckDataSource {
    state: Arc<ProviderState>,
}

impl SmokeCheckDataSource {
    pub fn new(state: Arc<ProviderState>) -> SmokeCheckDataSource {
        SmokeCheckDataSource { state }
    }
}

#[async_trait]
impl DataSource for SmokeCheckDataSource {
    fn type_name(&self) -> &'static str {
        "ralf_smoke_check"
    }

    fn schema(&self) -> Schema {
        data_source_schema()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        validate_config(config, false, diags);
    }

    async fn read(&self, config: &Value, diags: &mut Diagnostics) -> Value {
        let Some(plan) = check_plan(config, &self.state, diags) else {
            return Value::Null;
        };
        let report = run(&plan, &self.state).await;
        handle_failure(&plan, &report, &self.state, diags).await;
        with_report(config, &report, Some(new_id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut v = resource_schema().block.null_object();
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    fn errors_at(config: &Value) -> Vec<String> {
        let mut d = Diagnostics::new();
        validate_config(config, true, &mut d);
        d.iter()
            .filter(|d| d.severity == tfplugin::Severity::Error)
            .map(|d| {
                d.attribute
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn bad_inputs_are_reported_at_their_attribute() {
        let http = Value::object([
            ("url", Value::string("not a url")),
            ("status_codes", Value::string("abc")),
        ]);
        let tcp = Value::object([("host", Value::string("")), ("port", Value::int(70000))]);
        let c = config(&[
            ("http", Value::List(vec![http])),
            ("tcp", Value::List(vec![tcp])),
            ("timeout", Value::string("ten")),
            ("retry", Value::object([("attempts", Value::int(0))])),
        ]);
        let paths = errors_at(&c);
        for expected in [
            "http[0].url",
            "http[0].status_codes",
            "tcp[0].host",
            "tcp[0].port",
            "timeout",
            "retry.attempts",
        ] {
            assert!(
                paths.contains(&expected.to_string()),
                "missing {expected} in {paths:?}"
            );
        }
    }

    #[test]
    fn bad_dns_ntp_and_tls_values_are_reported_at_their_attribute() {
        let dns = Value::object([
            ("name", Value::string("gitea.ralf.lan")),
            ("server", Value::string("dns.ralf.lan")),
            ("type", Value::string("A")),
            (
                "expect",
                Value::List(vec![Value::string("10.0.0.1"), Value::string("fd00::1")]),
            ),
        ]);
        let ntp = Value::object([
            ("server", Value::string("10.10.0.1")),
            ("port", Value::int(123)),
            ("max_offset", Value::string("0s")),
        ]);
        let tls = Value::object([
            ("host", Value::string("10.10.0.5")),
            ("port", Value::int(0)),
            ("server_name", Value::string("not a name")),
            ("min_days_valid", Value::int(-1)),
        ]);
        let c = config(&[
            ("dns", Value::List(vec![dns])),
            ("ntp", Value::List(vec![ntp])),
            ("tls", Value::List(vec![tls])),
        ]);
        assert_eq!(
            errors_at(&c),
            vec![
                "dns[0].server",
                "dns[0].expect[1]",
                "ntp[0].max_offset",
                "tls[0].port",
                "tls[0].server_name",
                "tls[0].min_days_valid",
            ]
        );
    }

    #[test]
    fn rollback_without_rollback_to_is_refused() {
        let c = config(&[
            ("on_failure", Value::string("rollback")),
            ("ct_id", Value::int(101)),
        ]);
        assert_eq!(errors_at(&c), vec!["rollback_to".to_string()]);
    }

    #[test]
    fn unknown_values_are_not_judged_at_plan_time() {
        let http = Value::object([("url", Value::unknown())]);
        let c = config(&[("http", Value::List(vec![http]))]);
        assert!(errors_at(&c).is_empty());
    }
}
