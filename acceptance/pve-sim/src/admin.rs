//! The simulator's own admin API under `/sim/` (not part of Proxmox; no authentication):
//! request statistics, the request log, fault injection, guest services, a container summary,
//! runtime settings and reset.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::cluster::{GuestPort, GuestServices};
use crate::faults::FaultSpec;
use crate::sim::{lock, Sim};

pub(crate) fn router() -> axum::Router<Arc<Sim>> {
    axum::Router::new()
        .route("/sim/stats", get(stats).delete(clear_stats))
        .route("/sim/requests", get(requests))
        .route(
            "/sim/faults",
            post(add_fault).delete(clear_faults).get(list_faults),
        )
        .route("/sim/guests/{vmid}", put(set_guest).get(get_guest))
        .route("/sim/containers", get(containers))
        .route("/sim/settings", post(set_settings).get(get_settings))
        .route("/sim/reset", post(reset))
}

fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": msg.into() })),
    )
        .into_response()
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(bad_request(format!("invalid JSON body: {e}"))))
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let stats = lock(&sim.stats);
    Json(json!({ "total": stats.total, "by_endpoint": stats.by_endpoint }))
}

async fn clear_stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    *lock(&sim.stats) = Default::default();
    Json(json!({ "cleared": true }))
}

async fn requests(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let stats = lock(&sim.stats);
    Json(json!(stats.requests.iter().collect::<Vec<_>>()))
}

async fn add_fault(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match parse_body(&body) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match lock(&sim.faults).add(spec) {
        Ok(id) => Json(json!({ "id": id })).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    lock(&sim.faults).list.clear();
    Json(json!({ "cleared": true }))
}

async fn list_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let faults = lock(&sim.faults);
    let list: Vec<Value> = faults
        .list
        .iter()
        .map(|f| {
            json!({
                "id": f.id, "endpoint": f.endpoint, "kind": f.kind.as_str(),
                "rate": f.rate, "remaining": f.remaining, "triggered": f.triggered,
            })
        })
        .collect();
    Json(Value::Array(list))
}

#[derive(Deserialize)]
struct GuestBody {
    #[serde(default)]
    units: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    ports: Vec<GuestPort>,
}

async fn set_guest(
    State(sim): State<Arc<Sim>>,
    Path(vmid): Path<u32>,
    body: axum::body::Bytes,
) -> Response {
    let body: GuestBody = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if let Some(p) = body
        .ports
        .iter()
        .find(|p| p.kind != "tcp" && p.kind != "http")
    {
        return bad_request(format!(
            "port {}: kind must be 'tcp' or 'http', got '{}'",
            p.port, p.kind
        ));
    }
    let guest = GuestServices {
        units: body.units,
        ports: body.ports,
    };
    let found = sim.mutate(|c| match c.containers.get_mut(&vmid) {
        Some(ct) => {
            ct.guest = guest.clone();
            true
        }
        None => false,
    });
    if !found {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("CT {vmid} does not exist") })),
        )
            .into_response();
    }
    Json(json!(guest)).into_response()
}

async fn get_guest(State(sim): State<Arc<Sim>>, Path(vmid): Path<u32>) -> Response {
    let found = sim.read(|c| {
        c.containers
            .get(&vmid)
            .map(|ct| (ct.guest.clone(), ct.running, ct.node.clone()))
    });
    match found {
        Some((guest, running, node)) => Json(json!({
            "units": guest.units,
            "ports": guest.ports,
            "running": running,
            "node": node,
        }))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("CT {vmid} does not exist") })),
        )
            .into_response(),
    }
}

async fn containers(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let list = sim.read(|c| {
        c.containers
            .values()
            .map(|ct| {
                json!({
                    "node": ct.node,
                    "vmid": ct.vmid,
                    "status": if ct.running { "running" } else { "stopped" },
                    "hostname": ct.conf.get("hostname"),
                    "lock": ct.lock,
                    "snapshots": ct.snapshots.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                })
            })
            .collect::<Vec<_>>()
    });
    Json(Value::Array(list))
}

#[derive(Deserialize)]
struct SettingsBody {
    #[serde(default)]
    task_duration_ms: Option<u64>,
    /// How stale `/cluster/resources` may be, in milliseconds (Proxmox: about 10,000).
    #[serde(default)]
    resources_lag_ms: Option<u64>,
    /// Let `local` hold container directories (as `pvesm set local --content ...,rootdir`).
    #[serde(default)]
    local_rootdir: Option<bool>,
    /// Template volume ids to take off `local` (as if never downloaded); `[]` puts all back.
    #[serde(default)]
    missing_templates: Option<Vec<String>>,
}

async fn set_settings(State(sim): State<Arc<Sim>>, body: axum::body::Bytes) -> Response {
    let body: SettingsBody = match parse_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if let Some(ms) = body.task_duration_ms {
        lock(&sim.settings).task_duration = Duration::from_millis(ms);
    }
    if let Some(ms) = body.resources_lag_ms {
        lock(&sim.settings).resources_lag = Duration::from_millis(ms);
        *lock(&sim.resources_cache) = None;
    }
    if let Some(flag) = body.local_rootdir {
        sim.mutate(|c| c.local_rootdir = flag);
    }
    if let Some(missing) = body.missing_templates {
        sim.mutate(|c| c.missing_templates = missing.into_iter().collect());
    }
    Json(settings_json(&sim)).into_response()
}

fn settings_json(sim: &Sim) -> Value {
    let (ms, lag) = {
        let settings = lock(&sim.settings);
        (
            settings.task_duration.as_millis() as u64,
            settings.resources_lag.as_millis() as u64,
        )
    };
    let (local_rootdir, missing) = sim.read(|c| (c.local_rootdir, c.missing_templates.clone()));
    json!({ "task_duration_ms": ms, "resources_lag_ms": lag, "local_rootdir": local_rootdir, "missing_templates": missing })
}

async fn get_settings(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(settings_json(&sim))
}

async fn reset(State(sim): State<Arc<Sim>>) -> Json<Value> {
    sim.reset();
    Json(json!({ "reset": true }))
}
