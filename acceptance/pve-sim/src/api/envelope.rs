//! Proxmox's response envelope: `{"data": ...}` on success; on error the status line's reason
//! phrase is the message's first line and the body is `{"data":null,"message":"...\n"}`, plus
//! `errors` for 400 parameter errors.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use hyper::StatusCode;
use serde_json::{json, Value};

/// A successful answer: the `data` and, for paged lists, `total`.
pub(crate) struct Reply {
    pub data: Value,
    pub total: Option<u64>,
}

impl From<Value> for Reply {
    fn from(data: Value) -> Reply {
        Reply { data, total: None }
    }
}

/// An error answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub message: String,
    pub errors: Option<BTreeMap<String, String>>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: None,
        }
    }

    /// A plain `die "msg\n"` in a Proxmox handler: HTTP 500.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, message)
    }

    /// 400 `Parameter verification failed.` with an `errors` map.
    pub fn params(errors: BTreeMap<String, String>) -> ApiError {
        ApiError {
            status: 400,
            message: "Parameter verification failed.".to_string(),
            errors: Some(errors),
        }
    }

    /// 400 with a single parameter error.
    pub fn param(name: &str, message: impl Into<String>) -> ApiError {
        let mut errors = BTreeMap::new();
        errors.insert(name.to_string(), message.into());
        ApiError::params(errors)
    }

    /// 403 `Permission check failed (<what>)`.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(403, format!("Permission check failed ({what})"))
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(401, message)
    }

    pub fn into_response(self, message_in_body: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({ "data": null });
        if message_in_body {
            let mut msg = self.message.clone();
            if !msg.ends_with('\n') {
                msg.push('\n');
            }
            body["message"] = Value::String(msg);
        }
        if let Some(errors) = &self.errors {
            body["errors"] = json!(errors);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let first_line = self.message.lines().next().unwrap_or("").trim();
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(first_line.as_bytes().to_vec()) {
            response.extensions_mut().insert(reason);
        }
        response
    }
}

pub(crate) fn ok_response(reply: Reply) -> Response {
    let mut body = json!({ "data": reply.data });
    if let Some(total) = reply.total {
        body["total"] = json!(total);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}
