//! Host names in ping, tcp, http, ntp and tls checks are resolved through `RunContext::resolver`
//! (crate ralf-resolve, whose own tests pin the lookup rules): the hosts file first, then the
//! nameservers of resolv.conf, never a public DNS server, and the checks report its failures as
//! they are. Each test writes its own hosts file and resolv.conf, the latter naming a dnsmasq on a
//! loopback address of its own (port 53, as resolv.conf has no ports).

#[path = "../../resolve/tests/files/mod.rs"]
mod files;
mod servers;

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use checks::{
    run_checks, CancellationToken, CheckResult, CheckSpec, CheckStatus, HttpCheck, NameResolver,
    ResolveError, RetryPolicy, RunContext,
};
use files::Files;

fn nameserver(address: Ipv4Addr) -> String {
    format!("nameserver {address}\noptions timeout:1 attempts:1\n")
}

async fn run(spec: CheckSpec, resolver: Arc<NameResolver>) -> CheckResult {
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        attempt_timeout: Duration::from_secs(5),
        resolver,
        ..RunContext::default()
    };
    run_checks(&[spec], &ctx, &CancellationToken::new())
        .await
        .results
        .remove(0)
}

fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[tokio::test]
async fn a_name_in_the_hosts_file_resolves_without_asking_any_nameserver() {
    // The resolv.conf names a loopback address where nothing listens: asking it would fail.
    let silent = servers::own_loopback_address();
    let files = Files::new("127.0.0.1 web.ralf.lan web\n", Some(&nameserver(silent)));
    let (_listener, port) = listener();
    let result = run(
        CheckSpec::tcp("web.ralf.lan", port),
        Arc::new(files.resolver()),
    )
    .await;
    assert_eq!(result.status, CheckStatus::Ok, "{result:?}");
    assert_eq!(result.message, format!("connected to 127.0.0.1:{port}"));
    let short = run(CheckSpec::tcp("WEB", port), Arc::new(files.resolver())).await;
    assert_eq!(
        short.status,
        CheckStatus::Ok,
        "names are case-insensitive: {short:?}"
    );
}

#[tokio::test]
async fn a_name_not_in_the_hosts_file_is_asked_of_the_resolv_conf_nameserver() {
    let dns_address = servers::own_loopback_address();
    let _dns = servers::dnsmasq(dns_address, 53, &[("web.ralf.lan", "127.0.0.1")]);
    let files = Files::new("# nothing here\n", Some(&nameserver(dns_address)));
    let resolver = Arc::new(files.resolver());
    assert_eq!(
        resolver.lookup("web.ralf.lan").await,
        Ok(vec!["127.0.0.1".parse().unwrap()])
    );

    let (_listener, port) = listener();
    let tcp = run(CheckSpec::tcp("web.ralf.lan", port), resolver.clone()).await;
    assert_eq!(tcp.status, CheckStatus::Ok, "{tcp:?}");

    let unknown = run(CheckSpec::tcp("nope.ralf.lan", port), resolver.clone()).await;
    assert_eq!(unknown.status, CheckStatus::Fail, "{unknown:?}");
    assert!(
        unknown.message.contains("cannot resolve \"nope.ralf.lan\"")
            && unknown.message.contains(&dns_address.to_string())
            && unknown.message.contains("know no address for it"),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn the_http_check_resolves_through_the_same_files() {
    let dns_address = servers::own_loopback_address();
    let _dns = servers::dnsmasq(dns_address, 53, &[("app.ralf.lan", "127.0.0.1")]);
    let files = Files::new("", Some(&nameserver(dns_address)));
    let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let check = HttpCheck::new(format!("http://app.ralf.lan:{port}/health"));
    let result = run(CheckSpec::http(check), Arc::new(files.resolver())).await;
    assert_eq!(result.status, CheckStatus::Ok, "{result:?}");

    let missing = HttpCheck::new(format!("http://gone.ralf.lan:{port}/health"));
    let result = run(CheckSpec::http(missing), Arc::new(files.resolver())).await;
    assert_eq!(result.status, CheckStatus::Fail, "{result:?}");
    assert!(
        result.message.contains("cannot resolve \"gone.ralf.lan\""),
        "the failure says the name did not resolve: {result:?}"
    );
}

#[tokio::test]
async fn without_a_resolv_conf_a_check_fails_with_the_resolvers_message() {
    let files = Files::new("", None);
    let ping = run(
        CheckSpec::ping("gitea.example.org"),
        Arc::new(files.resolver()),
    )
    .await;
    assert_eq!(ping.status, CheckStatus::Fail, "{ping:?}");
    let expected = files
        .resolver()
        .lookup("gitea.example.org")
        .await
        .expect_err("no nameserver, no answer");
    assert!(
        matches!(expected, ResolveError::NoNameserver { .. }),
        "{expected:?}"
    );
    assert_eq!(ping.message, expected.to_string());
    assert!(
        ping.message.contains("never sent to public DNS servers"),
        "{ping:?}"
    );
}
