//! The `http { url, method, status_codes, body_contains, headers, insecure_tls, ca_cert }` check:
//! one request per attempt; passes when the status is one of `status_codes` and, if set, the body
//! contains `body_contains`.
//!
//! Redirects are not followed, so `status_codes = "301-308"` can check a redirect itself. TLS is
//! verified against the system's roots, or only against `ca_cert` when given, unless
//! `insecure_tls = true`. Header values and URL passwords never appear in targets or messages.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::parse::{self, ParseError, StatusCodes};
use super::{error_chain, Outcome};
use resolve::{NameResolver, ReqwestResolver};

/// How much of a response body is read to look for `body_contains`.
const BODY_LIMIT: usize = 1024 * 1024;
/// How much of a body a failure message quotes.
const EXCERPT_CHARS: usize = 120;

/// An HTTP check as written in the `http` block; strings are validated by [`HttpCheck::validate`].
#[derive(Clone, PartialEq)]
pub struct HttpCheck {
    pub url: String,
    /// `"GET"` by default.
    pub method: String,
    /// `"200-299"` by default; see [`StatusCodes`].
    pub status_codes: String,
    pub body_contains: Option<String>,
    /// Request headers; values may be secrets and are never shown.
    pub headers: BTreeMap<String, String>,
    pub insecure_tls: bool,
    /// PEM of the CA(s) to trust instead of the system's roots.
    pub ca_cert: Option<String>,
}

impl HttpCheck {
    /// A `GET` of `url` expecting a 2xx status, with no other options.
    pub fn new(url: impl Into<String>) -> Self {
        HttpCheck {
            url: url.into(),
            method: "GET".to_string(),
            status_codes: "200-299".to_string(),
            body_contains: None,
            headers: BTreeMap::new(),
            insecure_tls: false,
            ca_cert: None,
        }
    }

    /// Checks every value of the block, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.parse_parts().map(|_| ())
    }

    /// The URL as written, with a password in it replaced by `***`.
    pub fn target(&self) -> String {
        match url::Url::parse(self.url.trim()) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.url.clone(),
        }
    }

    fn parse_parts(&self) -> Result<ParsedParts, ParseError> {
        let url = parse::parse_url(&self.url)?;
        let method = parse::parse_method(&self.method)?;
        let status_codes: StatusCodes = self.status_codes.parse()?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            parse::validate_header(name, value)?;
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                let mut value = value;
                value.set_sensitive(true);
                headers.insert(name, value);
            }
        }
        let ca_certs = match &self.ca_cert {
            Some(_) if self.insecure_tls => return Err(ParseError::CaCertWithInsecureTls),
            Some(pem) => Some(parse::parse_ca_cert(pem)?),
            None => None,
        };
        Ok(ParsedParts {
            url,
            method,
            status_codes,
            headers,
            ca_certs,
        })
    }

    /// Parses the block and builds its HTTP client, which resolves host names with `resolver`;
    /// an error is the check's FAIL outcome.
    pub(crate) fn prepare(&self, resolver: &Arc<NameResolver>) -> Result<PreparedHttp, Outcome> {
        let parts = self
            .parse_parts()
            .map_err(|error| Outcome::Fail(format!("invalid http check, not run: {error}")))?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "terraform-provider-ralf/",
                env!("CARGO_PKG_VERSION")
            ))
            .dns_resolver(ReqwestResolver(resolver.clone()));
        if self.insecure_tls {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(ders) = parts.ca_certs {
            let mut certs = Vec::with_capacity(ders.len());
            for der in ders {
                let cert = reqwest::Certificate::from_der(der.as_ref()).map_err(|error| {
                    Outcome::Fail(format!(
                        "ca_cert cannot be used as a trust anchor: {}",
                        error_chain(&error)
                    ))
                })?;
                certs.push(cert);
            }
            builder = builder.tls_certs_only(certs);
        }
        let client = builder.build().map_err(|error| {
            Outcome::Fail(format!(
                "cannot build the HTTP client: {}",
                error_chain(&error)
            ))
        })?;
        Ok(PreparedHttp {
            client,
            url: parts.url,
            method: parts.method,
            status_codes: parts.status_codes,
            headers: parts.headers,
            body_contains: self.body_contains.clone(),
        })
    }
}

impl fmt::Debug for HttpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&String> = self.headers.keys().collect();
        f.debug_struct("HttpCheck")
            .field("url", &self.target())
            .field("method", &self.method)
            .field("status_codes", &self.status_codes)
            .field("body_contains", &self.body_contains)
            .field("headers (values hidden)", &header_names)
            .field("insecure_tls", &self.insecure_tls)
            .field("ca_cert", &self.ca_cert.as_ref().map(|_| "(PEM)"))
            .finish()
    }
}

struct ParsedParts {
    url: url::Url,
    method: reqwest::Method,
    status_codes: StatusCodes,
    headers: HeaderMap,
    ca_certs: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
}

/// An http check with its client built, ready to attempt.
pub(crate) struct PreparedHttp {
    client: reqwest::Client,
    url: url::Url,
    method: reqwest::Method,
    status_codes: StatusCodes,
    headers: HeaderMap,
    body_contains: Option<String>,
}

impl PreparedHttp {
    pub(crate) async fn attempt(&self) -> Outcome {
        let request = self
            .client
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Outcome::Fail(format!(
                    "{} request failed: {}",
                    self.method,
                    error_chain(&error.without_url())
                ))
            }
        };
        let status = response.status();
        let code = status.as_u16();
        if !self.status_codes.contains(code) {
            let mut message = format!("status {code} is not in {}", self.status_codes);
            if status.is_redirection() {
                if let Some(location) = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|value| value.to_str().ok())
                {
                    message.push_str(&format!(
                        " (redirect to {location}; redirects are not followed: \
                         check that URL or add {code} to status_codes)"
                    ));
                }
            } else if let Ok(body) = read_body(&mut response).await {
                if !body.trim().is_empty() {
                    message.push_str(&format!("; body starts: {}", excerpt(&body)));
                }
            }
            return Outcome::Fail(message);
        }
        let Some(needle) = &self.body_contains else {
            return Outcome::Ok(format!("status {code}"));
        };
        match read_body(&mut response).await {
            Ok(body) if body.contains(needle.as_str()) => {
                Outcome::Ok(format!("status {code}, body contains \"{needle}\""))
            }
            Ok(body) => Outcome::Fail(format!(
                "status {code} but the body does not contain \"{needle}\" ({} bytes read; \
                 body starts: {})",
                body.len(),
                excerpt(&body)
            )),
            Err(error) => Outcome::Fail(format!(
                "status {code} but reading the body failed: {}",
                error_chain(&error.without_url())
            )),
        }
    }
}

/// Reads up to [`BODY_LIMIT`] bytes of the body, as text (invalid UTF-8 replaced).
async fn read_body(response: &mut reqwest::Response) -> Result<String, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_LIMIT - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= BODY_LIMIT {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The first characters of a body on one line, quoted.
fn excerpt(body: &str) -> String {
    let flat: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(EXCERPT_CHARS)
        .collect();
    let more = if body.chars().count() > EXCERPT_CHARS {
        "..."
    } else {
        ""
    };
    format!("\"{}{more}\"", flat.trim())
}
