//! `/access/ticket`: ticket login for users (`root@pam` with its password), and renewal by
//! passing a valid ticket as the password.

use serde_json::{json, Value};

use super::envelope::{ApiError, Reply};
use super::Call;
use crate::sim::lock;

pub(super) fn ticket_index(_call: &Call) -> Result<Reply, ApiError> {
    Ok(Value::Null.into())
}

pub(super) fn create_ticket(call: &Call) -> Result<Reply, ApiError> {
    let username = call.get("username").unwrap_or_default();
    let password = call.get("password").unwrap_or_default();
    let user_id = if username.contains('@') {
        username.to_string()
    } else {
        format!("{username}@{}", call.get("realm").unwrap_or("pam"))
    };
    let by_password = call
        .sim
        .users
        .iter()
        .any(|u| u.user_id == user_id && u.password == password);
    let by_ticket = !by_password
        && lock(&call.sim.tickets)
            .check(password)
            .is_some_and(|s| s.user == user_id);
    if !by_password && !by_ticket {
        return Err(ApiError::unauthorized("authentication failure"));
    }
    let (ticket, csrf) = lock(&call.sim.tickets).issue(&user_id);
    Ok(json!({
        "username": user_id,
        "ticket": ticket,
        "CSRFPreventionToken": csrf,
    })
    .into())
}
