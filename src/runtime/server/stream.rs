//! A connection's byte stream, plain TCP or TLS over it (this side the TLS
//! server or, on a connection it opened, the TLS client), and what a
//! handler gets when TURN or ATRN reverses the roles.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connection's stream: TCP, or TLS over TCP (after STARTTLS or on an
/// implicit-TLS listener; or, on a connection this side opened as a client
/// and whose roles ATRN or TURN reversed, TLS with this side as the TLS
/// client).
#[derive(Debug)]
#[non_exhaustive]
pub enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP, boxed: a TLS connection's state is large, and an idle
    /// plain session should not carry room for it.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// TLS over TCP with this side as the TLS client: a connection opened
    /// by a [`Transport`](crate::runtime::client::Transport) and handed
    /// over by its [`atrn`](crate::runtime::client::Transport::atrn).
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tcp(tcp) => tcp,
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => tls.get_ref().0,
            #[cfg(feature = "rustls")]
            Stream::ClientTls(tls) => tls.get_ref().0,
        }
    }

    /// The negotiated TLS parameters, for a session served on this stream.
    pub(crate) fn tls_info(&self) -> Option<super::TlsInfo> {
        match self {
            Stream::Tcp(_) => None,
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => Some(super::TlsInfo::from_rustls(tls.get_ref().1, true)),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(tls) => Some(super::TlsInfo::from_state(tls.get_ref().1, true)),
        }
    }

    /// Whether the stream is TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Stream::Tcp(_))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Tcp(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.is_write_vectored(),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => s.is_write_vectored(),
        }
    }
}

/// A connection whose roles TURN or ATRN reversed (RFC 821 §3.8, RFC 2645
/// §5.3). The side that accepted the command, handed this by
/// [`Session::reversed`](super::Session::reversed), now speaks as the
/// client: [`Transport::reversed`](crate::runtime::client::Transport::reversed).
/// The side that sent it, handed this by
/// [`Transport::atrn`](crate::runtime::client::Transport::atrn), now
/// serves: [`SmtpServer::serve_reversed`](super::SmtpServer::serve_reversed).
#[derive(Debug)]
#[non_exhaustive]
pub struct Reversal {
    /// The connection, plain or TLS as it was.
    pub stream: Stream,
    /// Bytes the peer sent after the command or its `250`, already read:
    /// the start of what this side must parse next (the peer's greeting,
    /// or its first command).
    pub leftover: Bytes,
}
