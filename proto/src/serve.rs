//! The go-plugin side of the process: the magic-cookie check, the unix socket, AutoMTLS with a
//! client certificate pinned to the one Terraform passes in `PLUGIN_CLIENT_CERT`, the one-line
//! handshake on stdout, the gRPC services, prompt exit on `GRPCController/Shutdown`, and a
//! `--debug` mode that serves without TLS for `TF_REATTACH_PROVIDERS`.
//!
//! Facts (hashicorp/go-plugin `server.go`, `mtls.go`, `docs/internals.md`): handshake
//! `1|6|unix|<path>|grpc|<server cert DER, base64 standard alphabet without padding>`; the
//! server certificate needs SAN `localhost` and the serverAuth EKU; Terraform's client
//! certificate is ECDSA P-521/SHA-512 and self-signed with CA:TRUE, so it is verified by exact
//! comparison plus the handshake signature, not by path building; ALPN must select `h2`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Notify};
use tonic::transport::server::Connected;

use crate::pb;
use crate::provider::Provider;
use crate::server::ProviderService;

/// The cookie Terraform and OpenTofu set for protocol 5 and 6 providers.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// gRPC message size limit, both ways (terraform-plugin-go uses the same).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("this binary is a Terraform provider plugin, not a command: {0}")]
    NotAPluginHost(String),
    #[error("Terraform offered plugin protocol versions {offered:?}, but this provider speaks only version 6: use Terraform 1.0 or newer, or OpenTofu")]
    UnsupportedProtocol { offered: String },
    #[error("PLUGIN_CLIENT_CERT does not hold a PEM certificate: {0}")]
    BadClientCert(String),
    #[error("cannot create the server certificate: {0}")]
    Certificate(String),
    #[error("cannot listen on unix socket {path}: {source}")]
    Listen {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error("cannot write the handshake line to stdout: {0}")]
    Stdout(std::io::Error),
}

/// What the process was started with, read from the environment go-plugin sets.
#[derive(Debug, Clone)]
pub struct PluginEnv {
    pub magic_cookie: Option<String>,
    pub protocol_versions: Option<String>,
    /// PEM of Terraform's client certificate; `None` when TLS is disabled.
    pub client_cert_pem: Option<String>,
    pub socket_dir: Option<PathBuf>,
}

impl PluginEnv {
    pub fn from_process() -> PluginEnv {
        PluginEnv {
            magic_cookie: std::env::var(MAGIC_COOKIE_KEY).ok(),
            protocol_versions: std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok(),
            client_cert_pem: std::env::var("PLUGIN_CLIENT_CERT")
                .ok()
                .filter(|s| !s.trim().is_empty()),
            socket_dir: std::env::var_os("PLUGIN_UNIX_SOCKET_DIR").map(PathBuf::from),
        }
    }
}

/// Identifies the provider in messages and in the reattach line.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// e.g. `registry.terraform.io/ralf-homelab/ralf`.
    pub provider_address: String,
    /// The binary's name, for the message shown when it is run by hand.
    pub binary_name: String,
    /// The provider's version, printed by `--version`.
    pub version: String,
    /// `tracing` targets (crate names) whose events are the provider's own and follow `TF_LOG`;
    /// other crates' events are shown from WARN up unless `TF_LOG=TRACE`.
    pub log_targets: Vec<String>,
}

/// Runs the process as Terraform expects: call from `main`. Returns the process exit code.
pub fn main_entry(provider: Arc<dyn Provider>, options: ServeOptions) -> i32 {
    let debug = std::env::args()
        .skip(1)
        .any(|a| a == "--debug" || a == "-debug");
    if std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-version")
    {
        println!("{} {}", options.binary_name, options.version);
        return 0;
    }
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        eprintln!("{}", usage(&options));
        return 0;
    }
    crate::logging::init(&options.log_targets);
    let env = PluginEnv::from_process();
    if !debug && env.magic_cookie.as_deref() != Some(MAGIC_COOKIE_VALUE) {
        eprintln!("{}", usage(&options));
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async {
        if debug {
            serve_debug(provider, &options, env.socket_dir.as_deref()).await
        } else {
            serve(provider, env, &mut std::io::stdout()).await
        }
    });
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{}: {e}", options.binary_name);
            1
        }
    }
}

fn usage(options: &ServeOptions) -> String {
    format!(
        "This binary is a plugin. These are not meant to be executed directly.\n\n\
         {name} {version} is the Terraform/OpenTofu provider {addr}. Terraform starts it by itself:\n\
         declare it in a configuration's required_providers block and run `terraform init`.\n\n\
         Without a registry, install a release (its zip and SHA256SUMS) into a mirror that `init` reads,\n\
         for Terraform's and OpenTofu's hostnames, and print the CLI configuration that uses it:\n\
         \x20 ralf provider install --from DIR_WITH_THE_RELEASE_FILES\n\
         (see docs/guides/installing.md; `cargo run -p ralf-release` makes a release from source).\n\n\
         To debug it, run `{name} --debug` and export the TF_REATTACH_PROVIDERS line it prints.",
        name = options.binary_name,
        version = options.version,
        addr = options.provider_address
    )
}

/// Serves one Terraform session: handshake on `stdout`, then gRPC until `Shutdown`.
pub async fn serve(
    provider: Arc<dyn Provider>,
    env: PluginEnv,
    stdout: &mut (dyn Write + Send),
) -> Result<(), ServeError> {
    let offered = env.protocol_versions.clone().unwrap_or_default();
    if !offered.is_empty() && !offered.split(',').any(|v| v.trim() == "6") {
        return Err(ServeError::UnsupportedProtocol { offered });
    }
    let tls = match &env.client_cert_pem {
        Some(pem) => Some(tls_setup(pem)?),
        None => None,
    };
    let (listener, socket_path) = bind_socket(env.socket_dir.as_deref())?;
    let cert_field = tls
        .as_ref()
        .map(|(_, der)| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    let line = format!("1|6|unix|{}|grpc|{}\n", socket_path.display(), cert_field);
    stdout
        .write_all(line.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(ServeError::Stdout)?;
    ignore_interrupts();
    crate::lifeline::exit_when_parent_goes_away();
    let acceptor = tls.map(|(config, _)| tokio_rustls::TlsAcceptor::from(Arc::new(config)));
    let result = run_grpc(provider, listener, acceptor, true).await;
    let _ = std::fs::remove_file(&socket_path);
    result
}

/// `--debug`: serve without TLS and print the `TF_REATTACH_PROVIDERS` value to export.
async fn serve_debug(
    provider: Arc<dyn Provider>,
    options: &ServeOptions,
    dir: Option<&Path>,
) -> Result<(), ServeError> {
    let (listener, socket_path) = bind_socket(dir)?;
    let reattach = serde_json::json!({
        options.provider_address.clone(): {
            "Protocol": "grpc",
            "ProtocolVersion": 6,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": "unix", "String": socket_path.display().to_string() }
        }
    });
    println!("Provider started in debug mode. To attach Terraform, run this in your shell:\n");
    println!("\texport TF_REATTACH_PROVIDERS='{reattach}'\n");
    println!("Stop the provider with Ctrl-C.");
    let _ = std::io::stdout().flush();
    let result = tokio::select! {
        r = run_grpc(provider, listener, None, false) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    let _ = std::fs::remove_file(&socket_path);
    result
}

fn bind_socket(dir: Option<&Path>) -> Result<(UnixListener, PathBuf), ServeError> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let mut last_error = None;
    for _ in 0..16 {
        let path = dir.join(format!("plugin{:016x}", random_u64()));
        match UnixListener::bind(&path) {
            Ok(listener) => return Ok((listener, path)),
            Err(e) => last_error = Some((path, e)),
        }
    }
    let (path, source) = last_error.expect("at least one attempt was made");
    Err(ServeError::Listen { path, source })
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if aws_lc_rs_random(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return (nanos as u64) ^ u64::from(std::process::id());
    }
    u64::from_le_bytes(bytes)
}

fn aws_lc_rs_random(buf: &mut [u8]) -> Result<(), rustls::Error> {
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(buf)
        .map_err(|_| rustls::Error::FailedToGetRandomBytes)
}

/// Go plugins ignore SIGINT: Ctrl-C reaches the whole process group, and Terraform handles it by
/// calling StopProvider.
fn ignore_interrupts() {
    if let Ok(mut signals) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    {
        tokio::spawn(async move {
            while signals.recv().await.is_some() {
                tracing::debug!("plugin received interrupt signal, ignoring");
            }
        });
    }
}

/// Builds the server TLS configuration and returns it with the server certificate's DER.
pub fn tls_setup(client_cert_pem: &str) -> Result<(rustls::ServerConfig, Vec<u8>), ServeError> {
    let client_cert = CertificateDer::from_pem_slice(client_cert_pem.as_bytes())
        .map_err(|e| ServeError::BadClientCert(e.to_string()))?;
    let (cert_der, key_der) = server_certificate()?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedClientCert {
        expected: client_cert,
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(vec![CertificateDer::from(cert_der.clone())], key_der)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((config, cert_der))
}

/// A fresh ECDSA P-256 certificate for `localhost`, valid for serverAuth.
///
/// Generating its key draws the process's first random number, which makes aws-lc seed its
/// generator. aws-lc's default seed source is CPU-jitter entropy, compiled at -O0 by design, which
/// cost ~30 ms per start, and Terraform starts the provider three times per plan. The workspace
/// builds aws-lc with `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (.cargo/config.toml), so the seed comes
/// from the operating system (getrandom), as ring and Go's crypto/rand do, and the DRBG above it
/// is unchanged. That keeps one crypto backend for everything, including the TLS 1.3 handshake
/// that verifies Terraform's P-521 client certificate, rather than splitting key generation onto
/// a second library. docs/PERFORMANCE.md ("Start-up") has the figures.
fn server_certificate() -> Result<(Vec<u8>, PrivateKeyDer<'static>), ServeError> {
    let cert_err = |e: rcgen::Error| ServeError::Certificate(e.to_string());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(cert_err)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(cert_err)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "tfplugin");
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyAgreement,
    ];
    let cert = params.self_signed(&key).map_err(cert_err)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().to_vec(), key_der))
}

/// Accepts exactly one client certificate: the one Terraform generated for this session.
#[derive(Debug)]
struct PinnedClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        true
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::warn!(
                "refused a TLS client whose certificate is not the one in PLUGIN_CLIENT_CERT"
            );
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// One accepted connection, with or without TLS.
enum Connection {
    Plain(UnixStream),
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl Connected for Connection {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_flush(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The go-plugin controller: `Shutdown` ends the process.
struct Controller {
    shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl pb::plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _request: tonic::Request<pb::plugin::Empty>,
    ) -> Result<tonic::Response<pb::plugin::Empty>, tonic::Status> {
        tracing::debug!("Terraform asked the plugin to shut down");
        self.shutdown.notify_one();
        Ok(tonic::Response::new(pb::plugin::Empty {}))
    }
}

/// gRPC health: the `plugin` service (and the server as a whole) is serving.
struct Health;

#[tonic::async_trait]
impl pb::health::health_server::Health for Health {
    async fn check(
        &self,
        request: tonic::Request<pb::health::HealthCheckRequest>,
    ) -> Result<tonic::Response<pb::health::HealthCheckResponse>, tonic::Status> {
        use pb::health::health_check_response::ServingStatus;
        let service = request.into_inner().service;
        let status = if service.is_empty() || service == "plugin" {
            ServingStatus::Serving
        } else {
            ServingStatus::ServiceUnknown
        };
        Ok(tonic::Response::new(pb::health::HealthCheckResponse {
            status: status as i32,
        }))
    }
}

async fn run_grpc(
    provider: Arc<dyn Provider>,
    listener: UnixListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    exit_on_shutdown: bool,
) -> Result<(), ServeError> {
    let shutdown = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel::<Result<Connection, std::io::Error>>(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::error!(error = %e, "accepting a connection failed");
                    continue;
                }
            };
            let tx = tx.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let connection = match acceptor {
                    None => Connection::Plain(stream),
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => Connection::Tls(Box::new(tls)),
                        Err(e) => {
                            tracing::warn!(error = %e, "TLS handshake with a client failed");
                            return;
                        }
                    },
                };
                let _ = tx.send(Ok(connection)).await;
            });
        }
    });
    let provider_service =
        pb::tfplugin6::provider_server::ProviderServer::new(ProviderService::new(provider))
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let controller = pb::plugin::grpc_controller_server::GrpcControllerServer::new(Controller {
        shutdown: shutdown.clone(),
    });
    let health = pb::health::health_server::HealthServer::new(Health);
    let signal = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.notified().await;
            if exit_on_shutdown {
                // Give the Shutdown response a moment to leave, then exit even if a client keeps a
                // stream open: Terraform kills plugins that linger.
                tokio::spawn(async {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    std::process::exit(0);
                });
            }
        }
    };
    tonic::transport::Server::builder()
        .add_service(provider_service)
        .add_service(controller)
        .add_service(health)
        .serve_with_incoming_shutdown(tokio_stream::wrappers::ReceiverStream::new(rx), signal)
        .await?;
    Ok(())
}
