//! Plan-time parsing of smoke-check values: what is accepted, and the exact message for what is not.

use std::time::Duration;

use checks::parse::{
    format_duration, parse_attempts, parse_ca_cert, parse_method, parse_port,
    parse_positive_duration, parse_url, validate_header, validate_host, validate_multiplier,
    validate_unit,
};
use checks::{parse_duration, CheckSpec, HttpCheck, StatusCodes};

fn message<T: std::fmt::Debug>(result: Result<T, checks::ParseError>) -> String {
    result.expect_err("expected an error").to_string()
}

#[test]
fn go_style_durations_are_accepted() {
    let cases = [
        ("500ms", Duration::from_millis(500)),
        ("5s", Duration::from_secs(5)),
        ("1m30s", Duration::from_secs(90)),
        ("2h", Duration::from_secs(7200)),
        ("1.5s", Duration::from_millis(1500)),
        (".5s", Duration::from_millis(500)),
        ("1h2m3s4ms", Duration::from_millis(3_723_004)),
        ("10us", Duration::from_micros(10)),
        ("10µs", Duration::from_micros(10)),
        ("7ns", Duration::from_nanos(7)),
        ("0s", Duration::ZERO),
        ("+3s", Duration::from_secs(3)),
        (" 5s ", Duration::from_secs(5)),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_duration(input), Ok(expected), "input {input:?}");
    }
}

#[test]
fn empty_duration_is_refused_with_examples() {
    assert_eq!(
        message(parse_duration("")),
        "duration is empty: write a number with a unit, e.g. \"500ms\", \"5s\", \"1m30s\" or \"2h\""
    );
    assert_eq!(message(parse_duration("  ")), message(parse_duration("")));
}

#[test]
fn negative_duration_is_refused() {
    assert_eq!(
        message(parse_duration("-5s")),
        "duration \"-5s\" is negative: durations are zero or more, e.g. \"5s\""
    );
}

#[test]
fn unitless_number_is_refused_with_the_seconds_spelling() {
    assert_eq!(
        message(parse_duration("5")),
        "duration \"5\" has no unit: write e.g. \"5s\" (units: ns, us, ms, s, m, h)"
    );
    assert_eq!(
        message(parse_duration("0")),
        "duration \"0\" has no unit: write e.g. \"0s\" (units: ns, us, ms, s, m, h)"
    );
    assert_eq!(
        message(parse_duration("1m30")),
        "duration \"1m30\" has no unit: write e.g. \"1m30s\" (units: ns, us, ms, s, m, h)"
    );
}

#[test]
fn unknown_unit_is_named() {
    assert_eq!(
        message(parse_duration("5d")),
        "duration \"5d\" has unknown unit \"d\": use ns, us, ms, s, m or h, e.g. \"1m30s\""
    );
    assert_eq!(
        message(parse_duration("5 s")),
        "duration \"5 s\" is not valid: write numbers with units, e.g. \"500ms\", \"5s\", \"1m30s\" or \"2h\""
    );
}

#[test]
fn malformed_durations_are_refused() {
    for input in ["abc", "s", "1..5s", ".s", "5s-", "+", "-"] {
        let text = message(parse_duration(input));
        assert!(
            text.contains("is not valid") || text.contains("has unknown unit"),
            "{input:?}: {text}"
        );
    }
}

#[test]
fn absurdly_long_duration_is_refused() {
    assert_eq!(
        message(parse_duration("9999999999h")),
        "duration \"9999999999h\" is too large: the longest duration is about 290 years"
    );
}

#[test]
fn timeout_of_zero_is_refused() {
    assert_eq!(
        message(parse_positive_duration("timeout", "0s")),
        "timeout \"0s\" is zero: write a positive duration, e.g. \"10s\""
    );
    assert_eq!(
        parse_positive_duration("timeout", "10s"),
        Ok(Duration::from_secs(10))
    );
}

#[test]
fn durations_format_the_way_users_write_them() {
    assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    assert_eq!(format_duration(Duration::from_secs(5)), "5s");
    assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    assert_eq!(format_duration(Duration::ZERO), "0s");
}

#[test]
fn status_codes_accept_codes_ranges_and_lists() {
    let single: StatusCodes = "200".parse().unwrap();
    assert!(single.contains(200) && !single.contains(201));
    let range: StatusCodes = "200-299".parse().unwrap();
    assert!(range.contains(200) && range.contains(299) && !range.contains(300));
    let list: StatusCodes = "200, 301-308".parse().unwrap();
    assert!(list.contains(200) && list.contains(302) && !list.contains(204));
    assert_eq!(list.to_string(), "200,301-308");
    assert_eq!(StatusCodes::default().to_string(), "200-299");
}

#[test]
fn status_codes_refuse_empty_words_out_of_range_and_reversed() {
    assert_eq!(
        message("".parse::<StatusCodes>()),
        "status_codes is empty: write codes or ranges, e.g. \"200\", \"200-299\" or \"200,301-308\""
    );
    assert_eq!(
        message("2xx".parse::<StatusCodes>()),
        "status_codes \"2xx\": \"2xx\" is not a status code or range: write e.g. \"200\", \"200-299\" or \"200,301-308\""
    );
    assert_eq!(
        message("200,".parse::<StatusCodes>()),
        "status_codes \"200,\": \"\" is not a status code or range: write e.g. \"200\", \"200-299\" or \"200,301-308\""
    );
    assert_eq!(
        message("200-".parse::<StatusCodes>()),
        "status_codes \"200-\": \"200-\" is not a status code or range: write e.g. \"200\", \"200-299\" or \"200,301-308\""
    );
    assert_eq!(
        message("600".parse::<StatusCodes>()),
        "status_codes \"600\": 600 is not an HTTP status code: codes are 100 to 599"
    );
    assert_eq!(
        message("99-200".parse::<StatusCodes>()),
        "status_codes \"99-200\": 99 is not an HTTP status code: codes are 100 to 599"
    );
    assert_eq!(
        message("299-200".parse::<StatusCodes>()),
        "status_codes \"299-200\": range 299-200 is reversed: write the lower code first, e.g. \"200-299\""
    );
}

#[test]
fn urls_must_be_absolute_http_with_a_host() {
    assert!(parse_url("http://127.0.0.10:80/health").is_ok());
    assert!(parse_url("https://grafana.example/api/health").is_ok());
    assert_eq!(
        message(parse_url("/health")),
        "url \"/health\" is not an absolute URL (relative URL without a base): write e.g. \"http://10.10.40.30:8080/health\""
    );
    assert_eq!(
        message(parse_url("ftp://10.0.0.1/file")),
        "url \"ftp://10.0.0.1/file\" uses scheme \"ftp\": only http and https URLs can be checked, e.g. \"https://10.10.40.30/health\""
    );
    assert_eq!(
        message(parse_url("http://")),
        "url \"http://\" is not an absolute URL (empty host): write e.g. \"http://10.10.40.30:8080/health\""
    );
}

#[test]
fn ports_are_1_to_65535() {
    assert_eq!(parse_port(1), Ok(1));
    assert_eq!(parse_port(65535), Ok(65535));
    assert_eq!(
        message(parse_port(0)),
        "port 0 is out of range: use 1 to 65535"
    );
    assert_eq!(
        message(parse_port(65536)),
        "port 65536 is out of range: use 1 to 65535"
    );
    assert_eq!(
        message(parse_port(-1)),
        "port -1 is out of range: use 1 to 65535"
    );
}

#[test]
fn hosts_are_non_empty_names_or_addresses() {
    for host in ["127.0.0.1", "::1", "grafana.lan", "pve-1"] {
        assert_eq!(validate_host(host), Ok(()), "{host}");
    }
    assert_eq!(
        message(validate_host("")),
        "host is empty: write an IP address or DNS name, e.g. \"10.10.40.30\""
    );
    assert_eq!(
        message(validate_host("http://10.0.0.1")),
        "host \"http://10.0.0.1\" looks like a URL: write only an IP address or DNS name, e.g. \"10.10.40.30\""
    );
    assert_eq!(
        message(validate_host("10.0.0.1 ")),
        "host \"10.0.0.1 \" contains spaces or control characters: write only an IP address or DNS name, e.g. \"10.10.40.30\""
    );
    assert_eq!(
        message(validate_host("-oProxyCommand")),
        "host \"-oProxyCommand\" starts with \"-\": write only an IP address or DNS name, e.g. \"10.10.40.30\""
    );
    assert_eq!(
        message(validate_host("10.0.0.0/24")),
        "host \"10.0.0.0/24\" contains \"/\": write only an IP address or DNS name, e.g. \"10.10.40.30\""
    );
    assert_eq!(
        message(validate_host("[::1]")),
        "host \"[::1]\" is in brackets (write IPv6 addresses without them, e.g. \"::1\"): write only an IP address or DNS name, e.g. \"10.10.40.30\""
    );
}

#[test]
fn retry_attempts_are_at_least_one() {
    assert_eq!(parse_attempts(1), Ok(1));
    assert_eq!(parse_attempts(5), Ok(5));
    assert_eq!(
        message(parse_attempts(0)),
        "retry attempts 0 is too small: at least 1 attempt is needed (1 means no retries)"
    );
    assert_eq!(
        message(parse_attempts(-3)),
        "retry attempts -3 is too small: at least 1 attempt is needed (1 means no retries)"
    );
}

#[test]
fn retry_multiplier_is_at_least_one() {
    assert_eq!(validate_multiplier(1.0), Ok(()));
    assert_eq!(validate_multiplier(2.5), Ok(()));
    assert_eq!(
        message(validate_multiplier(0.5)),
        "retry multiplier 0.5 is less than 1: use 1 for a constant delay or 2 to double the delay after each attempt"
    );
    assert!(validate_multiplier(f64::NAN).is_err());
    assert!(validate_multiplier(f64::INFINITY).is_err());
}

#[test]
fn methods_are_case_sensitive_tokens() {
    assert_eq!(parse_method("GET"), Ok(reqwest::Method::GET));
    assert_eq!(parse_method("HEAD"), Ok(reqwest::Method::HEAD));
    assert_eq!(
        message(parse_method("get")),
        "method \"get\" is not an HTTP method: write it in capitals, e.g. \"GET\", \"HEAD\" or \"POST\""
    );
    assert!(parse_method("GE T").is_err());
    assert!(parse_method("").is_err());
}

#[test]
fn header_errors_never_show_the_value() {
    assert_eq!(validate_header("Authorization", "Bearer abc"), Ok(()));
    assert_eq!(
        message(validate_header("bad name", "x")),
        "header name \"bad name\" is not valid: header names are letters, digits and -, e.g. \"Authorization\""
    );
    let text = message(validate_header("Authorization", "Bearer SECRET\nX: y"));
    assert_eq!(
        text,
        "header \"Authorization\" has a value that is not valid in HTTP (control characters or line breaks): remove them"
    );
    assert!(!text.contains("SECRET"));
}

#[test]
fn ca_cert_must_be_pem() {
    assert_eq!(
        message(parse_ca_cert("not a cert")),
        "ca_cert is not a PEM certificate (no \"-----BEGIN CERTIFICATE-----\" block found): paste the CA certificate starting with \"-----BEGIN CERTIFICATE-----\""
    );
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    assert_eq!(parse_ca_cert(&generated.cert.pem()).map(|c| c.len()), Ok(1));
}

#[test]
fn ca_cert_together_with_insecure_tls_is_refused() {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let check = HttpCheck {
        insecure_tls: true,
        ca_cert: Some(generated.cert.pem()),
        ..HttpCheck::new("https://127.0.0.1/")
    };
    assert_eq!(
        message(check.validate()),
        "ca_cert and insecure_tls = true are both set: use ca_cert to trust a private CA, or insecure_tls to skip verification, not both"
    );
}

#[test]
fn units_are_systemd_names_only() {
    for unit in [
        "nginx.service",
        "getty@tty1.service",
        "postgresql",
        "a:b_c-d.socket",
    ] {
        assert_eq!(validate_unit(unit), Ok(()), "{unit}");
    }
    assert_eq!(
        message(validate_unit("")),
        "unit is empty: write a systemd unit name, e.g. \"nginx.service\""
    );
    assert_eq!(
        message(validate_unit("nginx; reboot")),
        "unit \"nginx; reboot\" contains characters other than letters, digits and : _ . @ - \\: write a systemd unit name, e.g. \"nginx.service\""
    );
    assert_eq!(
        message(validate_unit("--all")),
        "unit \"--all\" starts with \"-\": write a systemd unit name, e.g. \"nginx.service\""
    );
}

#[test]
fn check_specs_validate_their_own_values() {
    assert_eq!(CheckSpec::tcp("127.0.0.1", 5432).validate(), Ok(()));
    assert_eq!(
        message(CheckSpec::tcp("127.0.0.1", 0).validate()),
        "port 0 is out of range: use 1 to 65535"
    );
    assert!(CheckSpec::ping("").validate().is_err());
    assert!(CheckSpec::service("bad unit").validate().is_err());
    let mut http = HttpCheck::new("http://127.0.0.1/");
    http.status_codes = "abc".to_string();
    assert!(CheckSpec::http(http).validate().is_err());
}

#[test]
fn default_names_are_kind_colon_target() {
    assert_eq!(
        CheckSpec::http(HttpCheck::new("http://127.0.0.10:80/health")).name(),
        "http:http://127.0.0.10:80/health"
    );
    assert_eq!(
        CheckSpec::tcp("127.0.0.1", 5432).name(),
        "tcp:127.0.0.1:5432"
    );
    assert_eq!(CheckSpec::tcp("::1", 5432).name(), "tcp:[::1]:5432");
    assert_eq!(CheckSpec::ping("127.0.0.1").name(), "ping:127.0.0.1");
    assert_eq!(
        CheckSpec::service("nginx.service").name(),
        "service:nginx.service"
    );
    assert_eq!(CheckSpec::ping("127.0.0.1").named("db").name(), "db");
}

#[test]
fn url_passwords_are_hidden_in_names_and_targets() {
    let spec = CheckSpec::http(HttpCheck::new("http://admin:hunter2@127.0.0.1:8080/health"));
    assert_eq!(spec.name(), "http:http://admin:***@127.0.0.1:8080/health");
    assert!(!format!("{spec:?}").contains("hunter2"));
}

#[test]
fn header_values_are_hidden_in_debug_output() {
    let mut check = HttpCheck::new("http://127.0.0.1/");
    check
        .headers
        .insert("Authorization".to_string(), "Bearer TOPSECRET".to_string());
    let shown = format!("{check:?}");
    assert!(shown.contains("Authorization"), "{shown}");
    assert!(!shown.contains("TOPSECRET"), "{shown}");
}
