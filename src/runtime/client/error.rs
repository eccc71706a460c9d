//! What can go wrong sending mail through the runtime layer, one variant
//! per class: connecting, TLS, the session, authentication, a local
//! refusal, the server's refusal, an interrupted message, API misuse, and
//! for ETRN and ATRN an extension not offered or a command refused.

use std::io;

use crate::client::{ApiError, AuthError, CloseReason, MessageError, MessageOutcome};
use crate::ehlo::Keyword;
use crate::reply::Reply;

/// Why a message was not delivered to every recipient, or a connection
/// could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No TCP connection: the name did not resolve, the server refused,
    /// or [`Endpoint::connect_timeout`](super::Endpoint::connect_timeout)
    /// passed (the error's kind is then `TimedOut`).
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The socket's error.
        #[source]
        source: io::Error,
    },
    /// TLS could not be had as the endpoint asks.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The session could not be set up or was lost before a message was
    /// submitted: the greeting was not `220` (RFC 5321 §3.1), EHLO and
    /// HELO were refused, the server's replies could not be read, it closed
    /// the connection or sent `421`, or it did not answer in time.
    #[error("the SMTP session failed: {reason}{}", reply_suffix(.reply.as_ref()))]
    Protocol {
        /// How the session ended.
        reason: CloseReason,
        /// The server's reply that ended it, when it sent one and the
        /// session reported it (the greeting, a `421`).
        reply: Option<Reply<'static>>,
        /// The local I/O error, when one ended the session.
        #[source]
        source: Option<io::Error>,
    },
    /// Authentication failed or was not attempted (RFC 4954).
    #[error("authentication failed: {error}{}", reply_suffix(.reply.as_ref()))]
    Auth {
        /// What the failure means; [`AuthError::PlaintextRefused`] when the
        /// session is not encrypted and plain-text authentication is not
        /// allowed (nothing was sent).
        error: AuthError,
        /// The server's reply, if there was one.
        reply: Option<Reply<'static>>,
    },
    /// The message cannot go to this server as it is (too large for its
    /// SIZE, 8-bit or binary content it cannot take, SMTPUTF8 or a
    /// parameter it does not offer); nothing was sent for it.
    #[error("the message cannot be sent to this server: {0}")]
    Message(MessageError),
    /// The server refused the message for some or all recipients: its
    /// MAIL, RCPT or final replies. The outcome holds every reply, per
    /// recipient in envelope order ([`MessageOutcome::delivered`] lists
    /// the recipients it was delivered to, if any).
    #[error("the server refused the message for {} of {} recipient(s)", refused(.0), .0.recipients.len())]
    Rejected(Box<MessageOutcome>),
    /// The session ended while the message was in progress, and the
    /// message was not sent again (see [`Reconnect`](super::Reconnect)).
    #[error("{0}")]
    Interrupted(Box<Interrupted>),
    /// The application's envelope cannot be sent (no recipient, an invalid
    /// parameter).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The server does not offer the extension a command needs (ETRN,
    /// ATRN): nothing was sent.
    #[error("the server does not offer {}", .0.name())]
    NotOffered(Keyword),
    /// The server refused a command other than a message's (ETRN, ATRN)
    /// with this reply; the session goes on.
    #[error("the server refused the command{}", reply_suffix(Some(.0)))]
    Refused(Reply<'static>),
}

impl Error {
    /// Whether trying again later may succeed: a connection or TLS
    /// handshake failure, a session that failed but not with a `5yz`
    /// greeting, a temporary AUTH failure, refusals that are all temporary
    /// (`4yz`, for a message or a command), or an interrupted message that was surely not accepted. An interrupted
    /// message that [may have been accepted](Interrupted::maybe_accepted)
    /// is not: sending it again may deliver it twice.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Protocol { .. } | Error::Tls(TlsError::Handshake(_)) => {
                super::reconnect::setup_retryable(self)
            }
            Error::Auth { error, .. } => *error == AuthError::Temporary,
            Error::Rejected(outcome) => {
                let replies = outcome
                    .mail
                    .iter()
                    .chain(outcome.recipients.iter().flat_map(|r| r.rcpt.iter()))
                    .chain(outcome.recipients.iter().flat_map(|r| r.content.iter()));
                let mut negative = replies.filter(|r| !r.code().is_positive()).peekable();
                negative.peek().is_some() && negative.all(|r| r.code().get() / 100 == 4)
            }
            Error::Interrupted(i) => !i.maybe_accepted,
            Error::Refused(reply) => reply.code().get() / 100 == 4,
            _ => false,
        }
    }
}

fn reply_suffix(reply: Option<&Reply<'_>>) -> String {
    match reply {
        Some(r) => {
            let text = r
                .lines()
                .next()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .unwrap_or_default();
            format!(" ({} {})", r.code().get(), text.escape_default())
        }
        None => String::new(),
    }
}

fn refused(outcome: &MessageOutcome) -> usize {
    outcome.recipients.len() - outcome.delivered().count()
}

/// Why TLS could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// STARTTLS is required and the server does not offer it (RFC 3207);
    /// nothing was sent.
    #[error("STARTTLS is required and the server does not offer it")]
    NotOffered,
    /// STARTTLS is required and the server refused it; nothing was sent.
    #[error("STARTTLS is required and the server refused it")]
    Refused,
    /// The handshake failed (the certificate, the protocol) or timed out.
    #[error("handshake failed: {0}")]
    Handshake(#[source] io::Error),
    /// The host name cannot be checked against a certificate: give one
    /// with [`Endpoint::tls_server_name`](super::Endpoint::tls_server_name).
    #[error("{0:?} cannot be checked against a certificate")]
    InvalidServerName(String),
    /// The server offered STARTTLS to an endpoint with no TLS
    /// configuration (not reachable through [`Endpoint`](super::Endpoint)'s
    /// methods).
    #[error("no TLS configuration")]
    NotConfigured,
}

/// A message whose session ended before its outcome was known, and
/// which was not sent again.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
#[non_exhaustive]
pub struct Interrupted {
    /// The replies received for it, per recipient; its
    /// [`error`](MessageOutcome::error) says how the session ended
    /// ([`MessageError::SessionEnded`] with the `421` if one came, or
    /// [`MessageError::Timeout`]).
    pub outcome: MessageOutcome,
    /// The end of the content was sent and its final reply never came: the
    /// server may have taken the message (RFC 5321 §4.1.1.4). Sending it
    /// again may deliver it twice (RFC 1047); the transport never does.
    pub maybe_accepted: bool,
    /// How the session ended, when it said.
    pub reason: Option<CloseReason>,
    /// The local I/O error that ended it, if any.
    #[source]
    pub source: Option<io::Error>,
}

impl Interrupted {
    fn describe(&self) -> String {
        let how = match (&self.outcome.error, self.reason) {
            (Some(MessageError::SessionEnded(Some(r))), _) => {
                format!("the server ended the session{}", reply_suffix(Some(r)))
            }
            (Some(MessageError::Timeout), _) | (_, Some(CloseReason::Timeout)) => {
                "the server did not answer in time".to_owned()
            }
            (_, Some(CloseReason::Desynchronised)) => {
                "the server's replies could not be understood".to_owned()
            }
            _ => "the connection was lost".to_owned(),
        };
        if self.maybe_accepted {
            format!("{how} after the message was sent: it may have been accepted")
        } else {
            format!("{how} before the message was accepted")
        }
    }
}
