//! Proxmox's response envelope (pve-http-server `src/PVE/APIServer/Formatter/Standard.pm` and
//! `src/PVE/APIServer/AnyEvent.pm`): `{"data": ...}` with `Content-Type:
//! application/json;charset=UTF-8` on success (`total` only when non-zero); on a handler error
//! the status line's reason phrase is the message's first line and the body is
//! `{"data":null,"message":"..."}` plus `errors` for parameter errors. Errors of the HTTP layer
//! itself (authentication, unknown base URI, a body on GET) carry no JSON: the authentication
//! layer's 401 has an empty body, the others the message as plain text. Every error answer
//! closes the connection (`Connection: close`), as pveproxy does for codes of 400 and above.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::Response;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::StatusCode;
use serde_json::{json, Value};

/// The content type of every JSON answer.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// A successful answer: the `data` and, for paged lists, `total`; or a whole body already
/// serialised (for answers cached between changes).
pub(crate) struct Reply {
    pub data: Value,
    pub total: Option<u64>,
    pub body: Option<std::sync::Arc<[u8]>>,
}

impl Reply {
    /// A paged list with its `total`.
    pub fn paged(data: Value, total: u64) -> Reply {
        Reply {
            data,
            total: Some(total),
            body: None,
        }
    }

    /// The body `{"data": <data>}` serialised once, to be sent as it is.
    pub fn serialised(data: &Value) -> Reply {
        let bytes = serde_json::to_vec(&json!({ "data": data }))
            .unwrap_or_else(|_| b"{\"data\":null}".to_vec());
        Reply {
            data: Value::Null,
            total: None,
            body: Some(bytes.into()),
        }
    }
}

impl From<Value> for Reply {
    fn from(data: Value) -> Reply {
        Reply {
            data,
            total: None,
            body: None,
        }
    }
}

/// How an error answer's body is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorBody {
    /// A handler's error: the JSON envelope.
    Json,
    /// The HTTP layer's `error()`: the message as plain text, no content type.
    Text,
    /// The authentication layer: no body at all.
    Empty,
}

/// An error answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    /// The message exactly as Proxmox's code produces it (a `die "...\n"` keeps its newline).
    pub message: String,
    pub errors: Option<BTreeMap<String, String>>,
    pub body: ErrorBody,
}

/// `die "msg\n"`: the message with its trailing newline.
fn with_newline(message: impl Into<String>) -> String {
    let mut message = message.into();
    if !message.ends_with('\n') {
        message.push('\n');
    }
    message
}

impl ApiError {
    /// An error with the message taken as it is.
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: None,
            body: ErrorBody::Json,
        }
    }

    /// A plain `die "msg\n"` in a Proxmox handler: HTTP 500.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, with_newline(message))
    }

    /// 400 `Parameter verification failed.` with an `errors` map.
    pub fn params(errors: BTreeMap<String, String>) -> ApiError {
        ApiError {
            status: 400,
            message: "Parameter verification failed.\n".to_string(),
            errors: Some(errors),
            body: ErrorBody::Json,
        }
    }

    /// 400 with a single parameter error.
    pub fn param(name: &str, message: impl Into<String>) -> ApiError {
        let mut errors = BTreeMap::new();
        errors.insert(name.to_string(), message.into());
        ApiError::params(errors)
    }

    /// 403 `Permission check failed (<what>)`, as `raise_perm_exc` builds it.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(403, format!("Permission check failed ({what})\n"))
    }

    /// A 401 of the authentication layer (`auth_handler` dying): empty body.
    pub fn unauthorized(message: &str) -> ApiError {
        ApiError {
            body: ErrorBody::Empty,
            ..ApiError::new(401, with_newline(message))
        }
    }

    /// An error of the HTTP layer itself (`$self->error(...)`): plain-text body.
    pub fn transport(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            body: ErrorBody::Text,
            ..ApiError::new(status, message)
        }
    }

    pub fn into_response(self, message_in_body: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match self.body {
            ErrorBody::Json => {
                let mut body = json!({ "data": null });
                if message_in_body {
                    body["message"] = Value::String(self.message.clone());
                }
                if let Some(errors) = &self.errors {
                    body["errors"] = json!(errors);
                }
                json_response(status, &body)
            }
            ErrorBody::Text => {
                let mut r = Response::new(Body::from(self.message.clone()));
                *r.status_mut() = status;
                r
            }
            ErrorBody::Empty => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = status;
                r
            }
        };
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        let first_line = self.message.lines().next().unwrap_or("").trim();
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(first_line.as_bytes().to_vec()) {
            response.extensions_mut().insert(reason);
        }
        response
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{\"data\":null}".to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    response
}

pub(crate) fn ok_response(reply: Reply) -> Response {
    if let Some(bytes) = reply.body {
        let mut response = Response::new(Body::from(axum::body::Bytes::from_owner(bytes)));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
        return response;
    }
    let mut body = json!({ "data": reply.data });
    if let Some(total) = reply.total.filter(|t| *t > 0) {
        body["total"] = json!(total);
    }
    json_response(StatusCode::OK, &body)
}
