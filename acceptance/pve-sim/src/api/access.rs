//! `/access/ticket` (pve-access-control `src/PVE/API2/AccessControl.pm`): ticket login for
//! users with their password, and renewal by passing a valid ticket as the password (a
//! `root@pam` ticket may renew any user's). `realm`, when given, is appended to `username`.
//! The answer carries `cap`, the caller's privileges per area, as `compute_api_permission`
//! (`src/PVE/RPCEnvironment.pm`) computes them; the simulated users all hold every privilege.

use serde_json::{json, Map, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::sim::lock;

/// Every privilege Proxmox knows (pve-access-control `src/PVE/AccessControl.pm`,
/// `$privgroups` plus `Permissions.Modify`).
const PRIVILEGES: &[&str] = &[
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "Group.Allocate",
    "Mapping.Audit",
    "Mapping.Modify",
    "Mapping.Use",
    "Permissions.Modify",
    "Pool.Allocate",
    "Pool.Audit",
    "Realm.Allocate",
    "Realm.AllocateUser",
    "SDN.Allocate",
    "SDN.Audit",
    "SDN.Use",
    "Sys.AccessNetwork",
    "Sys.Audit",
    "Sys.Console",
    "Sys.Incoming",
    "Sys.Modify",
    "Sys.PowerMgmt",
    "Sys.Syslog",
    "User.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
];

/// The privilege prefixes of each `cap` area (`$priv_re_map` of `compute_api_permission`).
const AREAS: &[(&str, &[&str])] = &[
    ("access", &["User.", "Group.", "Permissions.Modify"]),
    ("dc", &["Sys.Audit", "Sys.Modify", "SDN."]),
    ("mapping", &["Mapping.", "Permissions.Modify"]),
    ("nodes", &["Sys.", "Permissions.Modify"]),
    ("sdn", &["SDN.", "Permissions.Modify"]),
    ("storage", &["Datastore.", "Permissions.Modify"]),
    ("vms", &["VM.", "Permissions.Modify"]),
];

/// `cap` for a user holding every privilege.
pub(crate) fn full_capabilities() -> Value {
    let mut cap = Map::new();
    for (area, prefixes) in AREAS {
        let privs: Map<String, Value> = PRIVILEGES
            .iter()
            .filter(|p| prefixes.iter().any(|prefix| p.starts_with(prefix)))
            .map(|p| (p.to_string(), json!(1)))
            .collect();
        cap.insert(area.to_string(), Value::Object(privs));
    }
    Value::Object(cap)
}

pub(super) fn ticket_index(_call: &Call) -> Result<Reply, ApiError> {
    Ok(Value::Null.into())
}

pub(super) fn create_ticket(call: &Call) -> Result<Reply, ApiError> {
    let password = call.get("password").unwrap_or_default();
    let mut user_id = call.get("username").unwrap_or_default().to_string();
    if let Some(realm) = call.get("realm").filter(|r| !r.is_empty()) {
        user_id = format!("{user_id}@{realm}");
    }
    let by_password = call
        .sim
        .users
        .iter()
        .any(|u| u.user_id == user_id && u.password == password);
    let by_ticket = !by_password
        && lock(&call.sim.tickets)
            .check(password)
            .is_some_and(|s| s.user == user_id || s.user == "root@pam");
    let known_user = call.sim.users.iter().any(|u| u.user_id == user_id);
    if !known_user || (!by_password && !by_ticket) {
        return Err(ApiError::new(401, "authentication failure\n"));
    }
    let (ticket, csrf) = lock(&call.sim.tickets).issue(&user_id);
    Ok(json!({
        "username": user_id,
        "ticket": ticket,
        "CSRFPreventionToken": csrf,
        "cap": full_capabilities(),
    })
    .into())
}
