//! The tokio client transport: one connection at a time to one endpoint,
//! any number of messages over it, a new connection when the server
//! closes it or a message must be sent again.

use bytes::Bytes;

use crate::client::{Envelope, MessageOutcome};
use crate::ehlo::Capabilities;

use super::connection::Connection;
use super::endpoint::Endpoint;
use super::error::Error;
use super::reconnect::{Attempts, Next};

/// Sends messages to one server over one reused connection, on tokio.
///
/// The connection is made by [`Transport::connect`] (or at the first
/// [`send`](Transport::send) of a transport from [`Transport::new`]):
/// TCP, TLS as the [`Endpoint`] asks (STARTTLS required or opportunistic,
/// or implicit TLS), the greeting, EHLO (LHLO in LMTP) and AUTH. Each
/// message then goes out as the machine sends it: with PIPELINING, and
/// BDAT with CHUNKING, when offered. When the server closes the
/// connection or sends `421` between messages, the next message goes on a
/// new connection; a message whose session ends under it is sent again
/// only under the rules of [`Reconnect`](super::Reconnect), which never
/// send twice a message the server may have accepted.
///
/// One message is in flight at a time: `send` takes `&mut self`. For
/// concurrent sends use a [`Pool`](super::Pool). Dropping a `send` future
/// before it completes leaves the connection in an unknown state: it is
/// closed before the next message.
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
    pub async fn connect(endpoint: Endpoint) -> Result<Self, Error> {
        let conn = Connection::open(&endpoint).await?;
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

    /// Sends one message and returns the server's replies for it: per
    /// recipient (its RCPT reply and the reply to the content, one per
    /// recipient in LMTP, RFC 2033 §4.2) in envelope order.
    ///
    /// `Ok` only when every recipient accepted the message. A refusal by
    /// the server, for some or all recipients, is [`Error::Rejected`] with
    /// the same per-recipient replies. Content line ends become CRLF and
    /// dots are stuffed by the machine; `content` is never copied whole.
    pub async fn send(
        &mut self,
        envelope: Envelope,
        content: impl Into<Bytes>,
    ) -> Result<MessageOutcome, Error> {
        let content = content.into();
        let mut attempts = Attempts::new(self.endpoint.reconnect);
        loop {
            let next = match usable(&mut self.conn, &self.endpoint).await {
                Ok(conn) => {
                    let id = conn
                        .session
                        .client
                        .submit(envelope.clone(), content.clone())?;
                    conn.session.busy = true;
                    conn.drive(&self.endpoint, |s| s.has_outcome(id)).await;
                    conn.session.busy = false;
                    attempts.after(conn.session.verdict(id))
                }
                Err(e) => attempts.setup_failed(e),
            };
            match next {
                Next::Return(result) => return result,
                Next::Retry(wait) => {
                    self.conn = None;
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
    }

    /// Ends the session with QUIT (RFC 5321 §4.1.1.10) and closes the
    /// connection, waiting a short while at most; a later
    /// [`send`](Transport::send) connects again. Dropping a transport
    /// closes its connection without QUIT.
    pub async fn quit(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.quit(&self.endpoint).await;
        }
    }
}

/// The current connection if it is usable, else a new one.
async fn usable<'a>(
    conn: &'a mut Option<Connection>,
    endpoint: &Endpoint,
) -> Result<&'a mut Connection, Error> {
    if let Some(c) = conn.as_mut().filter(|c| c.session.usable()) {
        c.probe().await;
    }
    // A connection that ended, or whose state is unknown, is dropped.
    if let Some(c) = conn.take().filter(|c| c.session.usable()) {
        return Ok(conn.insert(c));
    }
    let c = Connection::open(endpoint).await?;
    Ok(conn.insert(c))
}
