//! The listener: accepts TCP connections, wraps them in TLS unless plain HTTP was asked for,
//! and serves HTTP/1.1 with the axum router (Proxmox API under `/api2/json`, admin API under
//! `/sim/`). Handlers can ask for the connection to be dropped without an answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::sim::Sim;

/// Marker a handler puts into a response's extensions to close the connection instead of
/// answering.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

#[derive(Debug)]
struct DroppedOnPurpose;

impl std::fmt::Display for DroppedOnPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DroppedOnPurpose {}

/// A simulator serving on a socket; shuts down on drop or via [`RunningSim::shutdown`].
pub struct RunningSim {
    endpoint: String,
    ssh: Option<crate::ssh::NodeSsh>,
    ca_pem: Option<String>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    sim: Arc<Sim>,
}

impl RunningSim {
    /// Starts a simulator listening on `listen` (port 0 picks a free port).
    pub async fn start(config: SimConfig, listen: SocketAddr) -> Result<RunningSim, SimError> {
        let sim = Sim::new(&config)?;
        let tls = if config.plain_http {
            None
        } else {
            Some(crate::tls::self_signed()?)
        };
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|error| SimError::Listen {
                addr: listen,
                error,
            })?;
        let local_addr = listener.local_addr().map_err(|error| SimError::Listen {
            addr: listen,
            error,
        })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let endpoint = format!("{scheme}://{local_addr}/");
        let ssh = match &config.ssh {
            Some(ssh_config) => {
                let node = sim.nodes.first().cloned().unwrap_or_default();
                Some(crate::ssh::NodeSsh::start(ssh_config, Arc::clone(&sim), node).await?)
            }
            None => None,
        };
        let router = crate::api::router(Arc::clone(&sim));
        let acceptor = tls
            .as_ref()
            .map(|t| tokio_rustls::TlsAcceptor::from(Arc::clone(&t.server_config)));
        let (stop_tx, stop_rx) = oneshot::channel();
        let server = tokio::spawn(accept_loop(listener, acceptor, router, stop_rx));
        Ok(RunningSim {
            endpoint,
            ssh,
            ca_pem: tls.map(|t| t.ca_pem),
            local_addr,
            stop: Some(stop_tx),
            server: Some(server),
            sim,
        })
    }

    /// `https://127.0.0.1:PORT/` (or `http://` when plain).
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The PEM of the CA that signed the server certificate (None when plain).
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// The socket address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The node's SSH address and the known_hosts line trusting it, when SSH is served.
    pub fn ssh(&self) -> Option<SshInfo> {
        self.ssh.as_ref().map(|s| SshInfo {
            addr: s.local_addr,
            known_hosts: s.known_hosts_line(),
        })
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = &self.server {
            server.abort();
        }
        if let Some(ssh) = &self.ssh {
            ssh.stop();
        }
        self.sim.shutdown();
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop_now();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve_connection(tls, router).await;
                            }
                        }
                        None => serve_connection(stream, router).await,
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

async fn serve_connection<S>(stream: S, router: axum::Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = match router.oneshot(req.map(Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                return Err(DroppedOnPurpose);
            }
            Ok(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Where the node's SSH server listens and how to trust it.
#[derive(Debug, Clone)]
pub struct SshInfo {
    pub addr: SocketAddr,
    /// `[127.0.0.1]:PORT ssh-ed25519 AAAA...`, for a client's known_hosts.
    pub known_hosts: String,
}

/// A simulator running on its own thread and tokio runtime, for tests that are not async.
/// Shuts down on drop.
pub struct BackgroundSim {
    endpoint: String,
    ssh: Option<SshInfo>,
    ca_pem: Option<String>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundSim {
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// The node's SSH server, when the config asked for one.
    pub fn ssh(&self) -> Option<SshInfo> {
        self.ssh.clone()
    }
    /// Stops the simulator and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }
    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundSim {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Starts a simulator on a thread with its own tokio runtime.
pub fn start_in_background(
    config: SimConfig,
    listen: SocketAddr,
) -> Result<BackgroundSim, SimError> {
    type Ready = Result<(String, Option<String>, SocketAddr, Option<SshInfo>), SimError>;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("pve-sim".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(SimError::Runtime(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                match RunningSim::start(config, listen).await {
                    Ok(sim) => {
                        let _ = ready_tx.send(Ok((
                            sim.endpoint(),
                            sim.ca_pem(),
                            sim.local_addr(),
                            sim.ssh(),
                        )));
                        let _ = stop_rx.await;
                        sim.shutdown().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        })
        .map_err(SimError::Runtime)?;
    match ready_rx.recv() {
        Ok(Ok((endpoint, ca_pem, local_addr, ssh))) => Ok(BackgroundSim {
            endpoint,
            ssh,
            ca_pem,
            local_addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(SimError::ThreadEnded)
        }
    }
}
