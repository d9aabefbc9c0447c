//! Stand-ins for the network services the gatekeeper (`stacks/network-health`) checks, so that
//! `ralf demo` passes it without a real network: a DNS responder (UDP and TCP) that answers the
//! node's name with its address, an SNTP responder that tells this machine's time, and HTTP
//! endpoints (the reverse proxy's and the observability endpoint's) that answer `200 ok`.
//!
//! They listen on the hosts the gatekeeper's `env/<env>.tfvars` names (read from that file, so
//! the tree stays the one place that says where), on ports the system picks free, so two demos
//! (or two demo tests) on one machine never collide; [`GatekeeperTargets::env`] hands the ports
//! to the gatekeeper through the variables its `terragrunt.hcl` reads. Only addresses on this
//! machine (loopback, or the lab's own bridge) are served: nothing here sends traffic anywhere,
//! it only answers. Plain std networking, one thread per socket; dropping [`Standins`] stops them.
//! Knows nothing of Terraform, the provider or the simulator.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the stand-ins listen, as the gatekeeper's tfvars names it. Only hosts: the ports are
/// picked when they start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandinHosts {
    /// The gateway (`gateway`): the DNS answer for `dns_name`, and where the two HTTP
    /// endpoints listen.
    pub gateway: Ipv4Addr,
    /// The resolver's address (`dns_server`).
    pub dns_server: IpAddr,
    /// The name it must resolve (`dns_name`), lower case, without the final dot.
    pub dns_name: String,
    /// The time server's address (`ntp_server`).
    pub ntp_server: IpAddr,
}

/// What the running stand-ins serve, with the ports they got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatekeeperTargets {
    pub dns: SocketAddr,
    pub ntp: SocketAddr,
    pub reverse_proxy: SocketAddr,
    pub observability: SocketAddr,
}

/// The variables the gatekeeper's `terragrunt.hcl` reads the stand-ins' ports and URLs from.
pub const DNS_PORT_VAR: &str = "RALF_GATEKEEPER_DNS_PORT";
pub const NTP_PORT_VAR: &str = "RALF_GATEKEEPER_NTP_PORT";
pub const REVERSE_PROXY_URL_VAR: &str = "RALF_GATEKEEPER_REVERSE_PROXY_URL";
pub const OBSERVABILITY_URL_VAR: &str = "RALF_GATEKEEPER_OBSERVABILITY_URL";

/// The observability endpoint's health path (Prometheus's, as env/functional.tfvars probes it).
const OBSERVABILITY_PATH: &str = "/-/healthy";

impl GatekeeperTargets {
    /// The environment that points the gatekeeper at these targets.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (DNS_PORT_VAR.to_string(), self.dns.port().to_string()),
            (NTP_PORT_VAR.to_string(), self.ntp.port().to_string()),
            (
                REVERSE_PROXY_URL_VAR.to_string(),
                format!("http://{}/", self.reverse_proxy),
            ),
            (
                OBSERVABILITY_URL_VAR.to_string(),
                format!("http://{}{OBSERVABILITY_PATH}", self.observability),
            ),
        ]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    #[error("the gatekeeper's tfvars {file}: {problem}")]
    Targets { file: String, problem: String },
    #[error("cannot serve the gatekeeper's stand-in {what} on {addr}: {source} (is {addr} an address of this machine?)")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl StandinHosts {
    /// Reads the hosts from a gatekeeper tfvars file's text; `file` names it in errors.
    pub fn from_tfvars(text: &str, file: &str) -> Result<StandinHosts, StandinError> {
        let problem = |problem: String| StandinError::Targets {
            file: file.to_string(),
            problem,
        };
        let vars: serde_json::Value =
            hcl::from_str(text).map_err(|e| problem(format!("not valid HCL: {e}")))?;
        let text_of = |name: &str| -> Result<String, StandinError> {
            vars[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| problem(format!("`{name}` must be set to a string")))
        };
        let ip_of = |name: &str| -> Result<IpAddr, StandinError> {
            let value = text_of(name)?;
            value.parse().map_err(|_| {
                problem(format!(
                    "`{name}` = {value:?} must be an IP address for the stand-ins"
                ))
            })
        };
        let gateway = match ip_of("gateway")? {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => return Err(problem("`gateway` must be IPv4".to_string())),
        };
        Ok(StandinHosts {
            gateway,
            dns_server: ip_of("dns_server")?,
            dns_name: text_of("dns_name")?
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            ntp_server: ip_of("ntp_server")?,
        })
    }
}

/// The running stand-ins; dropping it stops them.
pub struct Standins {
    /// Where each stand-in listens.
    pub targets: GatekeeperTargets,
    /// What is served where, for the demo's output.
    pub served: Vec<String>,
    _threads: Threads,
}

/// The stand-ins' threads; dropping it stops and joins them (also when [`start`] fails half-way).
struct Threads {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Threads {
    fn spawn(&mut self, serve: impl FnOnce(&AtomicBool) + Send + 'static) {
        let stop = self.stop.clone();
        self.handles.push(std::thread::spawn(move || serve(&stop)));
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.handles.drain(..) {
            let _ = t.join();
        }
    }
}

/// How often a stand-in's thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// How many free UDP ports the DNS responder tries before giving up on finding one whose TCP
/// twin is free as well.
const DNS_PORT_TRIES: usize = 32;

fn bind_err(what: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> StandinError {
    move |source| StandinError::Bind { what, addr, source }
}

/// A UDP socket on a free port of `ip`, and that port.
fn bind_udp(what: &'static str, ip: IpAddr) -> Result<(UdpSocket, SocketAddr), StandinError> {
    let any = SocketAddr::new(ip, 0);
    let socket = UdpSocket::bind(any).map_err(bind_err(what, any))?;
    let addr = socket.local_addr().map_err(bind_err(what, any))?;
    Ok((socket, addr))
}

/// A TCP listener on a free port of `ip`, and that port.
fn bind_tcp(what: &'static str, ip: IpAddr) -> Result<(TcpListener, SocketAddr), StandinError> {
    let any = SocketAddr::new(ip, 0);
    let listener = TcpListener::bind(any).map_err(bind_err(what, any))?;
    let addr = listener.local_addr().map_err(bind_err(what, any))?;
    Ok((listener, addr))
}

/// A UDP socket and a TCP listener on one free port of `ip` (DNS serves both on one port).
fn bind_udp_and_tcp(ip: IpAddr) -> Result<(UdpSocket, TcpListener, SocketAddr), StandinError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let (udp, addr) = bind_udp("DNS responder", ip)?;
        match TcpListener::bind(addr) {
            Ok(tcp) => return Ok((udp, tcp, addr)),
            // That port is taken for TCP: let the system pick another.
            Err(_) if tries < DNS_PORT_TRIES => continue,
            Err(source) => {
                return Err(StandinError::Bind {
                    what: "DNS responder (TCP beside UDP)",
                    addr,
                    source,
                })
            }
        }
    }
}

/// Starts every stand-in on its host, each on a free port.
pub fn start(hosts: &StandinHosts) -> Result<Standins, StandinError> {
    let mut threads = Threads {
        stop: Arc::new(AtomicBool::new(false)),
        handles: Vec::new(),
    };
    let mut served = Vec::new();

    let zone = vec![(hosts.dns_name.clone(), hosts.gateway)];
    let (udp, tcp, dns) = bind_udp_and_tcp(hosts.dns_server)?;
    let z = zone.clone();
    threads.spawn(move |stop| serve_udp(&udp, stop, |q| dns_answer(q, &z)));
    threads.spawn(move |stop| serve_tcp(&tcp, stop, |stream| dns_over_tcp(stream, &zone)));
    served.push(format!(
        "DNS {dns} (udp+tcp: {} A {})",
        hosts.dns_name, hosts.gateway
    ));

    let (ntp_socket, ntp) = bind_udp("SNTP responder", hosts.ntp_server)?;
    threads.spawn(move |stop| serve_udp(&ntp_socket, stop, sntp_answer));
    served.push(format!("SNTP {ntp}"));

    let gateway = IpAddr::V4(hosts.gateway);
    let (proxy_listener, reverse_proxy) = bind_tcp("reverse proxy", gateway)?;
    threads.spawn(move |stop| serve_tcp(&proxy_listener, stop, http_ok));
    served.push(format!("HTTP {reverse_proxy} (reverse proxy)"));
    let (observability_listener, observability) = bind_tcp("observability endpoint", gateway)?;
    threads.spawn(move |stop| serve_tcp(&observability_listener, stop, http_ok));
    served.push(format!("HTTP {observability} (observability endpoint)"));

    Ok(Standins {
        targets: GatekeeperTargets {
            dns,
            ntp,
            reverse_proxy,
            observability,
        },
        served,
        _threads: threads,
    })
}

fn serve_udp(socket: &UdpSocket, stop: &AtomicBool, answer: impl Fn(&[u8]) -> Option<Vec<u8>>) {
    if socket.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::SeqCst) {
        let Ok((len, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if let Some(reply) = answer(&buf[..len]) {
            let _ = socket.send_to(&reply, peer);
        }
    }
}

fn serve_tcp(listener: &TcpListener, stop: &AtomicBool, handle: impl Fn(&mut TcpStream)) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
                handle(&mut stream);
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Reads a request head and answers `200 ok` (any method, any path).
fn http_ok(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
    );
}

/// DNS over TCP (RFC 1035 4.2.2): messages with a two-byte length in front.
fn dns_over_tcp(stream: &mut TcpStream, zone: &[(String, Ipv4Addr)]) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut query).is_err() {
            return;
        }
        let Some(reply) = dns_answer(&query, zone) else {
            return;
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        if stream.write_all(&reply_len.to_be_bytes()).is_err() || stream.write_all(&reply).is_err()
        {
            return;
        }
    }
}

const DNS_TYPE_A: u16 = 1;
const DNS_TYPE_ANY: u16 = 255;
const DNS_CLASS_IN: u16 = 1;
const DNS_NXDOMAIN: u8 = 3;
const DNS_FORMERR: u8 = 1;

/// The authoritative answer to one DNS query (RFC 1035 4.1): A records for the names in
/// `zone`, no data for their other types, NXDOMAIN for other names, FORMERR for what is not
/// one plain question. `None` for what is not a query at all.
pub fn dns_answer(query: &[u8], zone: &[(String, Ipv4Addr)]) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return None;
    }
    let header = |rcode: u8, qd: u16, an: u16| {
        let mut h = Vec::with_capacity(12);
        h.extend_from_slice(&query[0..2]);
        // QR, opcode QUERY, AA, RD copied; no recursion available.
        h.push(0x80 | 0x04 | (query[2] & 0x01));
        h.push(rcode);
        for count in [qd, an, 0, 0] {
            h.extend_from_slice(&count.to_be_bytes());
        }
        h
    };
    let opcode = (query[2] >> 3) & 0x0f;
    if opcode != 0 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return Some(header(DNS_FORMERR, 0, 0));
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return Some(header(DNS_FORMERR, 0, 0));
        }
        let label = query.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*query.get(pos)?, *query.get(pos + 1)?]);
    let qclass = u16::from_be_bytes([*query.get(pos + 2)?, *query.get(pos + 3)?]);
    let question = &query[12..pos + 4];
    let name = labels.join(".");
    let address = zone.iter().find(|(n, _)| *n == name).map(|(_, ip)| *ip);
    let Some(address) = address else {
        let mut reply = header(DNS_NXDOMAIN, 1, 0);
        reply.extend_from_slice(question);
        return Some(reply);
    };
    let answers = qclass == DNS_CLASS_IN && (qtype == DNS_TYPE_A || qtype == DNS_TYPE_ANY);
    let mut reply = header(0, 1, u16::from(answers));
    reply.extend_from_slice(question);
    if answers {
        // The name by pointer to the question, type A, class IN, TTL 60 s, 4 bytes of address.
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        reply.extend_from_slice(&address.octets());
    }
    Some(reply)
}

/// Seconds from the NTP era (1900) to the Unix epoch (RFC 5905 6).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

fn ntp_now() -> [u8; 8] {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = (now.as_secs() + NTP_UNIX_OFFSET) as u32;
    let fraction = ((u64::from(now.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut ts = [0u8; 8];
    ts[..4].copy_from_slice(&seconds.to_be_bytes());
    ts[4..].copy_from_slice(&fraction.to_be_bytes());
    ts
}

/// The server's answer to an SNTP client request (RFC 4330 5): stratum 1 with this machine's
/// clock, the client's transmit time echoed as the originate time. `None` for anything else.
pub fn sntp_answer(request: &[u8]) -> Option<Vec<u8>> {
    if request.len() < 48 || request[0] & 0x07 != 3 {
        return None;
    }
    let version = (request[0] >> 3) & 0x07;
    let received = ntp_now();
    let mut reply = vec![0u8; 48];
    reply[0] = (version << 3) | 4;
    reply[1] = 1;
    reply[2] = request[2];
    reply[3] = 0xec; // precision 2^-20 s
    reply[12..16].copy_from_slice(b"LOCL");
    reply[16..24].copy_from_slice(&received);
    reply[24..32].copy_from_slice(&request[40..48]);
    reply[32..40].copy_from_slice(&received);
    reply[40..48].copy_from_slice(&ntp_now());
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    fn zone() -> Vec<(String, Ipv4Addr)> {
        vec![("pve.ralf.sim".to_string(), Ipv4Addr::new(127, 0, 0, 1))]
    }

    #[test]
    fn the_dns_stand_in_answers_the_nodes_name_with_its_address() {
        let reply = dns_answer(&query("PVE.ralf.sim", 1), &zone()).unwrap();
        assert_eq!(&reply[0..2], &[0x12, 0x34], "same id");
        assert_eq!(reply[2] & 0x84, 0x84, "a response, authoritative");
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one answer");
        assert_eq!(&reply[reply.len() - 4..], &[127, 0, 0, 1]);
    }

    #[test]
    fn the_dns_stand_in_says_nxdomain_for_other_names_and_no_data_for_other_types() {
        let reply = dns_answer(&query("gitea.ralf.sim", 1), &zone()).unwrap();
        assert_eq!(reply[3] & 0x0f, DNS_NXDOMAIN);
        let aaaa = dns_answer(&query("pve.ralf.sim", 28), &zone()).unwrap();
        assert_eq!(aaaa[3] & 0x0f, 0);
        assert_eq!(u16::from_be_bytes([aaaa[6], aaaa[7]]), 0, "no AAAA record");
    }

    #[test]
    fn the_dns_stand_in_ignores_responses_and_truncated_queries() {
        let mut response = query("pve.ralf.sim", 1);
        response[2] |= 0x80;
        assert_eq!(dns_answer(&response, &zone()), None);
        let q = query("pve.ralf.sim", 1);
        assert_eq!(dns_answer(&q[..q.len() - 3], &zone()), None);
    }

    #[test]
    fn the_sntp_stand_in_echoes_the_client_time_and_tells_its_own() {
        let mut request = vec![0u8; 48];
        request[0] = (4 << 3) | 3;
        request[40..48].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let reply = sntp_answer(&request).unwrap();
        assert_eq!(reply[0], (4 << 3) | 4, "version 4, server mode");
        assert_eq!(reply[1], 1, "stratum 1");
        assert_eq!(&reply[24..32], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let seconds = u32::from_be_bytes([reply[40], reply[41], reply[42], reply[43]]);
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!((i64::from(seconds) - (unix + NTP_UNIX_OFFSET) as u32 as i64).abs() < 5);
        assert_eq!(sntp_answer(&[0u8; 10]), None);
    }

    const SIM_HOSTS: &str = r#"
        gateway    = "127.0.0.1"
        dns_server = "127.0.0.53"
        dns_name   = "PVE.ralf.sim."
        ntp_server = "127.0.0.123"
    "#;

    fn loopback_hosts() -> StandinHosts {
        StandinHosts::from_tfvars(SIM_HOSTS, "sim.tfvars").unwrap()
    }

    /// The gatekeeper's directory in the example tree.
    fn gatekeeper_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/ralf-homelab/iac/stacks/network-health")
    }

    #[test]
    fn hosts_come_from_the_gatekeepers_tfvars_and_bad_ones_are_named() {
        assert_eq!(
            loopback_hosts(),
            StandinHosts {
                gateway: Ipv4Addr::LOCALHOST,
                dns_server: "127.0.0.53".parse().unwrap(),
                dns_name: "pve.ralf.sim".to_string(),
                ntp_server: "127.0.0.123".parse().unwrap(),
            }
        );
        let err = StandinHosts::from_tfvars(
            &SIM_HOSTS.replace("\"127.0.0.53\"", "\"resolver.lan\""),
            "sim.tfvars",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dns_server")
                && err.contains("resolver.lan")
                && err.contains("sim.tfvars"),
            "{err}"
        );
        let err = StandinHosts::from_tfvars("gateway = \"::1\"", "lab.tfvars")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`gateway` must be IPv4"), "{err}");
    }

    #[test]
    fn the_trees_sim_and_lab_tfvars_name_the_hosts_and_its_terragrunt_hcl_reads_the_ports() {
        for env in ["sim", "lab"] {
            let file = gatekeeper_dir().join(format!("env/{env}.tfvars"));
            let text = std::fs::read_to_string(&file).unwrap();
            let hosts = StandinHosts::from_tfvars(&text, env).unwrap();
            let on_this_machine = match env {
                "sim" => hosts.dns_server.is_loopback() && hosts.ntp_server.is_loopback(),
                _ => [
                    hosts.dns_server,
                    hosts.ntp_server,
                    IpAddr::V4(hosts.gateway),
                ]
                .iter()
                .all(|ip| *ip == IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1))),
            };
            assert!(on_this_machine, "{env}: {hosts:?}");
            for port_var in [
                "dns_port",
                "ntp_port",
                "reverse_proxy_url",
                "observability_url",
            ] {
                assert!(
                    !text.lines().any(|l| l.trim_start().starts_with(port_var)),
                    "{env}.tfvars must leave {port_var} to the stand-ins (a tfvars value wins over an input)"
                );
            }
        }
        let terragrunt = std::fs::read_to_string(gatekeeper_dir().join("terragrunt.hcl")).unwrap();
        for var in [
            DNS_PORT_VAR,
            NTP_PORT_VAR,
            REVERSE_PROXY_URL_VAR,
            OBSERVABILITY_URL_VAR,
        ] {
            assert!(
                terragrunt.contains(&format!("get_env(\"{var}\"")),
                "the gatekeeper's terragrunt.hcl reads {var}"
            );
        }
    }

    /// Asks a DNS stand-in over UDP for `pve.ralf.sim` and returns the address it answers.
    fn resolve_over_udp(server: SocketAddr) -> [u8; 4] {
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.send_to(&query("pve.ralf.sim", 1), server).unwrap();
        let mut buf = [0u8; 512];
        let (len, _) = client.recv_from(&mut buf).unwrap();
        buf[len - 4..len].try_into().unwrap()
    }

    fn http_get(addr: SocketAddr, path: &str) -> String {
        let mut http = TcpStream::connect(addr).unwrap();
        http.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).unwrap();
        response
    }

    /// The `host:port` of an `http://host:port/...` URL.
    fn authority(url: &str) -> SocketAddr {
        let rest = url.strip_prefix("http://").unwrap();
        rest.split('/').next().unwrap().parse().unwrap()
    }

    #[test]
    fn two_stand_in_sets_started_at_once_do_not_collide_and_the_gatekeeper_gets_their_ports() {
        let first = start(&loopback_hosts()).unwrap();
        let second = start(&loopback_hosts()).unwrap();
        for standins in [&first, &second] {
            let t = &standins.targets;
            assert_eq!(t.dns.ip(), "127.0.0.53".parse::<IpAddr>().unwrap());
            assert_eq!(t.ntp.ip(), "127.0.0.123".parse::<IpAddr>().unwrap());
            assert_eq!(t.reverse_proxy.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
            for addr in [t.dns, t.ntp, t.reverse_proxy, t.observability] {
                assert_ne!(addr.port(), 0, "{addr}: a real port");
            }
            // What the gatekeeper is told is where the stand-ins answer.
            let env: std::collections::BTreeMap<_, _> = t.env().into_iter().collect();
            let dns = SocketAddr::new(t.dns.ip(), env[DNS_PORT_VAR].parse().unwrap());
            assert_eq!(resolve_over_udp(dns), [127, 0, 0, 1]);
            let tcp_dns = TcpStream::connect(dns);
            assert!(tcp_dns.is_ok(), "DNS over TCP on the same port as UDP");
            let ntp = SocketAddr::new(t.ntp.ip(), env[NTP_PORT_VAR].parse().unwrap());
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut request = [0u8; 48];
            request[0] = (4 << 3) | 3;
            client.send_to(&request, ntp).unwrap();
            let mut buf = [0u8; 64];
            let (len, _) = client.recv_from(&mut buf).unwrap();
            assert_eq!((len, buf[1]), (48, 1), "a stratum 1 answer from {ntp}");
            let proxy = &env[REVERSE_PROXY_URL_VAR];
            assert!(
                http_get(authority(proxy), "/").starts_with("HTTP/1.1 200 OK"),
                "{proxy}"
            );
            let observability = &env[OBSERVABILITY_URL_VAR];
            assert!(observability.ends_with("/-/healthy"), "{observability}");
            assert!(http_get(authority(observability), "/-/healthy").starts_with("HTTP/1.1 200 OK"));
        }
        let (a, b) = (&first.targets, &second.targets);
        for (x, y) in [
            (a.dns, b.dns),
            (a.ntp, b.ntp),
            (a.reverse_proxy, b.reverse_proxy),
            (a.observability, b.observability),
        ] {
            assert_ne!(x, y, "each set has its own ports");
        }
    }

    #[test]
    fn the_stand_ins_stop_when_dropped_and_free_their_ports() {
        let standins = start(&loopback_hosts()).unwrap();
        let targets = standins.targets.clone();
        drop(standins);
        for addr in [targets.reverse_proxy, targets.observability, targets.dns] {
            assert!(TcpListener::bind(addr).is_ok(), "{addr} is free again");
        }
        for addr in [targets.dns, targets.ntp] {
            assert!(UdpSocket::bind(addr).is_ok(), "{addr} is free again");
        }
    }

    #[test]
    fn a_host_that_is_not_on_this_machine_is_a_clear_error() {
        // 192.0.2.1 (TEST-NET-1) is never an address of this machine; binding to it only asks
        // the kernel, nothing is sent.
        let hosts = StandinHosts {
            ntp_server: "192.0.2.1".parse().unwrap(),
            ..loopback_hosts()
        };
        let err = start(&hosts).err().expect("no stand-ins").to_string();
        assert!(
            err.contains("SNTP responder") && err.contains("192.0.2.1"),
            "{err}"
        );
    }
}
