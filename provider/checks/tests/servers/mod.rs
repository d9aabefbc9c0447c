//! Real servers on loopback for the check tests: dnsmasq (DNS), chronyd (NTP) and a rustls TLS
//! server with a test CA. Also used by the acceptance tests (acceptance/tests/tf_smoke_check.rs
//! includes this file), so that both start them the same way.
//!
//! Nothing here contacts anything beyond 127.0.0.0/8: dnsmasq has no upstream (`--no-resolv`)
//! and answers only its own records; chronyd has no sources and never touches the clock (`-x`).
//! dnsmasq and chronyd come from Debian (`apt-get install dnsmasq-base chrony`; .ci/run installs
//! them); a missing one fails the test saying so.

#![allow(dead_code)] // each test crate uses its own part

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn find_program(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|c| c.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` not found: these tests run real DNS and NTP servers on loopback \
                 (Debian: `apt-get install dnsmasq-base chrony`; .ci/run installs them)"
            )
        })
}

/// A free UDP port on 127.0.0.1 (released again for the server to take).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// A loopback address of its own for a server on a fixed port (a resolv.conf names no port, so
/// its nameserver listens on 53): `127.53.<process>.<n>`, distinct per process and per call.
pub fn own_loopback_address() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let process = std::process::id() % 250 + 1;
    Ipv4Addr::new(127, 53, process as u8, (n % 250 + 1) as u8)
}

/// A server process, killed when the test ends.
pub struct Server {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the server at `address:port` answers `probe` over UDP.
fn wait_until_answers(address: Ipv4Addr, port: u16, probe: &[u8], server: &mut Server, what: &str) {
    if let Err(e) = answers(address, port, probe, server, what) {
        panic!("{e}");
    }
}

/// Whether the server at `address:port` comes to answer `probe` over UDP; an error if it exits
/// first (e.g. its port was taken) or stays silent for 10 s.
fn answers(
    address: Ipv4Addr,
    port: u16,
    probe: &[u8],
    server: &mut Server,
    what: &str,
) -> Result<(), String> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let started = Instant::now();
    let mut answer = [0u8; 512];
    loop {
        let _ = socket.send_to(probe, (address, port));
        if socket.recv_from(&mut answer).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "{what} exited before serving {address}:{port}: {status}"
            ));
        }
        if started.elapsed() >= Duration::from_secs(10) {
            return Err(format!(
                "{what} did not answer on {address}:{port} within 10s"
            ));
        }
    }
}

/// A DNS question for `probe.ralf.lan A` (the answer, NXDOMAIN, shows the server is up).
const DNS_PROBE: &[u8] =
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05probe\x04ralf\x03lan\x00\x00\x01\x00\x01";

/// An SNTP client request (version 4, mode 3).
fn ntp_probe() -> [u8; 48] {
    let mut packet = [0u8; 48];
    packet[0] = (4 << 3) | 3;
    packet
}

/// dnsmasq on `address:port`, authoritative for `ralf.lan` only (no upstream, so nothing leaves
/// the machine), answering `records` (`name`, IPv4 address); other `ralf.lan` names do not exist.
/// Returns once it serves.
pub fn dnsmasq(address: Ipv4Addr, port: u16, records: &[(&str, &str)]) -> Server {
    start_dnsmasq(address, port, records).unwrap_or_else(|e| panic!("{e}"))
}

/// dnsmasq as [`dnsmasq`] does it, on 127.0.0.1 and a port free for both UDP and TCP (dnsmasq
/// takes both). Ports are released before dnsmasq binds them, so another process on the machine
/// may take one first (a loopback TCP connection's ephemeral port, for one): dnsmasq then exits
/// at once, and it is started again on another port, up to 5 times. Returns it and its port.
pub fn dnsmasq_on_a_free_port(records: &[(&str, &str)]) -> (Server, u16) {
    let mut failures = Vec::new();
    for _ in 0..5 {
        let port = free_udp_and_tcp_port();
        match start_dnsmasq(Ipv4Addr::LOCALHOST, port, records) {
            Ok(server) => return (server, port),
            Err(e) => failures.push(e),
        }
    }
    panic!("dnsmasq did not start on any of 5 free ports: {failures:?}");
}

/// A port on 127.0.0.1 free for UDP and for TCP at once (released again for the server).
fn free_udp_and_tcp_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("a free UDP port");
        let port = udp.local_addr().expect("addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn start_dnsmasq(address: Ipv4Addr, port: u16, records: &[(&str, &str)]) -> Result<Server, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(find_program("dnsmasq"));
    command.args([
        "--keep-in-foreground",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--local=/ralf.lan/",
        "--user=root",
    ]);
    command
        .arg(format!("--listen-address={address}"))
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.path().join("pid").display()));
    for (name, ip) in records {
        command.arg(format!("--host-record={name},{ip}"));
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq starts");
    let mut server = Server { child, _dir: dir };
    answers(address, port, DNS_PROBE, &mut server, "dnsmasq")?;
    Ok(server)
}

/// chronyd serving its local clock at stratum 8 on 127.0.0.1:`port`: no sources, `-x` (never
/// touches the system clock), no command port. Returns once it answers; it may answer
/// "unsynchronised" for a moment after that (retries cover it).
pub fn chronyd(port: u16) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\n\
             pidfile {}\n",
            dir.path().join("chronyd.pid").display()
        ),
    )
    .expect("chrony.conf");
    let child = Command::new(find_program("chronyd"))
        .args(["-d", "-x", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chronyd starts");
    let mut server = Server { child, _dir: dir };
    wait_until_answers(
        Ipv4Addr::LOCALHOST,
        port,
        &ntp_probe(),
        &mut server,
        "chronyd",
    );
    server
}

/// A UDP port on 127.0.0.1 that receives and never answers; open while the socket lives.
pub fn silent_udp() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    (socket, port)
}

/// Answers every NTP request once, with the server's clock `skew_seconds` ahead.
pub fn skewed_ntp_server(skew_seconds: u64, stratum: u8) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 48];
        while let Ok((read, from)) = socket.recv_from(&mut buffer) {
            if read < 48 {
                continue;
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock");
            let seconds = now.as_secs() + 2_208_988_800 + skew_seconds;
            let timestamp = seconds << 32;
            let mut answer = [0u8; 48];
            answer[0] = (4 << 3) | 4;
            answer[1] = stratum;
            answer[24..32].copy_from_slice(&buffer[40..48]); // origin = the client's transmit
            answer[32..40].copy_from_slice(&timestamp.to_be_bytes());
            answer[40..48].copy_from_slice(&timestamp.to_be_bytes());
            let _ = socket.send_to(&answer, from);
        }
    });
    port
}

/// A TCP port on 127.0.0.1 that accepts connections and never speaks.
pub fn silent_tcp() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A test CA and a certificate it issued.
pub struct Issued {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    pub leaf: rcgen::Certificate,
    pub key: rcgen::KeyPair,
}

/// A new test CA (its own name, so one CA is never taken for another's issuer) and a
/// certificate it issued for `names`, valid from yesterday for `days` more days.
pub fn issue(names: &[&str], days: i64) -> Issued {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!(
            "RALF test CA {}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ),
    );
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("leaf key");
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("leaf params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
    let leaf = params.signed_by(&key, &issuer).expect("leaf");
    Issued {
        ca_pem: ca.pem(),
        leaf,
        key,
    }
}

/// Serves TLS handshakes with the issued certificate on 127.0.0.1 (a thread per connection);
/// returns the port.
pub fn tls_server(issued: &Issued) -> u16 {
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(issued.key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![issued.leaf.der().clone()], key_der)
            .expect("server config"),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(mut connection) = rustls::ServerConnection::new(config) else {
                    return;
                };
                while connection.is_handshaking() {
                    if connection.complete_io(&mut stream).is_err() {
                        return;
                    }
                }
                connection.send_close_notify();
                let _ = connection.complete_io(&mut stream);
            });
        }
    });
    port
}
