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
        ("POST", "/nodes/{node}/aplinfo") => (storage::apl_download, true),
        ("DELETE", "/nodes/{node}/storage/{storage}/content/{volume}") => {
            (storage::delete_volume, true)
        }
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
    ApiError::transport(501, "no such uri").into_response(sim.error_message_in_body)
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

/// Raw parameters as they arrived: every value of a key, in order. Repeated keys (or JSON
/// arrays) have several values.
type RawParams = BTreeMap<String, Vec<String>>;

/// A JSON value as the scalar string Proxmox's handlers see (booleans as 1/0); arrays become
/// several values, as repeated form keys do.
fn json_to_values(value: &serde_json::Value) -> Option<Vec<String>> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(b) => Some(vec![if *b { "1" } else { "0" }.to_string()]),
        serde_json::Value::String(s) => Some(vec![s.clone()]),
        serde_json::Value::Number(n) => Some(vec![n.to_string()]),
        serde_json::Value::Array(items) => {
            Some(items.iter().filter_map(json_to_values).flatten().collect())
        }
        other => Some(vec![other.to_string()]),
    }
}

/// pve-http-server's `decode_urlencoded`: pairs split on `&` or `;`, `+` is a space, `%XX`
/// decoded; only the text up to a second `=` is the value (Perl's `split(/=/, $kv)`); a
/// repeated key collects all its values.
fn decode_urlencoded(data: &[u8], into: &mut RawParams) {
    let unescape = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .to_string()
    };
    let text = String::from_utf8_lossy(data);
    for pair in text.split(['&', ';']) {
        let mut parts = pair.split('=');
        let key = unescape(parts.next().unwrap_or(""));
        let Some(value) = parts.next() else {
            // A key without `=` is present but undefined: Proxmox treats it as absent.
            into.remove(&key);
            continue;
        };
        into.entry(key).or_default().push(unescape(value));
    }
}

/// pve-http-server's `extract_params`: the body (JSON or form) of PUT/POST, then the query,
/// whose keys replace the body's.
fn decode_params(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<RawParams, ApiError> {
    let mut params = RawParams::new();
    if !body.is_empty() && (*method == Method::PUT || *method == Method::POST) {
        let content_type = headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/json") {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::transport(500, format!("malformed JSON string - {e}")))?;
            let serde_json::Value::Object(map) = value else {
                return Err(ApiError::transport(500, "Not a HASH reference"));
            };
            for (k, v) in &map {
                if let Some(values) = json_to_values(v) {
                    params.insert(k.clone(), values);
                }
            }
        } else {
            decode_urlencoded(body, &mut params);
        }
    }
    if let Some(query) = uri.query() {
        let mut from_query = RawParams::new();
        decode_urlencoded(query.as_bytes(), &mut from_query);
        params.extend(from_query);
    }
    Ok(params)
}

/// RESTHandler's `normalize_legacy_param_formats` and the type check that follows: a key with
/// several values is joined with `,` when its schema is a string with a `-list` format, and is
/// otherwise refused as `type check ('<type>') failed - got ARRAY`.
fn collapse_params(
    schema: &MethodSchema,
    raw: RawParams,
) -> (BTreeMap<String, String>, schema::ParamErrors) {
    let mut params = BTreeMap::new();
    let mut errors = schema::ParamErrors::new();
    for (key, mut values) in raw {
        if values.len() <= 1 {
            params.insert(key, values.pop().unwrap_or_default());
            continue;
        }
        match schema.param(&key) {
            Some(spec) if spec.ty == schema::ParamType::String && spec.is_list_format() => {
                params.insert(key, values.join(","));
            }
            Some(spec) => {
                errors.insert(
                    key.clone(),
                    format!("type check ('{}') failed - got ARRAY", spec.ty.as_str()),
                );
                params.insert(key, values.join(","));
            }
            None => {
                params.insert(key, values.join(","));
            }
        }
    }
    (params, errors)
}

/// Calls pveproxy lets through without authentication (pve-manager `PVE/HTTPServer.pm`,
/// `auth_handler`).
fn is_public(method: &Method, rel: &str) -> bool {
    matches!(
        (method.as_str(), rel),
        ("GET", "/access/domains")
            | ("GET", "/access/ticket")
            | ("POST", "/access/ticket")
            | ("POST", "/access/vncticket")
            | ("POST", "/access/openid/login")
            | ("POST", "/access/openid/auth-url")
    )
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
    // pve-http-server authenticates before it routes: an unknown path without credentials is
    // a 401, not a 501.
    let public = is_public(method, rel);
    let auth = auth::authenticate(sim, headers, *method != Method::GET, public);
    let caller = match auth {
        Ok(c) => c,
        Err(e) => {
            if e.status == 401 && !sim.auth_failure_delay.is_zero() {
                tokio::time::sleep(sim.auth_failure_delay).await;
            }
            return (Outcome::Error(e), None, BTreeMap::new());
        }
    };
    if !body.is_empty() && *method != Method::PUT && *method != Method::POST {
        let e = ApiError::transport(501, format!("Unexpected content for method '{method}'"));
        return (Outcome::Error(e), None, BTreeMap::new());
    }
    let raw = match decode_params(method, uri, headers, body) {
        Ok(p) => p,
        Err(e) => return (Outcome::Error(e), None, BTreeMap::new()),
    };
    let Some((schema, path_params)) = match_route(method.as_str(), rel) else {
        let msg = format!("Method '{method} {rel}' not implemented");
        let params = raw.into_iter().map(|(k, v)| (k, v.join(","))).collect();
        return (Outcome::Error(ApiError::new(501, msg)), None, params);
    };
    let pattern = Some(schema.path);
    let (mut params, mut type_errors) = collapse_params(schema, raw);
    for (k, v) in path_params {
        if let Some(existing) = params.get(&k) {
            if *existing != v {
                let e = ApiError::param(
                    &k,
                    "duplicate parameter (already defined in URI) with conflicting values!",
                );
                return (Outcome::Error(e), pattern, params);
            }
        }
        params.insert(k, v);
    }

    if caller.via_token && !schema.allow_token {
        let e = ApiError::forbidden(&format!(
            "URI '{rel}' not available with API token, need proper ticket.\n"
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

    let validated = schema::validate(schema, &params);
    if !type_errors.is_empty() || validated.is_err() {
        if let Err(errors) = validated {
            for (k, v) in errors {
                type_errors.entry(k).or_insert(v);
            }
        }
        return (
            Outcome::Error(ApiError::params(type_errors)),
            pattern,
            params,
        );
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
