//! The gatekeeper's check kinds against real servers on 127.0.0.1: `dns` against dnsmasq, `ntp`
//! against chronyd (serving its local clock, never adjusting it, with no upstream), `tls` against
//! a rustls server with a test CA. Each passes, fails and times out with a clear message.
//!
//! The servers are started by tests/servers (dnsmasq and chronyd from Debian; a missing one fails
//! the test saying so).

mod servers;

use std::time::Duration;

use checks::{
    run_checks, CancellationToken, CheckResult, CheckSpec, CheckStatus, DnsCheck, DnsRecordType,
    NtpCheck, RetryPolicy, RunContext, TlsCheck,
};
use servers::{
    chronyd, free_udp_port, issue, silent_tcp, silent_udp, skewed_ntp_server, tls_server,
};

/// dnsmasq on 127.0.0.1:`port`: `gitea.ralf.lan` is 10.10.20.10; other `ralf.lan` names do not
/// exist.
fn dnsmasq() -> (servers::Server, u16) {
    servers::dnsmasq_on_a_free_port(&[("gitea.ralf.lan", "10.10.20.10")])
}

/// Runs one check with `attempts` attempts 200 ms apart and the given per-attempt timeout.
async fn run(spec: CheckSpec, attempts: u32, attempt_timeout: Duration) -> CheckResult {
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts,
            initial_delay: Duration::from_millis(200),
            multiplier: 1.0,
            max_delay: Duration::from_millis(200),
        },
        attempt_timeout,
        ..RunContext::default()
    };
    run_checks(&[spec], &ctx, &CancellationToken::new())
        .await
        .results
        .remove(0)
}

fn dns(port: u16, name: &str, expect: &[&str]) -> CheckSpec {
    CheckSpec {
        name: None,
        kind: checks::CheckKind::Dns(DnsCheck {
            name: name.to_string(),
            server: "127.0.0.1".to_string(),
            port,
            record_type: DnsRecordType::A,
            expect: expect.iter().map(|s| s.to_string()).collect(),
        }),
    }
}

#[tokio::test]
async fn dns_passes_when_the_server_resolves_the_name_to_the_expected_address() {
    let (_server, port) = dnsmasq();
    // dnsmasq needs a moment to bind: retries cover it.
    let result = run(
        dns(port, "gitea.ralf.lan", &["10.10.20.10"]),
        20,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Ok, "{result:?}");
    assert_eq!(result.kind, "dns");
    assert!(
        result.message.contains("gitea.ralf.lan A via 127.0.0.1:")
            && result.message.contains("= 10.10.20.10"),
        "{result:?}"
    );
}

#[tokio::test]
async fn dns_fails_naming_the_missing_address_and_the_unknown_name() {
    let (_server, port) = dnsmasq();
    let ready = run(dns(port, "gitea.ralf.lan", &[]), 20, Duration::from_secs(2)).await;
    assert_eq!(ready.status, CheckStatus::Ok, "{ready:?}");

    let wrong = run(
        dns(port, "gitea.ralf.lan", &["10.10.20.11"]),
        1,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(wrong.status, CheckStatus::Fail, "{wrong:?}");
    assert!(
        wrong
            .message
            .contains("= 10.10.20.10; expected 10.10.20.11 is missing"),
        "{wrong:?}"
    );

    let unknown = run(dns(port, "nope.ralf.lan", &[]), 1, Duration::from_secs(2)).await;
    assert_eq!(unknown.status, CheckStatus::Fail, "{unknown:?}");
    assert!(
        unknown.message.contains("nope.ralf.lan A")
            && unknown.message.contains("the name does not exist"),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn dns_times_out_with_a_clear_message_when_the_server_never_answers() {
    // A bound socket that reads nothing: the question is delivered and never answered.
    let (_silent, port) = silent_udp();
    let result = run(
        dns(port, "gitea.ralf.lan", &[]),
        1,
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Fail, "{result:?}");
    assert_eq!(
        result.message,
        "no DNS answer within the 300ms per-attempt timeout"
    );
}

#[test]
fn dns_settings_that_cannot_work_are_refused_before_running() {
    let mut check = DnsCheck {
        name: "gitea.ralf.lan".into(),
        server: "dns.ralf.lan".into(),
        port: 53,
        record_type: DnsRecordType::A,
        expect: vec![],
    };
    let error = check.validate().expect_err("a server name is refused");
    assert!(
        error.to_string().contains("is not an IP address"),
        "{error}"
    );
    check.server = "10.10.0.53".into();
    check.expect = vec!["fd00::1".into()];
    let error = check
        .validate()
        .expect_err("an IPv6 address with A is refused");
    assert!(
        error
            .to_string()
            .contains("cannot be in an answer to an A question"),
        "{error}"
    );
    assert!("MX".parse::<DnsRecordType>().is_err());
}

fn ntp(port: u16, max_offset: Duration) -> CheckSpec {
    CheckSpec {
        name: None,
        kind: checks::CheckKind::Ntp(NtpCheck {
            server: "127.0.0.1".to_string(),
            port,
            max_offset,
        }),
    }
}

#[tokio::test]
async fn ntp_passes_against_a_synchronised_server_with_a_small_offset() {
    let port = free_udp_port();
    let _server = chronyd(port);
    let result = run(
        ntp(port, Duration::from_secs(1)),
        20,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Ok, "{result:?}");
    assert!(
        result.message.starts_with("offset ") && result.message.contains("(within 1s), stratum 8"),
        "{result:?}"
    );
}

#[tokio::test]
async fn ntp_fails_when_the_clocks_differ_by_more_than_the_bound() {
    let port = skewed_ntp_server(3600, 2);
    let result = run(ntp(port, Duration::from_secs(1)), 1, Duration::from_secs(2)).await;
    assert_eq!(result.status, CheckStatus::Fail, "{result:?}");
    assert!(
        result.message.contains("clock offset to 127.0.0.1:")
            && result.message.contains("more than the allowed 1s"),
        "{result:?}"
    );
}

#[tokio::test]
async fn ntp_fails_when_the_server_is_not_synchronised() {
    let port = skewed_ntp_server(0, 0);
    let result = run(ntp(port, Duration::from_secs(1)), 1, Duration::from_secs(2)).await;
    assert_eq!(result.status, CheckStatus::Fail, "{result:?}");
    assert!(
        result.message.contains("is not a usable time source")
            && result.message.contains("kiss-o'-death"),
        "{result:?}"
    );
}

#[tokio::test]
async fn ntp_times_out_with_a_clear_message_when_the_server_never_answers() {
    let (_silent, port) = silent_udp();
    let result = run(
        ntp(port, Duration::from_secs(1)),
        1,
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Fail, "{result:?}");
    assert_eq!(
        result.message,
        "no NTP answer within the 300ms per-attempt timeout"
    );
}

fn tls(port: u16, server_name: &str, ca_cert: Option<&str>, min_days_valid: u32) -> CheckSpec {
    CheckSpec {
        name: None,
        kind: checks::CheckKind::Tls(TlsCheck {
            host: "127.0.0.1".to_string(),
            port,
            server_name: Some(server_name.to_string()),
            ca_cert: ca_cert.map(str::to_string),
            min_days_valid,
        }),
    }
}

#[tokio::test]
async fn tls_passes_when_the_certificate_verifies_and_has_days_left() {
    let issued = issue(&["gitea.ralf.lan"], 90);
    let ca = issued.ca_pem.clone();
    let port = tls_server(&issued);
    let result = run(
        tls(port, "gitea.ralf.lan", Some(&ca), 14),
        1,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Ok, "{result:?}");
    assert!(
        result
            .message
            .contains("certificate for \"gitea.ralf.lan\" verifies; valid until"),
        "{result:?}"
    );
}

#[tokio::test]
async fn tls_fails_for_another_name_an_unknown_issuer_and_a_soon_expiring_certificate() {
    let issued = issue(&["gitea.ralf.lan"], 5);
    let ca = issued.ca_pem.clone();
    let port = tls_server(&issued);

    let soon = run(
        tls(port, "gitea.ralf.lan", Some(&ca), 14),
        1,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(soon.status, CheckStatus::Fail, "{soon:?}");
    assert!(
        soon.message
            .contains("fewer than the 14 days required; renew it"),
        "{soon:?}"
    );

    let other = run(
        tls(port, "mail.ralf.lan", Some(&ca), 1),
        1,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(other.status, CheckStatus::Fail, "{other:?}");
    assert!(
        other.message.contains("TLS handshake with 127.0.0.1:")
            && other.message.contains("for \"mail.ralf.lan\" failed")
            && other
                .message
                .contains("certificate not valid for name \"mail.ralf.lan\""),
        "{other:?}"
    );

    let other_ca = issue(&["gitea.ralf.lan"], 90).ca_pem;
    let untrusted = run(
        tls(port, "gitea.ralf.lan", Some(&other_ca), 1),
        1,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(untrusted.status, CheckStatus::Fail, "{untrusted:?}");
    assert!(
        untrusted
            .message
            .contains("invalid peer certificate: UnknownIssuer"),
        "{untrusted:?}"
    );
}

#[tokio::test]
async fn tls_times_out_with_a_clear_message_when_the_server_never_answers_the_handshake() {
    let port = silent_tcp();
    let ca = issue(&["gitea.ralf.lan"], 90).ca_pem;
    let result = run(
        tls(port, "gitea.ralf.lan", Some(&ca), 14),
        1,
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Fail, "{result:?}");
    assert_eq!(
        result.message,
        "no TLS handshake within the 300ms per-attempt timeout"
    );
}
