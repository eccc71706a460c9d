//! Version 2 TLVs (PROXY protocol §2.2.1–§2.2.8): type, 16-bit length,
//! value; the registered types typed, the rest kept as they came.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32, u8 as be_u8};
use nom::IResult;

use super::{ProxyEncodeError, ProxyError};

const ALPN: u8 = 0x01;
const AUTHORITY: u8 = 0x02;
const CRC32C: u8 = 0x03;
const NOOP: u8 = 0x04;
const UNIQUE_ID: u8 = 0x05;
const SSL: u8 = 0x20;
const SSL_VERSION: u8 = 0x21;
const SSL_CN: u8 = 0x22;
const SSL_CIPHER: u8 = 0x23;
const SSL_SIG_ALG: u8 = 0x24;
const SSL_KEY_ALG: u8 = 0x25;
const SSL_GROUP: u8 = 0x26;
const SSL_SIG_SCHEME: u8 = 0x27;
const SSL_CLIENT_CERT: u8 = 0x28;
const NETNS: u8 = 0x30;

/// §2.2.5: "an opaque byte sequence of up to 128 bytes".
const UNIQUE_ID_MAX: usize = 128;

/// One TLV of a version 2 header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tlv {
    /// `PP2_TYPE_ALPN` (§2.2.1): the application protocol, as TLS's ALPN
    /// extension carries it.
    Alpn(Vec<u8>),
    /// `PP2_TYPE_AUTHORITY` (§2.2.2): the host name the client asked for
    /// (TLS SNI), UTF-8.
    Authority(String),
    /// `PP2_TYPE_CRC32C` (§2.2.3): a checksum of the header, verified when
    /// parsed (a mismatch is [`ProxyError::Checksum`]) and computed when
    /// written, hence no value here.
    Crc32c,
    /// `PP2_TYPE_NOOP` (§2.2.4): padding, to be ignored.
    Noop(Vec<u8>),
    /// `PP2_TYPE_UNIQUE_ID` (§2.2.5): up to 128 octets identifying the
    /// connection across proxies.
    UniqueId(Vec<u8>),
    /// `PP2_TYPE_SSL` (§2.2.6): the client's TLS connection to the proxy.
    Ssl(SslInfo),
    /// `PP2_TYPE_NETNS` (§2.2.7): the network namespace's name.
    Netns(String),
    /// Any other type (custom, experimental, future ones), as carried.
    /// The registered types above are parsed into their own variants, so a
    /// parsed header never holds one of their types here, and writing one
    /// is [`ProxyEncodeError::InvalidTlv`].
    Other {
        /// The type octet.
        kind: u8,
        /// The value.
        value: Vec<u8>,
    },
}

/// The `PP2_TYPE_SSL` TLV (§2.2.6): flags, the verification result and
/// sub-TLVs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SslInfo {
    /// `PP2_CLIENT_SSL` (0x01), `PP2_CLIENT_CERT_CONN` (0x02),
    /// `PP2_CLIENT_CERT_SESS` (0x04).
    pub client: u8,
    /// 0 when the client presented a certificate that was verified.
    pub verify: u32,
    /// The sub-TLVs, in order.
    pub tlvs: Vec<SslTlv>,
}

impl SslInfo {
    /// `PP2_CLIENT_SSL`: the client connected over TLS.
    pub const CLIENT_SSL: u8 = 0x01;
    /// `PP2_CLIENT_CERT_CONN`: a certificate on this connection.
    pub const CLIENT_CERT_CONN: u8 = 0x02;
    /// `PP2_CLIENT_CERT_SESS`: a certificate on this TLS session.
    pub const CLIENT_CERT_SESS: u8 = 0x04;

    /// The flags, verification result and sub-TLVs.
    pub fn new(client: u8, verify: u32, tlvs: Vec<SslTlv>) -> Self {
        SslInfo {
            client,
            verify,
            tlvs,
        }
    }

    /// The client connected over TLS and presented a certificate that was
    /// verified.
    pub fn verified_client_certificate(&self) -> bool {
        self.client & Self::CLIENT_SSL != 0
            && self.client & (Self::CLIENT_CERT_CONN | Self::CLIENT_CERT_SESS) != 0
            && self.verify == 0
    }

    /// The `PP2_SUBTYPE_SSL_VERSION` sub-TLV, e.g. `TLSv1.3`.
    pub fn version(&self) -> Option<&str> {
        self.tlvs.iter().find_map(|t| match t {
            SslTlv::Version(v) => Some(v.as_str()),
            _ => None,
        })
    }

    /// The `PP2_SUBTYPE_SSL_CN` sub-TLV: the client certificate's Common
    /// Name.
    pub fn common_name(&self) -> Option<&str> {
        self.tlvs.iter().find_map(|t| match t {
            SslTlv::Cn(v) => Some(v.as_str()),
            _ => None,
        })
    }
}

/// A sub-TLV of [`SslInfo`] (§2.2.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslTlv {
    /// `PP2_SUBTYPE_SSL_VERSION`: the TLS version, e.g. `TLSv1.3`.
    Version(String),
    /// `PP2_SUBTYPE_SSL_CN`: the client certificate's Common Name.
    Cn(String),
    /// `PP2_SUBTYPE_SSL_CIPHER`: e.g. `ECDHE-RSA-AES128-GCM-SHA256`.
    Cipher(String),
    /// `PP2_SUBTYPE_SSL_SIG_ALG`: the proxy certificate's signature
    /// algorithm.
    SigAlg(String),
    /// `PP2_SUBTYPE_SSL_KEY_ALG`: the proxy certificate's key algorithm.
    KeyAlg(String),
    /// `PP2_SUBTYPE_SSL_GROUP`: the key exchange group.
    Group(String),
    /// `PP2_SUBTYPE_SSL_SIG_SCHEME`: the handshake's signature scheme.
    SigScheme(String),
    /// `PP2_SUBTYPE_SSL_CLIENT_CERT`: the client certificate, DER.
    ClientCert(Vec<u8>),
    /// Any other sub-type, as carried (not one of the types above:
    /// writing one is [`ProxyEncodeError::InvalidTlv`]).
    Other {
        /// The type octet.
        kind: u8,
        /// The value.
        value: Vec<u8>,
    },
}

const fn bad(detail: &'static str) -> ProxyError {
    ProxyError::Malformed(detail)
}

/// One raw TLV: its type and value.
fn raw(i: &[u8]) -> IResult<&[u8], (u8, &[u8])> {
    let (i, kind) = be_u8(i)?;
    let (i, len) = be_u16(i)?;
    let (i, value) = take(len)(i)?;
    Ok((i, (kind, value)))
}

fn text(value: &[u8], what: &'static str) -> Result<String, ProxyError> {
    String::from_utf8(value.to_vec()).map_err(|_| bad(what))
}

/// Parses the TLVs of `block`, which starts `offset` octets into the
/// header; also returns where in the header a `PP2_TYPE_CRC32C` value
/// lies, for the caller to verify.
pub(super) fn parse_all(
    mut block: &[u8],
    offset: usize,
) -> Result<(Vec<Tlv>, Option<usize>), ProxyError> {
    let mut tlvs = Vec::new();
    let mut crc = None;
    let end = offset + block.len();
    while !block.is_empty() {
        let (rest, (kind, value)) =
            raw(block).map_err(|_| bad("version 2 TLV runs past the header"))?;
        let value_at = end - rest.len() - value.len();
        block = rest;
        let tlv = match kind {
            ALPN => Tlv::Alpn(value.to_vec()),
            AUTHORITY => Tlv::Authority(text(value, "PP2_TYPE_AUTHORITY is not UTF-8")?),
            CRC32C => {
                if value.len() != 4 {
                    return Err(bad("PP2_TYPE_CRC32C is not 4 octets"));
                }
                if crc.replace(value_at).is_some() {
                    return Err(bad("PP2_TYPE_CRC32C appears twice"));
                }
                Tlv::Crc32c
            }
            NOOP => Tlv::Noop(value.to_vec()),
            UNIQUE_ID => {
                if value.len() > UNIQUE_ID_MAX {
                    return Err(bad("PP2_TYPE_UNIQUE_ID is over 128 octets"));
                }
                Tlv::UniqueId(value.to_vec())
            }
            SSL => Tlv::Ssl(ssl(value)?),
            NETNS => Tlv::Netns(text(value, "PP2_TYPE_NETNS is not text")?),
            kind => Tlv::Other {
                kind,
                value: value.to_vec(),
            },
        };
        tlvs.push(tlv);
    }
    Ok((tlvs, crc))
}

fn ssl_fixed(i: &[u8]) -> IResult<&[u8], (u8, u32)> {
    let (i, client) = be_u8(i)?;
    let (i, verify) = be_u32(i)?;
    Ok((i, (client, verify)))
}

/// `struct pp2_tlv_ssl`: client, verify, sub-TLVs (§2.2.6).
fn ssl(value: &[u8]) -> Result<SslInfo, ProxyError> {
    let (mut block, (client, verify)) =
        ssl_fixed(value).map_err(|_| bad("PP2_TYPE_SSL is shorter than 5 octets"))?;
    let mut tlvs = Vec::new();
    while !block.is_empty() {
        let (rest, (kind, value)) =
            raw(block).map_err(|_| bad("PP2_TYPE_SSL sub-TLV runs past its TLV"))?;
        block = rest;
        let s = |what| text(value, what);
        tlvs.push(match kind {
            SSL_VERSION => SslTlv::Version(s("PP2_SUBTYPE_SSL_VERSION is not text")?),
            SSL_CN => SslTlv::Cn(s("PP2_SUBTYPE_SSL_CN is not UTF-8")?),
            SSL_CIPHER => SslTlv::Cipher(s("PP2_SUBTYPE_SSL_CIPHER is not text")?),
            SSL_SIG_ALG => SslTlv::SigAlg(s("PP2_SUBTYPE_SSL_SIG_ALG is not text")?),
            SSL_KEY_ALG => SslTlv::KeyAlg(s("PP2_SUBTYPE_SSL_KEY_ALG is not text")?),
            SSL_GROUP => SslTlv::Group(s("PP2_SUBTYPE_SSL_GROUP is not text")?),
            SSL_SIG_SCHEME => SslTlv::SigScheme(s("PP2_SUBTYPE_SSL_SIG_SCHEME is not text")?),
            SSL_CLIENT_CERT => SslTlv::ClientCert(value.to_vec()),
            kind => SslTlv::Other {
                kind,
                value: value.to_vec(),
            },
        });
    }
    Ok(SslInfo {
        client,
        verify,
        tlvs,
    })
}

/// A type this module parses into its own variant.
fn registered(kind: u8) -> bool {
    matches!(
        kind,
        ALPN | AUTHORITY | CRC32C | NOOP | UNIQUE_ID | SSL | NETNS
    )
}

/// Appends one TLV.
fn put(out: &mut Vec<u8>, kind: u8, value: &[u8]) -> Result<(), ProxyEncodeError> {
    let len = u16::try_from(value.len()).map_err(|_| ProxyEncodeError::TooLong)?;
    out.push(kind);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value);
    Ok(())
}

/// Appends `tlvs` to `header`; where the `PP2_TYPE_CRC32C` value lies, if
/// there is one (zeroed for the caller to fill in, §2.2.3).
pub(super) fn write_all(
    tlvs: &[Tlv],
    header: &mut Vec<u8>,
) -> Result<Option<usize>, ProxyEncodeError> {
    let mut crc = None;
    for tlv in tlvs {
        match tlv {
            Tlv::Alpn(v) => put(header, ALPN, v)?,
            Tlv::Authority(v) => put(header, AUTHORITY, v.as_bytes())?,
            Tlv::Crc32c => {
                if crc.is_some() {
                    return Err(ProxyEncodeError::InvalidTlv("PP2_TYPE_CRC32C twice"));
                }
                crc = Some(header.len() + 3);
                put(header, CRC32C, &[0; 4])?;
            }
            Tlv::Noop(v) => put(header, NOOP, v)?,
            Tlv::UniqueId(v) => {
                if v.len() > UNIQUE_ID_MAX {
                    return Err(ProxyEncodeError::InvalidTlv(
                        "PP2_TYPE_UNIQUE_ID over 128 octets",
                    ));
                }
                put(header, UNIQUE_ID, v)?;
            }
            Tlv::Ssl(s) => {
                let mut value = Vec::with_capacity(32);
                value.push(s.client);
                value.extend_from_slice(&s.verify.to_be_bytes());
                for sub in &s.tlvs {
                    let (kind, v) = match sub {
                        SslTlv::Version(v) => (SSL_VERSION, v.as_bytes()),
                        SslTlv::Cn(v) => (SSL_CN, v.as_bytes()),
                        SslTlv::Cipher(v) => (SSL_CIPHER, v.as_bytes()),
                        SslTlv::SigAlg(v) => (SSL_SIG_ALG, v.as_bytes()),
                        SslTlv::KeyAlg(v) => (SSL_KEY_ALG, v.as_bytes()),
                        SslTlv::Group(v) => (SSL_GROUP, v.as_bytes()),
                        SslTlv::SigScheme(v) => (SSL_SIG_SCHEME, v.as_bytes()),
                        SslTlv::ClientCert(v) => (SSL_CLIENT_CERT, v.as_slice()),
                        SslTlv::Other { kind, .. }
                            if (SSL_VERSION..=SSL_CLIENT_CERT).contains(kind) =>
                        {
                            return Err(ProxyEncodeError::InvalidTlv(
                                "a registered sub-type as SslTlv::Other",
                            ))
                        }
                        SslTlv::Other { kind, value } => (*kind, value.as_slice()),
                    };
                    put(&mut value, kind, v)?;
                }
                put(header, SSL, &value)?;
            }
            Tlv::Netns(v) => put(header, NETNS, v.as_bytes())?,
            Tlv::Other { kind, .. } if registered(*kind) => {
                return Err(ProxyEncodeError::InvalidTlv(
                    "a registered type as Tlv::Other",
                ))
            }
            Tlv::Other { kind, value } => put(header, *kind, value)?,
        }
    }
    Ok(crc)
}
