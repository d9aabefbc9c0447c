//! Login tickets and CSRF prevention tokens issued by `POST /access/ticket`, in Proxmox's
//! formats (`PVE:<user>:<hex time>::<signature>`, `<hex time>:<signature>`), valid for 2 h.

use std::collections::HashMap;

use base64::Engine;

/// Tickets live this long (Proxmox: `$ticket_lifetime = 3600 * 2`).
pub(crate) const TICKET_LIFETIME_SECS: i64 = 2 * 3600;

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub user: String,
    pub csrf: String,
    pub issued: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Tickets {
    sessions: HashMap<String, Session>,
}

fn random_signature(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Tickets {
    /// Issues a ticket and its CSRF token for `user`.
    pub fn issue(&mut self, user: &str) -> (String, String) {
        let now = crate::cluster::now_unix();
        let ticket = format!("PVE:{user}:{now:08X}::{}", random_signature(96));
        let csrf = format!("{now:08X}:{}", random_signature(32).trim_end_matches('='));
        self.sessions
            .retain(|_, s| now - s.issued < TICKET_LIFETIME_SECS);
        self.sessions.insert(
            ticket.clone(),
            Session {
                user: user.to_string(),
                csrf: csrf.clone(),
                issued: now,
            },
        );
        (ticket, csrf)
    }

    /// The session of a valid, unexpired ticket.
    pub fn check(&self, ticket: &str) -> Option<&Session> {
        let now = crate::cluster::now_unix();
        self.sessions
            .get(ticket)
            .filter(|s| now - s.issued < TICKET_LIFETIME_SECS)
    }
}
