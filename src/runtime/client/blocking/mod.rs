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

use crate::client::{Envelope, MessageOutcome};
use crate::ehlo::Capabilities;

use super::endpoint::Endpoint;
use super::error::Error;
use super::reconnect::{Attempts, Next};
use connection::Connection;

/// Sends messages to one server over one reused connection, blocking:
/// the twin of the tokio [`Transport`](super::Transport), with the same
/// set-up, results, errors and [`Reconnect`](super::Reconnect) rules.
#[derive(Debug)]
pub struct Transport {
    endpoint: Endpoint,
    conn: Option<Connection>,
}

impl Transport {
    /// A transport that connects at its first message.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            conn: None,
        }
    }

    /// Connects now, so that connection, TLS and authentication errors
    /// show before any message is sent.
    pub fn connect(endpoint: Endpoint) -> Result<Self, Error> {
        let conn = Connection::open(&endpoint)?;
        Ok(Self {
            endpoint,
            conn: Some(conn),
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
        let mut attempts = Attempts::new(self.endpoint.reconnect);
        loop {
            let next = match usable(&mut self.conn, &self.endpoint) {
                Ok(conn) => {
                    let id = conn
                        .session
                        .client
                        .submit(envelope.clone(), content.clone())?;
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

/// The current connection if it is usable, else a new one.
fn usable<'a>(
    conn: &'a mut Option<Connection>,
    endpoint: &Endpoint,
) -> Result<&'a mut Connection, Error> {
    if let Some(c) = conn.as_mut().filter(|c| c.session.usable()) {
        c.probe();
    }
    // A connection that ended, or whose state is unknown, is dropped.
    if let Some(c) = conn.take().filter(|c| c.session.usable()) {
        return Ok(conn.insert(c));
    }
    let c = Connection::open(endpoint)?;
    Ok(conn.insert(c))
}
