//! One connection on tokio: TCP, the TLS upgrade (STARTTLS or implicit,
//! through tokio-rustls), and the loop that moves bytes and time between
//! the socket and the client machine; or a connection whose roles ATRN
//! reversed, taken over from the server runtime or handed to it.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::runtime::server::Stream as ServerStream;

use super::endpoint::Endpoint;
use super::error::Error;
#[cfg(feature = "rustls")]
use super::error::TlsError;
use super::session::{Gather, Session};

/// Octets read at once.
const READ_BUF: usize = 16 * 1024;
/// How long a closing connection may take (QUIT's reply, TLS
/// close_notify): never long.
pub(super) const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The socket: clear text until STARTTLS, or TLS.
enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "rustls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// A connection accepted by the server runtime, TLS with this side as
    /// the TLS server, whose roles ATRN reversed.
    #[cfg(feature = "rustls")]
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Taken for a handshake that failed.
    Gone,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Plain",
            #[cfg(feature = "rustls")]
            Stream::Tls(_) => "Tls",
            #[cfg(feature = "rustls")]
            Stream::ServerTls(_) => "ServerTls",
            Stream::Gone => "Gone",
        })
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is gone")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
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
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => Pin::new(s).poll_flush(cx),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// A session on a socket.
#[derive(Debug)]
pub(super) struct Connection {
    pub(super) session: Session,
    stream: Stream,
    buf: Box<[u8]>,
    out: Gather,
}

async fn connect_tcp(endpoint: &Endpoint) -> Result<TcpStream, Error> {
    let target = (endpoint.host.as_str(), endpoint.port);
    let result =
        match tokio::time::timeout(endpoint.connect_timeout, TcpStream::connect(target)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connecting timed out",
            )),
        };
    let tcp = result.map_err(|source| Error::Connect {
        host: endpoint.host.clone(),
        port: endpoint.port,
        source,
    })?;
    // Commands are small and each waits for the last: no Nagle delay.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// The TLS handshake on `tcp`, bounded by the connect timeout.
#[cfg(feature = "rustls")]
async fn handshake(endpoint: &Endpoint, tcp: TcpStream) -> Result<Stream, TlsError> {
    let (config, name) = endpoint.tls_params()?;
    let connector = tokio_rustls::TlsConnector::from(config);
    match tokio::time::timeout(endpoint.connect_timeout, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
        Ok(Err(e)) => Err(TlsError::Handshake(e)),
        Err(_) => Err(TlsError::Handshake(io::Error::new(
            io::ErrorKind::TimedOut,
            "TLS handshake timed out",
        ))),
    }
}

impl From<ServerStream> for Stream {
    fn from(stream: ServerStream) -> Stream {
        match stream {
            ServerStream::Tcp(tcp) => Stream::Plain(tcp),
            #[cfg(feature = "rustls")]
            ServerStream::Tls(tls) => Stream::ServerTls(tls),
            #[cfg(feature = "rustls")]
            ServerStream::ClientTls(tls) => Stream::Tls(tls),
        }
    }
}

impl Connection {
    /// Connects, upgrades to TLS as asked, and runs the session until it
    /// is ready for messages: greeting, EHLO, STARTTLS, AUTH.
    pub(super) async fn open(endpoint: &Endpoint) -> Result<Self, Error> {
        let mut tcp = connect_tcp(endpoint).await?;
        if let Some(header) = &endpoint.proxy {
            // Before anything else, TLS included (PROXY protocol §2.1).
            let sent = tokio::time::timeout(endpoint.connect_timeout, tcp.write_all(header)).await;
            let sent = sent.unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "sending the PROXY header timed out",
                ))
            });
            sent.map_err(|source| Error::Connect {
                host: endpoint.host.clone(),
                port: endpoint.port,
                source,
            })?;
        }
        let stream = if endpoint.implicit() {
            #[cfg(feature = "rustls")]
            {
                handshake(endpoint, tcp).await?
            }
            #[cfg(not(feature = "rustls"))]
            {
                drop(tcp);
                return Err(Error::Tls(super::error::TlsError::NotConfigured));
            }
        } else {
            Stream::Plain(tcp)
        };
        let mut conn = Connection {
            session: Session::new(endpoint),
            stream,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            out: Gather::default(),
        };
        conn.drive(endpoint, Session::settled).await;
        conn.session.setup_result(endpoint)?;
        Ok(conn)
    }

    /// Takes over a connection whose roles ATRN or TURN reversed, this side
    /// now the client: `leftover` (the peer's greeting, perhaps) is taken
    /// first, then the session runs until it is ready for messages (EHLO;
    /// no STARTTLS on a connection that is TLS already).
    pub(super) async fn reversed(
        endpoint: &Endpoint,
        stream: ServerStream,
        leftover: &Bytes,
    ) -> Result<Self, Error> {
        let mut session = Session::new(endpoint);
        if stream.is_tls() {
            session.client.set_implicit_tls();
        }
        session.client.receive(leftover);
        let mut conn = Connection {
            session,
            stream: stream.into(),
            buf: vec![0; READ_BUF].into_boxed_slice(),
            out: Gather::default(),
        };
        conn.drive(endpoint, Session::settled).await;
        conn.session.setup_result(endpoint)?;
        Ok(conn)
    }

    /// The connection, for the server runtime once ATRN reversed the
    /// roles; `None` when it is gone.
    pub(super) fn into_stream(self) -> Option<ServerStream> {
        match self.stream {
            Stream::Plain(tcp) => Some(ServerStream::Tcp(tcp)),
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => Some(ServerStream::ClientTls(tls)),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(tls) => Some(ServerStream::Tls(tls)),
            Stream::Gone => None,
        }
    }

    /// Runs the session until `done` or until it closes, in the machine's
    /// order: time → events → transmit → read or wait for the deadline.
    pub(super) async fn drive(&mut self, endpoint: &Endpoint, done: impl Fn(&Session) -> bool) {
        loop {
            // The machine's clock, at every wake-up (RFC 5321 §4.5.3.2).
            self.session.client.handle_timeout(Instant::now());
            if self.session.handle_events() {
                self.starttls(endpoint).await;
                continue;
            }
            if let Err(e) = self.transmit(endpoint).await {
                self.out.clear();
                // The server may have said why before it went away.
                self.read_rest().await;
                self.session.io_failed(e);
                continue;
            }
            if done(&self.session) {
                return;
            }
            if self.session.client.is_closed() {
                let _ = tokio::time::timeout(CLOSE_WAIT, self.stream.shutdown()).await;
                self.stream = Stream::Gone;
                return;
            }
            self.read(endpoint).await;
        }
    }

    #[cfg(feature = "rustls")]
    async fn starttls(&mut self, endpoint: &Endpoint) {
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            let e = io::Error::other("STARTTLS on a TLS connection");
            return self.session.tls_failed(TlsError::Handshake(e));
        };
        match handshake(endpoint, tcp).await {
            Ok(tls) => {
                self.stream = tls;
                let _ = self.session.client.tls_established();
            }
            Err(e) => self.session.tls_failed(e),
        }
    }

    #[cfg(not(feature = "rustls"))]
    async fn starttls(&mut self, _endpoint: &Endpoint) {
        // Unreachable through `Endpoint`: without TLS its policy is None.
        self.stream = Stream::Gone;
        self.session
            .tls_failed(super::error::TlsError::NotConfigured);
    }

    /// Writes everything the machine has to send, gathered into vectored
    /// writes. Each write may take the data block timeout (RFC 5321
    /// §4.5.3.2.5).
    async fn transmit(&mut self, endpoint: &Endpoint) -> io::Result<()> {
        let limit = endpoint.config.timeouts.data_block;
        let mut wrote = false;
        while self.out.fill(&mut self.session.client) {
            wrote = true;
            while !self.out.is_empty() {
                let slices = self.out.slices();
                let n = match tokio::time::timeout(limit, self.stream.write_vectored(&slices)).await
                {
                    Ok(r) => r?,
                    Err(_) => return Err(write_timeout()),
                };
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                self.out.advance(n);
            }
        }
        if wrote {
            match tokio::time::timeout(limit, self.stream.flush()).await {
                Ok(r) => r?,
                Err(_) => return Err(write_timeout()),
            }
        }
        Ok(())
    }

    /// Waits for input until the machine's deadline.
    async fn read(&mut self, endpoint: &Endpoint) {
        let deadline = self
            .session
            .client
            .poll_timeout()
            // Nothing awaited: wake up all the same, then look again.
            .unwrap_or_else(|| Instant::now() + endpoint.config.timeouts.command);
        let read = tokio::time::timeout_at(deadline.into(), self.stream.read(&mut self.buf)).await;
        // What was read arrived now: a reply it completes restarts the
        // wait from here.
        self.session.client.handle_timeout(Instant::now());
        match read {
            // The deadline: the top of the loop gives the time.
            Err(_) => {}
            Ok(Ok(0)) => self.session.client.peer_closed(),
            Ok(Ok(n)) => self
                .session
                .client
                .receive(self.buf.get(..n).unwrap_or_default()),
            Ok(Err(e)) => self.session.io_failed(e),
        }
    }

    /// After a failed write: whatever the server sent before it went away
    /// (a `421` saying why), briefly.
    async fn read_rest(&mut self) {
        let until = tokio::time::Instant::now() + CLOSE_WAIT;
        while !self.session.client.is_closed() {
            match tokio::time::timeout_at(until, self.stream.read(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => self
                    .session
                    .client
                    .receive(self.buf.get(..n).unwrap_or_default()),
                _ => return,
            }
        }
    }

    /// Before reusing an idle connection: takes, without waiting, what the
    /// server sent since the last message — the end of the connection or
    /// a `421` (RFC 5321 §3.8) — so that a dead connection is replaced
    /// before a message is risked on it.
    pub(super) async fn probe(&mut self) {
        // Let the runtime's I/O driver run first, so readiness that came
        // since the last read is seen.
        tokio::task::yield_now().await;
        while !self.session.client.is_closed() {
            let read = {
                let mut fut = pin!(self.stream.read(&mut self.buf));
                poll_fn(|cx| match fut.as_mut().poll(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r)),
                    Poll::Pending => Poll::Ready(None),
                })
                .await
            };
            self.session.client.handle_timeout(Instant::now());
            match read {
                None => break,
                Some(Ok(0)) => self.session.client.peer_closed(),
                Some(Ok(n)) => self
                    .session
                    .client
                    .receive(self.buf.get(..n).unwrap_or_default()),
                Some(Err(e)) => self.session.io_failed(e),
            }
        }
        let _ = self.session.handle_events();
    }

    /// QUIT, its reply, and the end of the connection, briefly.
    pub(super) async fn quit(&mut self, endpoint: &Endpoint) {
        if !self.session.client.is_closed() {
            self.session.client.quit();
            let _ =
                tokio::time::timeout(CLOSE_WAIT, self.drive(endpoint, |s| s.client.is_closed()))
                    .await;
        }
        let _ = tokio::time::timeout(CLOSE_WAIT, self.stream.shutdown()).await;
        self.stream = Stream::Gone;
    }

    /// Whether the session runs on TLS.
    pub(super) fn is_tls(&self) -> bool {
        self.session.client.is_tls()
    }
}

fn write_timeout() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the server did not take the data in time",
    )
}
