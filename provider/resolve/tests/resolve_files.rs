//! A host name is looked up in the hosts file first, then asked of resolv.conf's nameservers, and
//! never of anything else: each test writes its own two files and gives their paths to
//! `NameResolver::from_files`. Everything stays on loopback; the nameserver tests name a loopback
//! address where nothing listens. (A nameserver that answers, dnsmasq, is exercised by the check
//! engine's tests in provider/checks/tests/checks_resolve.rs.)

mod files;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use files::Files;

use resolve::{NameResolver, ReqwestResolver, ResolveError};

/// A loopback address where no nameserver listens: asking it fails at once (port unreachable).
const SILENT_NAMESERVER: Ipv4Addr = Ipv4Addr::new(127, 255, 53, 1);

fn silent_resolv_conf() -> String {
    format!("nameserver {SILENT_NAMESERVER}\noptions timeout:1 attempts:1\n")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP address")
}

#[tokio::test]
async fn a_name_in_the_hosts_file_resolves_without_asking_any_nameserver() {
    let files = Files::new(
        "# the lab\n127.0.0.1 web.ralf.lan web # the web server\n::1 web.ralf.lan\n",
        Some(&silent_resolv_conf()),
    );
    let resolver = files.resolver();
    assert_eq!(
        resolver.lookup("web.ralf.lan").await,
        Ok(vec![ip("127.0.0.1"), ip("::1")]),
        "every address of the name, in file order"
    );
    assert_eq!(
        resolver.lookup("WEB.ralf.lan.").await,
        Ok(vec![ip("127.0.0.1"), ip("::1")]),
        "names are case-insensitive and a final dot changes nothing"
    );
    assert_eq!(resolver.lookup("web").await, Ok(vec![ip("127.0.0.1")]));
    assert_eq!(
        resolver.socket_addrs("web", 8006).await,
        Ok(vec![SocketAddr::new(ip("127.0.0.1"), 8006)])
    );
}

#[tokio::test]
async fn without_a_resolv_conf_a_name_fails_naming_both_files_and_no_public_server_is_asked() {
    let files = Files::new("127.0.0.1 other.ralf.lan\n", None);
    let error = files
        .resolver()
        .lookup("gitea.example.org")
        .await
        .expect_err("no nameserver, no answer");
    let ResolveError::NoNameserver { host, .. } = &error else {
        panic!("expected NoNameserver, got {error:?}");
    };
    assert_eq!(host, "gitea.example.org");
    let text = error.to_string();
    for expected in [
        "cannot resolve \"gitea.example.org\"",
        &files.path("hosts").display().to_string(),
        &files.path("resolv.conf").display().to_string(),
        "cannot be read",
        "never sent to public DNS servers",
        "or use an IP address",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in: {text}");
    }
}

#[tokio::test]
async fn a_resolv_conf_without_nameserver_lines_fails_saying_so() {
    let files = Files::new("", Some("# no nameserver lines\nsearch ralf.lan\n"));
    let error = files
        .resolver()
        .lookup("gitea.example.org")
        .await
        .expect_err("no nameserver, no answer");
    let text = error.to_string();
    assert!(
        matches!(error, ResolveError::NoNameserver { .. })
            && (text.contains("names no usable nameserver")
                || text.contains("names no nameserver"))
            && text.contains(&files.path("resolv.conf").display().to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn a_nameserver_that_does_not_answer_fails_naming_it_and_its_file() {
    let files = Files::new("", Some(&silent_resolv_conf()));
    let error = files
        .resolver()
        .lookup("gitea.ralf.lan")
        .await
        .expect_err("nobody answers");
    let ResolveError::LookupFailed { servers, .. } = &error else {
        panic!("expected LookupFailed, got {error:?}");
    };
    assert_eq!(servers, &SILENT_NAMESERVER.to_string());
    let text = error.to_string();
    assert!(
        text.contains("cannot resolve \"gitea.ralf.lan\" through the nameservers of")
            && text.contains(&files.path("resolv.conf").display().to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn localhost_and_ip_literals_resolve_with_no_files_at_all() {
    let resolver =
        NameResolver::from_files(Path::new("/nonexistent/hosts"), "/nonexistent/resolv.conf");
    assert_eq!(
        resolver.lookup("localhost").await,
        Ok(vec![ip("127.0.0.1"), ip("::1")])
    );
    assert_eq!(
        resolver.lookup("api.localhost").await.map(|a| a[0]),
        Ok(ip("127.0.0.1"))
    );
    assert_eq!(
        resolver.lookup("10.10.0.5").await,
        Ok(vec![ip("10.10.0.5")])
    );
    assert_eq!(resolver.lookup("::1").await, Ok(vec![ip("::1")]));
    assert_eq!(resolver.lookup("[::1]").await, Ok(vec![ip("::1")]));
}

/// One plain HTTP/1.1 answer on a loopback port; returns the port.
async fn one_http_answer() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await;
    });
    port
}

#[tokio::test]
async fn a_reqwest_client_resolves_through_the_files_and_fails_with_the_resolve_error() {
    let files = Files::new("127.0.0.1 app.ralf.lan\n", None);
    let client = reqwest::Client::builder()
        .dns_resolver(ReqwestResolver(Arc::new(files.resolver())))
        .build()
        .expect("client builds");

    let port = one_http_answer().await;
    let body = client
        .get(format!("http://app.ralf.lan:{port}/"))
        .send()
        .await
        .expect("app.ralf.lan is 127.0.0.1 through the hosts file")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "ok");

    let error = client
        .get(format!("http://gone.ralf.lan:{port}/"))
        .send()
        .await
        .expect_err("gone.ralf.lan is nowhere");
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut found = None;
    while let Some(cause) = source {
        found = found.or(cause.downcast_ref::<ResolveError>());
        source = cause.source();
    }
    let Some(ResolveError::NoNameserver { host, .. }) = found else {
        panic!("the ResolveError is among the sources of {error:?}");
    };
    assert_eq!(host, "gone.ralf.lan");
}
