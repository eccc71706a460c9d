//! The tokio client transport: one connection at a time to one endpoint,
//! any number of messages over it, a new connection when the server
//! closes it or a message must be sent again; ETRN, and ATRN handing the
//! connection over; a transport on a connection whose roles ATRN reversed.

use bytes::Bytes;

use crate::client::{ApiError, Client, ClientConfig, Envelope, MessageId, MessageOutcome, Part};
use crate::command::Etrn;
use crate::ehlo::Capabilities;
use crate::reply::Reply;
use crate::runtime::server::Reversal;
use crate::values::Domain;

use super::connection::Connection;
use super::endpoint::Endpoint;
use super::error::Error;
use super::reconnect::{Attempts, Next, Reconnect};
use super::session::{Request, Session};

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
    pub async fn connect(endpoint: Endpoint) -> Result<Self, Error> {
        let conn = Connection::open(&endpoint).await?;
        Ok(Self {
            endpoint,
            conn: Some(conn),
            reversed: false,
        })
    }

    /// Sends messages over a connection whose roles TURN or ATRN reversed
    /// (RFC 2645 §5.3), handed to [`Session::reversed`](crate::runtime::server::Session::reversed):
    /// this side, which accepted the command, is now the client. Takes the
    /// peer's greeting (from `reversal.leftover` first) and sends EHLO; the
    /// connection stays as it was, TLS or not (STARTTLS is not used).
    /// Messages then go as on any transport, and [`quit`](Transport::quit)
    /// ends the session.
    ///
    /// There is nothing to connect to again: once the session ends, every
    /// call fails with [`Error::Protocol`].
    pub async fn reversed(reversal: Reversal, config: ClientConfig) -> Result<Self, Error> {
        let Reversal { stream, leftover } = reversal;
        let peer = stream.tcp().peer_addr().map_err(super::session::lost)?;
        let endpoint =
            Endpoint::new(peer.ip().to_string(), peer.port(), config).reconnect(Reconnect::never());
        let conn = Connection::reversed(&endpoint, stream, &leftover).await?;
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
        self.send_with(envelope, |client, envelope| {
            client.submit(envelope, content.clone())
        })
        .await
    }

    /// Sends one message made of parts: content sent as BDAT and URLs the
    /// server fetches with BURL (RFC 4468), as
    /// [`Client::submit_parts`](crate::client::Client::submit_parts)
    /// describes; otherwise as [`send`](Transport::send). A server that
    /// does not offer BURL for a URL's scheme (or CHUNKING for the content
    /// between URLs) fails it before anything is sent:
    /// [`Error::Message`] with
    /// [`MessageError::ExtensionUnsupported`](crate::client::MessageError::ExtensionUnsupported).
    pub async fn send_parts(
        &mut self,
        envelope: Envelope,
        parts: Vec<Part>,
    ) -> Result<MessageOutcome, Error> {
        self.send_with(envelope, |client, envelope| {
            client.submit_parts(envelope, parts.clone())
        })
        .await
    }

    /// Submits the message with `submit` on a usable connection, again on
    /// a new one when the reconnect rules allow.
    async fn send_with(
        &mut self,
        envelope: Envelope,
        submit: impl Fn(&mut Client, Envelope) -> Result<MessageId, ApiError>,
    ) -> Result<MessageOutcome, Error> {
        let mut attempts = Attempts::new(self.endpoint.reconnect);
        loop {
            let next = match usable(&mut self.conn, &self.endpoint, self.reversed).await {
                Ok(conn) => {
                    let id = submit(&mut conn.session.client, envelope.clone())?;
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

    /// ETRN (RFC 1985): asks the server to start its queue for `node` (a
    /// domain, `@domain` for its subdomains too, or `#queue`). The
    /// server's positive reply (RFC 1985 §5.1: 250 started, 251 no
    /// messages waiting, 252 pending messages started, 253 with a count),
    /// or [`Error::Refused`] with its refusal (458 unable to queue, 459
    /// node not allowed), the session going on; [`Error::NotOffered`]
    /// when the server does not offer ETRN (nothing is sent).
    pub async fn etrn(&mut self, node: Etrn<'static>) -> Result<Reply<'static>, Error> {
        let conn = usable(&mut self.conn, &self.endpoint, self.reversed).await?;
        conn.session.request(Request::Etrn(node))?;
        conn.drive(&self.endpoint, Session::answered).await;
        conn.session.answer()
    }

    /// ATRN (RFC 2645 §5.2.1): asks the server, after authentication, to
    /// send the mail held for `domains` (none: every domain the user may
    /// retrieve) over this connection. On `250` the roles reverse
    /// (§5.3): the connection is handed back to serve with
    /// [`SmtpServer::serve_reversed`](crate::runtime::server::SmtpServer::serve_reversed),
    /// and this transport connects anew at its next use. A refusal is
    /// [`Error::Refused`] (450 refused or access denied, 451 unable to
    /// process now, 453 no mail, 530 authentication required), the session
    /// going on; [`Error::NotOffered`] when the server does not offer ATRN.
    /// The reply is awaited at least 10 minutes (RFC 2645 §5.2.1).
    pub async fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Result<Reversal, Error> {
        let conn = usable(&mut self.conn, &self.endpoint, self.reversed).await?;
        conn.session.request(Request::Atrn(domains))?;
        conn.drive(&self.endpoint, Session::answered).await;
        if let Some(leftover) = conn.session.reversed.take() {
            let conn = self.conn.take();
            let stream = conn.and_then(Connection::into_stream);
            return stream
                .map(|stream| Reversal { stream, leftover })
                .ok_or_else(super::session::gone);
        }
        conn.session
            .answer()
            .and_then(|reply| Err(Error::Refused(reply)))
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

/// The current connection if it is usable, else a new one (on a reversed
/// connection, an error: there is nothing to connect to).
async fn usable<'a>(
    conn: &'a mut Option<Connection>,
    endpoint: &Endpoint,
    reversed: bool,
) -> Result<&'a mut Connection, Error> {
    if let Some(c) = conn.as_mut().filter(|c| c.session.usable()) {
        c.probe().await;
    }
    // A connection that ended, or whose state is unknown, is dropped.
    match conn.take() {
        Some(c) if c.session.usable() => return Ok(conn.insert(c)),
        Some(mut c) if reversed => return Err(c.session.ended()),
        _ if reversed => return Err(super::session::gone()),
        _ => {}
    }
    let c = Connection::open(endpoint).await?;
    Ok(conn.insert(c))
}
