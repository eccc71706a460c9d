//! What a server session reports to the application.

use std::fmt;

use bytes::Bytes;

use crate::command::{Etrn, SendMode, Utf8Reply};
use crate::data::ContentError;
use crate::ext::xclient::Xclient;
use crate::ext::xforward::Xforward;
use crate::params::{MailParams, RcptParams};
use crate::proxy::ProxyHeader;
use crate::values::{Domain, ForwardPath, Host, ReversePath};

use super::credentials::Credentials;
use crate::ehlo::Mechanism;
use crate::sasl::SaslData;

/// Which greeting command opened the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HelloVerb {
    /// `HELO` (RFC 5321 §4.1.1.1): no extensions.
    Helo,
    /// `EHLO`.
    Ehlo,
    /// `LHLO` (RFC 2033).
    Lhlo,
}

/// Something the application must see or decide. The events marked
/// *decision* hold back every later command until the application answers
/// the [`super::Decision`] from [`super::Server::decision`] (or uses the
/// shorthands [`super::Server::accept`], [`super::Server::deny`] and
/// [`super::Server::respond`]). An LMTP end of message owes one reply per
/// recipient: [`super::Decision::lmtp`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The PROXY protocol header ([`super::ServerConfig::proxy_protocol`]):
    /// who the client is, as the proxy in front says. Not a decision: the
    /// greeting follows (or [`Event::Connect`], which can refuse the
    /// client by these addresses). A LOCAL header (a health check) names
    /// no addresses: the connection's own are the real ones.
    Proxy(Box<ProxyHeader>),
    /// *Decision*: a client connected (only with
    /// [`super::ServerConfig::ask_on_connect`]). Accept sends the 220
    /// greeting; deny sends `554 5.3.2` and then answers every command but
    /// QUIT with 503 (RFC 5321 §3.1).
    Connect,
    /// *Decision*: HELO, EHLO or LHLO. Accept sends the greeting reply (the
    /// capability list for EHLO/LHLO) and resets the session state.
    Hello {
        /// The command used.
        verb: HelloVerb,
        /// The name the client gave.
        host: Host<'static>,
    },
    /// *Decision*: MAIL (or SEND/SOML/SAML), with its parameters validated
    /// against what was offered. `AUTH=` is already `<>` unless the session
    /// is authenticated (RFC 4954 §5). With CHECKPOINT, a `TRANSID=`
    /// naming a transaction whose content was partly stored can be
    /// restarted instead of accepted ([`super::Decision::restart`], RFC
    /// 1845 §3).
    Mail {
        /// The reverse path.
        from: ReversePath<'static>,
        /// The parameters.
        params: MailParams<'static>,
        /// `Some` for SEND, SOML or SAML (RFC 821 §3.4).
        send: Option<SendMode>,
    },
    /// *Decision*: RCPT.
    Rcpt {
        /// The forward path.
        to: ForwardPath<'static>,
        /// The parameters.
        params: RcptParams<'static>,
    },
    /// Message content: a slice of the receive buffer, dot-unstuffed
    /// (DATA) or raw (BDAT), or what the application supplied for a BURL
    /// ([`super::Server::burl_content`]). Store it; no answer is needed.
    /// After a CHECKPOINT restart it continues the content stored before.
    Content(Bytes),
    /// *Decision*: BURL (RFC 4468, with [`super::Extensions::burl`]) in a
    /// transaction with an accepted recipient: fetch what `url` refers to
    /// and hand it over with [`super::Server::burl_content`], then accept
    /// (`250 2.5.0` for a part; with `last`, [`Event::MessageEnd`]
    /// follows, as after BDAT LAST). Deny sends `554 5.6.6`; respond with
    /// another of [`crate::ext::burl`]'s replies (`451 4.4.1`, `554 5.7.8`
    /// …). A refusal fails the transaction until RSET (RFC 4468 §3.2).
    Burl {
        /// The URL, its scheme one the server advertised (when it named
        /// any).
        url: String,
        /// It ends the message.
        last: bool,
    },
    /// *Decision*: the whole message was received (`<CRLF>.<CRLF>` or
    /// `BDAT … LAST`). Accepting takes responsibility for it (RFC 5321
    /// §4.2.5); in LMTP answer with one reply per accepted recipient
    /// ([`super::LmtpMessageEnd::respond_each`]).
    MessageEnd {
        /// The message size in octets (RFC 1870 §5).
        size: u64,
        /// How many recipients were accepted in this transaction.
        recipients: u32,
    },
    /// The message being received was abandoned; discard whatever was
    /// stored. The session already sent the reply it owed.
    MessageAborted {
        /// Why.
        reason: AbortReason,
    },
    /// *Decision*: AUTH credentials (RFC 4954). Accept sends `235 2.7.0`.
    Auth(Credentials),
    /// *Decision*: a SCRAM exchange (RFC 5802 §5) names its user: answer
    /// with the user's stored credentials and the server's nonce through
    /// [`super::Decision::scram_lookup`]. The machine then verifies the
    /// client's proof itself, and asks [`Event::Auth`] with
    /// [`Credentials::Scram`] once it holds. Deny (or accept, which has
    /// nothing to go on) fails the exchange with `535 5.7.8`.
    ScramLookup {
        /// The SCRAM mechanism.
        mechanism: Mechanism,
        /// The user name, unescaped (SASLprep'd by the client).
        username: String,
        /// The identity the client asks to act as, if any.
        authzid: Option<String>,
    },
    /// A SCRAM proof (or its channel binding) did not verify and the
    /// machine answered `535 5.7.8` itself: count it as a failed AUTH
    /// (e.g. with the runtime's `AuthThrottle`). No answer is needed.
    ScramFailed {
        /// The SCRAM mechanism.
        mechanism: Mechanism,
        /// The user the client named, when the exchange got that far.
        username: Option<String>,
    },
    /// *Decision*: one step of a mechanism the application runs itself
    /// (one in [`super::Extensions::auth`] the machine does not know, e.g.
    /// GSSAPI): answer with a challenge through
    /// [`super::Decision::auth_step`], or accept (`235 2.7.0`, the client
    /// is authenticated) or deny (`535 5.7.8`). The machine does the
    /// base64, the `*` cancel (`501`) and the line limit (RFC 4954 §4).
    AuthStep {
        /// The mechanism.
        mechanism: Mechanism,
        /// The client's response, decoded; `None` when the AUTH command
        /// had no initial response (give the first challenge: empty for a
        /// client-first mechanism).
        response: Option<SaslData>,
    },
    /// *Decision*: VRFY (with [`super::Extensions::vrfy`]); accept sends
    /// `252`, so answer with [`super::Decision::respond`] after verifying
    /// (RFC 5321 §3.5.3).
    Vrfy {
        /// The string to verify.
        target: String,
        /// A UTF-8 reply is allowed.
        utf8: Utf8Reply,
    },
    /// *Decision*: EXPN (with [`super::Extensions::expn`]).
    Expn {
        /// The list to expand.
        target: String,
        /// A UTF-8 reply is allowed.
        utf8: Utf8Reply,
    },
    /// *Decision*: ETRN (RFC 1985).
    Etrn(Etrn<'static>),
    /// *Decision*: ATRN (RFC 2645) by an authenticated client. Accepting
    /// reverses the roles: see [`Event::Reversed`]. Compare its domains
    /// with those held in A-label form (`Domain::eq_ascii`, feature
    /// `idna`): a client may name either form.
    Atrn(Vec<Domain<'static>>),
    /// *Decision*: TURN (RFC 821 §3.8). Accepting reverses the roles.
    Turn,
    /// *Decision*: a private verb from [`super::ServerConfig::private_verbs`];
    /// answer with [`super::Decision::respond`].
    Command {
        /// The verb, as sent.
        verb: String,
        /// The arguments, as sent.
        args: Option<String>,
    },
    /// *Decision*: XCLIENT (Postfix's XCLIENT_README), from a session the
    /// application authorised ([`super::Server::set_xclient_authorized`]):
    /// the client speaks for another, whose attributes these are. Accept
    /// sends a new `220` greeting and returns the session to its start
    /// (EHLO again; TLS stays; authenticated only with a LOGIN value);
    /// deny sends `550 5.7.1` and changes nothing.
    Xclient(Box<Xclient<'static>>),
    /// *Decision*: XFORWARD (Postfix's XFORWARD_README), from a session the
    /// application authorised ([`super::Server::set_xforward_authorized`]).
    /// Accept sends `250 2.0.0` and adds the attributes to those in force
    /// until the transaction ends ([`super::Server::xforward`]); deny sends
    /// `550 5.7.1`.
    Xforward(Box<Xforward<'static>>),
    /// STARTTLS was accepted and its 220 written out: perform the TLS
    /// handshake on the connection now, then call
    /// [`super::Server::tls_established`] (or `tls_failed`). Input
    /// received after the command was discarded (CVE-2011-0411).
    StartTls,
    /// TURN or ATRN succeeded: the connection now runs the other way.
    /// `leftover` holds the bytes already received after the command; feed
    /// them to a client machine (RFC 2645 §5.3). This is the session's last
    /// event: no [`Event::Closed`] follows.
    Reversed {
        /// Input received after the command.
        leftover: Bytes,
    },
    /// The session is over; close the connection.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

impl Event {
    /// Whether the application must answer this event.
    pub fn needs_decision(&self) -> bool {
        matches!(
            self,
            Event::Connect
                | Event::Hello { .. }
                | Event::Mail { .. }
                | Event::Rcpt { .. }
                | Event::Burl { .. }
                | Event::MessageEnd { .. }
                | Event::Auth(_)
                | Event::ScramLookup { .. }
                | Event::AuthStep { .. }
                | Event::Vrfy { .. }
                | Event::Expn { .. }
                | Event::Etrn(_)
                | Event::Atrn(_)
                | Event::Turn
                | Event::Command { .. }
                | Event::Xclient(_)
                | Event::Xforward(_)
        )
    }
}

/// Why a message was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// The content broke a rule (bare CR/LF, long line, size).
    Content(ContentError),
    /// A BDAT chunk or a BURL was refused (size, sequence, resolution).
    ChunkRejected,
    /// RSET, a new EHLO/HELO, or QUIT during a BDAT transfer.
    Reset,
    /// The connection ended or timed out.
    Disconnected,
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// The peer closed the connection.
    PeerClosed,
    /// The session timed out (RFC 5321 §4.5.3.2).
    Timeout,
    /// Too many bad commands or failed AUTH attempts.
    TooManyErrors,
    /// The input exceeded what the session may buffer.
    Overrun,
    /// The connection was refused with a code that closes (e.g. 521).
    Refused,
    /// The TLS handshake failed.
    TlsFailed,
    /// The application shut the session down.
    Shutdown,
    /// A BDAT size that cannot be parsed: the stream cannot be resynchronised.
    Desynchronised,
    /// The PROXY protocol header was malformed, overlong or missing (its
    /// specification, §2.1 and §2.2: the connection is aborted without a
    /// reply).
    ProxyHeader,
}

/// Misuse of the server API by the application (never caused by the peer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No event is waiting for a decision.
    #[error("no decision is pending")]
    NoPendingDecision,
    /// A 3xx reply was given as an answer: only a 2xx accepts and only a
    /// 4xx or 5xx refuses (RFC 5321 §4.2.1); 3xx replies belong to the
    /// protocol (354, 334), which the machine writes itself.
    #[error("a 3xx reply cannot answer an event")]
    IntermediateReply,
    /// An LMTP end of message got a different number of replies than it
    /// has accepted recipients (RFC 2033 §4.2: one each, in RCPT order).
    #[error("LMTP owes {expected} replies, one per accepted recipient; {given} given")]
    RecipientCount {
        /// The accepted recipients.
        expected: usize,
        /// The replies given.
        given: usize,
    },
    /// No STARTTLS handshake is in progress.
    #[error("no TLS handshake is in progress")]
    NoTlsHandshake,
    /// A SCRAM server nonce that cannot go on the wire: it must be
    /// printable ASCII without `,` (RFC 5802 §7).
    #[error("a SCRAM nonce is printable ASCII without ','")]
    InvalidNonce,
    /// SCRAM credentials for another hash than the mechanism's.
    #[error("the SCRAM credentials are for another hash than the mechanism's")]
    ScramHashMismatch,
    /// A restart answers only a MAIL that carries `TRANSID=`, with CHECKPOINT
    /// offered, and restores at least one recipient (RFC 1845 §3).
    #[error("only a MAIL with TRANSID can be restarted, with a recipient")]
    CannotRestart,
    /// No [`Event::Burl`] waits for its content.
    #[error("no BURL is waiting for content")]
    NoBurl,
    /// The content supplied for a BURL broke a limit (size, bare CR or LF):
    /// the machine refused the BURL and answered the decision.
    #[error("the BURL was refused: its content broke a limit")]
    BurlRefused,
}

impl fmt::Display for HelloVerb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HelloVerb::Helo => "HELO",
            HelloVerb::Ehlo => "EHLO",
            HelloVerb::Lhlo => "LHLO",
        })
    }
}
