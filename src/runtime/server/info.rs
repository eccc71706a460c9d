//! What a handler is told about a connection: its addresses, its number
//! and its TLS state.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::proxy::ProxyHeader;
use crate::server::CloseReason;

/// One accepted connection, as the backend sees it when it creates the
/// session ([`Backend::new_session`](super::Backend::new_session)).
///
/// Behind a proxy that sends the PROXY protocol
/// ([`ServerConfig::proxy_protocol`](crate::server::ServerConfig::proxy_protocol)),
/// `peer` is the proxy, and the client is [`ConnectionInfo::client`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The connection's number in this process, from 1: for log lines.
    pub id: u64,
    /// The address the connection came from: the client, or the proxy in
    /// front of it.
    pub peer: SocketAddr,
    /// The client's address as far as it is known: the source a PROXY
    /// protocol header names, else `peer` (no header, a LOCAL health
    /// check, or addresses the header leaves unspecified).
    pub client: SocketAddr,
    /// The PROXY protocol header the connection started with, when the
    /// listener reads one (HAProxy's specification; [`crate::proxy`]).
    pub proxy: Option<ProxyHeader>,
    /// The address the client connected to.
    pub local: SocketAddr,
    /// The TLS state when the connection is TLS from its first octet
    /// (implicit TLS, RFC 8314); `None` on a plain listener, where
    /// STARTTLS may come later ([`TlsInfo`] is then handed to the
    /// session's `tls_established`).
    pub tls: Option<TlsInfo>,
}

impl ConnectionInfo {
    pub(crate) fn new(id: u64, peer: SocketAddr, local: SocketAddr) -> Self {
        ConnectionInfo {
            id,
            peer,
            client: peer,
            proxy: None,
            local,
            tls: None,
        }
    }

    /// The PROXY protocol header read: the client it names, if any.
    pub(crate) fn set_proxy(&mut self, header: ProxyHeader) {
        if let Some(source) = header.source() {
            self.client = source;
        }
        self.proxy = Some(header);
    }
}

/// A TLS session's negotiated parameters.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TlsInfo {
    /// TLS from the first octet (RFC 8314) rather than after STARTTLS
    /// (RFC 3207).
    pub implicit: bool,
    /// The protocol version, e.g. `TLSv1_3`.
    pub protocol: Option<&'static str>,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: Option<&'static str>,
    /// The server name the client asked for (SNI, RFC 6066 §3).
    pub server_name: Option<String>,
    /// The client's certificate chain (DER, end entity first), when the
    /// TLS configuration asked for one and the client sent it.
    pub peer_certificates: Vec<Bytes>,
}

#[cfg(feature = "rustls")]
impl TlsInfo {
    /// The state of a server connection whose handshake is complete.
    pub(crate) fn from_rustls(conn: &rustls::ServerConnection, implicit: bool) -> Self {
        TlsInfo {
            server_name: conn.server_name().map(str::to_owned),
            ..TlsInfo::from_state(conn, implicit)
        }
    }

    /// The state of any connection whose handshake is complete, this side
    /// the TLS server or the TLS client (a connection whose roles ATRN
    /// reversed): no server name, the peer's certificates.
    pub(crate) fn from_state(conn: &rustls::CommonState, implicit: bool) -> Self {
        TlsInfo {
            implicit,
            protocol: conn.protocol_version().and_then(|v| v.as_str()),
            cipher_suite: conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str()),
            server_name: None,
            peer_certificates: conn
                .peer_certificates()
                .unwrap_or_default()
                .iter()
                .map(|c| Bytes::copy_from_slice(c))
                .collect(),
        }
    }
}

impl fmt::Display for TlsInfo {
    /// The protocol and cipher suite, for a log: `TLSv1_3
    /// TLS13_AES_256_GCM_SHA384` (`TLS` when the version is unknown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.protocol.unwrap_or("TLS"))?;
        match self.cipher_suite {
            Some(suite) => write!(f, " {suite}"),
            None => Ok(()),
        }
    }
}

/// Which way octets crossed a connection, for a session's `transcript`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Read from the client.
    Received,
    /// Written to the client.
    Sent,
}

/// How a session ended, for the session's `closed`.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The machine ended the session (QUIT, a timeout, too many errors,
    /// the client hanging up, a shutdown …); its last reply was written.
    Closed(CloseReason),
    /// The connection failed: a read or write error, the write deadline
    /// ([`RuntimeConfig::write_timeout`](super::RuntimeConfig::write_timeout)),
    /// or a STARTTLS handshake that failed.
    Failed(io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_info_for_a_log() {
        let mut tls = TlsInfo::default();
        assert_eq!(tls.to_string(), "TLS");
        tls.protocol = Some("TLSv1_3");
        tls.cipher_suite = Some("TLS13_AES_256_GCM_SHA384");
        assert_eq!(tls.to_string(), "TLSv1_3 TLS13_AES_256_GCM_SHA384");
    }
}
