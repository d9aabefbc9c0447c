//! The plugin's TLS listener accepts exactly the client certificate Terraform passed in
//! `PLUGIN_CLIENT_CERT`: a client without a certificate, or with any other certificate, cannot
//! talk to it. Certificates here mirror go-plugin's: ECDSA P-521 / SHA-512, self-signed, CA:TRUE.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tfplugin::serve::{serve, PluginEnv};
use tfplugin::{DataSource, Diagnostics, Provider, Resource, Schema, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct EmptyProvider;

#[async_trait]
impl Provider for EmptyProvider {
    fn schema(&self) -> Schema {
        Schema::new(0, tfplugin::Block::new(""))
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![]
    }
    async fn configure(&self, _config: &Value, _v: &str, _diags: &mut Diagnostics) {}
}

/// A go-plugin style client certificate: P-521, self-signed, CA:TRUE, clientAuth.
fn client_identity() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key).unwrap();
    (
        cert.pem(),
        cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
}

#[derive(Clone, Default)]
struct SharedOut(Arc<Mutex<Vec<u8>>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts the plugin pinned to `pinned_pem`; returns the socket path and the server cert.
async fn start_plugin(
    pinned_pem: String,
    dir: &std::path::Path,
) -> (String, CertificateDer<'static>) {
    let out = SharedOut::default();
    let env = PluginEnv {
        magic_cookie: Some(tfplugin::serve::MAGIC_COOKIE_VALUE.into()),
        protocol_versions: Some("5,6".into()),
        client_cert_pem: Some(pinned_pem),
        socket_dir: Some(dir.to_path_buf()),
    };
    let mut writer = out.clone();
    tokio::spawn(async move {
        let _ = serve(Arc::new(EmptyProvider), env, &mut writer).await;
    });
    let line = loop {
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        if text.ends_with('\n') {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let fields: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(fields.len(), 6, "exactly six handshake fields: {line}");
    assert_eq!(&fields[..3], ["1", "6", "unix"]);
    assert_eq!(fields[4], "grpc");
    assert!(!fields[5].ends_with('='), "base64 without padding");
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fields[5])
        .unwrap();
    (fields[3].to_string(), CertificateDer::from(der))
}

/// Connects with the given client identity, sends the HTTP/2 preface, and reports whether the
/// server answered with an HTTP/2 frame.
async fn speaks_http2(
    socket: &str,
    server_cert: &CertificateDer<'static>,
    identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> bool {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_cert.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let Ok(mut tls) = connector
        .connect(ServerName::try_from("localhost").unwrap(), stream)
        .await
    else {
        return false;
    };
    assert_eq!(
        tls.get_ref().1.alpn_protocol(),
        Some(&b"h2"[..]),
        "ALPN selects h2"
    );
    if tls
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .is_err()
    {
        return false;
    }
    let mut header = [0u8; 9];
    match tokio::time::timeout(Duration::from_secs(5), tls.read_exact(&mut header)).await {
        Ok(Ok(_)) => header[3] == 0x04, // a SETTINGS frame
        _ => false,
    }
}

#[tokio::test]
async fn the_pinned_client_certificate_gets_an_http2_session() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, cert, key) = client_identity();
    let (socket, server_cert) = start_plugin(pem, dir.path()).await;
    assert!(
        socket.starts_with(dir.path().to_str().unwrap()),
        "PLUGIN_UNIX_SOCKET_DIR is honoured"
    );
    assert!(speaks_http2(&socket, &server_cert, Some((cert, key))).await);
}

#[tokio::test]
async fn a_client_without_a_certificate_cannot_call_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (pem, _, _) = client_identity();
    let (socket, server_cert) = start_plugin(pem, dir.path()).await;
    assert!(!speaks_http2(&socket, &server_cert, None).await);
}

#[tokio::test]
async fn a_client_with_another_certificate_cannot_call_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (pinned_pem, _, _) = client_identity();
    let (_, other_cert, other_key) = client_identity();
    let (socket, server_cert) = start_plugin(pinned_pem, dir.path()).await;
    assert!(!speaks_http2(&socket, &server_cert, Some((other_cert, other_key))).await);
}
