//! The blocking client runtime: the same [`Transport`] and [`Pool`] as on
//! tokio, over `std::net` sockets and threads, with rustls's
//! `StreamOwned` for TLS when the `rustls` feature is on.
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use esmtp::client::{ClientConfig, Envelope};
//! use esmtp::runtime::client::blocking::Transport;
//! use esmtp::runtime::client::Endpoint;
//! use esmtp::values::{Domain, Mailbox};
//!
//! let config = ClientConfig::new(Domain::parse("client.example")?.into_owned());
//! let mut transport = Transport::connect(Endpoint::new("127.0.0.1", 25, config))?;
//! let envelope = Envelope::new(Mailbox::parse("jane@example.org")?.into_owned())
//!     .to(Mailbox::parse("bob@example.net")?.into_owned());
//! transport.send(envelope, "Subject: Hi\r\n\r\nHello, Bob.\r\n")?;
//! transport.quit();
//! # Ok(()) }
//! ```
//!
//! Each call blocks its thread until done. The machine's deadline
//! (RFC 5321 §4.5.3.2) becomes the socket's read timeout, and every write
//! may take the data block timeout.

mod connection; // the socket, TLS and the loop
mod pool; // the blocking pool

pub use pool::Pool;

use bytes::Bytes;

use crate::client::{ApiError, Client, ClientConfig, Envelope, MessageId, MessageOutcome, Part};
use crate::command::Etrn;
use crate::ehlo::Capabilities;
use crate::reply::Reply;
use crate::runtime::server::blocking::Reversal;
use crate::values::Domain;

use super::endpoint::Endpoint;
use super::error::Error;
use super::reconnect::{Attempts, Next, Reconnect};
use super::session::{self, Request, Session};
use connection::Connection;

/// Sends messages to one server over one reused connection, blocking:
/// the twin of the tokio [`Transport`](super::Transport), with the same
/// set-up, results, errors and [`Reconnect`] rules.
#[derive(Debug)]
pub struct Transport {
    endpoint: Endpoint,
    conn: Option<Connection>,
    /// On a connection whose roles were reversed: there is nothing to
    /// connect to again.
    reversed: bool,
}

impl Transport {
    /// A transport that connects at its first message.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            conn: None,
            reversed: false,
        }
    }

    /// Connects now, so that connection, TLS and authentication errors
    /// show before any message is sent.
    pub fn connect(endpoint: Endpoint) -> Result<Self, Error> {
        let conn = Connection::open(&endpoint)?;
        Ok(Self {
            endpoint,
            conn: Some(conn),
            reversed: false,
        })
    }

    /// Sends messages over a connection whose roles TURN or ATRN reversed
    /// (RFC 2645 §5.3), handed to
    /// [`Session::reversed`](crate::runtime::server::blocking::Session::reversed):
    /// see [`Transport::reversed`](super::Transport::reversed) on tokio.
    pub fn reversed(reversal: Reversal, config: ClientConfig) -> Result<Self, Error> {
        let Reversal { stream, leftover } = reversal;
        let peer = stream.tcp().peer_addr().map_err(session::lost)?;
        let endpoint =
            Endpoint::new(peer.ip().to_string(), peer.port(), config).reconnect(Reconnect::never());
        let conn = Connection::reversed(&endpoint, stream, &leftover)?;
        Ok(Self {
            endpoint,
            conn: Some(conn),
            reversed: true,
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether a session is open and ready for a message (as far as is
    /// known without reading from the socket).
    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.session.usable())
    }

    /// Whether the current session runs on TLS.
    pub fn is_tls(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::is_tls)
    }

    /// The capabilities of the current session (`None` when not connected,
    /// or after a fallback to HELO).
    pub fn capabilities(&self) -> Option<&Capabilities<'static>> {
        self.conn.as_ref()?.session.client.capabilities()
    }

    /// Sends one message: see [`Transport::send`](super::Transport::send)
    /// on tokio for the result.
    pub fn send(
        &mut self,
        envelope: Envelope,
        content: impl Into<Bytes>,
    ) -> Result<MessageOutcome, Error> {
        let content = content.into();
        self.send_with(envelope, |client, envelope| {
            client.submit(envelope, content.clone())
        })
    }

    /// Sends one message made of parts, BDAT and BURL (RFC 4468): see
    /// [`Transport::send_parts`](super::Transport::send_parts) on tokio.
    pub fn send_parts(
        &mut self,
        envelope: Envelope,
        parts: Vec<Part>,
    ) -> Result<MessageOutcome, Error> {
        self.send_with(envelope, |client, envelope| {
            client.submit_parts(envelope, parts.clone())
        })
    }

    /// Submits the message with `submit` on a usable connection, again on
    /// a new one when the reconnect rules allow.
    fn send_with(
        &mut self,
        envelope: Envelope,
        submit: impl Fn(&mut Client, Envelope) -> Result<MessageId, ApiError>,
    ) -> Result<MessageOutcome, Error> {
        let mut attempts = Attempts::new(self.endpoint.reconnect);
        loop {
            let next = match usable(&mut self.conn, &self.endpoint, self.reversed) {
                Ok(conn) => {
                    let id = submit(&mut conn.session.client, envelope.clone())?;
                    conn.session.busy = true;
                    conn.drive(&self.endpoint, |s| s.has_outcome(id), None);
                    conn.session.busy = false;
                    attempts.after(conn.session.verdict(id))
                }
                Err(e) => attempts.setup_failed(e),
            };
            match next {
                Next::Return(result) => return result,
                Next::Retry(wait) => {
                    self.conn = None;
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// ETRN (RFC 1985): see [`Transport::etrn`](super::Transport::etrn)
    /// on tokio.
    pub fn etrn(&mut self, node: Etrn<'static>) -> Result<Reply<'static>, Error> {
        let conn = usable(&mut self.conn, &self.endpoint, self.reversed)?;
        conn.session.request(Request::Etrn(node))?;
        conn.drive(&self.endpoint, Session::answered, None);
        conn.session.answer()
    }

    /// ATRN (RFC 2645 §5.2.1): see [`Transport::atrn`](super::Transport::atrn)
    /// on tokio; the connection is handed back to serve with the blocking
    /// [`SmtpServer::serve_reversed`](crate::runtime::server::blocking::SmtpServer::serve_reversed).
    pub fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Result<Reversal, Error> {
        let conn = usable(&mut self.conn, &self.endpoint, self.reversed)?;
        conn.session.request(Request::Atrn(domains))?;
        conn.drive(&self.endpoint, Session::answered, None);
        if let Some(leftover) = conn.session.reversed.take() {
            let conn = self.conn.take();
            let stream = conn.and_then(Connection::into_stream);
            return stream
                .map(|stream| Reversal { stream, leftover })
                .ok_or_else(session::gone);
        }
        conn.session
            .answer()
            .and_then(|reply| Err(Error::Refused(reply)))
    }

    /// Ends the session with QUIT (RFC 5321 §4.1.1.10) and closes the
    /// connection, waiting a short while at most; a later
    /// [`send`](Transport::send) connects again. Dropping a transport
    /// closes its connection without QUIT.
    pub fn quit(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.quit(&self.endpoint);
        }
    }
}

/// The current connection if it is usable, else a new one (on a reversed
/// connection, an error: there is nothing to connect to).
fn usable<'a>(
    conn: &'a mut Option<Connection>,
    endpoint: &Endpoint,
    reversed: bool,
) -> Result<&'a mut Connection, Error> {
    if let Some(c) = conn.as_mut().filter(|c| c.session.usable()) {
        c.probe();
    }
    // A connection that ended, or whose state is unknown, is dropped.
    match conn.take() {
        Some(c) if c.session.usable() => return Ok(conn.insert(c)),
        Some(mut c) if reversed => return Err(c.session.ended()),
        _ if reversed => return Err(session::gone()),
        _ => {}
    }
    let c = Connection::open(endpoint)?;
    Ok(conn.insert(c))
}
