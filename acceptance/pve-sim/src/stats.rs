//! Request counters by method and path pattern, and the log of recent API requests, for
//! `GET /sim/stats` and `GET /sim/requests`.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// Keep at most this many requests in the log.
const MAX_REQUESTS: usize = 10_000;

/// Parameters whose values are never recorded.
const SECRET_PARAMS: &[&str] = &["password", "new-password", "ticket", "tfa-challenge", "otp"];

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub total: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub requests: VecDeque<RequestRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RequestRecord {
    pub method: String,
    pub path: String,
    pub pattern: Option<String>,
    pub params: BTreeMap<String, String>,
    pub status: u16,
}

impl Stats {
    /// Counts one API call and appends it to the log (secrets redacted).
    pub fn record(
        &mut self,
        method: &str,
        path: &str,
        pattern: Option<&str>,
        params: &BTreeMap<String, String>,
        status: u16,
    ) {
        if let Some(pattern) = pattern {
            self.total += 1;
            *self
                .by_endpoint
                .entry(format!("{method} {pattern}"))
                .or_insert(0) += 1;
        }
        let params = params
            .iter()
            .map(|(k, v)| {
                let v = if SECRET_PARAMS.contains(&k.as_str()) {
                    "(redacted)".to_string()
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        self.requests.push_back(RequestRecord {
            method: method.to_string(),
            path: path.to_string(),
            pattern: pattern.map(str::to_string),
            params,
            status,
        });
        while self.requests.len() > MAX_REQUESTS {
            self.requests.pop_front();
        }
    }
}
