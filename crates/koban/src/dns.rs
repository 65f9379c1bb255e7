//! TXT lookups through one recursive resolver over UDP: all Koban asks of
//! DNS (an organization proving a domain), so a packet codec and a socket
//! rather than a resolver stack. The resolver is `dns_resolver`, or the
//! first `nameserver` of /etc/resolv.conf; tests point it at a dnsmasq of
//! their own.

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::UdpSocket;

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("no DNS resolver is configured or in /etc/resolv.conf")]
    NoResolver,
    #[error("the DNS resolver did not answer")]
    Timeout,
    #[error("the DNS resolver answered {0}")]
    Failed(String),
    #[error("DNS: {0}")]
    Io(#[from] std::io::Error),
    #[error("DNS packet: {0}")]
    Packet(#[from] simple_dns::SimpleDnsError),
}

/// The resolver to ask: the configured one (`host:port`, port 53 if
/// absent), or the system's.
pub fn resolver(configured: &str) -> Result<SocketAddr, DnsError> {
    let configured = configured.trim();
    if !configured.is_empty() {
        return parse_addr(configured).ok_or(DnsError::NoResolver);
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    conf.lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .find_map(|rest| parse_addr(rest.trim()))
        .ok_or(DnsError::NoResolver)
}

fn parse_addr(text: &str) -> Option<SocketAddr> {
    text.parse::<SocketAddr>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// The TXT records of `name` (each record's strings joined, as RFC 7208
/// reads them). An empty list when the name has none or does not exist.
pub async fn txt_records(resolver: SocketAddr, name: &str) -> Result<Vec<String>, DnsError> {
    let id: u16 = rand::random();
    let mut query = Packet::new_query(id);
    query.set_flags(PacketFlag::RECURSION_DESIRED);
    query.questions.push(Question::new(
        Name::new(name)?,
        QTYPE::TYPE(TYPE::TXT),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    let bytes = query.build_bytes_vec()?;
    let bind = if resolver.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(resolver).await?;
    let mut buffer = vec![0u8; 4096];
    // Two tries of two seconds: UDP may drop a packet; a person is waiting.
    for _ in 0..2 {
        socket.send(&bytes).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let received = tokio::time::timeout_at(deadline, socket.recv(&mut buffer)).await;
            let Ok(received) = received else { break };
            let answer = Packet::parse(&buffer[..received?]);
            // Anything that is not the answer to this query is ignored.
            let Ok(answer) = answer else { continue };
            if answer.id() != id {
                continue;
            }
            return match answer.rcode() {
                RCODE::NoError => Ok(answer
                    .answers
                    .iter()
                    .filter_map(|record| match &record.rdata {
                        RData::TXT(txt) => String::try_from(txt.clone()).ok(),
                        _ => None,
                    })
                    .collect()),
                RCODE::NameError => Ok(Vec::new()),
                other => Err(DnsError::Failed(format!("{other:?}"))),
            };
        }
    }
    Err(DnsError::Timeout)
}
