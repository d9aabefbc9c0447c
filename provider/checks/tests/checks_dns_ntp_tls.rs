//! The gatekeeper's check kinds against real servers on 127.0.0.1: `dns` against dnsmasq, `ntp`
//! against chronyd (serving its local clock, never adjusting it, with no upstream), `tls` against
//! a rustls server with a test CA. Each passes, fails and times out with a clear message.
//!
//! dnsmasq and chronyd come from Debian (`apt-get install dnsmasq-base chrony`; .ci/run installs
//! them); a missing one fails the test saying so.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use checks::{
    run_checks, CancellationToken, CheckResult, CheckSpec, CheckStatus, DnsCheck, DnsRecordType,
    NtpCheck, RetryPolicy, RunContext, TlsCheck,
};
use tokio::net::TcpListener;

fn find_program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|c| c.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found: these tests run real DNS and NTP servers on 127.0.0.1 \
                 (Debian: `apt-get install dnsmasq-base chrony`; .ci/run installs them)"
            )
        })
}

/// A free UDP port on 127.0.0.1 (released again for the server to take).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// A server process, killed when the test ends.
struct Server {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// dnsmasq on 127.0.0.1:`port`, authoritative for `ralf.lan` only (no upstream, so nothing
/// leaves the machine): `gitea.ralf.lan` is 10.10.20.10; other `ralf.lan` names do not exist.
fn dnsmasq(port: u16) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Command::new(find_program("dnsmasq"))
        .args([
            "--keep-in-foreground",
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--host-record=gitea.ralf.lan,10.10.20.10",
            "--local=/ralf.lan/",
            "--user=root",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq starts");
    Server { child, _dir: dir }
}

/// chronyd serving its local clock at stratum 8 on 127.0.0.1:`port`: no sources, `-x` (never
/// touches the system clock), no command port.
fn chronyd(port: u16) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\n\
             pidfile {}\n",
            dir.path().join("chronyd.pid").display()
        ),
    )
    .expect("chrony.conf");
    let child = Command::new(find_program("chronyd"))
        .args(["-d", "-x", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chronyd starts");
    Server { child, _dir: dir }
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
    let port = free_udp_port();
    let _server = dnsmasq(port);
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
    let port = free_udp_port();
    let _server = dnsmasq(port);
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
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
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

/// Answers every NTP request once, with the server's clock `skew_seconds` ahead.
fn skewed_ntp_server(skew_seconds: u64, stratum: u8) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 48];
        while let Ok((read, from)) = socket.recv_from(&mut buffer) {
            if read < 48 {
                continue;
            }
            let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
            let seconds = now.as_secs() + 2_208_988_800 + skew_seconds;
            let timestamp = seconds << 32;
            let mut answer = [0u8; 48];
            answer[0] = (4 << 3) | 4;
            answer[1] = stratum;
            answer[24..32].copy_from_slice(&buffer[40..48]); // origin = the client's transmit
            answer[32..40].copy_from_slice(&timestamp.to_be_bytes());
            answer[40..48].copy_from_slice(&timestamp.to_be_bytes());
            let _ = socket.send_to(&answer, from);
        }
    });
    port
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
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
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

/// Each test CA gets a name of its own, so one CA is never mistaken for another's issuer.
fn next_ca_number() -> u32 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A test CA and a certificate it issued for `gitea.ralf.lan`, valid for `days` more days.
fn issue(days: i64) -> (String, rcgen::Certificate, rcgen::KeyPair) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("RALF test CA {}", next_ca_number()),
    );
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("leaf key");
    let mut params =
        rcgen::CertificateParams::new(vec!["gitea.ralf.lan".to_string()]).expect("leaf params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
    let leaf = params.signed_by(&key, &issuer).expect("leaf");
    (ca.pem(), leaf, key)
}

/// Serves TLS handshakes with `leaf` on 127.0.0.1; returns the port.
async fn tls_server(leaf: rcgen::Certificate, key: rcgen::KeyPair) -> u16 {
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key_der)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    port
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
    let (ca, leaf, key) = issue(90);
    let port = tls_server(leaf, key).await;
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
    let (ca, leaf, key) = issue(5);
    let port = tls_server(leaf, key).await;

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

    let (other_ca, _, _) = issue(90);
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
    // Accepts connections and never speaks.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let (ca, _, _) = issue(90);
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
