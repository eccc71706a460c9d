//! TLS glue for the tokio runtime: the handshake after STARTTLS (RFC 3207)
//! or at the start of an implicit-TLS connection (RFC 8314), bounded in
//! time, through tokio-rustls.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;

use super::info::TlsInfo;
use super::stream::Stream;

/// The server's TLS configuration, when it has one. Without the `rustls`
/// feature there is none, and this type is never built.
#[derive(Clone)]
#[cfg_attr(not(feature = "rustls"), allow(dead_code))]
pub(super) struct Tls {
    #[cfg(feature = "rustls")]
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    #[cfg(feature = "rustls")]
    pub(super) fn new(config: std::sync::Arc<rustls::ServerConfig>) -> Tls {
        Tls {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
        }
    }

    /// Runs the server side of a handshake on `tcp`, within `limit`.
    pub(super) async fn handshake(
        &self,
        tcp: TcpStream,
        limit: Duration,
        implicit: bool,
    ) -> io::Result<(Stream, TlsInfo)> {
        #[cfg(feature = "rustls")]
        {
            // Boxed: a handshake in progress holds a whole TLS connection,
            // which an idle plain session's task should not make room for.
            let handshake = Box::pin(self.acceptor.accept(tcp));
            let tls = tokio::time::timeout(limit, handshake).await.map_err(|_| {
                io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
            })??;
            let info = TlsInfo::from_rustls(tls.get_ref().1, implicit);
            Ok((Stream::Tls(Box::new(tls)), info))
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = (tcp, limit, implicit);
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "built without the rustls feature",
            ))
        }
    }
}
