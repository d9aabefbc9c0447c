//! The `dns { name, server }` check: asks one DNS server for a name's addresses and passes when
//! it answers with addresses, all of the expected ones among them.
//!
//! It queries exactly the configured server over UDP (one question, recursion desired), never
//! the system's resolver: the point is to prove that this server answers for the platform. It
//! knows nothing about Terraform.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;

use super::parse::{self, ParseError};
use super::tcp::host_port;
use super::Outcome;

/// The largest DNS answer read over UDP (EDNS is not requested, so 512 would do; this leaves room).
const MAX_ANSWER_BYTES: usize = 4096;

/// Which addresses to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsRecordType {
    A,
    Aaaa,
}

impl DnsRecordType {
    /// `"A"` or `"AAAA"`, as written in configurations and results.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            DnsRecordType::A => RecordType::A,
            DnsRecordType::Aaaa => RecordType::AAAA,
        }
    }
}

impl FromStr for DnsRecordType {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        match input {
            "A" => Ok(DnsRecordType::A),
            "AAAA" => Ok(DnsRecordType::Aaaa),
            _ => Err(ParseError::DnsRecordTypeInvalid {
                input: input.to_string(),
            }),
        }
    }
}

/// Resolves `name` through `server:port` and expects addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// The name to resolve, e.g. `gitea.ralf.lan`.
    pub name: String,
    /// The DNS server's IP address (a name would need another resolver to find it).
    pub server: String,
    pub port: u16,
    pub record_type: DnsRecordType,
    /// Addresses that must all be in the answer; empty means any address passes.
    pub expect: Vec<String>,
}

/// A dns check with its values parsed once, before the first attempt.
#[derive(Debug)]
pub(crate) struct PreparedDns {
    name: Name,
    display_name: String,
    server: SocketAddr,
    record_type: DnsRecordType,
    expect: Vec<IpAddr>,
}

impl DnsCheck {
    /// The default DNS port.
    pub const DEFAULT_PORT: u16 = 53;

    /// Checks every value, as at plan time.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.parse().map(|_| ())
    }

    /// `NAME TYPE @server:port`, e.g. `gitea.ralf.lan A @10.10.0.53:53`.
    pub fn target(&self) -> String {
        format!(
            "{} {} @{}",
            self.name,
            self.record_type.as_str(),
            host_port(&self.server, self.port)
        )
    }

    pub(crate) fn prepare(&self) -> Result<PreparedDns, Outcome> {
        self.parse()
            .map_err(|error| Outcome::Fail(format!("dns check is not valid: {error}")))
    }

    fn parse(&self) -> Result<PreparedDns, ParseError> {
        let name = parse_dns_name(&self.name)?;
        let server_ip = parse_server(&self.server)?;
        let port = parse::parse_port(i64::from(self.port))?;
        let expect = self
            .expect
            .iter()
            .map(|address| parse_expected(address, self.record_type))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PreparedDns {
            name,
            display_name: self.name.trim_end_matches('.').to_string(),
            server: SocketAddr::new(server_ip, port),
            record_type: self.record_type,
            expect,
        })
    }
}

/// Checks the `name` of a dns check: a DNS name, with or without the final dot.
pub fn validate_name(input: &str) -> Result<(), ParseError> {
    parse_dns_name(input).map(|_| ())
}

/// Parses the `server` of a dns check: an IP address (a name would need another DNS server).
pub fn parse_server(server: &str) -> Result<IpAddr, ParseError> {
    IpAddr::from_str(server).map_err(|_| ParseError::DnsServerNotAnAddress {
        server: server.to_string(),
    })
}

/// Parses one `expect` address of a dns check, which must fit the record type.
pub fn parse_expected(address: &str, record_type: DnsRecordType) -> Result<IpAddr, ParseError> {
    let ip = IpAddr::from_str(address).map_err(|_| ParseError::DnsExpectNotAnAddress {
        address: address.to_string(),
    })?;
    let fits = match record_type {
        DnsRecordType::A => ip.is_ipv4(),
        DnsRecordType::Aaaa => ip.is_ipv6(),
    };
    if !fits {
        return Err(ParseError::DnsExpectWrongFamily {
            address: address.to_string(),
            record_type: record_type.as_str(),
        });
    }
    Ok(ip)
}

/// Checks a DNS name (`gitea.ralf.lan`, with or without the final dot) and makes it absolute.
fn parse_dns_name(input: &str) -> Result<Name, ParseError> {
    let invalid = |reason: String| ParseError::DnsNameInvalid {
        name: input.to_string(),
        reason,
    };
    if input.is_empty() {
        return Err(invalid("is empty".to_string()));
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains spaces or control characters".to_string()));
    }
    let mut name = Name::from_ascii(input).map_err(|error| invalid(error.to_string()))?;
    name.set_fqdn(true);
    Ok(name)
}

impl PreparedDns {
    pub(crate) async fn attempt(&self) -> Outcome {
        match self.query().await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Fail(format!(
                "no answer from DNS server {}: {error}",
                self.server
            )),
        }
    }

    async fn query(&self) -> std::io::Result<Outcome> {
        let id: u16 = rand::random();
        let mut request = Message::new(id, MessageType::Query, OpCode::Query);
        request.metadata.recursion_desired = true;
        request.add_query(Query::query(
            self.name.clone(),
            self.record_type.record_type(),
        ));
        let bytes = request.to_vec().map_err(std::io::Error::other)?;
        let bind: SocketAddr = if self.server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind).await?;
        socket.connect(self.server).await?;
        socket.send(&bytes).await?;
        let mut buffer = vec![0u8; MAX_ANSWER_BYTES];
        loop {
            let read = socket.recv(&mut buffer).await?;
            let Ok(answer) = Message::from_vec(&buffer[..read]) else {
                continue; // not a DNS message: keep waiting for the real answer
            };
            if answer.metadata.id != id || answer.metadata.message_type != MessageType::Response {
                continue; // a late answer to an earlier attempt
            }
            return Ok(self.judge(&answer));
        }
    }

    fn judge(&self, answer: &Message) -> Outcome {
        let question = format!("{} {}", self.display_name, self.record_type.as_str());
        let code = answer.metadata.response_code;
        if code != ResponseCode::NoError {
            return Outcome::Fail(format!(
                "{question} via {}: the server answered {code} ({})",
                self.server,
                rcode_meaning(code)
            ));
        }
        if answer.metadata.truncation {
            return Outcome::Fail(format!(
                "{question} via {}: the answer was truncated (too many records for UDP)",
                self.server
            ));
        }
        let addresses: Vec<IpAddr> = answer
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
                _ => None,
            })
            .collect();
        if addresses.is_empty() {
            return Outcome::Fail(format!(
                "{question} via {}: the server knows the name but has no {} record",
                self.server,
                self.record_type.as_str()
            ));
        }
        let shown = join(&addresses);
        let missing: Vec<IpAddr> = self
            .expect
            .iter()
            .filter(|ip| !addresses.contains(ip))
            .copied()
            .collect();
        if missing.is_empty() {
            Outcome::Ok(format!("{question} via {} = {shown}", self.server))
        } else {
            Outcome::Fail(format!(
                "{question} via {} = {shown}; expected {} is missing",
                self.server,
                join(&missing)
            ))
        }
    }
}

fn join(addresses: &[IpAddr]) -> String {
    addresses
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn rcode_meaning(code: ResponseCode) -> &'static str {
    match code {
        ResponseCode::NXDomain => "the name does not exist",
        ResponseCode::ServFail => "the server failed to resolve it",
        ResponseCode::Refused => "the server refuses to answer this client or name",
        ResponseCode::FormErr => "the server could not read the question",
        ResponseCode::NotImp => "the server does not support this kind of question",
        _ => "the lookup failed",
    }
}
