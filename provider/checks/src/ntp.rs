//! The `ntp { server }` check: one SNTP query (RFC 4330, NTP version 4 client mode) to a server,
//! passing when the server is synchronised and this machine's clock is within `max_offset` of it.
//!
//! The check reads the clock and never sets it. It knows nothing about Terraform.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;

use super::parse::{self, format_duration, ParseError};
use super::tcp::host_port;
use super::Outcome;
use resolve::NameResolver;

/// Seconds from the NTP era 0 epoch (1900-01-01) to the Unix epoch (1970-01-01).
const NTP_TO_UNIX_SECONDS: u64 = 2_208_988_800;
/// An SNTP packet without extensions or authentication.
const PACKET_BYTES: usize = 48;
/// First byte of the request: leap indicator 0, version 4, mode 3 (client).
const CLIENT_HEADER: u8 = (4 << 3) | 3;

/// Asks `server:port` for the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtpCheck {
    /// An IP address or DNS name.
    pub server: String,
    pub port: u16,
    /// The largest offset between this machine's clock and the server's that passes.
    pub max_offset: Duration,
}

impl NtpCheck {
    /// The NTP port.
    pub const DEFAULT_PORT: u16 = 123;
    /// The offset bound when none is configured.
    pub const DEFAULT_MAX_OFFSET: Duration = Duration::from_secs(1);

    /// Checks the server and port, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        parse::validate_host(&self.server)?;
        parse::parse_port(i64::from(self.port))?;
        Ok(())
    }

    /// `server:port`.
    pub fn target(&self) -> String {
        host_port(&self.server, self.port)
    }

    pub(crate) async fn attempt(&self, resolver: &NameResolver) -> Outcome {
        let address = match resolver.socket_addrs(&self.server, self.port).await {
            Ok(addresses) => addresses[0],
            Err(error) => return Outcome::Fail(error.to_string()),
        };
        match self.query(address).await {
            Ok(sample) => self.judge(&sample),
            Err(error) => Outcome::Fail(format!("no NTP answer from {}: {error}", self.target())),
        }
    }

    fn judge(&self, sample: &Sample) -> Outcome {
        if sample.leap_unsynchronised || sample.stratum == 0 || sample.stratum > 15 {
            let why = if sample.stratum == 0 {
                format!("a kiss-o'-death packet ({})", sample.reference_id)
            } else {
                format!("stratum {}, clock not synchronised", sample.stratum)
            };
            return Outcome::Fail(format!(
                "{} is not a usable time source: it answered with {why}",
                self.target()
            ));
        }
        let offset = format_signed(sample.offset_seconds);
        let round_trip = format_duration(Duration::from_secs_f64(sample.delay_seconds.max(0.0)));
        let bound = format_duration(self.max_offset);
        if sample.offset_seconds.abs() <= self.max_offset.as_secs_f64() {
            Outcome::Ok(format!(
                "offset {offset} (within {bound}), stratum {}, round trip {round_trip}",
                sample.stratum
            ))
        } else {
            Outcome::Fail(format!(
                "clock offset to {} is {offset}, more than the allowed {bound} (stratum {}): \
                 fix the time on this machine or on the server",
                self.target(),
                sample.stratum
            ))
        }
    }

    async fn query(&self, address: SocketAddr) -> std::io::Result<Sample> {
        let bind: SocketAddr = if address.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind).await?;
        socket.connect(address).await?;

        let mut request = [0u8; PACKET_BYTES];
        request[0] = CLIENT_HEADER;
        let sent_at = ntp_now();
        request[40..48].copy_from_slice(&sent_at.to_be_bytes());
        socket.send(&request).await?;

        let mut answer = [0u8; PACKET_BYTES * 2];
        loop {
            let read = socket.recv(&mut answer).await?;
            let received_at = ntp_now();
            if read < PACKET_BYTES {
                continue;
            }
            let mode = answer[0] & 0x07;
            let origin = u64::from_be_bytes(field(&answer, 24));
            // Mode 4 is "server"; the origin timestamp must echo our transmit timestamp, which
            // ties the answer to this request (RFC 4330 section 5).
            if mode != 4 || origin != sent_at {
                continue;
            }
            return Ok(Sample::from_answer(&answer, sent_at, received_at));
        }
    }
}

/// What one answer says.
#[derive(Debug)]
struct Sample {
    stratum: u8,
    leap_unsynchronised: bool,
    /// Four ASCII characters for stratum 0 (the kiss code), else the reference id in hex.
    reference_id: String,
    offset_seconds: f64,
    delay_seconds: f64,
}

impl Sample {
    fn from_answer(answer: &[u8], t1: u64, t4: u64) -> Sample {
        let t2 = u64::from_be_bytes(field(answer, 32));
        let t3 = u64::from_be_bytes(field(answer, 40));
        let (t1, t2, t3, t4) = (seconds(t1), seconds(t2), seconds(t3), seconds(t4));
        let reference = &answer[12..16];
        let reference_id = if answer[1] == 0 {
            reference
                .iter()
                .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
                .collect()
        } else {
            reference.iter().map(|b| format!("{b:02x}")).collect()
        };
        Sample {
            stratum: answer[1],
            leap_unsynchronised: answer[0] >> 6 == 3,
            reference_id,
            offset_seconds: ((t2 - t1) + (t3 - t4)) / 2.0,
            delay_seconds: (t4 - t1) - (t3 - t2),
        }
    }
}

fn field(packet: &[u8], at: usize) -> [u8; 8] {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&packet[at..at + 8]);
    bytes
}

/// The current time as a 64-bit NTP timestamp (32 bits of seconds, 32 of fraction).
fn ntp_now() -> u64 {
    let since_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_unix.as_secs() + NTP_TO_UNIX_SECONDS;
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | fraction
}

/// An NTP timestamp as seconds since 1900, with the fraction.
fn seconds(timestamp: u64) -> f64 {
    (timestamp >> 32) as f64 + (timestamp & 0xffff_ffff) as f64 / 4_294_967_296.0
}

/// `+3.2ms`, `-1.5s`.
fn format_signed(seconds: f64) -> String {
    let sign = if seconds < 0.0 { "-" } else { "+" };
    format!(
        "{sign}{}",
        format_duration(Duration::from_secs_f64(seconds.abs()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ntp_timestamp_counts_seconds_from_1900_with_a_binary_fraction() {
        let half_past = ((NTP_TO_UNIX_SECONDS + 10) << 32) | (1u64 << 31);
        assert!((seconds(half_past) - (NTP_TO_UNIX_SECONDS as f64 + 10.5)).abs() < 1e-9);
    }

    #[test]
    fn the_offset_is_the_mean_of_the_two_one_way_differences() {
        // Client sends at 100, server receives at 110.5, answers at 110.6, client gets it at 101.
        let ts = |s: f64| ((s.trunc() as u64) << 32) | ((s.fract() * 4_294_967_296.0) as u64);
        let mut answer = [0u8; PACKET_BYTES];
        answer[0] = (4 << 3) | 4;
        answer[1] = 2;
        answer[32..40].copy_from_slice(&ts(110.5).to_be_bytes());
        answer[40..48].copy_from_slice(&ts(110.6).to_be_bytes());
        let sample = Sample::from_answer(&answer, ts(100.0), ts(101.0));
        assert!((sample.offset_seconds - 10.05).abs() < 1e-6, "{sample:?}");
        assert!((sample.delay_seconds - 0.9).abs() < 1e-6, "{sample:?}");
    }
}
