//! The `ping { host }` check: one ICMP echo request, passing when the matching reply arrives.
//!
//! It first tries an unprivileged ICMP datagram socket (Linux allows it to the groups in the
//! sysctl `net.ipv4.ping_group_range`), then a raw socket (needs root or `CAP_NET_RAW`). When
//! neither may be opened the check is SKIP "ICMP not permitted: ..." with both errors, never OK.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::parse::{self, ParseError};
use super::Outcome;
use resolve::NameResolver;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// Marks the payload so that only replies to this check's request are taken.
const PAYLOAD_TAG: &[u8; 8] = b"ralf-png";

/// Sends an ICMP echo request to `host` (an address or a DNS name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingCheck {
    pub host: String,
}

impl PingCheck {
    /// Checks the host, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        parse::validate_host(&self.host)
    }

    pub(crate) async fn attempt(&self, resolver: &NameResolver) -> Outcome {
        // The first address, as ping(8) does.
        let address = match resolver.lookup(&self.host).await {
            Ok(addresses) => addresses[0],
            Err(error) => return Outcome::Fail(error.to_string()),
        };
        let socket = match IcmpSocket::open(address) {
            Ok(socket) => socket,
            Err(OpenError::NotPermitted(reason)) => {
                return Outcome::Skip(format!("ICMP not permitted: {reason}"))
            }
            Err(OpenError::Failed(reason)) => {
                return Outcome::Fail(format!("cannot open an ICMP socket: {reason}"))
            }
        };
        match socket.echo(address).await {
            Ok(elapsed_us) => Outcome::Ok(format!(
                "echo reply from {address} in {}.{:03}ms",
                elapsed_us / 1000,
                elapsed_us % 1000
            )),
            Err(error) => Outcome::Fail(format!("ping {address} failed: {error}")),
        }
    }
}

enum OpenError {
    NotPermitted(String),
    Failed(String),
}

struct IcmpSocket {
    fd: AsyncFd<Socket>,
    /// Raw IPv4 sockets deliver the IP header too, and every ICMP packet of the host.
    raw: bool,
}

impl IcmpSocket {
    fn open(address: IpAddr) -> Result<Self, OpenError> {
        let (domain, protocol) = match address {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
        };
        let datagram_error = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
            Ok(socket) => return Self::wrap(socket, false),
            Err(error) => error,
        };
        match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(socket) => Self::wrap(socket, true),
            Err(raw_error) => Err(OpenError::NotPermitted(format!(
                "unprivileged ICMP socket: {datagram_error}; raw ICMP socket: {raw_error} \
                 (allow this user's group in the sysctl net.ipv4.ping_group_range, or give the provider \
                 CAP_NET_RAW; or use a tcp check instead)"
            ))),
        }
    }

    fn wrap(socket: Socket, raw: bool) -> Result<Self, OpenError> {
        socket
            .set_nonblocking(true)
            .map_err(|error| OpenError::Failed(error.to_string()))?;
        // SAFETY: `Socket` owns its file descriptor, keeps it open until dropped and always
        // returns that same descriptor from `as_raw_fd`; the `AsyncFd` takes ownership of it.
        let fd = unsafe { AsyncFd::register(socket) }
            .map_err(|error| OpenError::Failed(error.to_string()))?;
        Ok(IcmpSocket { fd, raw })
    }

    /// Sends one echo request and waits (without limit: the caller times out) for its reply;
    /// returns the round trip in microseconds.
    async fn echo(&self, address: IpAddr) -> io::Result<u128> {
        let v6 = address.is_ipv6();
        let identifier: u16 = rand::random();
        let sequence: u16 = rand::random();
        let nonce: [u8; 8] = rand::random();
        let request = echo_request(v6, identifier, sequence, &nonce);
        let destination = SockAddr::from(SocketAddr::new(address, 0));
        let started = Instant::now();
        self.fd
            .async_io(Interest::WRITABLE, |socket| {
                socket.send_to(&request, &destination)
            })
            .await?;
        let mut buffer = [0u8; 2048];
        loop {
            let length = self
                .fd
                .async_io(Interest::READABLE, |socket| {
                    let mut reader: &Socket = socket;
                    reader.read(&mut buffer)
                })
                .await?;
            let packet = &buffer[..length];
            let icmp = if self.raw && !v6 {
                strip_ipv4_header(packet)
            } else {
                Some(packet)
            };
            // A datagram socket gets its identifier from the kernel, so only raw sockets match it.
            let expected_identifier = self.raw.then_some(identifier);
            if icmp.is_some_and(|icmp| is_reply(icmp, v6, expected_identifier, sequence, &nonce)) {
                return Ok(started.elapsed().as_micros());
            }
        }
    }
}

fn echo_request(v6: bool, identifier: u16, sequence: u16, nonce: &[u8; 8]) -> Vec<u8> {
    let mut packet = vec![if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 }, 0, 0, 0];
    packet.extend_from_slice(&identifier.to_be_bytes());
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(PAYLOAD_TAG);
    packet.extend_from_slice(nonce);
    // The kernel fills in the ICMPv6 checksum (it covers a pseudo-header only it knows).
    if !v6 {
        let checksum = internet_checksum(&packet);
        packet[2..4].copy_from_slice(&checksum.to_be_bytes());
    }
    packet
}

fn is_reply(
    icmp: &[u8],
    v6: bool,
    identifier: Option<u16>,
    sequence: u16,
    nonce: &[u8; 8],
) -> bool {
    let reply_type = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if icmp.len() < 8 + PAYLOAD_TAG.len() + nonce.len() || icmp[0] != reply_type || icmp[1] != 0 {
        return false;
    }
    let identifier_matches = identifier.is_none_or(|expected| icmp[4..6] == expected.to_be_bytes());
    let payload = &icmp[8..];
    identifier_matches
        && icmp[6..8] == sequence.to_be_bytes()
        && payload.starts_with(PAYLOAD_TAG)
        && payload[PAYLOAD_TAG.len()..].starts_with(nonce)
}

fn strip_ipv4_header(packet: &[u8]) -> Option<&[u8]> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_length = usize::from(first & 0x0f) * 4;
    packet.get(header_length..)
}

/// The one's-complement sum of RFC 1071.
fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_checksum_verifies_to_zero() {
        let packet = echo_request(false, 0x1234, 7, b"abcdefgh");
        assert_eq!(internet_checksum(&packet), 0);
    }

    #[test]
    fn reply_matches_only_own_identifier_sequence_and_nonce() {
        let nonce = *b"12345678";
        let mut reply = echo_request(false, 9, 10, &nonce);
        reply[0] = ECHO_REPLY_V4;
        assert!(is_reply(&reply, false, Some(9), 10, &nonce));
        assert!(is_reply(&reply, false, None, 10, &nonce));
        assert!(!is_reply(&reply, false, Some(8), 10, &nonce));
        assert!(!is_reply(&reply, false, Some(9), 11, &nonce));
        assert!(!is_reply(&reply, false, Some(9), 10, b"87654321"));
        let request = echo_request(false, 9, 10, &nonce);
        assert!(!is_reply(&request, false, Some(9), 10, &nonce));
    }

    #[test]
    fn raw_ipv4_packets_lose_their_header_before_matching() {
        let mut packet = vec![0x45u8];
        packet.extend_from_slice(&[0; 19]);
        packet.extend_from_slice(&[ECHO_REPLY_V4, 0]);
        assert_eq!(strip_ipv4_header(&packet), Some(&[ECHO_REPLY_V4, 0][..]));
        assert_eq!(strip_ipv4_header(&[0x60]), None);
    }
}
