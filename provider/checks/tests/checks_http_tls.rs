//! HTTPS checks against a TLS server these tests start on 127.0.0.1 with a self-signed
//! certificate: verified by default, trusted through `ca_cert`, or not verified with
//! `insecure_tls`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use checks::{
    run_checks, CancellationToken, CheckResult, CheckSpec, CheckStatus, HttpCheck, RetryPolicy,
    RunContext,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Starts an HTTPS server answering every request with 200 "secure"; returns its address and the
/// PEM of its self-signed certificate (issued for 127.0.0.1).
async fn tls_server() -> (SocketAddr, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_pem = generated.cert.pem();
    let cert_der = generated.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A failed handshake (client refusing the certificate) just ends the connection.
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let response =
                    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure";
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (address, cert_pem)
}

async fn run_once(check: HttpCheck) -> CheckResult {
    let ctx = RunContext {
        retry: RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        attempt_timeout: Duration::from_secs(10),
        ..RunContext::default()
    };
    let mut check = check;
    check.body_contains = Some("secure".to_string());
    run_checks(&[CheckSpec::http(check)], &ctx, &CancellationToken::new())
        .await
        .results
        .remove(0)
}

#[tokio::test]
async fn self_signed_certificate_fails_verification_by_default() {
    let (address, _) = tls_server().await;
    let result = run_once(HttpCheck::new(format!("https://{address}/"))).await;

    assert_eq!(result.status, CheckStatus::Fail);
    assert!(
        result.message.starts_with("GET request failed: ")
            && result.message.to_lowercase().contains("certificate"),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn ca_cert_makes_the_private_certificate_trusted() {
    let (address, cert_pem) = tls_server().await;
    let mut check = HttpCheck::new(format!("https://{address}/"));
    check.ca_cert = Some(cert_pem);
    let result = run_once(check).await;

    assert_eq!(result.status, CheckStatus::Ok, "{}", result.message);
    assert_eq!(result.message, "status 200, body contains \"secure\"");
}

#[tokio::test]
async fn insecure_tls_skips_verification() {
    let (address, _) = tls_server().await;
    let mut check = HttpCheck::new(format!("https://{address}/"));
    check.insecure_tls = true;
    let result = run_once(check).await;

    assert_eq!(result.status, CheckStatus::Ok, "{}", result.message);
}

#[tokio::test]
async fn a_different_ca_does_not_trust_the_server() {
    let (address, _) = tls_server().await;
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let mut check = HttpCheck::new(format!("https://{address}/"));
    check.ca_cert = Some(other.cert.pem());
    let result = run_once(check).await;

    assert_eq!(result.status, CheckStatus::Fail, "{}", result.message);
}
