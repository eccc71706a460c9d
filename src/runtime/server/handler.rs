//! The application's side of the async runtime: a [`Backend`] that creates
//! a [`Session`] per connection, and the session's answers, each with a
//! default so a handler implements only what it needs.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;

use super::answer::{Answer, BurlAnswer, LmtpAnswer, MessageEnd, SaslAnswer};
use super::info::{ConnectionInfo, Direction, SessionEnd, TlsInfo};
use super::limits::Refusal;
use super::stream::Reversal;
use crate::command::{Etrn, SendMode, Utf8Reply};
use crate::ehlo::Mechanism;
use crate::ext::xclient::Xclient;
use crate::ext::xforward::Xforward;
use crate::params::{MailParams, RcptParams};
use crate::sasl::scram::ScramCredentials;
use crate::sasl::SaslData;
use crate::server::{AbortReason, Credentials, HelloVerb};
use crate::values::{Domain, ForwardPath, Host, ReversePath};

/// Creates the session of each connection, and hears about connections
/// that never got one. Shared by every connection (hence `Sync`): the
/// place for what sessions share (a store, a user table).
///
/// A closure from [`&ConnectionInfo`](ConnectionInfo) to a session is a
/// backend.
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

    /// Accepting a connection failed (e.g. out of file descriptors); the
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
/// Implement the methods with `async fn` (the returned futures must be
/// `Send`). Each is awaited in order, while later pipelined commands wait
/// unread in the machine, and nothing more is read from the client until
/// it completes: a slow look-up holds the session, not the server.
///
/// A future lives in its session's task while it runs: keep large state
/// on the heap (in a `Box` or the backend), not in the future, to keep
/// idle sessions small.
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
    fn connect(&mut self) -> impl Future<Output = Answer> + Send {
        async { Answer::Accept }
    }

    /// HELO, EHLO or LHLO with the name the client gave. Accepting sends
    /// the greeting reply (the capability list for EHLO and LHLO).
    fn hello(
        &mut self,
        verb: HelloVerb,
        host: Host<'static>,
    ) -> impl Future<Output = Answer> + Send {
        let _ = (verb, host);
        async { Answer::Accept }
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
    ) -> impl Future<Output = Answer> + Send {
        let _ = (from, params, send);
        async { Answer::Accept }
    }

    /// One RCPT TO. The machine enforces the recipient limit itself.
    fn rcpt(
        &mut self,
        to: ForwardPath<'static>,
        params: RcptParams<'static>,
    ) -> impl Future<Output = Answer> + Send {
        let _ = (to, params);
        async { Answer::Accept }
    }

    /// BURL (RFC 4468), when [`Extensions::burl`](crate::server::Extensions::burl)
    /// is on, in a transaction with an accepted recipient: the content
    /// `url` refers to (resolving the URLAUTH or IMAP URL is the
    /// handler's), which then reaches [`Session::content`] in its place
    /// among the BDAT chunks. With `last` it ends the message:
    /// [`Session::message_end`] follows. The default cannot resolve any
    /// URL: `554 5.6.6` (RFC 4468 §5).
    fn burl(&mut self, url: String, last: bool) -> impl Future<Output = BurlAnswer> + Send {
        let _ = (url, last);
        async { BurlAnswer::Unavailable }
    }

    /// A chunk of message content, dot-unstuffed (DATA) or as sent (BDAT):
    /// a slice of the read buffer, not a copy. The default drops it.
    fn content(&mut self, chunk: Bytes) -> impl Future<Output = ()> + Send {
        drop(chunk);
        async {}
    }

    /// The whole message was received (SMTP). Accepting takes
    /// responsibility for its delivery (RFC 5321 §4.2.5, §6.1): answer once
    /// it is stored. Required: there is no default, so a handler cannot
    /// acknowledge a message it silently drops (a sink says so by
    /// returning [`Answer::Accept`] after discarding).
    fn message_end(&mut self, end: MessageEnd) -> impl Future<Output = Answer> + Send;

    /// The whole message was received, in LMTP: one reply per accepted
    /// recipient, in RCPT order (RFC 2033 §4.2). The default gives every
    /// recipient [`Session::message_end`]'s answer.
    fn lmtp_message_end(&mut self, end: MessageEnd) -> impl Future<Output = LmtpAnswer> + Send {
        async move { LmtpAnswer::All(self.message_end(end).await) }
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
    fn auth(&mut self, credentials: Credentials) -> impl Future<Output = Answer> + Send {
        drop(credentials);
        async { Answer::Deny }
    }

    /// SCRAM (RFC 5802, RFC 7677), when a SCRAM mechanism is offered: the
    /// stored credentials of `username` for `mechanism` (salt, iterations,
    /// `StoredKey`, `ServerKey`, never the password; see
    /// [`ScramCredentials::derive`]). The runtime draws the server's nonce
    /// and the machine verifies the client's proof; [`Session::auth`] then
    /// gets [`Credentials::Scram`] to authorise. `None`, the default, fails
    /// the exchange (`535 5.7.8`); made-up credentials instead keep an
    /// unknown user's absence hidden (RFC 5802 §9).
    fn scram_credentials(
        &mut self,
        mechanism: Mechanism,
        username: String,
        authzid: Option<String>,
    ) -> impl Future<Output = Option<ScramCredentials>> + Send {
        let _ = (mechanism, username, authzid);
        async { None }
    }

    /// One step of a mechanism the handler runs itself (one in
    /// [`Extensions::auth`](crate::server::Extensions::auth) the machine
    /// does not know, e.g. GSSAPI): `response` is the client's, decoded
    /// (`None` for an AUTH command without initial response). Answer
    /// with a challenge or the outcome; the default refuses (`535 5.7.8`).
    /// EXTERNAL reaches [`Session::auth`] instead: decide it from the
    /// client certificate seen in [`Session::tls_established`] or
    /// [`ConnectionInfo::tls`](super::ConnectionInfo::tls).
    fn auth_step(
        &mut self,
        mechanism: Mechanism,
        response: Option<SaslData>,
    ) -> impl Future<Output = SaslAnswer> + Send {
        let _ = (mechanism, response);
        async { SaslAnswer::Done(Answer::Deny) }
    }

    /// VRFY, when [`Extensions::vrfy`](crate::server::Extensions::vrfy)
    /// is on. Accepting sends `252` (cannot verify, will try: RFC 5321
    /// §3.5.3); answer with a reply after verifying.
    fn vrfy(&mut self, target: String, utf8: Utf8Reply) -> impl Future<Output = Answer> + Send {
        let _ = (target, utf8);
        async { Answer::Accept }
    }

    /// EXPN, when [`Extensions::expn`](crate::server::Extensions::expn)
    /// is on. Accepting sends `252`.
    fn expn(&mut self, target: String, utf8: Utf8Reply) -> impl Future<Output = Answer> + Send {
        let _ = (target, utf8);
        async { Answer::Accept }
    }

    /// ETRN (RFC 1985). Accepting says a queue run started, so the default
    /// refuses (`458`).
    fn etrn(&mut self, request: Etrn<'static>) -> impl Future<Output = Answer> + Send {
        let _ = request;
        async { Answer::Deny }
    }

    /// ATRN (RFC 2645) by an authenticated client, for these domains.
    /// Accepting reverses the roles ([`Session::reversed`]); the default
    /// refuses (`450 4.7.1`).
    fn atrn(&mut self, domains: Vec<Domain<'static>>) -> impl Future<Output = Answer> + Send {
        let _ = domains;
        async { Answer::Deny }
    }

    /// TURN (RFC 821 §3.8). Accepting reverses the roles; the default
    /// refuses (`450 4.7.1`).
    fn turn(&mut self) -> impl Future<Output = Answer> + Send {
        async { Answer::Deny }
    }

    /// A private verb from
    /// [`ServerConfig::private_verbs`](crate::server::ServerConfig::private_verbs).
    /// The default refuses (`550 5.7.1`).
    fn command(
        &mut self,
        verb: String,
        args: Option<String>,
    ) -> impl Future<Output = Answer> + Send {
        let _ = (verb, args);
        async { Answer::Deny }
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
    fn xclient(&mut self, attrs: Xclient<'static>) -> impl Future<Output = Answer> + Send {
        drop(attrs);
        async { Answer::Accept }
    }

    /// XFORWARD from an authorised connection: attributes of the original
    /// client for the next transaction's logs. The default accepts.
    fn xforward(&mut self, attrs: Xforward<'static>) -> impl Future<Output = Answer> + Send {
        drop(attrs);
        async { Answer::Accept }
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
    fn reversed(&mut self, reversal: Reversal) -> impl Future<Output = ()> + Send {
        drop(reversal);
        async {}
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
    /// the roles were reversed, nor for a session dropped because it did
    /// not end in time after a shutdown (a handler that keeps resources
    /// for a message releases them in `Drop` too).
    fn closed(&mut self, end: SessionEnd) {
        let _ = end;
    }
}
