//! One blocking connection: std::net TCP, the TLS upgrade through
//! rustls's `StreamOwned`, and the loop that moves bytes and time between
//! the socket and the client machine, the machine's deadline becoming the
//! socket's read timeout; or a connection whose roles ATRN reversed, taken
//! over from the server runtime or handed to it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::super::endpoint::Endpoint;
use super::super::error::Error;
#[cfg(feature = "rustls")]
use super::super::error::TlsError;
use super::super::session::{Gather, Session};
use crate::runtime::server::blocking::Stream as ServerStream;

const READ_BUF: usize = 16 * 1024;
/// How long closing may take (QUIT's reply, TLS close_notify).
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The socket: clear text until STARTTLS, or TLS.
enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "rustls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    /// A connection accepted by the server runtime, TLS with this side as
    /// the TLS server, whose roles ATRN reversed.
    #[cfg(feature = "rustls")]
    ServerTls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
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

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => Some(&s.sock),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => Some(&s.sock),
            Stream::Gone => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => s.read(buf),
            Stream::Gone => Err(gone()),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => s.write(buf),
            Stream::Gone => Err(gone()),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => s.write_vectored(bufs),
            Stream::Gone => Err(gone()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.flush(),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(s) => s.flush(),
            Stream::Gone => Err(gone()),
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

fn connect_tcp(endpoint: &Endpoint) -> Result<TcpStream, Error> {
    let fail = |source| Error::Connect {
        host: endpoint.host.clone(),
        port: endpoint.port,
        source,
    };
    let started = Instant::now();
    let addrs = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(fail)?;
    let mut last = None;
    for addr in addrs {
        let left = endpoint
            .connect_timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        match TcpStream::connect_timeout(&addr, left) {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                // A server that stops reading cannot block a write for
                // longer than a data block (RFC 5321 §4.5.3.2.5).
                let _ = tcp.set_write_timeout(Some(nonzero(endpoint.config.timeouts.data_block)));
                return Ok(tcp);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(fail(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the host has no address")
    })))
}

/// A zero timeout means "wait forever" to a socket.
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// The TLS handshake on `tcp`; each of its reads waits the connect
/// timeout at most.
#[cfg(feature = "rustls")]
fn handshake(endpoint: &Endpoint, mut tcp: TcpStream) -> Result<Stream, TlsError> {
    let (config, name) = endpoint.tls_params()?;
    let mut tls = rustls::ClientConnection::new(config, name)
        .map_err(|e| TlsError::Handshake(io::Error::other(e)))?;
    let _ = tcp.set_read_timeout(Some(nonzero(endpoint.connect_timeout)));
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp).map_err(TlsError::Handshake)?;
    }
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(tls, tcp))))
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
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
    pub(super) fn open(endpoint: &Endpoint) -> Result<Self, Error> {
        let mut tcp = connect_tcp(endpoint)?;
        if let Some(header) = &endpoint.proxy {
            // Before anything else, TLS included (PROXY protocol §2.1).
            tcp.write_all(header).map_err(|source| Error::Connect {
                host: endpoint.host.clone(),
                port: endpoint.port,
                source,
            })?;
        }
        let stream = if endpoint.implicit() {
            #[cfg(feature = "rustls")]
            {
                handshake(endpoint, tcp)?
            }
            #[cfg(not(feature = "rustls"))]
            {
                drop(tcp);
                return Err(Error::Tls(super::super::error::TlsError::NotConfigured));
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
        conn.drive(endpoint, Session::settled, None);
        conn.session.setup_result(endpoint)?;
        Ok(conn)
    }

    /// Takes over a connection whose roles ATRN or TURN reversed, this side
    /// now the client: `leftover` (the peer's greeting, perhaps) is taken
    /// first, then the session runs until it is ready for messages (EHLO;
    /// no STARTTLS on a connection that is TLS already).
    pub(super) fn reversed(
        endpoint: &Endpoint,
        stream: ServerStream,
        leftover: &Bytes,
    ) -> Result<Self, Error> {
        let mut session = Session::new(endpoint);
        if stream.is_tls() {
            session.client.set_implicit_tls();
        }
        session.client.receive(leftover);
        let tcp = stream.tcp();
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_write_timeout(Some(nonzero(endpoint.config.timeouts.data_block)));
        let mut conn = Connection {
            session,
            stream: stream.into(),
            buf: vec![0; READ_BUF].into_boxed_slice(),
            out: Gather::default(),
        };
        conn.drive(endpoint, Session::settled, None);
        conn.session.setup_result(endpoint)?;
        Ok(conn)
    }

    /// The connection, for the server runtime once ATRN reversed the
    /// roles; `None` when it is gone.
    pub(super) fn into_stream(self) -> Option<ServerStream> {
        if let Some(tcp) = self.stream.tcp() {
            // The server runtime sets its own deadlines.
            let _ = tcp.set_read_timeout(None);
            let _ = tcp.set_write_timeout(None);
        }
        match self.stream {
            Stream::Plain(tcp) => Some(ServerStream::Tcp(tcp)),
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => Some(ServerStream::ClientTls(tls)),
            #[cfg(feature = "rustls")]
            Stream::ServerTls(tls) => Some(ServerStream::Tls(tls)),
            Stream::Gone => None,
        }
    }

    /// Runs the session until `done`, until it closes, or until `cap`, in
    /// the machine's order: time → events → transmit → read until the
    /// deadline.
    pub(super) fn drive(
        &mut self,
        endpoint: &Endpoint,
        done: impl Fn(&Session) -> bool,
        cap: Option<Instant>,
    ) {
        loop {
            // The machine's clock, at every wake-up (RFC 5321 §4.5.3.2).
            self.session.client.handle_timeout(Instant::now());
            if self.session.handle_events() {
                self.starttls(endpoint);
                continue;
            }
            if let Err(e) = self.transmit() {
                self.out.clear();
                // The server may have said why before it went away.
                self.read_rest();
                self.session.io_failed(e);
                continue;
            }
            if done(&self.session) {
                return;
            }
            if self.session.client.is_closed() {
                self.close_stream();
                return;
            }
            if cap.is_some_and(|cap| Instant::now() >= cap) {
                return;
            }
            self.read(endpoint, cap);
        }
    }

    #[cfg(feature = "rustls")]
    fn starttls(&mut self, endpoint: &Endpoint) {
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            let e = io::Error::other("STARTTLS on a TLS connection");
            return self.session.tls_failed(TlsError::Handshake(e));
        };
        match handshake(endpoint, tcp) {
            Ok(tls) => {
                self.stream = tls;
                let _ = self.session.client.tls_established();
            }
            Err(e) => self.session.tls_failed(e),
        }
    }

    #[cfg(not(feature = "rustls"))]
    fn starttls(&mut self, _endpoint: &Endpoint) {
        // Unreachable through `Endpoint`: without TLS its policy is None.
        self.stream = Stream::Gone;
        self.session
            .tls_failed(super::super::error::TlsError::NotConfigured);
    }

    /// Writes everything the machine has to send, gathered into vectored
    /// writes; the socket's write timeout is the data block timeout.
    fn transmit(&mut self) -> io::Result<()> {
        let mut wrote = false;
        while self.out.fill(&mut self.session.client) {
            wrote = true;
            while !self.out.is_empty() {
                let n = match self.stream.write_vectored(&self.out.slices()) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                self.out.advance(n);
            }
        }
        if wrote {
            self.stream.flush()?;
        }
        Ok(())
    }

    /// Waits for input until the machine's deadline.
    fn read(&mut self, endpoint: &Endpoint, cap: Option<Instant>) {
        let now = Instant::now();
        let deadline = self
            .session
            .client
            .poll_timeout()
            .unwrap_or(now + endpoint.config.timeouts.command);
        let wait = cap
            .map_or(deadline, |cap| cap.min(deadline))
            .saturating_duration_since(now);
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.set_read_timeout(Some(nonzero(wait)));
        }
        let read = self.stream.read(&mut self.buf);
        // What was read arrived now: a reply it completes restarts the
        // wait from here.
        self.session.client.handle_timeout(Instant::now());
        match read {
            Ok(0) => self.session.client.peer_closed(),
            Ok(n) => self
                .session
                .client
                .receive(self.buf.get(..n).unwrap_or_default()),
            // The deadline: the top of the loop gives the time.
            Err(e) if timed_out(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => self.session.io_failed(e),
        }
    }

    /// After a failed write: whatever the server sent before it went away
    /// (a `421` saying why), briefly.
    fn read_rest(&mut self) {
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.set_read_timeout(Some(CLOSE_WAIT));
        }
        while !self.session.client.is_closed() {
            match self.stream.read(&mut self.buf) {
                Ok(n) if n > 0 => self
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
    pub(super) fn probe(&mut self) {
        let Some(tcp) = self.stream.tcp() else {
            return;
        };
        if tcp.set_nonblocking(true).is_err() {
            return;
        }
        while !self.session.client.is_closed() {
            let read = self.stream.read(&mut self.buf);
            self.session.client.handle_timeout(Instant::now());
            match read {
                Ok(0) => self.session.client.peer_closed(),
                Ok(n) => self
                    .session
                    .client
                    .receive(self.buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.session.io_failed(e),
            }
        }
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.set_nonblocking(false);
        }
        let _ = self.session.handle_events();
    }

    /// QUIT, its reply, and the end of the connection, briefly.
    pub(super) fn quit(&mut self, endpoint: &Endpoint) {
        if !self.session.client.is_closed() {
            self.session.client.quit();
            if let Some(tcp) = self.stream.tcp() {
                let _ = tcp.set_write_timeout(Some(CLOSE_WAIT));
            }
            let cap = Instant::now() + CLOSE_WAIT;
            self.drive(endpoint, |s| s.client.is_closed(), Some(cap));
        }
        self.close_stream();
    }

    /// TLS close_notify, then the end of the socket.
    fn close_stream(&mut self) {
        #[cfg(feature = "rustls")]
        match &mut self.stream {
            Stream::Tls(s) => {
                s.conn.send_close_notify();
                let _ = s.sock.set_write_timeout(Some(CLOSE_WAIT));
                let _ = s.conn.complete_io(&mut s.sock);
            }
            Stream::ServerTls(s) => {
                s.conn.send_close_notify();
                let _ = s.sock.set_write_timeout(Some(CLOSE_WAIT));
                let _ = s.conn.complete_io(&mut s.sock);
            }
            _ => {}
        }
        if let Some(tcp) = self.stream.tcp() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        self.stream = Stream::Gone;
    }

    /// Whether the session runs on TLS.
    pub(super) fn is_tls(&self) -> bool {
        self.session.client.is_tls()
    }
}
