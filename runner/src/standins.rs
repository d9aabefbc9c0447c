//! Stand-ins for the network services the gatekeeper (`stacks/network-health`) checks, so that
//! `ralf demo` passes it without a real network: a DNS responder (UDP and TCP) that answers the
//! node's name with its address, an SNTP responder that tells this machine's time, and HTTP
//! endpoints (the reverse proxy's and the observability endpoint's) that answer `200 ok`.
//!
//! They serve exactly the targets the gatekeeper's `env/<env>.tfvars` names, read from that
//! file, so the tree stays the one place that says where they are. Only addresses on this
//! machine (loopback, or the lab's own bridge) are served: nothing here sends traffic anywhere,
//! it only answers. Plain std networking, one thread per socket; dropping [`Standins`] stops them.
//! Knows nothing of Terraform, the provider or the simulator.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The gatekeeper's targets, as its tfvars file names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatekeeperTargets {
    /// The resolver (`dns_server`:`dns_port`).
    pub dns: SocketAddr,
    /// The name it must resolve (`dns_name`), answered with `gateway`'s address.
    pub dns_name: String,
    pub dns_answer: Ipv4Addr,
    /// The time server (`ntp_server`:`ntp_port`).
    pub ntp: SocketAddr,
    /// `reverse_proxy_url` and `observability_url`, as host:port.
    pub http: Vec<SocketAddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    #[error("the gatekeeper's tfvars {file}: {problem}")]
    Targets { file: String, problem: String },
    #[error("cannot serve the gatekeeper's stand-in {what} on {addr}: {source} (is another `ralf demo` running, or is the port taken?)")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl GatekeeperTargets {
    /// Reads the targets from a gatekeeper tfvars file's text; `file` names it in errors.
    pub fn from_tfvars(text: &str, file: &str) -> Result<GatekeeperTargets, StandinError> {
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
        let port_of = |name: &str| -> Result<u16, StandinError> {
            vars[name]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
                .ok_or_else(|| problem(format!("`{name}` must be a port number, 1-65535")))
        };
        let url_addr = |name: &str| -> Result<SocketAddr, StandinError> {
            let url = text_of(name)?;
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                problem(format!(
                    "`{name}` = {url:?}: the stand-ins serve plain http:// URLs only"
                ))
            })?;
            let authority = rest.split('/').next().unwrap_or_default();
            authority.parse().map_err(|_| {
                problem(format!(
                    "`{name}` = {url:?} must name an IP address and port (http://IP:PORT/...)"
                ))
            })
        };
        let dns_answer = match ip_of("gateway")? {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => return Err(problem("`gateway` must be IPv4".to_string())),
        };
        Ok(GatekeeperTargets {
            dns: SocketAddr::new(ip_of("dns_server")?, port_of("dns_port")?),
            dns_name: text_of("dns_name")?
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            dns_answer,
            ntp: SocketAddr::new(ip_of("ntp_server")?, port_of("ntp_port")?),
            http: vec![
                url_addr("reverse_proxy_url")?,
                url_addr("observability_url")?,
            ],
        })
    }
}

/// The running stand-ins; dropping it stops them.
pub struct Standins {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// What is served where, for the demo's output.
    pub served: Vec<String>,
}

impl Drop for Standins {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// How often a stand-in's thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

fn bind_err(what: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> StandinError {
    move |source| StandinError::Bind { what, addr, source }
}

/// Starts every stand-in the targets name.
pub fn start(targets: &GatekeeperTargets) -> Result<Standins, StandinError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut standins = Standins {
        stop: stop.clone(),
        threads: Vec::new(),
        served: Vec::new(),
    };

    let zone = vec![(targets.dns_name.clone(), targets.dns_answer)];
    let udp = UdpSocket::bind(targets.dns).map_err(bind_err("DNS responder", targets.dns))?;
    let tcp = TcpListener::bind(targets.dns).map_err(bind_err("DNS responder", targets.dns))?;
    let (z, s) = (zone.clone(), stop.clone());
    standins.threads.push(std::thread::spawn(move || {
        serve_udp(&udp, &s, |q| dns_answer(q, &z))
    }));
    let s = stop.clone();
    standins.threads.push(std::thread::spawn(move || {
        serve_tcp(&tcp, &s, |stream| dns_over_tcp(stream, &zone))
    }));
    standins.served.push(format!(
        "DNS {} (udp+tcp: {} A {})",
        targets.dns, targets.dns_name, targets.dns_answer
    ));

    let ntp = UdpSocket::bind(targets.ntp).map_err(bind_err("SNTP responder", targets.ntp))?;
    let s = stop.clone();
    standins
        .threads
        .push(std::thread::spawn(move || serve_udp(&ntp, &s, sntp_answer)));
    standins.served.push(format!("SNTP {}", targets.ntp));

    for &addr in &targets.http {
        let listener = TcpListener::bind(addr).map_err(bind_err("HTTP endpoint", addr))?;
        let s = stop.clone();
        standins.threads.push(std::thread::spawn(move || {
            serve_tcp(&listener, &s, http_ok)
        }));
        standins.served.push(format!("HTTP {addr}"));
    }
    Ok(standins)
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

    #[test]
    fn targets_come_from_the_gatekeepers_tfvars_and_bad_ones_are_named() {
        let text = r#"
            gateway           = "127.0.0.1"
            dns_server        = "127.0.0.53"
            dns_port          = 5353
            dns_name          = "pve.ralf.sim"
            ntp_server        = "127.0.0.123"
            ntp_port          = 1123
            reverse_proxy_url = "http://127.0.0.80:8080/"
            observability_url = "http://127.0.0.90:9090/-/healthy"
        "#;
        let t = GatekeeperTargets::from_tfvars(text, "sim.tfvars").unwrap();
        assert_eq!(t.dns, "127.0.0.53:5353".parse().unwrap());
        assert_eq!(t.ntp, "127.0.0.123:1123".parse().unwrap());
        assert_eq!(
            t.http,
            vec![
                "127.0.0.80:8080".parse().unwrap(),
                "127.0.0.90:9090".parse().unwrap()
            ]
        );
        let err = GatekeeperTargets::from_tfvars(
            &text.replace("http://127.0.0.80:8080/", "https://proxy/"),
            "sim.tfvars",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("reverse_proxy_url") && err.contains("sim.tfvars"),
            "{err}"
        );
    }

    #[test]
    fn the_stand_ins_answer_over_the_network_and_stop_when_dropped() {
        let targets = GatekeeperTargets {
            dns: "127.0.0.1:0".parse().unwrap(),
            dns_name: "pve.ralf.sim".into(),
            dns_answer: Ipv4Addr::LOCALHOST,
            ntp: "127.0.0.1:0".parse().unwrap(),
            http: vec![],
        };
        // Port 0 binds UDP and TCP to different ports: pick one that is free for both.
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let http_port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let targets = GatekeeperTargets {
            dns: SocketAddr::from(([127, 0, 0, 1], port)),
            http: vec![SocketAddr::from(([127, 0, 0, 1], http_port))],
            ..targets
        };
        let standins = start(&targets).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client
            .send_to(&query("pve.ralf.sim", 1), targets.dns)
            .unwrap();
        let mut buf = [0u8; 512];
        let (len, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[len - 4..len], &[127, 0, 0, 1]);

        let mut http = TcpStream::connect(targets.http[0]).unwrap();
        http.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        http.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");

        drop(standins);
        assert!(
            TcpListener::bind(targets.http[0]).is_ok(),
            "the port is free again"
        );
    }
}
