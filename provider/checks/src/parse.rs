//! Parsing and validation of the values users write in `ralf_smoke_check`: durations, status-code
//! lists, URLs, ports, hosts, HTTP methods and headers, systemd unit names and retry numbers.
//!
//! The provider calls these at plan time, so every error says what is wrong, with which value, and
//! what to write instead. Errors never repeat a header value (it may be a token). This module knows
//! nothing about Terraform and does no I/O.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// A value in a smoke-check configuration that cannot be used, with what to write instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("duration is empty: write a number with a unit, e.g. \"500ms\", \"5s\", \"1m30s\" or \"2h\"")]
    DurationEmpty,
    #[error("duration \"{input}\" is negative: durations are zero or more, e.g. \"5s\"")]
    DurationNegative { input: String },
    #[error(
        "duration \"{input}\" has no unit: write e.g. \"{input}s\" (units: ns, us, ms, s, m, h)"
    )]
    DurationNoUnit { input: String },
    #[error("duration \"{input}\" has unknown unit \"{unit}\": use ns, us, ms, s, m or h, e.g. \"1m30s\"")]
    DurationUnknownUnit { input: String, unit: String },
    #[error("duration \"{input}\" is not valid: write numbers with units, e.g. \"500ms\", \"5s\", \"1m30s\" or \"2h\"")]
    DurationInvalid { input: String },
    #[error("duration \"{input}\" is too large: the longest duration is about 290 years")]
    DurationTooLarge { input: String },
    #[error("{what} \"{input}\" is zero: write a positive duration, e.g. \"10s\"")]
    DurationZero { what: &'static str, input: String },

    #[error("status_codes is empty: write codes or ranges, e.g. \"200\", \"200-299\" or \"200,301-308\"")]
    StatusCodesEmpty,
    #[error("status_codes \"{input}\": \"{item}\" is not a status code or range: write e.g. \"200\", \"200-299\" or \"200,301-308\"")]
    StatusCodeNotANumber { input: String, item: String },
    #[error("status_codes \"{input}\": {code} is not an HTTP status code: codes are 100 to 599")]
    StatusCodeOutOfRange { input: String, code: u64 },
    #[error("status_codes \"{input}\": range {first}-{second} is reversed: write the lower code first, e.g. \"{second}-{first}\"")]
    StatusRangeReversed {
        input: String,
        first: u16,
        second: u16,
    },

    #[error("url \"{input}\" is not an absolute URL ({reason}): write e.g. \"http://10.10.40.30:8080/health\"")]
    UrlInvalid { input: String, reason: String },
    #[error("url \"{input}\" uses scheme \"{scheme}\": only http and https URLs can be checked, e.g. \"https://10.10.40.30/health\"")]
    UrlScheme { input: String, scheme: String },
    #[error("url \"{input}\" has no host: write e.g. \"http://10.10.40.30:8080/health\"")]
    UrlNoHost { input: String },

    #[error("port {port} is out of range: use 1 to 65535")]
    PortOutOfRange { port: i64 },
    #[error("host is empty: write an IP address or DNS name, e.g. \"10.10.40.30\"")]
    HostEmpty,
    #[error(
        "host \"{host}\" {reason}: write only an IP address or DNS name, e.g. \"10.10.40.30\""
    )]
    HostInvalid { host: String, reason: &'static str },

    #[error(
        "retry attempts {attempts} is too small: at least 1 attempt is needed (1 means no retries)"
    )]
    AttemptsTooFew { attempts: i64 },
    #[error("retry multiplier {multiplier} is less than 1: use 1 for a constant delay or 2 to double the delay after each attempt")]
    MultiplierTooSmall { multiplier: f64 },

    #[error("method \"{method}\" is not an HTTP method: write it in capitals, e.g. \"GET\", \"HEAD\" or \"POST\"")]
    MethodInvalid { method: String },
    #[error("header name \"{name}\" is not valid: header names are letters, digits and -, e.g. \"Authorization\"")]
    HeaderNameInvalid { name: String },
    #[error("header \"{name}\" has a value that is not valid in HTTP (control characters or line breaks): remove them")]
    HeaderValueInvalid { name: String },
    #[error("ca_cert is not a PEM certificate ({reason}): paste the CA certificate starting with \"-----BEGIN CERTIFICATE-----\"")]
    CaCertInvalid { reason: String },
    #[error("ca_cert and insecure_tls = true are both set: use ca_cert to trust a private CA, or insecure_tls to skip verification, not both")]
    CaCertWithInsecureTls,

    #[error("dns name \"{name}\" {reason}: write a DNS name, e.g. \"gitea.ralf.lan\"")]
    DnsNameInvalid { name: String, reason: String },
    #[error("dns server \"{server}\" is not an IP address: write the DNS server's address, e.g. \"10.10.0.53\" (a name would need another DNS server to find it)")]
    DnsServerNotAnAddress { server: String },
    #[error("dns type \"{input}\" is not supported: write \"A\" (IPv4) or \"AAAA\" (IPv6)")]
    DnsRecordTypeInvalid { input: String },
    #[error("dns expect \"{address}\" is not an IP address: list the addresses the name must resolve to, e.g. [\"10.10.20.10\"]")]
    DnsExpectNotAnAddress { address: String },
    #[error("dns expect \"{address}\" cannot be in an answer to an {record_type} question: use IPv4 addresses with \"A\" and IPv6 addresses with \"AAAA\"")]
    DnsExpectWrongFamily {
        address: String,
        record_type: &'static str,
    },
    #[error("min_days_valid {days} is not a whole number of days from 0 up: write e.g. 14 (0 only asks that the certificate has not expired)")]
    MinDaysValidInvalid { days: String },
    #[error("tls server_name \"{name}\" is not a DNS name or IP address: write the name the certificate is issued for, e.g. \"gitea.ralf.lan\"")]
    TlsServerNameInvalid { name: String },

    #[error("unit is empty: write a systemd unit name, e.g. \"nginx.service\"")]
    UnitEmpty,
    #[error("unit \"{unit}\" {reason}: write a systemd unit name, e.g. \"nginx.service\"")]
    UnitInvalid { unit: String, reason: &'static str },
}

/// Parses a Go-style duration: a sequence of decimal numbers, each with a unit (`ns`, `us`/`µs`,
/// `ms`, `s`, `m`, `h`), e.g. `"500ms"`, `"5s"`, `"1m30s"`, `"1.5h"`.
///
/// Unlike Go, a bare `"0"` is refused like any number without a unit, so `"5"` cannot be read as
/// five nanoseconds by mistake.
pub fn parse_duration(input: &str) -> Result<Duration, ParseError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(ParseError::DurationEmpty);
    }
    let invalid = || ParseError::DurationInvalid {
        input: input.to_string(),
    };
    let mut rest = text;
    if let Some(unsigned) = rest.strip_prefix('-') {
        // "-0s" is as wrong as "-5s": a negative sign is never what was meant.
        if unsigned.is_empty() {
            return Err(invalid());
        }
        return Err(ParseError::DurationNegative {
            input: input.to_string(),
        });
    }
    if let Some(unsigned) = rest.strip_prefix('+') {
        rest = unsigned;
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];

        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (number, ""),
        };
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(invalid());
        }
        if unit.is_empty() {
            return Err(ParseError::DurationNoUnit {
                input: input.to_string(),
            });
        }
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ if unit.chars().all(|c| c.is_alphabetic()) => {
                return Err(ParseError::DurationUnknownUnit {
                    input: input.to_string(),
                    unit: unit.to_string(),
                })
            }
            _ => return Err(invalid()),
        };
        let too_large = || ParseError::DurationTooLarge {
            input: input.to_string(),
        };
        let whole_value: u128 = if whole.is_empty() {
            0
        } else if whole.len() > 20 {
            return Err(too_large());
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut nanos = whole_value.checked_mul(unit_nanos).ok_or_else(too_large)?;
        // Digits past the 18th cannot change the result by a nanosecond for any unit here.
        let fraction = &fraction[..fraction.len().min(18)];
        if !fraction.is_empty() {
            let fraction_value: u128 = fraction.parse().map_err(|_| invalid())?;
            nanos += fraction_value * unit_nanos / 10u128.pow(fraction.len() as u32);
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(too_large)?;
        if total_nanos > i64::MAX as u128 {
            return Err(too_large());
        }
    }
    let secs = (total_nanos / 1_000_000_000) as u64;
    let subsec = (total_nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, subsec))
}

/// Parses a duration that must be more than zero, such as the per-attempt `timeout`; `what` names
/// the attribute in the error.
pub fn parse_positive_duration(what: &'static str, input: &str) -> Result<Duration, ParseError> {
    let duration = parse_duration(input)?;
    if duration.is_zero() {
        return Err(ParseError::DurationZero {
            what,
            input: input.to_string(),
        });
    }
    Ok(duration)
}

/// Formats a duration the way users write it: `"500ms"`, `"5s"`, `"1m30s"`, `"2h"`.
pub fn format_duration(duration: Duration) -> String {
    let total_ms = duration.as_millis();
    if total_ms == 0 && !duration.is_zero() {
        return format!("{}us", duration.as_micros());
    }
    if !total_ms.is_multiple_of(1000) {
        if total_ms < 1000 {
            return format!("{total_ms}ms");
        }
        let seconds = format!("{:.3}", duration.as_secs_f64());
        return format!("{}s", seconds.trim_end_matches('0'));
    }
    let total_s = duration.as_secs();
    let (h, m, s) = (total_s / 3600, (total_s % 3600) / 60, total_s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// The HTTP status codes a check accepts, e.g. `"200"`, `"200-299"` or `"200,301-308"`.
///
/// Displays as the text it was parsed from, normalised (no spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes {
    ranges: Vec<(u16, u16)>,
}

impl StatusCodes {
    /// True when `code` is one of the accepted codes.
    pub fn contains(&self, code: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(low, high)| low <= code && code <= high)
    }
}

impl Default for StatusCodes {
    /// `200-299`, the default of `status_codes`.
    fn default() -> Self {
        StatusCodes {
            ranges: vec![(200, 299)],
        }
    }
}

impl FromStr for StatusCodes {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        if input.trim().is_empty() {
            return Err(ParseError::StatusCodesEmpty);
        }
        let code = |item: &str, text: &str| -> Result<u16, ParseError> {
            let text = text.trim();
            if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) || text.len() > 6 {
                return Err(ParseError::StatusCodeNotANumber {
                    input: input.to_string(),
                    item: item.trim().to_string(),
                });
            }
            let value: u64 = text.parse().map_err(|_| ParseError::StatusCodeNotANumber {
                input: input.to_string(),
                item: item.trim().to_string(),
            })?;
            if !(100..=599).contains(&value) {
                return Err(ParseError::StatusCodeOutOfRange {
                    input: input.to_string(),
                    code: value,
                });
            }
            Ok(value as u16)
        };
        let mut ranges = Vec::new();
        for item in input.split(',') {
            let range = match item.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (code(item, low)?, code(item, high)?);
                    if low > high {
                        return Err(ParseError::StatusRangeReversed {
                            input: input.to_string(),
                            first: low,
                            second: high,
                        });
                    }
                    (low, high)
                }
                None => {
                    let single = code(item, item)?;
                    (single, single)
                }
            };
            ranges.push(range);
        }
        Ok(StatusCodes { ranges })
    }
}

impl fmt::Display for StatusCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, &(low, high)) in self.ranges.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

/// Parses the `url` of an http check: absolute, `http` or `https`, with a host.
pub fn parse_url(input: &str) -> Result<url::Url, ParseError> {
    let parsed = url::Url::parse(input.trim()).map_err(|error| ParseError::UrlInvalid {
        input: input.to_string(),
        reason: error.to_string(),
    })?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(ParseError::UrlScheme {
            input: input.to_string(),
            scheme: parsed.scheme().to_string(),
        });
    }
    match parsed.host_str() {
        Some(host) if !host.is_empty() => Ok(parsed),
        _ => Err(ParseError::UrlNoHost {
            input: input.to_string(),
        }),
    }
}

/// Checks a TCP port as Terraform gives it (a number) and returns it as a port.
pub fn parse_port(port: i64) -> Result<u16, ParseError> {
    match u16::try_from(port) {
        Ok(valid) if valid >= 1 => Ok(valid),
        _ => Err(ParseError::PortOutOfRange { port }),
    }
}

/// Checks the `host` of a ping or tcp check: an IP address or DNS name, nothing else.
pub fn validate_host(host: &str) -> Result<(), ParseError> {
    let invalid = |reason| ParseError::HostInvalid {
        host: host.to_string(),
        reason,
    };
    if host.trim().is_empty() {
        return Err(ParseError::HostEmpty);
    }
    if host.contains("://") {
        return Err(invalid("looks like a URL"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains spaces or control characters"));
    }
    if host.starts_with('-') {
        return Err(invalid("starts with \"-\""));
    }
    if host.contains('/') {
        return Err(invalid("contains \"/\""));
    }
    if host.starts_with('[') || host.ends_with(']') {
        return Err(invalid(
            "is in brackets (write IPv6 addresses without them, e.g. \"::1\")",
        ));
    }
    Ok(())
}

/// Checks the `min_days_valid` of a tls check as Terraform gives it (a number).
pub fn parse_min_days_valid(days: f64) -> Result<u32, ParseError> {
    if days.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&days) {
        Ok(days as u32)
    } else {
        Err(ParseError::MinDaysValidInvalid {
            days: days.to_string(),
        })
    }
}

/// Checks `retry.attempts` as Terraform gives it and returns it as a count.
pub fn parse_attempts(attempts: i64) -> Result<u32, ParseError> {
    match u32::try_from(attempts) {
        Ok(valid) if valid >= 1 => Ok(valid),
        Ok(_) => Err(ParseError::AttemptsTooFew { attempts }),
        Err(_) if attempts < 1 => Err(ParseError::AttemptsTooFew { attempts }),
        Err(_) => Ok(u32::MAX),
    }
}

/// Checks `retry.multiplier`: a finite number of at least 1.
pub fn validate_multiplier(multiplier: f64) -> Result<(), ParseError> {
    if multiplier.is_finite() && multiplier >= 1.0 {
        Ok(())
    } else {
        Err(ParseError::MultiplierTooSmall { multiplier })
    }
}

/// Parses the `method` of an http check. Methods are case-sensitive in HTTP, so `"get"` is refused.
pub fn parse_method(method: &str) -> Result<reqwest::Method, ParseError> {
    let invalid = || ParseError::MethodInvalid {
        method: method.to_string(),
    };
    if method.is_empty() || method.chars().any(|c| c.is_ascii_lowercase()) {
        return Err(invalid());
    }
    reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| invalid())
}

/// Checks one request header of an http check. The value is never put into the error.
pub fn validate_header(name: &str, value: &str) -> Result<(), ParseError> {
    reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        ParseError::HeaderNameInvalid {
            name: name.to_string(),
        }
    })?;
    reqwest::header::HeaderValue::from_str(value).map_err(|_| ParseError::HeaderValueInvalid {
        name: name.to_string(),
    })?;
    Ok(())
}

/// Parses a `ca_cert` (of an http or tls check): one or more PEM certificates, as DER for rustls
/// (and reqwest, which takes them as DER too).
pub fn parse_ca_cert(pem: &str) -> Result<Vec<CertificateDer<'static>>, ParseError> {
    let invalid = |reason: String| ParseError::CaCertInvalid { reason };
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid(
            "no \"-----BEGIN CERTIFICATE-----\" block found".to_string(),
        ));
    }
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(error.to_string()))?;
    if certs.is_empty() {
        return Err(invalid("no certificate found".to_string()));
    }
    Ok(certs)
}

/// Checks the `unit` of a service check: a systemd unit name such as `nginx.service` or
/// `getty@tty1.service`. The name is sent to the node's shell, so only unit-name characters pass.
pub fn validate_unit(unit: &str) -> Result<(), ParseError> {
    if unit.is_empty() {
        return Err(ParseError::UnitEmpty);
    }
    if unit.starts_with('-') {
        return Err(ParseError::UnitInvalid {
            unit: unit.to_string(),
            reason: "starts with \"-\"",
        });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || ":_.@-\\".contains(c);
    if !unit.chars().all(allowed) {
        return Err(ParseError::UnitInvalid {
            unit: unit.to_string(),
            reason: "contains characters other than letters, digits and : _ . @ - \\",
        });
    }
    Ok(())
}
