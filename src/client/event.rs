//! What a client session reports to the application.

use std::sync::Arc;

use bytes::Bytes;

use crate::command::Verb;
use crate::ehlo::{Capabilities, Keyword, Mechanism};
use crate::reply::Reply;

/// Identifies a submitted message in the events about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub(crate) u64);

impl MessageId {
    /// The number, unique within one session, in submission order.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Something the application should see. Only [`Event::StartTls`] needs an
/// answer ([`super::Client::tls_established`] or `tls_failed`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The server's greeting (RFC 5321 §3.1), whatever its code.
    Greeting(Reply<'static>),
    /// The capabilities from an EHLO or LHLO reply (after each one:
    /// again after STARTTLS). None comes after a fallback to HELO: no
    /// extension is then used.
    ///
    /// The set is the one the session keeps
    /// ([`super::Client::capabilities`]), shared rather than copied: it
    /// derefs to [`Capabilities`]; `Arc::unwrap_or_clone` gives an owned
    /// set.
    Capabilities(Arc<Capabilities<'static>>),
    /// The server accepted STARTTLS: perform the TLS handshake now, then
    /// call [`super::Client::tls_established`] (or `tls_failed`). Bytes
    /// received after the `220` were discarded (RFC 3207 §4.2, response
    /// injection).
    StartTls,
    /// AUTH succeeded (`235`).
    Authenticated {
        /// The mechanism used.
        mechanism: Mechanism,
    },
    /// AUTH failed; the messages queued fail with
    /// [`MessageError::Auth`] and the session quits.
    AuthFailed {
        /// The mechanism tried (`None`: no usable mechanism was offered).
        mechanism: Option<Mechanism>,
        /// What the reply means.
        error: AuthError,
        /// The server's reply, if there was one.
        reply: Option<Reply<'static>>,
    },
    /// The content of a message submitted with
    /// [`super::Client::submit_streaming`] is wanted now: push it with
    /// [`super::Client::push_content`].
    ContentWanted(MessageId),
    /// A message is done with: delivered, refused, or failed locally.
    Message(MessageOutcome),
    /// The reply to NOOP, VRFY, EXPN, HELP or ETRN asked for by the
    /// application (in the order asked).
    CommandReply {
        /// The command.
        verb: Verb,
        /// The reply.
        reply: Reply<'static>,
    },
    /// A command the application queued before the server's offer was
    /// known was not sent: the server does not offer what it needs
    /// (XCLIENT or XFORWARD, or one of the attributes given).
    CommandRefused {
        /// The command.
        verb: Verb,
        /// Why ([`ApiError::NotOffered`], [`ApiError::AttributeNotOffered`]).
        error: ApiError,
    },
    /// TURN or ATRN succeeded: the connection now runs the other way.
    /// Create a [`crate::server::Server`] and feed it `leftover` (bytes
    /// already received after the `250`) before anything else (RFC 2645
    /// §5.3).
    Reversed {
        /// Input received after the reply.
        leftover: Bytes,
    },
    /// The session is over; close the connection.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// What an AUTH failure means (RFC 4954 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// `535 5.7.8`: the credentials were rejected.
    InvalidCredentials,
    /// `534 5.7.9`: the mechanism is too weak for this server.
    MechanismTooWeak,
    /// `538 5.7.11`: the mechanism needs an encrypted connection.
    EncryptionRequired,
    /// `454 4.7.0`: a temporary failure; try again later.
    Temporary,
    /// No mechanism both sides allow, or the server does not offer AUTH.
    NoMechanism,
    /// The session is not encrypted and
    /// [`ClientConfig::allow_plaintext_auth`](super::ClientConfig::allow_plaintext_auth)
    /// is off: nothing was sent. A man-in-the-middle that strips STARTTLS
    /// from the EHLO reply must not get the credentials (RFC 3207 §6,
    /// RFC 4954 §4).
    PlaintextRefused,
    /// The credentials hold a character that separates their fields on the
    /// wire (NUL in PLAIN, RFC 4616 §2; ^A in XOAUTH2/OAUTHBEARER): nothing
    /// was sent. See [`ClientCredentials::is_encodable`](super::ClientCredentials::is_encodable).
    UnencodableCredentials,
    /// The server did not prove that it knows the credentials: a SCRAM
    /// server signature that differs, or a `235` before it (RFC 5802 §9).
    /// The exchange was cancelled (or the success not trusted): nothing is
    /// sent but QUIT.
    ServerUnverified,
    /// Another reply, or a challenge that could not be answered.
    Other,
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuthError::InvalidCredentials => "the credentials were rejected",
            AuthError::MechanismTooWeak => "the mechanism is too weak for this server",
            AuthError::EncryptionRequired => "the mechanism needs an encrypted connection",
            AuthError::Temporary => "a temporary failure",
            AuthError::NoMechanism => "no mechanism that both sides allow",
            AuthError::PlaintextRefused => {
                "not attempted: the connection is not encrypted (nothing was sent)"
            }
            AuthError::UnencodableCredentials => {
                "the credentials hold a character the mechanism cannot carry (nothing was sent)"
            }
            AuthError::ServerUnverified => "the server did not prove that it knows the credentials",
            AuthError::Other => {
                "the server refused, or sent a challenge that could not be answered"
            }
        })
    }
}

impl AuthError {
    pub(crate) fn from_code(code: u16) -> Self {
        match code {
            535 => AuthError::InvalidCredentials,
            534 => AuthError::MechanismTooWeak,
            538 => AuthError::EncryptionRequired,
            454 => AuthError::Temporary,
            _ => AuthError::Other,
        }
    }
}

/// The result of one message.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MessageOutcome {
    /// The message.
    pub id: MessageId,
    /// The reply to each MAIL sent for it: usually one; more when its
    /// recipients were split across transactions (LIMITS RCPTMAX, or a
    /// `452` for too many recipients, RFC 5321 §4.5.3.1.10).
    pub mail: Vec<Reply<'static>>,
    /// One entry per envelope recipient, in envelope order.
    pub recipients: Vec<RecipientOutcome>,
    /// Why the message did not get (all the way) through, when the reason
    /// is not a server reply alone: refused locally before anything was
    /// sent, or the session ended.
    pub error: Option<MessageError>,
    /// The end of the content (the final `.` or `BDAT … LAST`) of one of
    /// its transactions was handed to the driver: from then on a final
    /// reply was owed, so a message whose session ended without that
    /// reply may have been accepted all the same (RFC 5321 §4.1.1.4, and
    /// RFC 1047 on the duplicates a resend then makes). A driver that
    /// sends messages again after a lost connection looks here first.
    pub content_end_sent: bool,
}

impl MessageOutcome {
    /// True when every recipient got a positive content reply.
    pub fn all_delivered(&self) -> bool {
        self.error.is_none() && self.recipients.iter().all(RecipientOutcome::delivered)
    }

    /// The octet offset at which the server restarted the transaction the
    /// envelope's `TRANSID=` names (CHECKPOINT, RFC 1845 §3), read from
    /// its `355` reply in [`mail`](Self::mail): only the content from
    /// there on was sent, to the recipients it restored
    /// ([`RecipientOutcome::restored`]). `None` when not restarted.
    pub fn resumed_at(&self) -> Option<u64> {
        if !self.recipients.iter().any(|r| r.restored) {
            return None;
        }
        self.mail
            .iter()
            .find_map(crate::ext::checkpoint::restart_offset)
    }

    /// The envelope indices of the recipients the message was delivered to.
    pub fn delivered(&self) -> impl Iterator<Item = usize> + '_ {
        self.recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| r.delivered())
            .map(|(i, _)| i)
    }
}

/// What happened for one recipient.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RecipientOutcome {
    /// The reply to its RCPT; `None` when none was sent or none came.
    pub rcpt: Option<Reply<'static>>,
    /// The reply after the content that covers this recipient: the single
    /// reply in SMTP, its own in LMTP (RFC 2033 §4.2). `None` when the
    /// content was not sent or not answered.
    pub content: Option<Reply<'static>>,
    /// The recipient was restored by a CHECKPOINT restart (RFC 1845 §3):
    /// its RCPT was accepted in an earlier session, so `rcpt` is `None`.
    pub restored: bool,
}

impl RecipientOutcome {
    /// The recipient was accepted (or restored) and so was the content.
    pub fn delivered(&self) -> bool {
        let ok = |r: &Option<Reply<'static>>| r.as_ref().is_some_and(|r| r.code().is_positive());
        (self.restored || ok(&self.rcpt)) && ok(&self.content)
    }
}

/// Why a message failed without (only) a server reply to say so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// Larger than the server's SIZE limit (RFC 1870 §6); nothing was sent.
    #[error("message of {size} octets exceeds the server's limit of {limit}")]
    TooLarge {
        /// The message size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// 8-bit content and no 8BITMIME (RFC 6152); no MIME downgrade is
    /// implemented, so nothing was sent.
    #[error("8-bit content but the server does not offer 8BITMIME")]
    EightBitUnsupported,
    /// Binary content (NUL or over-long lines) and no BINARYMIME with
    /// CHUNKING (RFC 3030 §3); nothing was sent.
    #[error("binary content but the server does not offer BINARYMIME and CHUNKING")]
    BinaryUnsupported,
    /// An address or the caller needs SMTPUTF8 (RFC 6531 §3.4) and the
    /// server offers neither it nor the legacy UTF8SMTP (RFC 5336);
    /// nothing was sent.
    #[error("the message needs SMTPUTF8, which the server does not offer")]
    SmtpUtf8Unsupported,
    /// A parameter's extension is not offered and the policy is
    /// [`super::ParamPolicy::Fail`], or the message needs an extension
    /// whatever the policy (CONPERM, SEND/SOML/SAML); nothing was sent.
    #[error("the server does not offer {0:?}")]
    ExtensionUnsupported(Keyword),
    /// REQUIRETLS (RFC 8689 §4.1) without TLS or without the server
    /// offering it; nothing was sent.
    #[error("REQUIRETLS needs a TLS session to a server that offers it")]
    RequireTls,
    /// [`super::TlsPolicy::Required`] and no TLS session could be had.
    #[error("TLS is required but could not be established")]
    TlsRequired,
    /// Authentication failed or was impossible.
    #[error("authentication failed: {0:?}")]
    Auth(AuthError),
    /// The server's LIMITS MAILMAX (RFC 9422 §4.1) was reached: submit it
    /// on a new session.
    #[error("the server's limit of transactions per session was reached")]
    SessionLimit,
    /// Streamed content cannot be sent twice, so recipients over the
    /// server's limit could not get a second transaction.
    #[error("too many recipients for a streamed message")]
    TooManyRecipients,
    /// The session ended first (`421`, greeting refused, EHLO refused,
    /// peer closed, desynchronised); the reply is the one that ended it.
    #[error("the session ended before the message was done")]
    SessionEnded(Option<Reply<'static>>),
    /// A reply did not come in time (RFC 5321 §4.5.3.2).
    #[error("timed out waiting for the server")]
    Timeout,
    /// The server restarted the transaction at `offset` (CHECKPOINT, RFC
    /// 1845 §3) and the content cannot be resumed there: past its end, not
    /// at the start of a line for DATA, in a message with BURL parts, or
    /// streamed content sent with DATA (which cannot be checked before
    /// DATA goes out). No content was sent; RSET ends the transaction.
    #[error("cannot resume the content at the server's offset {offset}")]
    CannotResume {
        /// The offset the server gave.
        offset: u64,
    },
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// QUIT was sent and answered (or the server closed after it).
    Quit,
    /// The server sent `421` (RFC 5321 §3.8).
    ServiceClosing,
    /// The greeting was not `220`.
    Refused,
    /// The peer closed the connection.
    PeerClosed,
    /// A reply did not come in time.
    Timeout,
    /// The server's bytes could not be parsed as replies, or came
    /// unasked: the stream cannot be trusted any more.
    Desynchronised,
    /// The TLS handshake failed.
    TlsFailed,
    /// The roles were reversed (TURN, ATRN).
    Reversed,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CloseReason::Quit => "the session was ended with QUIT",
            CloseReason::ServiceClosing => "the server is closing the session (421)",
            CloseReason::Refused => "the server refused the session",
            CloseReason::PeerClosed => "the server closed the connection",
            CloseReason::Timeout => "the server did not answer in time",
            CloseReason::Desynchronised => {
                "the server's replies could not be read (malformed, too long, or not asked for)"
            }
            CloseReason::TlsFailed => "the TLS handshake failed",
            CloseReason::Reversed => "the roles were reversed (TURN, ATRN)",
        })
    }
}

/// Misuse of the client API by the application (never caused by the peer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No message with this id is waiting for content.
    #[error("no streamed message with this id is waiting for content")]
    UnknownMessage,
    /// The session is closing or closed.
    #[error("the session is closing")]
    Closing,
    /// No STARTTLS handshake is in progress.
    #[error("no TLS handshake is in progress")]
    NoTlsHandshake,
    /// An envelope without a recipient: RFC 5321 §3.3 needs at least one
    /// RCPT before DATA.
    #[error("a message needs a recipient")]
    NoRecipient,
    /// A caller parameter is not a valid `esmtp-keyword ["=" esmtp-value]`
    /// (RFC 5321 §4.1.2), so it is refused rather than left off the wire.
    #[error("a parameter is not a valid esmtp-keyword[=esmtp-value]")]
    InvalidParam,
    /// Caller text for a command line is empty or holds CR, LF or another
    /// control character (which would write a second command).
    #[error("text for a command line is empty or holds a control character")]
    InvalidText,
    /// A caller command cannot be written as one line.
    #[error("the command cannot be written as one line: {0}")]
    Unwritable(#[from] crate::error::EncodeError),
    /// A SASL nonce that cannot go on the wire: it must be printable
    /// ASCII without `,` (RFC 5802 §7).
    #[error("a SASL nonce is printable ASCII without ','")]
    InvalidNonce,
    /// A PROXY protocol header must be the first octets of the connection,
    /// and there is one at most: bytes were already received or queued.
    #[error("a PROXY protocol header must come first, once")]
    ProxyHeaderTooLate,
    /// The server does not offer the extension the command needs (XCLIENT,
    /// XFORWARD, VERB, ONEX; or its capabilities are not known yet):
    /// nothing was sent.
    #[error("the server does not offer {0}")]
    NotOffered(&'static str),
    /// The server offers XCLIENT or XFORWARD but not this attribute (its
    /// EHLO keyword lists the ones it takes): nothing was sent.
    #[error("the server does not take the {0} attribute")]
    AttributeNotOffered(crate::ext::xclient::AttrName),
    /// A raw command with a verb whose state the machine keeps
    /// ([`super::Client::raw_command`]).
    #[error("{0:?} is managed by the session; it cannot be sent raw")]
    ManagedVerb(Verb),
    /// The PROXY protocol header cannot be written in the version asked.
    #[error("the PROXY protocol header cannot be written: {0}")]
    ProxyHeader(#[from] crate::proxy::ProxyEncodeError),
    /// The envelope's parameters lack one that another needs (MTRK needs
    /// `ENVID=local@host`, RFC 3885 §3.2): nothing was queued.
    #[error("{0}")]
    ParamDependency(&'static str),
}

/// Reply codes that make the client end a session.
pub(crate) fn is_closing(reply: &Reply<'_>) -> bool {
    reply.code().get() == 421
}
