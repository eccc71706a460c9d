//! The PROXY protocol (HAProxy's specification "The PROXY protocol",
//! versions 1 and 2): the header a proxy or load balancer sends before
//! anything else on a connection, carrying the original client's and
//! server's addresses. Parsed and written here, typed: [`ProxyHeader`],
//! its [`ProxyAddresses`] and its [`Tlv`]s.
//!
//! The server machine reads one before its greeting when
//! [`ServerConfig::proxy_protocol`](crate::server::ServerConfig::proxy_protocol)
//! asks for it; the client machine sends one with
//! [`Client::send_proxy_header`](crate::client::Client::send_proxy_header).
//!
//! ```
//! use esmtp::proxy::{ProxyHeader, ProxyOptions, ProxyVersion, ProxyVersions};
//!
//! let wire = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n";
//! let (header, used) = ProxyHeader::parse(wire, &ProxyOptions::new(ProxyVersions::Any)).unwrap();
//! assert_eq!(header.source(), Some("192.0.2.1:56324".parse().unwrap()));
//! assert_eq!(&wire[used..], b"EHLO x\r\n");
//! // The same addresses in the binary form of version 2.
//! let v2 = header.to_bytes(ProxyVersion::V2).unwrap();
//! assert_eq!(ProxyHeader::parse(&v2, &ProxyOptions::new(ProxyVersions::V2)).unwrap(), (header, v2.len()));
//! ```
//!
//! Parsing is bounded: a version 1 line ends within 107 octets (§2.1), and
//! a version 2 header whose length field announces more than
//! [`ProxyOptions::max_len`] octets is refused as soon as its first 16
//! octets are read, before the rest is waited for (§2.2). A prefix of a
//! valid header is [`ProxyError::Incomplete`]; input that cannot begin a
//! header is refused at once, so that a client that does not speak the
//! protocol is dropped without waiting for more (§2.1: "abort the
//! connection as soon as possible").

mod crc32c;
mod tlv;
mod v1;
mod v2;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

pub use tlv::{SslInfo, SslTlv, Tlv};

/// The twelve octets a version 2 header starts with (§2.2).
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 line, CRLF included (§2.1).
pub const V1_MAX_LEN: usize = 107;

/// The default [`ProxyOptions::max_len`]: room for IPv6 or UNIX addresses
/// and the usual TLVs. A proxy that forwards client certificates
/// (`PP2_SUBTYPE_SSL_CLIENT_CERT`) needs more.
pub const DEFAULT_MAX_LEN: usize = 512;

/// A version of the protocol, for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// The text line of §2.1: TCP over IPv4 or IPv6, or `UNKNOWN`.
    V1,
    /// The binary header of §2.2, with TLVs.
    V2,
}

/// Which versions a receiver accepts (§2.2: "A receiver may be configured
/// to support both version 1 and version 2").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersions {
    /// Only the text line.
    V1,
    /// Only the binary header.
    V2,
    /// Either, told apart by their first octet.
    Any,
}

/// How a receiver reads a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProxyOptions {
    /// The versions accepted.
    pub versions: ProxyVersions,
    /// The longest header accepted, in octets: a version 2 header that
    /// announces more is refused before it is read (a version 1 line is
    /// never longer than [`V1_MAX_LEN`]).
    pub max_len: usize,
}

impl ProxyOptions {
    /// `versions`, with headers up to [`DEFAULT_MAX_LEN`] octets.
    pub const fn new(versions: ProxyVersions) -> Self {
        ProxyOptions {
            versions,
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// The same options with another length limit.
    pub const fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }
}

/// What the connection is (§2.2, the command nibble; a version 1 line is
/// always `Proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyCommand {
    /// The proxy opened the connection itself (a health check): the real
    /// endpoints are the connection's own, and the addresses, if any, are
    /// to be ignored.
    Local,
    /// The connection is relayed on behalf of the client the addresses
    /// name.
    Proxy,
}

/// The transport protocol of the relayed connection (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `SOCK_STREAM`: TCP or a UNIX stream socket.
    Stream,
    /// `SOCK_DGRAM`: UDP or a UNIX datagram socket.
    Datagram,
}

/// A UNIX socket address as version 2 carries it: 108 octets (§2.2), the
/// path up to the first NUL (an abstract socket's name starts with one).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UnixAddress(Box<[u8; 108]>);

impl UnixAddress {
    /// A path of at most 108 octets, padded with NULs.
    pub fn new(path: &[u8]) -> Option<Self> {
        let mut raw = [0u8; 108];
        raw.get_mut(..path.len())?.copy_from_slice(path);
        Some(UnixAddress(Box::new(raw)))
    }

    /// The address exactly as carried.
    pub fn from_raw(raw: [u8; 108]) -> Self {
        UnixAddress(Box::new(raw))
    }

    /// The 108 octets as carried.
    pub fn raw(&self) -> &[u8; 108] {
        &self.0
    }

    /// The path: the octets before the first NUL.
    pub fn path(&self) -> &[u8] {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(108);
        &self.0[..end]
    }
}

impl fmt::Debug for UnixAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UnixAddress({:?})",
            self.path().escape_ascii().to_string()
        )
    }
}

/// The relayed connection's endpoints (§2.1 and §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyAddresses {
    /// None given: version 1's `UNKNOWN`, or version 2's `AF_UNSPEC`. The
    /// receiver uses the connection's own addresses.
    Unspecified,
    /// TCP or UDP over IPv4.
    Ipv4 {
        /// TCP or UDP.
        transport: Transport,
        /// The original client.
        source: SocketAddrV4,
        /// The address the client connected to.
        destination: SocketAddrV4,
    },
    /// TCP or UDP over IPv6 (flow information and scope are not carried:
    /// they are 0 when parsed and ignored when written).
    Ipv6 {
        /// TCP or UDP.
        transport: Transport,
        /// The original client.
        source: SocketAddrV6,
        /// The address the client connected to.
        destination: SocketAddrV6,
    },
    /// UNIX sockets (version 2 only).
    Unix {
        /// Stream or datagram.
        transport: Transport,
        /// The client's socket.
        source: UnixAddress,
        /// The socket connected to.
        destination: UnixAddress,
    },
}

impl ProxyAddresses {
    /// TCP endpoints, of either family; a mixed pair (an IPv4 source with
    /// an IPv6 destination) is `None`, which neither version can carry.
    pub fn tcp(source: SocketAddr, destination: SocketAddr) -> Option<Self> {
        match (source, destination) {
            (SocketAddr::V4(source), SocketAddr::V4(destination)) => Some(ProxyAddresses::Ipv4 {
                transport: Transport::Stream,
                source,
                destination,
            }),
            (SocketAddr::V6(s), SocketAddr::V6(d)) => Some(ProxyAddresses::Ipv6 {
                transport: Transport::Stream,
                source: SocketAddrV6::new(*s.ip(), s.port(), 0, 0),
                destination: SocketAddrV6::new(*d.ip(), d.port(), 0, 0),
            }),
            _ => None,
        }
    }
}

/// One PROXY protocol header: what the connection is, its endpoints and
/// (version 2) its TLVs, in the order they came.
///
/// Build one with [`ProxyHeader::proxied`] or [`ProxyHeader::local`] and
/// [`ProxyHeader::with_tlv`]; parse one with [`ProxyHeader::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProxyHeader {
    /// `Proxy` for a relayed connection, `Local` for a health check.
    pub command: ProxyCommand,
    /// The relayed connection's endpoints.
    pub addresses: ProxyAddresses,
    /// The TLVs (version 2 only), in order.
    pub tlvs: Vec<Tlv>,
}

/// Why input is not a PROXY header. Every error but `Incomplete` means the
/// connection must be closed without a reply (§2.1, §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// A prefix of a header: read more and parse again.
    #[error("incomplete PROXY header")]
    Incomplete,
    /// The header is (or announces being) longer than allowed: a version 1
    /// line without CRLF in its first 107 octets, or a version 2 length
    /// field beyond [`ProxyOptions::max_len`].
    #[error("PROXY header of {len} octets or more exceeds the limit of {limit}")]
    TooLong {
        /// The length seen or announced.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a header of an accepted version, or one that breaks the
    /// specification.
    #[error("malformed PROXY header: {0}")]
    Malformed(&'static str),
    /// The `PP2_TYPE_CRC32C` TLV does not match the header (§2.2.3).
    #[error("PROXY header checksum mismatch")]
    Checksum,
}

/// Why a header cannot be written in the version asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyEncodeError {
    /// Version 1 carries TCP over IPv4 or IPv6, or `UNKNOWN`: no LOCAL
    /// command, no UDP or UNIX addresses, no TLVs (§2.1).
    #[error("version 1 cannot carry {0}")]
    NotInV1(&'static str),
    /// A TLV value or the whole header is over the 65535 octets a length
    /// field can count (§2.2).
    #[error("a TLV or the header is longer than 65535 octets")]
    TooLong,
    /// A value a TLV requires to be short is not: `PP2_TYPE_UNIQUE_ID` up
    /// to 128 octets (§2.2.5), at most one `PP2_TYPE_CRC32C`.
    #[error("invalid TLV: {0}")]
    InvalidTlv(&'static str),
}

impl ProxyHeader {
    /// A relayed connection with these endpoints and no TLV.
    pub fn proxied(addresses: ProxyAddresses) -> Self {
        ProxyHeader {
            command: ProxyCommand::Proxy,
            addresses,
            tlvs: Vec::new(),
        }
    }

    /// A connection the proxy opened itself (a health check), without
    /// addresses (§2.2: "it should not present any address").
    pub fn local() -> Self {
        ProxyHeader {
            command: ProxyCommand::Local,
            addresses: ProxyAddresses::Unspecified,
            tlvs: Vec::new(),
        }
    }

    /// The same header with `tlv` appended.
    pub fn with_tlv(mut self, tlv: Tlv) -> Self {
        self.tlvs.push(tlv);
        self
    }

    /// The original client's address, for a relayed TCP or UDP
    /// connection: `None` for LOCAL (use the connection's own), for
    /// unspecified and for UNIX addresses.
    pub fn source(&self) -> Option<SocketAddr> {
        self.inet().map(|(s, _)| s)
    }

    /// The address the original client connected to, as
    /// [`ProxyHeader::source`].
    pub fn destination(&self) -> Option<SocketAddr> {
        self.inet().map(|(_, d)| d)
    }

    fn inet(&self) -> Option<(SocketAddr, SocketAddr)> {
        if self.command == ProxyCommand::Local {
            return None;
        }
        match &self.addresses {
            ProxyAddresses::Ipv4 {
                source,
                destination,
                ..
            } => Some(((*source).into(), (*destination).into())),
            ProxyAddresses::Ipv6 {
                source,
                destination,
                ..
            } => Some((
                SocketAddr::new(IpAddr::V6(*source.ip()), source.port()),
                SocketAddr::new(IpAddr::V6(*destination.ip()), destination.port()),
            )),
            _ => None,
        }
    }

    /// The `PP2_TYPE_AUTHORITY` TLV (the TLS server name the client asked
    /// for, §2.2.2), if present.
    pub fn authority(&self) -> Option<&str> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::Authority(a) => Some(a.as_str()),
            _ => None,
        })
    }

    /// The `PP2_TYPE_SSL` TLV (§2.2.6), if present.
    pub fn ssl(&self) -> Option<&SslInfo> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::Ssl(s) => Some(s),
            _ => None,
        })
    }

    /// The `PP2_TYPE_UNIQUE_ID` TLV (§2.2.5), if present.
    pub fn unique_id(&self) -> Option<&[u8]> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::UniqueId(id) => Some(id.as_slice()),
            _ => None,
        })
    }

    /// Parses a header from the start of `input`: the header and the
    /// octets it used (what follows belongs to the relayed protocol).
    ///
    /// A prefix of a valid header is [`ProxyError::Incomplete`]; anything
    /// that cannot start a header of an accepted version, and a version 2
    /// header that announces more than `opts.max_len` octets, fails as soon
    /// as it can be told.
    pub fn parse(input: &[u8], opts: &ProxyOptions) -> Result<(ProxyHeader, usize), ProxyError> {
        let (v1, v2) = match opts.versions {
            ProxyVersions::V1 => (true, false),
            ProxyVersions::V2 => (false, true),
            ProxyVersions::Any => (true, true),
        };
        match input.first() {
            None => Err(ProxyError::Incomplete),
            Some(b'\r') if v2 => v2::parse(input, opts.max_len),
            Some(b'P') if v1 => v1::parse(input, opts.max_len.min(V1_MAX_LEN)),
            Some(_) => Err(ProxyError::Malformed(
                "not a PROXY header of an accepted version",
            )),
        }
    }

    /// Appends the header in `version`'s form.
    pub fn write_to(
        &self,
        version: ProxyVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), ProxyEncodeError> {
        match version {
            ProxyVersion::V1 => v1::write(self, out),
            ProxyVersion::V2 => v2::write(self, out),
        }
    }

    /// The header in `version`'s form.
    pub fn to_bytes(&self, version: ProxyVersion) -> Result<Vec<u8>, ProxyEncodeError> {
        let mut out = Vec::with_capacity(64);
        self.write_to(version, &mut out)?;
        Ok(out)
    }
}
