//! The application's side of the blocking runtime: a [`Backend`] that
//! creates a [`Session`] per connection, the session's answers (each with a
//! default), and the stream a role reversal hands over.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};

use bytes::Bytes;

use crate::command::{Etrn, SendMode, Utf8Reply};
use crate::ehlo::Mechanism;
use crate::ext::xclient::Xclient;
use crate::ext::xforward::Xforward;
use crate::params::{MailParams, RcptParams};
use crate::runtime::server::{
    Answer, BurlAnswer, ConnectionInfo, Direction, LmtpAnswer, MessageEnd, Refusal, SaslAnswer,
    SessionEnd, TlsInfo,
};
use crate::sasl::scram::ScramCredentials;
use crate::sasl::SaslData;
use crate::server::{AbortReason, Credentials, HelloVerb};
use crate::values::{Domain, ForwardPath, Host, ReversePath};

/// Creates the session of each connection, and hears about connections
/// that never got one; shared by every connection's thread. A closure from
/// [`&ConnectionInfo`](ConnectionInfo) to a session is a backend.
pub trait Backend: Send + Sync + 'static {
    /// The per-connection handler.
    type Session: Session;

    /// A session for a connection that was admitted (within the limits
    /// and, on an implicit-TLS listener, after the handshake).
    fn new_session(&self, conn: &ConnectionInfo) -> Self::Session;

    /// A connection was refused with `421 4.7.0` for a connection limit.
    fn refused(&self, peer: SocketAddr, why: Refusal) {
        let _ = (peer, why);
    }

    /// The TLS handshake of a connection to an implicit-TLS listener
    /// failed (or timed out): no session was created.
    fn handshake_failed(&self, peer: SocketAddr, error: &io::Error) {
        let _ = (peer, error);
    }

    /// A connection's PROXY protocol header (with
    /// [`ServerConfig::proxy_protocol`](crate::server::ServerConfig::proxy_protocol))
    /// was malformed, over its limit, or not there in time
    /// ([`RuntimeConfig::proxy_header_timeout`](crate::runtime::server::RuntimeConfig::proxy_header_timeout)):
    /// the connection was closed without a reply, as the specification
    /// asks (§2.1), and no session was created.
    fn proxy_failed(&self, peer: SocketAddr, error: &io::Error) {
        let _ = (peer, error);
    }

    /// Accepting a connection, or starting its thread, failed; the
    /// listener waits a moment and goes on.
    fn accept_failed(&self, error: &io::Error) {
        let _ = error;
    }
}

impl<F, S> Backend for F
where
    F: Fn(&ConnectionInfo) -> S + Send + Sync + 'static,
    S: Session,
{
    type Session = S;

    fn new_session(&self, conn: &ConnectionInfo) -> S {
        self(conn)
    }
}

/// One connection's handler: the answers to the machine's decisions, and
/// the message content. Every method but [`Session::message_end`] has a
/// default, so a handler writes only what it needs; the defaults accept,
/// except where accepting would claim something the handler has not done:
/// AUTH, ETRN, ATRN, TURN and private commands are refused, and the end of
/// a message, whose acceptance takes responsibility for it, has no default.
///
/// The blocking twin of the async [`Session`](crate::runtime::server::Session)
/// (feature `tokio`): the same methods and defaults, called on the
/// connection's own thread. Each call is made in order, while later
/// pipelined commands wait unread in the machine, and nothing more is read
/// from the client until it returns.
///
/// A transaction starts with [`Session::mail`] (forget any earlier one:
/// RSET and a new EHLO are handled by the machine and reach the handler as
/// the next `mail`), adds [`Session::rcpt`]s, streams
/// [`Session::content`], and ends with [`Session::message_end`] (or
/// [`Session::lmtp_message_end`]) or [`Session::message_aborted`].
pub trait Session: Send + 'static {
    /// The connection, before the greeting. `Deny` sends `554 5.3.2` and
    /// answers every command but QUIT with `503` (RFC 5321 §3.1); a `421`
    /// or `521` reply closes at once (RFC 7504).
    fn connect(&mut self) -> Answer {
        Answer::Accept
    }

    /// HELO, EHLO or LHLO with the name the client gave. Accepting sends
    /// the greeting reply (the capability list for EHLO and LHLO).
    fn hello(&mut self, verb: HelloVerb, host: Host<'static>) -> Answer {
        let _ = (verb, host);
        Answer::Accept
    }

    /// MAIL FROM (or SEND, SOML, SAML: `send`), its parameters already
    /// checked against what was offered. Starts a new transaction, or with
    /// CHECKPOINT takes up the one `params.extras().transid` names when
    /// the handler stored part of its content: [`Answer::Restart`] (RFC
    /// 1845 §3).
    fn mail(
        &mut self,
        from: ReversePath<'static>,
        params: MailParams<'static>,
        send: Option<SendMode>,
    ) -> Answer {
        let _ = (from, params, send);
        Answer::Accept
    }

    /// One RCPT TO. The machine enforces the recipient limit itself.
    fn rcpt(&mut self, to: ForwardPath<'static>, params: RcptParams<'static>) -> Answer {
        let _ = (to, params);
        Answer::Accept
    }

    /// BURL (RFC 4468), when [`Extensions::burl`](crate::server::Extensions::burl)
    /// is on, in a transaction with an accepted recipient: the content
    /// `url` refers to, which then reaches [`Session::content`] in its
    /// place among the BDAT chunks; with `last`, [`Session::message_end`]
    /// follows. The default cannot resolve any URL: `554 5.6.6` (RFC 4468
    /// §5).
    fn burl(&mut self, url: String, last: bool) -> BurlAnswer {
        let _ = (url, last);
        BurlAnswer::Unavailable
    }

    /// A chunk of message content, dot-unstuffed (DATA) or as sent (BDAT):
    /// a slice of the read buffer, not a copy. The default drops it.
    fn content(&mut self, chunk: Bytes) {
        drop(chunk);
    }

    /// The whole message was received (SMTP). Accepting takes
    /// responsibility for its delivery (RFC 5321 §4.2.5, §6.1): answer once
    /// it is stored. Required: there is no default, so a handler cannot
    /// acknowledge a message it silently drops (a sink says so by
    /// returning [`Answer::Accept`] after discarding).
    fn message_end(&mut self, end: MessageEnd) -> Answer;

    /// The whole message was received, in LMTP: one reply per accepted
    /// recipient, in RCPT order (RFC 2033 §4.2). The default gives every
    /// recipient [`Session::message_end`]'s answer.
    fn lmtp_message_end(&mut self, end: MessageEnd) -> LmtpAnswer {
        LmtpAnswer::All(self.message_end(end))
    }

    /// The message being received was abandoned (RSET during BDAT, a
    /// content error, a timeout, the connection lost, a shutdown); the
    /// machine already replied. Discard whatever was stored.
    fn message_aborted(&mut self, reason: AbortReason) {
        let _ = reason;
    }

    /// A SCRAM proof did not verify: the machine answered `535 5.7.8`
    /// without asking [`Session::auth`]. Count it as a failed AUTH (an
    /// [`AuthThrottle`](crate::runtime::server::AuthThrottle)); the default
    /// ignores it.
    fn scram_failed(&mut self, mechanism: Mechanism, username: Option<String>) {
        let _ = (mechanism, username);
    }

    /// AUTH credentials (RFC 4954), when mechanisms are offered. Check
    /// them; accepting sends `235 2.7.0`. The default refuses (`535 5.7.8`).
    /// [`Credentials::Scram`] comes with the proof already verified (see
    /// `scram_credentials`): decide who may act as whom. For
    /// [`Credentials::External`] decide from the connection itself, e.g.
    /// the client certificate in the `TlsInfo` handed to
    /// `tls_established` (RFC 4422 Appendix A).
    fn auth(&mut self, credentials: Credentials) -> Answer {
        drop(credentials);
        Answer::Deny
    }

    /// SCRAM (RFC 5802, RFC 7677): the stored credentials of `username`
    /// for `mechanism`, as the tokio
    /// [`Session::scram_credentials`](crate::runtime::server::Session::scram_credentials)
    /// describes. `None`, the default, fails the exchange (`535 5.7.8`).
    fn scram_credentials(
        &mut self,
        mechanism: Mechanism,
        username: String,
        authzid: Option<String>,
    ) -> Option<ScramCredentials> {
        let _ = (mechanism, username, authzid);
        None
    }

    /// One step of a mechanism the handler runs itself, as the tokio
    /// [`Session::auth_step`](crate::runtime::server::Session::auth_step)
    /// describes. The default refuses (`535 5.7.8`).
    fn auth_step(&mut self, mechanism: Mechanism, response: Option<SaslData>) -> SaslAnswer {
        let _ = (mechanism, response);
        SaslAnswer::Done(Answer::Deny)
    }

    /// VRFY, when [`Extensions::vrfy`](crate::server::Extensions::vrfy)
    /// is on. Accepting sends `252` (cannot verify, will try: RFC 5321
    /// §3.5.3); answer with a reply after verifying.
    fn vrfy(&mut self, target: String, utf8: Utf8Reply) -> Answer {
        let _ = (target, utf8);
        Answer::Accept
    }

    /// EXPN, when [`Extensions::expn`](crate::server::Extensions::expn)
    /// is on. Accepting sends `252`.
    fn expn(&mut self, target: String, utf8: Utf8Reply) -> Answer {
        let _ = (target, utf8);
        Answer::Accept
    }

    /// ETRN (RFC 1985). Accepting says a queue run started, so the default
    /// refuses (`458`).
    fn etrn(&mut self, request: Etrn<'static>) -> Answer {
        let _ = request;
        Answer::Deny
    }

    /// ATRN (RFC 2645) by an authenticated client, for these domains.
    /// Accepting reverses the roles ([`Session::reversed`]); the default
    /// refuses (`450 4.7.1`).
    fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Answer {
        let _ = domains;
        Answer::Deny
    }

    /// TURN (RFC 821 §3.8). Accepting reverses the roles; the default
    /// refuses (`450 4.7.1`).
    fn turn(&mut self) -> Answer {
        Answer::Deny
    }

    /// A private verb from
    /// [`ServerConfig::private_verbs`](crate::server::ServerConfig::private_verbs).
    /// The default refuses (`550 5.7.1`).
    fn command(&mut self, verb: String, args: Option<String>) -> Answer {
        let _ = (verb, args);
        Answer::Deny
    }

    /// Whether this connection may use XCLIENT (Postfix's
    /// XCLIENT_README; with
    /// [`Extensions::xclient`](crate::server::Extensions::xclient) on):
    /// asked once the session exists, by what it knows of the connection
    /// ([`ConnectionInfo`]), and again after each accepted XCLIENT. The
    /// default: no.
    fn xclient_authorized(&self) -> bool {
        false
    }

    /// Whether this connection may use XFORWARD, as
    /// [`Session::xclient_authorized`]. The default: no.
    fn xforward_authorized(&self) -> bool {
        false
    }

    /// XCLIENT from an authorised connection: the client now speaks for
    /// the one `attrs` describes. Accepting sends a new greeting and
    /// starts the session over (EHLO again). The default accepts.
    fn xclient(&mut self, attrs: Xclient<'static>) -> Answer {
        drop(attrs);
        Answer::Accept
    }

    /// XFORWARD from an authorised connection: attributes of the original
    /// client for the next transaction's logs. The default accepts.
    fn xforward(&mut self, attrs: Xforward<'static>) -> Answer {
        drop(attrs);
        Answer::Accept
    }

    /// The STARTTLS handshake completed: the session starts over under TLS
    /// and the client must greet again (RFC 3207 §4.2).
    fn tls_established(&mut self, tls: &TlsInfo) {
        let _ = tls;
    }

    /// TURN or ATRN was accepted and its `250` written: the connection now
    /// runs the other way, with this side as the client (RFC 2645 §5.3).
    /// `reversal` holds the stream and the bytes already read after the
    /// command; feed them to a [`Client`](crate::client::Client). The
    /// default closes the connection.
    fn reversed(&mut self, reversal: Reversal) {
        drop(reversal);
    }

    /// Every octet of the session as it crosses the connection, read from
    /// the client or written to it, in order and after TLS decryption (the
    /// handshake itself is not seen): the tap for a transcript or a
    /// protocol trace. AUTH exchanges are included, so redact before
    /// storing. Replies written while a decision is awaited are reported
    /// once it is answered, before anything more is read. The default
    /// ignores them.
    fn transcript(&mut self, direction: Direction, bytes: &[u8]) {
        let _ = (direction, bytes);
    }

    /// The session is over; nothing more will be asked. Not called when
    /// the roles were reversed. A session that did not end in time after a
    /// shutdown has its socket closed and ends with
    /// [`SessionEnd::Failed`] once its thread notices.
    fn closed(&mut self, end: SessionEnd) {
        let _ = end;
    }
}

/// A connection's stream: TCP, or TLS over TCP (after STARTTLS or on an
/// implicit-TLS listener; or, on a connection this side opened as a client
/// and whose roles ATRN or TURN reversed, TLS with this side as the TLS
/// client).
#[derive(Debug)]
#[non_exhaustive]
pub enum Stream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP.
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
    /// TLS over TCP with this side as the TLS client: a connection opened
    /// by a blocking [`Transport`](crate::runtime::client::blocking::Transport)
    /// and handed over by its
    /// [`atrn`](crate::runtime::client::blocking::Transport::atrn).
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    ClientTls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    /// The TCP connection underneath (for timeouts and addresses).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Tcp(tcp) => tcp,
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => &tls.sock,
            #[cfg(feature = "rustls")]
            Stream::ClientTls(tls) => &tls.sock,
        }
    }

    /// The negotiated TLS parameters, for a session served on this stream.
    pub(crate) fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            Stream::Tcp(_) => None,
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => Some(TlsInfo::from_rustls(&tls.conn, true)),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(tls) => Some(TlsInfo::from_state(&tls.conn, true)),
        }
    }

    /// TLS close_notify, when TLS; then the end of the sending side.
    pub(crate) fn close(&mut self) {
        match self {
            Stream::Tcp(_) => {}
            #[cfg(feature = "rustls")]
            Stream::Tls(tls) => {
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
            #[cfg(feature = "rustls")]
            Stream::ClientTls(tls) => {
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
        let _ = self.tcp().shutdown(std::net::Shutdown::Write);
    }

    /// Whether the stream is TLS.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Stream::Tcp(_))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            #[cfg(feature = "rustls")]
            Stream::Tls(s) => s.flush(),
            #[cfg(feature = "rustls")]
            Stream::ClientTls(s) => s.flush(),
        }
    }
}

/// A connection whose roles TURN or ATRN reversed (RFC 821 §3.8, RFC 2645
/// §5.3). The side that accepted the command, handed this by
/// [`Session::reversed`], now speaks as the client:
/// [`Transport::reversed`](crate::runtime::client::blocking::Transport::reversed).
/// The side that sent it, handed this by
/// [`Transport::atrn`](crate::runtime::client::blocking::Transport::atrn),
/// now serves: [`SmtpServer::serve_reversed`](super::SmtpServer::serve_reversed).
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
