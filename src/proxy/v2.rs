//! Version 2: the binary header (PROXY protocol §2.2): the 12-octet
//! signature, version and command, family and transport, the length of
//! what follows, the addresses and the TLVs.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32};
use nom::IResult;

use super::crc32c::crc32c;
use super::tlv;
use super::{
    ProxyAddresses, ProxyCommand, ProxyEncodeError, ProxyError, ProxyHeader, Transport,
    UnixAddress, V2_SIGNATURE,
};

/// The fixed part: signature, version/command, family/transport, length.
const FIXED: usize = 16;

const fn bad(detail: &'static str) -> ProxyError {
    ProxyError::Malformed(detail)
}

/// The family and transport octet's meaning (§2.2): the address layout
/// and its length. Only the combinations §2.2 lists are valid.
fn layout(fam: u8) -> Result<(Family, usize), ProxyError> {
    let transport = match fam & 0x0f {
        1 => Transport::Stream,
        2 => Transport::Datagram,
        0 if fam == 0 => return Ok((Family::Unspec, 0)),
        _ => return Err(bad("version 2 family and transport are not a valid pair")),
    };
    match fam >> 4 {
        1 => Ok((Family::Inet(transport), 12)),
        2 => Ok((Family::Inet6(transport), 36)),
        3 => Ok((Family::Unix(transport), 216)),
        _ => Err(bad("version 2 family and transport are not a valid pair")),
    }
}

#[derive(Clone, Copy)]
enum Family {
    Unspec,
    Inet(Transport),
    Inet6(Transport),
    Unix(Transport),
}

/// Checks what is known of the fixed part, so that input that cannot be a
/// header is refused without waiting for the rest.
fn check_fixed(input: &[u8]) -> Result<(), ProxyError> {
    let sig = &input[..input.len().min(V2_SIGNATURE.len())];
    if !V2_SIGNATURE.starts_with(sig) {
        return Err(bad("version 2 signature mismatch"));
    }
    if let Some(&ver_cmd) = input.get(12) {
        if ver_cmd >> 4 != 2 {
            return Err(bad("version 2 header with another version"));
        }
        if ver_cmd & 0x0f > 1 {
            return Err(bad("version 2 command is neither LOCAL nor PROXY"));
        }
    }
    if let Some(&fam) = input.get(13) {
        layout(fam)?;
    }
    Ok(())
}

/// Parses a header of at most `limit` octets.
pub(super) fn parse(input: &[u8], limit: usize) -> Result<(ProxyHeader, usize), ProxyError> {
    check_fixed(input)?;
    let Some(len) = input.get(14..FIXED) else {
        return Err(ProxyError::Incomplete);
    };
    let total = FIXED + usize::from(u16::from_be_bytes([len[0], len[1]]));
    // Refused before it is read: a huge length is never buffered.
    if total > limit {
        return Err(ProxyError::TooLong { len: total, limit });
    }
    let Some(header) = input.get(..total) else {
        return Err(ProxyError::Incomplete);
    };
    let command = if header[12] & 0x0f == 0 {
        ProxyCommand::Local
    } else {
        ProxyCommand::Proxy
    };
    let (family, addr_len) = layout(header[13])?;
    let block = &header[FIXED..];
    if block.len() < addr_len {
        return Err(bad("version 2 length is shorter than its addresses"));
    }
    let (addr, tlvs) = block.split_at(addr_len);
    let addresses = addresses(family, addr)?;
    let (tlvs, crc) = tlv::parse_all(tlvs, FIXED + addr_len)?;
    if let Some(at) = crc {
        verify(header, at)?;
    }
    Ok((
        ProxyHeader {
            command,
            addresses,
            tlvs,
        },
        total,
    ))
}

/// §2.2.3: the checksum of the whole header with the checksum field zero.
fn verify(header: &[u8], at: usize) -> Result<(), ProxyError> {
    let field = header
        .get(at..at + 4)
        .ok_or(bad("PP2_TYPE_CRC32C outside the header"))?;
    let sent = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
    let mut zeroed = header.to_vec();
    zeroed[at..at + 4].fill(0);
    if crc32c(&zeroed) == sent {
        Ok(())
    } else {
        Err(ProxyError::Checksum)
    }
}

type Res<'a, T> = IResult<&'a [u8], T>;

fn inet(i: &[u8]) -> Res<'_, (SocketAddrV4, SocketAddrV4)> {
    let (i, src) = be_u32(i)?;
    let (i, dst) = be_u32(i)?;
    let (i, sport) = be_u16(i)?;
    let (i, dport) = be_u16(i)?;
    Ok((
        i,
        (
            SocketAddrV4::new(Ipv4Addr::from(src), sport),
            SocketAddrV4::new(Ipv4Addr::from(dst), dport),
        ),
    ))
}

fn ipv6(i: &[u8]) -> Res<'_, Ipv6Addr> {
    let (i, raw) = take(16usize)(i)?;
    let mut octets = [0u8; 16];
    octets.copy_from_slice(raw);
    Ok((i, Ipv6Addr::from(octets)))
}

fn inet6(i: &[u8]) -> Res<'_, (SocketAddrV6, SocketAddrV6)> {
    let (i, src) = ipv6(i)?;
    let (i, dst) = ipv6(i)?;
    let (i, sport) = be_u16(i)?;
    let (i, dport) = be_u16(i)?;
    Ok((
        i,
        (
            SocketAddrV6::new(src, sport, 0, 0),
            SocketAddrV6::new(dst, dport, 0, 0),
        ),
    ))
}

fn unix_path(i: &[u8]) -> Res<'_, UnixAddress> {
    let (i, raw) = take(108usize)(i)?;
    let mut octets = [0u8; 108];
    octets.copy_from_slice(raw);
    Ok((i, UnixAddress::from_raw(octets)))
}

/// Reads the address block, exactly `layout`'s length.
fn addresses(family: Family, block: &[u8]) -> Result<ProxyAddresses, ProxyError> {
    let short = |_| bad("version 2 addresses are truncated");
    Ok(match family {
        Family::Unspec => ProxyAddresses::Unspecified,
        Family::Inet(transport) => {
            let (_, (source, destination)) = inet(block).map_err(short)?;
            ProxyAddresses::Ipv4 {
                transport,
                source,
                destination,
            }
        }
        Family::Inet6(transport) => {
            let (_, (source, destination)) = inet6(block).map_err(short)?;
            ProxyAddresses::Ipv6 {
                transport,
                source,
                destination,
            }
        }
        Family::Unix(transport) => {
            let (i, source) = unix_path(block).map_err(short)?;
            let (_, destination) = unix_path(i).map_err(short)?;
            ProxyAddresses::Unix {
                transport,
                source,
                destination,
            }
        }
    })
}

/// The 13th octet's command nibble and the 14th octet.
fn command_and_family(h: &ProxyHeader) -> (u8, u8) {
    let cmd = match h.command {
        ProxyCommand::Local => 0,
        ProxyCommand::Proxy => 1,
    };
    let transport = |t: &Transport| match t {
        Transport::Stream => 1,
        Transport::Datagram => 2,
    };
    let fam = match &h.addresses {
        ProxyAddresses::Unspecified => 0x00,
        ProxyAddresses::Ipv4 { transport: t, .. } => 0x10 | transport(t),
        ProxyAddresses::Ipv6 { transport: t, .. } => 0x20 | transport(t),
        ProxyAddresses::Unix { transport: t, .. } => 0x30 | transport(t),
    };
    (cmd, fam)
}

/// Appends the binary header for `h`, its checksum filled in when it has
/// a `PP2_TYPE_CRC32C` TLV.
pub(super) fn write(h: &ProxyHeader, out: &mut Vec<u8>) -> Result<(), ProxyEncodeError> {
    let (cmd, fam) = command_and_family(h);
    let mut header = Vec::with_capacity(64);
    header.extend_from_slice(&V2_SIGNATURE);
    header.push(0x20 | cmd);
    header.push(fam);
    header.extend_from_slice(&[0, 0]);
    match &h.addresses {
        ProxyAddresses::Unspecified => {}
        ProxyAddresses::Ipv4 {
            source,
            destination,
            ..
        } => {
            header.extend_from_slice(&source.ip().octets());
            header.extend_from_slice(&destination.ip().octets());
            header.extend_from_slice(&source.port().to_be_bytes());
            header.extend_from_slice(&destination.port().to_be_bytes());
        }
        ProxyAddresses::Ipv6 {
            source,
            destination,
            ..
        } => {
            header.extend_from_slice(&source.ip().octets());
            header.extend_from_slice(&destination.ip().octets());
            header.extend_from_slice(&source.port().to_be_bytes());
            header.extend_from_slice(&destination.port().to_be_bytes());
        }
        ProxyAddresses::Unix {
            source,
            destination,
            ..
        } => {
            header.extend_from_slice(source.raw());
            header.extend_from_slice(destination.raw());
        }
    }
    let crc_at = tlv::write_all(&h.tlvs, &mut header)?;
    let len = u16::try_from(header.len() - FIXED).map_err(|_| ProxyEncodeError::TooLong)?;
    header[14..FIXED].copy_from_slice(&len.to_be_bytes());
    if let Some(at) = crc_at {
        let crc = crc32c(&header);
        header[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
    out.extend_from_slice(&header);
    Ok(())
}
