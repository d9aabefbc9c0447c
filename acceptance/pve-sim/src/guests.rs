//! Guest emulation: while a container runs and its `net0` IPv4 lies in 127.0.0.0/8, the
//! ports its guest services declare are served on that address (TCP accept, or HTTP answers
//! with a fixed status and body). The set is reconciled after every cluster change.

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::cluster::GuestPort;
use crate::sim::lock;

struct ActivePort {
    vmid: u32,
    spec: GuestPort,
    handle: JoinHandle<()>,
}

#[derive(Default)]
pub(crate) struct GuestPorts {
    active: Mutex<HashMap<SocketAddrV4, ActivePort>>,
}

impl GuestPorts {
    /// Makes the served ports match `desired()`. `desired` is evaluated while this set is
    /// locked, so concurrent reconciliations always converge on the newest state.
    pub fn reconcile(&self, desired: impl FnOnce() -> Vec<(SocketAddrV4, u32, GuestPort)>) {
        let mut active = lock(&self.active);
        let desired = desired();
        active.retain(|addr, port| {
            let keep = desired
                .iter()
                .any(|(a, vmid, spec)| a == addr && *vmid == port.vmid && *spec == port.spec);
            if !keep {
                port.handle.abort();
            }
            keep
        });
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for (addr, vmid, spec) in desired {
            if active.contains_key(&addr) {
                continue;
            }
            match bind(addr) {
                Ok(listener) => {
                    let spec_for_task = spec.clone();
                    let handle = runtime.spawn(serve(listener, spec_for_task));
                    active.insert(addr, ActivePort { vmid, spec, handle });
                }
                Err(e) => tracing::warn!("CT {vmid}: cannot serve guest port {addr}: {e}"),
            }
        }
    }

    pub fn close_all(&self) {
        let mut active = lock(&self.active);
        for (_, port) in active.drain() {
            port.handle.abort();
        }
    }
}

fn bind(addr: SocketAddrV4) -> std::io::Result<tokio::net::TcpListener> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(std_listener)
}

async fn serve(listener: tokio::net::TcpListener, spec: GuestPort) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let spec = spec.clone();
                connections.spawn(async move {
                    if spec.kind == "http" {
                        answer_http(stream, &spec).await;
                    } else {
                        hold_tcp(stream).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn hold_tcp(mut stream: tokio::net::TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

fn reason(status: u16) -> &'static str {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}

async fn answer_http(mut stream: tokio::net::TcpStream, spec: &GuestPort) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                request.extend_from_slice(&buf[..n]);
                if request.windows(4).any(|w| w == b"\r\n\r\n") || request.len() > 65536 {
                    break;
                }
            }
        }
    }
    let status = spec.status.unwrap_or(200);
    let body = spec.body.clone().unwrap_or_default();
    let head_only = request.starts_with(b"HEAD ");
    let response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nServer: pve-sim-guest\r\n\r\n{}",
        reason(status),
        body.len(),
        if head_only { "" } else { body.as_str() }
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
