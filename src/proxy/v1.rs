//! Version 1: the human-readable line (PROXY protocol §2.1),
//! `PROXY TCP4|TCP6|UNKNOWN src dst sport dport CRLF`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use super::{ProxyAddresses, ProxyCommand, ProxyEncodeError, ProxyError, ProxyHeader, Transport};

const PREFIX: &[u8] = b"PROXY ";

const fn bad(detail: &'static str) -> ProxyError {
    ProxyError::Malformed(detail)
}

/// Parses a line of at most `limit` octets, CRLF included.
pub(super) fn parse(input: &[u8], limit: usize) -> Result<(ProxyHeader, usize), ProxyError> {
    let head = &input[..input.len().min(PREFIX.len())];
    if !PREFIX.starts_with(head) {
        return Err(bad("version 1 line does not start with \"PROXY \""));
    }
    let window = &input[..input.len().min(limit)];
    // US-ASCII text: a control other than the final CRLF cannot belong
    // to a line, and a CR or LF alone must not end one (§2.1).
    for (i, &b) in window.iter().enumerate() {
        match b {
            b'\r' => match window.get(i + 1) {
                Some(b'\n') => return line(&window[..i], i + 2),
                Some(_) => return Err(bad("CR without LF in version 1 line")),
                None => {}
            },
            b'\n' => return Err(bad("bare LF in version 1 line")),
            0x20..=0x7e => {}
            _ => return Err(bad("non-text octet in version 1 line")),
        }
    }
    if input.len() >= limit {
        Err(ProxyError::TooLong {
            len: input.len(),
            limit,
        })
    } else {
        Err(ProxyError::Incomplete)
    }
}

/// Reads a complete line (without its CRLF) of `used` octets.
fn line(line: &[u8], used: usize) -> Result<(ProxyHeader, usize), ProxyError> {
    // The window check left printable ASCII only.
    let text = std::str::from_utf8(line).map_err(|_| bad("non-text octet in version 1 line"))?;
    let rest = text
        .strip_prefix("PROXY ")
        .ok_or(bad("version 1 line does not start with \"PROXY \""))?;
    let (proto, fields) = rest.split_once(' ').unwrap_or((rest, ""));
    let addresses = match proto {
        // §2.1: for UNKNOWN "the receiver must ignore anything presented
        // before the CRLF".
        "UNKNOWN" => ProxyAddresses::Unspecified,
        "TCP4" => {
            let [src, dst, sport, dport] = four(fields)?;
            ProxyAddresses::Ipv4 {
                transport: Transport::Stream,
                source: SocketAddrV4::new(ipv4(src)?, port(sport)?),
                destination: SocketAddrV4::new(ipv4(dst)?, port(dport)?),
            }
        }
        "TCP6" => {
            let [src, dst, sport, dport] = four(fields)?;
            ProxyAddresses::Ipv6 {
                transport: Transport::Stream,
                source: SocketAddrV6::new(ipv6(src)?, port(sport)?, 0, 0),
                destination: SocketAddrV6::new(ipv6(dst)?, port(dport)?, 0, 0),
            }
        }
        _ => return Err(bad("version 1 protocol is not TCP4, TCP6 or UNKNOWN")),
    };
    Ok((ProxyHeader::proxied(addresses), used))
}

/// Exactly four fields, each separated by exactly one space (§2.1).
fn four(fields: &str) -> Result<[&str; 4], ProxyError> {
    let mut it = fields.split(' ');
    let mut out = [""; 4];
    for slot in &mut out {
        *slot = it
            .next()
            .filter(|f| !f.is_empty())
            .ok_or(bad("version 1 line lacks an address or port"))?;
    }
    if it.next().is_some() {
        return Err(bad("version 1 line has fields after the ports"));
    }
    Ok(out)
}

/// Decimal without leading zeros (§2.1: "to avoid any possible confusion
/// with octal numbers"), at most `max`.
fn decimal(s: &str, max: u32) -> Option<u32> {
    let digits = s.len() <= 5 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&n| n <= max)
}

fn port(s: &str) -> Result<u16, ProxyError> {
    decimal(s, 65535)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(bad(
            "version 1 port is not a decimal 0-65535 without leading zeros",
        ))
}

/// Four decimal octets, dot-separated, no leading zeros (§2.1).
fn ipv4(s: &str) -> Result<Ipv4Addr, ProxyError> {
    let err = bad("version 1 IPv4 address is not in canonical form");
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut octets {
        let part = parts.next().ok_or(err.clone())?;
        *o = decimal(part, 255)
            .and_then(|n| u8::try_from(n).ok())
            .ok_or(err.clone())?;
    }
    if parts.next().is_some() {
        return Err(err);
    }
    Ok(Ipv4Addr::from(octets))
}

fn ipv6(s: &str) -> Result<Ipv6Addr, ProxyError> {
    s.parse()
        .map_err(|_| bad("version 1 IPv6 address is not valid"))
}

/// Appends the line for `h`; only what version 1 can say.
pub(super) fn write(h: &ProxyHeader, out: &mut Vec<u8>) -> Result<(), ProxyEncodeError> {
    if h.command == ProxyCommand::Local {
        return Err(ProxyEncodeError::NotInV1("the LOCAL command"));
    }
    if !h.tlvs.is_empty() {
        return Err(ProxyEncodeError::NotInV1("TLVs"));
    }
    let mut line = String::with_capacity(64);
    // `write!` to a String cannot fail.
    let _ = match &h.addresses {
        ProxyAddresses::Unspecified => write!(line, "PROXY UNKNOWN\r\n"),
        ProxyAddresses::Ipv4 {
            transport: Transport::Stream,
            source,
            destination,
        } => write!(
            line,
            "PROXY TCP4 {} {} {} {}\r\n",
            source.ip(),
            destination.ip(),
            source.port(),
            destination.port()
        ),
        ProxyAddresses::Ipv6 {
            transport: Transport::Stream,
            source,
            destination,
        } => write!(
            line,
            "PROXY TCP6 {} {} {} {}\r\n",
            source.ip(),
            destination.ip(),
            source.port(),
            destination.port()
        ),
        ProxyAddresses::Unix { .. } => return Err(ProxyEncodeError::NotInV1("UNIX addresses")),
        _ => return Err(ProxyEncodeError::NotInV1("UDP")),
    };
    out.extend_from_slice(line.as_bytes());
    Ok(())
}
