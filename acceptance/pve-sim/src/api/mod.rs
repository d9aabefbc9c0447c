//! The Proxmox VE `api2/json` API: request decoding (query, form or JSON bodies), routing by
//! path pattern, authentication, fault injection, parameter validation, statistics, and the
//! response envelope. One submodule per API area holds the handlers.

mod access;
mod auth;
mod cluster_info;
pub(crate) mod envelope;
mod lxc;
mod power;
mod snapshot;
mod storage;
mod tasks;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use hyper::{HeaderMap, Method, Uri};

pub(crate) use auth::Caller;
use envelope::{ok_response, ApiError, Reply};

use crate::faults::FaultKind;
use crate::schema::{self, MethodSchema};
use crate::server::DropConnection;
use crate::sim::{lock, Sim};

/// Everything a handler needs about one call.
pub(crate) struct Call {
    pub sim: Arc<Sim>,
    pub params: BTreeMap<String, String>,
    pub caller: Caller,
    /// A `task_fail` fault met by this call: the task it starts must fail.
    pub fail_task: bool,
}

impl Call {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("1")
    }
    pub fn node(&self) -> &str {
        self.get("node").unwrap_or_default()
    }
    pub fn vmid(&self) -> u32 {
        self.get("vmid").and_then(|v| v.parse().ok()).unwrap_or(0)
    }
    pub fn user(&self) -> &str {
        &self.caller.user
    }
}

type Handler = fn(&Call) -> Result<Reply, ApiError>;

/// The handler of a method and path pattern, and whether it starts a task.
fn handler(method: &str, pattern: &str) -> Option<(Handler, bool)> {
    let h: (Handler, bool) = match (method, pattern) {
        ("GET", "/version") => (cluster_info::version, false),
        ("GET", "/access/ticket") => (access::ticket_index, false),
        ("POST", "/access/ticket") => (access::create_ticket, false),
        ("GET", "/cluster/nextid") => (cluster_info::nextid, false),
        ("GET", "/cluster/resources") => (cluster_info::resources, false),
        ("GET", "/nodes") => (cluster_info::nodes, false),
        ("GET", "/nodes/{node}") => (cluster_info::node_index, false),
        ("GET", "/nodes/{node}/status") => (cluster_info::node_status, false),
        ("GET", "/nodes/{node}/aplinfo") => (storage::aplinfo, false),
        ("GET", "/nodes/{node}/storage") => (storage::list, false),
        ("GET", "/nodes/{node}/storage/{storage}") => (storage::index, false),
        ("GET", "/nodes/{node}/storage/{storage}/status") => (storage::status, false),
        ("GET", "/nodes/{node}/storage/{storage}/content") => (storage::content, false),
        ("GET", "/nodes/{node}/lxc") => (lxc::list, false),
        ("POST", "/nodes/{node}/lxc") => (lxc::create, true),
        ("GET", "/nodes/{node}/lxc/{vmid}") => (lxc::index, false),
        ("DELETE", "/nodes/{node}/lxc/{vmid}") => (lxc::destroy, true),
        ("GET", "/nodes/{node}/lxc/{vmid}/config") => (lxc::get_config, false),
        ("PUT", "/nodes/{node}/lxc/{vmid}/config") => (lxc::update_config, false),
        ("GET", "/nodes/{node}/lxc/{vmid}/pending") => (lxc::pending, false),
        ("GET", "/nodes/{node}/lxc/{vmid}/interfaces") => (lxc::interfaces, false),
        ("PUT", "/nodes/{node}/lxc/{vmid}/resize") => (lxc::resize, true),
        ("GET", "/nodes/{node}/lxc/{vmid}/status") => (power::index, false),
        ("GET", "/nodes/{node}/lxc/{vmid}/status/current") => (power::current, false),
        ("POST", "/nodes/{node}/lxc/{vmid}/status/start") => (power::start, true),
        ("POST", "/nodes/{node}/lxc/{vmid}/status/stop") => (power::stop, true),
        ("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown") => (power::shutdown, true),
        ("POST", "/nodes/{node}/lxc/{vmid}/status/reboot") => (power::reboot, true),
        ("GET", "/nodes/{node}/lxc/{vmid}/snapshot") => (snapshot::list, false),
        ("POST", "/nodes/{node}/lxc/{vmid}/snapshot") => (snapshot::create, true),
        ("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}") => (snapshot::index, false),
        ("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}") => (snapshot::delete, true),
        ("GET", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config") => {
            (snapshot::get_config, false)
        }
        ("PUT", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config") => {
            (snapshot::update_config, false)
        }
        ("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback") => {
            (snapshot::rollback, true)
        }
        ("GET", "/nodes/{node}/tasks") => (tasks::list, false),
        ("GET", "/nodes/{node}/tasks/{upid}") => (tasks::index, false),
        ("DELETE", "/nodes/{node}/tasks/{upid}") => (tasks::stop, false),
        ("GET", "/nodes/{node}/tasks/{upid}/status") => (tasks::status, false),
        ("GET", "/nodes/{node}/tasks/{upid}/log") => (tasks::log, false),
        _ => return None,
    };
    Some(h)
}

/// Builds the router: the Proxmox API and the `/sim/` admin API.
pub(crate) fn router(sim: Arc<Sim>) -> axum::Router {
    axum::Router::new()
        .route("/api2/json", any(api_entry))
        .route("/api2/json/", any(api_entry))
        .route("/api2/json/{*rest}", any(api_entry))
        .route("/api2/{*rest}", any(no_such_uri))
        .merge(crate::admin::router())
        .with_state(sim)
}

async fn no_such_uri(State(sim): State<Arc<Sim>>) -> Response {
    ApiError::new(501, "no such uri").into_response(sim.error_message_in_body)
}

/// Matches a relative API path against the table: the method schema for this method and
/// the captured path parameters.
/// A matched route: its schema and the captured path parameters.
type RouteMatch = Option<(&'static MethodSchema, BTreeMap<String, String>)>;

fn match_route(method: &str, rel: &str) -> RouteMatch {
    let segments: Vec<String> = rel
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .to_string()
        })
        .collect();
    for schema in schema::api_schema() {
        if schema.method != method {
            continue;
        }
        let pattern: Vec<&str> = schema.path.split('/').filter(|s| !s.is_empty()).collect();
        if pattern.len() != segments.len() {
            continue;
        }
        let mut captured = BTreeMap::new();
        let matched = pattern.iter().zip(&segments).all(|(p, s)| {
            if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                captured.insert(name.to_string(), s.clone());
                true
            } else {
                p == s
            }
        });
        if matched {
            return Some((schema, captured));
        }
    }
    None
}

fn json_to_param(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn decode_params(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut params = BTreeMap::new();
    if let Some(query) = uri.query() {
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    if body.is_empty() {
        return Ok(params);
    }
    if *method == Method::GET || *method == Method::DELETE {
        return Err(ApiError::new(
            501,
            format!("Unexpected content for method '{method}'"),
        ));
    }
    let content_type = headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::new(400, format!("failed to parse JSON body - {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(ApiError::new(
                400,
                "failed to parse JSON body - expected an object",
            ));
        };
        for (k, v) in &map {
            if let Some(v) = json_to_param(v) {
                params.insert(k.clone(), v);
            }
        }
    } else {
        for (k, v) in form_urlencoded::parse(body) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    Ok(params)
}

/// The 500 text of a config-lock timeout for this call.
fn lock_timeout_message(method: &str, pattern: &str, params: &BTreeMap<String, String>) -> String {
    let vmid = params
        .get("vmid")
        .cloned()
        .unwrap_or_else(|| "0".to_string());
    let flock = format!("can't lock file '/run/lock/lxc/pve-config-{vmid}.lock' - got timeout");
    if method == "POST" && pattern == "/nodes/{node}/lxc" {
        format!("unable to create CT {vmid} - {flock}")
    } else {
        flock
    }
}

async fn api_entry(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rel = uri
        .path()
        .strip_prefix("/api2/json")
        .unwrap_or("")
        .to_string();
    let rel = if rel.is_empty() { "/".to_string() } else { rel };
    let (outcome, pattern, params) = process(&sim, &method, &uri, &rel, &headers, &body).await;
    let status = match &outcome {
        Outcome::Reply(_) => 200,
        Outcome::Error(e) => e.status,
        Outcome::Drop => 0,
    };
    lock(&sim.stats).record(method.as_str(), &rel, pattern, &params, status);
    match outcome {
        Outcome::Reply(reply) => ok_response(reply),
        Outcome::Error(e) => e.into_response(sim.error_message_in_body),
        Outcome::Drop => {
            let mut response = Response::new(axum::body::Body::empty());
            response.extensions_mut().insert(DropConnection);
            response
        }
    }
}

enum Outcome {
    Reply(Reply),
    Error(ApiError),
    Drop,
}

async fn process(
    sim: &Arc<Sim>,
    method: &Method,
    uri: &Uri,
    rel: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Outcome, Option<&'static str>, BTreeMap<String, String>) {
    let matched = match_route(method.as_str(), rel);
    let mut params = match decode_params(method, uri, headers, body) {
        Ok(p) => p,
        Err(e) => return (Outcome::Error(e), None, BTreeMap::new()),
    };
    let Some((schema, path_params)) = matched else {
        let msg = format!("Method '{method} {rel}' not implemented");
        return (Outcome::Error(ApiError::new(501, msg)), None, params);
    };
    let pattern = Some(schema.path);
    for (k, v) in path_params {
        if let Some(existing) = params.get(&k) {
            if *existing != v {
                let e = ApiError::new(
                    400,
                    "duplicate parameter (already defined in URI) with conflicting values!",
                );
                return (Outcome::Error(e), pattern, params);
            }
        }
        params.insert(k, v);
    }

    // Authentication (ticket creation needs none).
    let public = schema.method == "POST" && schema.path == "/access/ticket";
    let caller = if public && !headers.contains_key(hyper::header::AUTHORIZATION) {
        Caller {
            user: String::new(),
            via_token: false,
        }
    } else {
        match auth::authenticate(sim, headers, *method != Method::GET) {
            Ok(c) => c,
            Err(e) => {
                if e.status == 401 && !sim.auth_failure_delay.is_zero() {
                    tokio::time::sleep(sim.auth_failure_delay).await;
                }
                return (Outcome::Error(e), pattern, params);
            }
        }
    };
    if caller.via_token && !schema.allow_token {
        let e = ApiError::forbidden(&format!(
            "URI '/api2/json{rel}' not available with API token, need proper ticket."
        ));
        return (Outcome::Error(e), pattern, params);
    }

    let Some((handler, starts_task)) = handler(schema.method, schema.path) else {
        let e = ApiError::new(
            501,
            format!("Method '{method} {rel}' not implemented (pve-sim does not simulate it)"),
        );
        return (Outcome::Error(e), pattern, params);
    };

    let endpoint = format!("{} {}", schema.method, schema.path);
    let fault = lock(&sim.faults).take(&endpoint, starts_task);
    match fault {
        Some(FaultKind::Http500) => {
            let e = ApiError::new(500, "Internal Server Error");
            return (Outcome::Error(e), pattern, params);
        }
        Some(FaultKind::Http503) => {
            let e = ApiError::new(503, "Service Unavailable");
            return (Outcome::Error(e), pattern, params);
        }
        Some(FaultKind::Http596) => {
            let e = ApiError::new(596, "Connection timed out");
            return (Outcome::Error(e), pattern, params);
        }
        Some(FaultKind::LockTimeout) => {
            let e = ApiError::internal(lock_timeout_message(schema.method, schema.path, &params));
            return (Outcome::Error(e), pattern, params);
        }
        _ => {}
    }

    if let Err(errors) = schema::validate(schema, &params) {
        return (Outcome::Error(ApiError::params(errors)), pattern, params);
    }
    if let Some(node) = params.get("node") {
        if !sim.nodes.contains(node) {
            let e = ApiError::internal(format!(
                "hostname lookup '{node}' failed - failed to get address info for: {node}: Name or service not known"
            ));
            return (Outcome::Error(e), pattern, params);
        }
    }

    let call = Call {
        sim: Arc::clone(sim),
        params,
        caller,
        fail_task: fault == Some(FaultKind::TaskFail),
    };
    let result = handler(&call);
    let params = call.params;
    match (result, fault) {
        (_, Some(FaultKind::Drop)) => (Outcome::Drop, pattern, params),
        (Ok(reply), _) => (Outcome::Reply(reply), pattern, params),
        (Err(e), _) => (Outcome::Error(e), pattern, params),
    }
}
