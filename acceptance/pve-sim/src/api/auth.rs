//! Authentication as pveproxy does it: `Authorization: PVEAPIToken=user@realm!id=secret`
//! (no CSRF needed), or a ticket in the `PVEAuthCookie` cookie / `Authorization:
//! PVEAuthCookie=` header, which needs the `CSRFPreventionToken` header on every non-GET call.

use hyper::HeaderMap;

use super::envelope::ApiError;
use crate::sim::{lock, Sim};

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The effective user: `user@realm`, or for tokens `user@realm!tokenid`.
    pub user: String,
    pub via_token: bool,
}

impl Caller {
    /// Only the `root@pam` user itself passes Proxmox's `$authuser eq 'root@pam'` checks;
    /// its tokens do not.
    pub fn is_root_pam(&self) -> bool {
        self.user == "root@pam"
    }
}

fn authorization_value<'a>(headers: &'a HeaderMap, key: &str) -> Option<&'a str> {
    headers
        .get_all(hyper::header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let rest = v.trim().strip_prefix(key)?;
            rest.strip_prefix('=').or_else(|| rest.strip_prefix(' '))
        })
}

fn cookie_ticket(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(hyper::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("PVEAuthCookie=").map(str::to_string))
}

/// Authenticates a request as pve-manager's `auth_handler` (`PVE/HTTPServer.pm`) does: a
/// ticket (the `PVEAuthCookie` cookie first, then the `Authorization` header) wins over an
/// API token, which is only looked at when there is no ticket. `needs_csrf` is true for
/// non-GET calls. A `public` call (ticket login) is not authenticated, but an API token
/// passed to it is remembered, so that the token check refuses it with 403.
pub(crate) fn authenticate(
    sim: &Sim,
    headers: &HeaderMap,
    needs_csrf: bool,
    public: bool,
) -> Result<Caller, ApiError> {
    let ticket = cookie_ticket(headers)
        .or_else(|| authorization_value(headers, "PVEAuthCookie").map(str::to_string));
    let token = if ticket.is_none() {
        authorization_value(headers, "PVEAPIToken")
    } else {
        None
    };
    if public {
        return Ok(Caller {
            user: String::new(),
            via_token: token.is_some(),
        });
    }
    if let Some(value) = token {
        let Some((token_id, secret)) = value.trim().rsplit_once('=') else {
            return Err(ApiError::unauthorized("Authentication failed!"));
        };
        let known = sim
            .tokens
            .iter()
            .any(|t| t.token_id == token_id && t.secret == secret);
        if !known {
            return Err(ApiError::unauthorized("Authentication failed!"));
        }
        return Ok(Caller {
            user: token_id.to_string(),
            via_token: true,
        });
    }
    let Some(ticket) = ticket else {
        return Err(ApiError::unauthorized("No ticket"));
    };
    let decoded = percent_encoding::percent_decode_str(&ticket)
        .decode_utf8_lossy()
        .to_string();
    let tickets = lock(&sim.tickets);
    let session = tickets
        .check(&ticket)
        .or_else(|| tickets.check(&decoded))
        .ok_or_else(|| ApiError::unauthorized("Authentication failed!"))?;
    if needs_csrf {
        let csrf = headers
            .get("CSRFPreventionToken")
            .and_then(|v| v.to_str().ok());
        if csrf != Some(session.csrf.as_str()) {
            return Err(ApiError::unauthorized(
                "Permission denied - invalid csrf token",
            ));
        }
    }
    Ok(Caller {
        user: session.user.clone(),
        via_token: false,
    })
}
