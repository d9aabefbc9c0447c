//! `pve-sim bench`: starts an in-process simulator, creates many containers through the API,
//! then measures requests per second and latency of `GET /nodes/{node}/lxc/{vmid}/config`
//! over keep-alive connections, the latency of `GET /cluster/resources` (one connection,
//! unchanged cluster), and the process's resident memory at that size.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::{RunningSim, SimConfig};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub containers: u32,
    pub requests: u32,
    pub concurrency: u32,
    pub plain_http: bool,
}

/// The measured figures.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub options: BenchOptions,
    pub create_seconds: f64,
    pub requests_per_second: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// `GET /cluster/resources` latency over [`RESOURCES_CALLS`] calls: median and maximum.
    pub resources_p50: Duration,
    pub resources_max: Duration,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        writeln!(
            f,
            "pve-sim bench: {} containers, {} x GET config, {} connections, {}",
            o.containers,
            o.requests,
            o.concurrency,
            if o.plain_http { "plain HTTP" } else { "HTTPS" }
        )?;
        writeln!(
            f,
            "  create {} containers: {:.2} s",
            o.containers, self.create_seconds
        )?;
        writeln!(
            f,
            "  GET config: {:.0} requests/s",
            self.requests_per_second
        )?;
        writeln!(
            f,
            "  latency: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max)
        )?;
        writeln!(
            f,
            "  GET /cluster/resources ({RESOURCES_CALLS} calls): p50 {:.3} ms, max {:.3} ms",
            ms(self.resources_p50),
            ms(self.resources_max)
        )?;
        let kib = |v: Option<u64>| {
            v.map_or("unknown".to_string(), |k| {
                format!("{:.1} MiB", k as f64 / 1024.0)
            })
        };
        write!(
            f,
            "  resident memory (whole process): {} before, {} with {} containers",
            kib(self.rss_before_kib),
            kib(self.rss_after_kib),
            o.containers
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// VmRSS of this process in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

const TOKEN: &str = "PVEAPIToken=root@pam!ralf=ralf-secret";

/// A keep-alive client connection to the simulator.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: String,
}

impl Client {
    async fn connect(sim: &RunningSim) -> anyhow::Result<Client> {
        let addr = sim.local_addr();
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let authority = addr.to_string();
        let sender = match sim.ca_pem() {
            Some(_) => {
                let connector = tls_connector(sim)?;
                let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?;
                let tls = connector.connect(name, stream).await?;
                let (sender, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
                tokio::spawn(conn);
                sender
            }
            None => {
                let (sender, conn) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(conn);
                sender
            }
        };
        Ok(Client { sender, authority })
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        form: Option<String>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.authority.as_str())
            .header(hyper::header::AUTHORIZATION, TOKEN);
        if form.is_some() {
            builder = builder.header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        }
        let request = builder.body(Full::new(Bytes::from(form.unwrap_or_default())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

fn tls_connector(sim: &RunningSim) -> anyhow::Result<tokio_rustls::TlsConnector> {
    use rustls::pki_types::pem::PemObject;
    let pem = sim.ca_pem().unwrap_or_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(crate::tls::crypto_provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// How many `GET /cluster/resources` calls the bench times.
pub const RESOURCES_CALLS: usize = 50;

/// Runs the benchmark.
pub async fn run(options: BenchOptions) -> anyhow::Result<BenchReport> {
    let rss_before_kib = rss_kib();
    let config = SimConfig {
        plain_http: options.plain_http,
        task_duration: Duration::ZERO,
        ..SimConfig::default()
    };
    let sim = RunningSim::start(config, "127.0.0.1:0".parse()?).await?;

    let created = Instant::now();
    let mut client = Client::connect(&sim).await?;
    for i in 0..options.containers {
        let vmid = 1000 + i;
        let form = format!(
            "vmid={vmid}&ostemplate=local%3Avztmpl%2Fubuntu-24.04-standard_24.04-2_amd64.tar.zst&hostname=ct{vmid}&cores=1&memory=1024&swap=512&rootfs=local-lvm%3A8&net0=name%3Deth0%2Cbridge%3Dvmbr0%2Cip%3D10.10.{}.{}%2F16%2Cgw%3D10.10.0.1&features=nesting%3D1&tags=ralf%3Bbench&unprivileged=1",
            (i / 250) + 1,
            (i % 250) + 1
        );
        let (status, body) = client
            .call("POST", "/api2/json/nodes/pve/lxc", Some(form))
            .await?;
        if status != 200 {
            anyhow::bail!(
                "create of CT {vmid} failed: HTTP {status} {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    // Wait until every create task has finished.
    loop {
        let (_, body) = client.call("GET", "/sim/containers", None).await?;
        let list: serde_json::Value = serde_json::from_slice(&body)?;
        let busy = list
            .as_array()
            .map(|a| a.iter().filter(|c| !c["lock"].is_null()).count())
            .unwrap_or(0);
        if busy == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let create_seconds = created.elapsed().as_secs_f64();

    let per_worker = options.requests / options.concurrency.max(1);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..options.concurrency.max(1) {
        let mut client = Client::connect(&sim).await?;
        let containers = options.containers.max(1);
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker as usize);
            for i in 0..per_worker {
                let vmid = 1000 + (w * 7919 + i * 31) % containers;
                let path = format!("/api2/json/nodes/pve/lxc/{vmid}/config");
                let t = Instant::now();
                let (status, _) = client.call("GET", &path, None).await?;
                latencies.push(t.elapsed());
                if status != 200 {
                    anyhow::bail!("GET {path} answered HTTP {status}");
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let mut resources = Vec::with_capacity(RESOURCES_CALLS);
    for _ in 0..RESOURCES_CALLS {
        let t = Instant::now();
        let (status, _) = client
            .call("GET", "/api2/json/cluster/resources", None)
            .await?;
        resources.push(t.elapsed());
        if status != 200 {
            anyhow::bail!("GET /cluster/resources answered HTTP {status}");
        }
    }
    resources.sort();
    let report = BenchReport {
        resources_p50: resources[RESOURCES_CALLS / 2],
        resources_max: resources.last().copied().unwrap_or_default(),
        requests_per_second: latencies.len() as f64 / elapsed,
        p50: pct(0.50),
        p90: pct(0.90),
        p99: pct(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        create_seconds,
        rss_before_kib,
        rss_after_kib: rss_kib(),
        options,
    };
    sim.shutdown().await;
    Ok(report)
}
