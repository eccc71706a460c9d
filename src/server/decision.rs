//! Pending decisions: what the application is asked, the typed views it
//! answers with ([`Decision`], [`LmtpMessageEnd`]), and what each answer
//! does to the session.

use std::fmt;

use super::event::{AbortReason, ApiError, CloseReason, HelloVerb};
use super::output::Answer;
use super::replies::{
    AUTH_FAILED, AUTH_OK, CANNOT_EXPN, CANNOT_VRFY, COMMAND_REJECTED, CONNECT_REFUSED, ETRN_OK,
    ETRN_REJECTED, HELLO_REJECTED, MESSAGE_OK, MESSAGE_REJECTED, OK, RECIPIENT_OK,
    RECIPIENT_REJECTED, REVERSE_REJECTED, SENDER_OK, SENDER_REJECTED, TOO_MANY_AUTH, VRFY_REJECTED,
};
use super::{Core, Phase, Transaction};
use crate::ext::body::Body;
use crate::ext::{burl, checkpoint, xclient, xforward, MandatedReply};
use crate::reply::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    Connect,
    Hello(HelloVerb),
    Mail {
        smtputf8: bool,
        body: Option<Body>,
        /// The MAIL carried `TRANSID=` (RFC 1845): it may be restarted.
        checkpoint: bool,
    },
    Rcpt,
    /// BURL (RFC 4468): the content of its URL, or a refusal.
    Burl {
        last: bool,
    },
    MessageEnd,
    Auth,
    ScramLookup,
    AuthStep,
    Vrfy,
    Expn,
    Etrn,
    Atrn,
    Turn,
    Command,
    Xclient {
        login: bool,
    },
    Xforward,
}

/// What a pending decision is about: the [`super::Event`] that asked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecisionKind {
    /// [`super::Event::Connect`].
    Connect,
    /// [`super::Event::Hello`].
    Hello,
    /// [`super::Event::Mail`].
    Mail,
    /// [`super::Event::Rcpt`].
    Rcpt,
    /// [`super::Event::Burl`].
    Burl,
    /// [`super::Event::MessageEnd`]; in LMTP, see [`Decision::lmtp`].
    MessageEnd,
    /// [`super::Event::Auth`].
    Auth,
    /// [`super::Event::ScramLookup`]; see [`Decision::scram_lookup`].
    ScramLookup,
    /// [`super::Event::AuthStep`]; see [`Decision::auth_step`].
    AuthStep,
    /// [`super::Event::Vrfy`].
    Vrfy,
    /// [`super::Event::Expn`].
    Expn,
    /// [`super::Event::Etrn`].
    Etrn,
    /// [`super::Event::Atrn`].
    Atrn,
    /// [`super::Event::Turn`].
    Turn,
    /// [`super::Event::Command`].
    Command,
    /// [`super::Event::Xclient`].
    Xclient,
    /// [`super::Event::Xforward`].
    Xforward,
}

/// The decision the session waits for, from [`super::Server::decision`]:
/// a borrowed view of the session that the application answers once.
///
/// Each answer consumes the view, so a decision cannot be answered twice
/// (the second call does not compile), and nothing else can be done to the
/// session while the view is held. Answering restarts the idle timer at
/// the latest time given to [`super::Server::handle_timeout`]: give the
/// time first when the decision took a while.
///
/// Only an LMTP end of message owes one reply per accepted recipient (RFC
/// 2033 §4.2), so per-recipient replies are not a method here: they are on
/// [`LmtpMessageEnd`], which [`Decision::lmtp`] returns only for that
/// decision. What the types cannot say stays a typed [`ApiError`]: a 3xx
/// reply ([`ApiError::IntermediateReply`]) and a reply count that differs
/// from the recipients ([`ApiError::RecipientCount`]).
///
/// ```
/// use esmtp::server::{DecisionKind, Server, ServerConfig};
///
/// let mut server = Server::new(ServerConfig::new("mx.example.org").unwrap());
/// server.receive(b"EHLO client.example\r\n");
/// while server.poll_event().is_some() {}
/// let decision = server.decision().expect("EHLO waits for a decision");
/// assert_eq!(decision.kind(), DecisionKind::Hello);
/// decision.accept();
/// assert!(server.decision().is_none());
/// ```
///
/// A second answer to the same decision does not compile:
///
/// ```compile_fail,E0382
/// # use esmtp::server::{Server, ServerConfig};
/// # let mut server = Server::new(ServerConfig::new("mx.example.org").unwrap());
/// let decision = server.decision().unwrap();
/// decision.accept();
/// decision.deny(); // use of moved value
/// ```
///
/// Nor do per-recipient replies outside the LMTP view:
///
/// ```compile_fail,E0599
/// # use esmtp::server::{Server, ServerConfig};
/// # let mut server = Server::new(ServerConfig::new("mx.example.org").unwrap());
/// server.decision().unwrap().respond_each(&[]); // no method `respond_each`
/// ```
pub struct Decision<'a> {
    pub(super) core: &'a mut Core,
    pub(super) pending: Pending,
}

/// An LMTP end of message (RFC 2033 §4.2): one reply is owed per
/// recipient accepted in the transaction, in RCPT order. Reached through
/// [`Decision::lmtp`]; consumed by its answer, as [`Decision`] is.
///
/// ```
/// use esmtp::reply::Reply;
/// use esmtp::server::{Event, Server, ServerConfig};
/// use esmtp::values::{EnhancedStatusCode, ReplyCode};
///
/// let mut config = ServerConfig::new("lmtp.example.org").unwrap();
/// config.lmtp = true;
/// let mut server = Server::new(config);
/// server.receive(b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\n\
///                  RCPT TO:<c@x.org>\r\nDATA\r\nHi\r\n.\r\n");
/// loop {
///     match server.poll_event() {
///         Some(Event::MessageEnd { .. }) => break,
///         Some(e) if e.needs_decision() => server.accept().unwrap(),
///         _ => {}
///     }
/// }
/// let end = server.decision().unwrap().lmtp().ok().expect("LMTP end of message");
/// assert_eq!(end.recipients(), 2);
/// let stored = Reply::new(ReplyCode::OK, EnhancedStatusCode::new(2, 0, 0), ["stored"]).unwrap();
/// let full = Reply::new(ReplyCode::new(452).unwrap(), EnhancedStatusCode::new(4, 2, 2), ["full"]).unwrap();
/// end.respond_each(&[stored, full]).unwrap();
/// ```
pub struct LmtpMessageEnd<'a> {
    core: &'a mut Core,
}

impl fmt::Debug for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for LmtpMessageEnd<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LmtpMessageEnd")
            .field("recipients", &self.recipients())
            .finish_non_exhaustive()
    }
}

impl<'a> Decision<'a> {
    pub(super) fn new(core: &'a mut Core) -> Option<Self> {
        let pending = core.pending?;
        Some(Decision { core, pending })
    }

    /// What is asked.
    pub fn kind(&self) -> DecisionKind {
        match self.pending {
            Pending::Connect => DecisionKind::Connect,
            Pending::Hello(_) => DecisionKind::Hello,
            Pending::Mail { .. } => DecisionKind::Mail,
            Pending::Rcpt => DecisionKind::Rcpt,
            Pending::Burl { .. } => DecisionKind::Burl,
            Pending::MessageEnd => DecisionKind::MessageEnd,
            Pending::Auth => DecisionKind::Auth,
            Pending::ScramLookup => DecisionKind::ScramLookup,
            Pending::AuthStep => DecisionKind::AuthStep,
            Pending::Vrfy => DecisionKind::Vrfy,
            Pending::Expn => DecisionKind::Expn,
            Pending::Etrn => DecisionKind::Etrn,
            Pending::Atrn => DecisionKind::Atrn,
            Pending::Turn => DecisionKind::Turn,
            Pending::Command => DecisionKind::Command,
            Pending::Xclient { .. } => DecisionKind::Xclient,
            Pending::Xforward => DecisionKind::Xforward,
        }
    }

    /// The LMTP end of message, which owes per-recipient replies; the
    /// decision itself back for any other (SMTP's end of message
    /// included, which owes one reply).
    pub fn lmtp(self) -> Result<LmtpMessageEnd<'a>, Decision<'a>> {
        if self.pending == Pending::MessageEnd && self.core.config.lmtp {
            Ok(LmtpMessageEnd { core: self.core })
        } else {
            Err(self)
        }
    }

    /// Answers with the default positive reply of the event (see each
    /// [`super::Event`]); an LMTP end of message gets it once per
    /// recipient.
    pub fn accept(self) {
        self.core.answered();
        self.core.accept(self.pending, None);
    }

    /// Answers with the default refusal of the event; an LMTP end of
    /// message gets it once per recipient.
    pub fn deny(self) {
        let reply = match self.pending {
            Pending::Connect => CONNECT_REFUSED,
            Pending::Hello(_) => HELLO_REJECTED,
            Pending::Mail { .. } => SENDER_REJECTED,
            Pending::Rcpt => RECIPIENT_REJECTED,
            Pending::Burl { .. } => burl::RESOLUTION_FAILED,
            Pending::MessageEnd => MESSAGE_REJECTED,
            Pending::Auth | Pending::ScramLookup | Pending::AuthStep => AUTH_FAILED,
            Pending::Vrfy | Pending::Expn => VRFY_REJECTED,
            Pending::Etrn => ETRN_REJECTED,
            Pending::Atrn | Pending::Turn => REVERSE_REJECTED,
            Pending::Command => COMMAND_REJECTED,
            Pending::Xclient { .. } => xclient::REFUSED,
            Pending::Xforward => xforward::REFUSED,
        };
        self.core.answered();
        self.core.deny(self.pending, Answer::Mandated(reply));
    }

    /// Answers with `reply`: a 2xx reply accepts, a 4xx or 5xx reply
    /// refuses; a `421` also ends the session (RFC 5321 §3.8). An LMTP end
    /// of message gets the same reply for every recipient.
    ///
    /// A 3xx reply is [`ApiError::IntermediateReply`] and leaves the
    /// decision pending: ask [`super::Server::decision`] again.
    pub fn respond(self, reply: &Reply<'_>) -> Result<(), ApiError> {
        if reply.code().is_intermediate() {
            return Err(ApiError::IntermediateReply);
        }
        self.core.answered();
        if reply.code().is_positive() {
            self.core.accept(self.pending, Some(reply));
        } else {
            self.core.deny(self.pending, Answer::Reply(reply));
        }
        // 421 announces that the server closes the channel (RFC 5321
        // §3.8): nothing after it may be read.
        if reply.code().get() == 421 && !self.core.is_closing() {
            self.core.abort_content(AbortReason::Disconnected);
            self.core.transaction = None;
            self.core.phase = Phase::Closing(CloseReason::Shutdown);
        }
        Ok(())
    }

    /// Answers a MAIL whose `TRANSID=` names a transaction interrupted
    /// during its content (RFC 1845 §3): the transaction is taken up again
    /// with `recipients` recipients restored (the client sends no RCPT),
    /// and `355 <offset> is the transaction offset` tells the client to
    /// send its content from octet `offset` on. The content then arrives
    /// as [`super::Event::Content`] continuing the `offset` octets stored
    /// before, and [`super::Event::MessageEnd`] counts them in its size.
    ///
    /// `offset` counts the canonical content (CRLF line ends, no
    /// dot-stuffing); for content that came with DATA it must start a line:
    /// keep the stored octets up to [`crate::ext::checkpoint::resume_offset`]
    /// and drop the rest. Accept instead when nothing is stored: the
    /// client sends everything.
    ///
    /// [`ApiError::CannotRestart`] (the decision stays pending) for
    /// another decision, a MAIL without `TRANSID=`, or no recipient.
    pub fn restart(self, offset: u64, recipients: u32) -> Result<(), ApiError> {
        let Pending::Mail {
            smtputf8,
            body,
            checkpoint: true,
        } = self.pending
        else {
            return Err(ApiError::CannotRestart);
        };
        if recipients == 0 {
            return Err(ApiError::CannotRestart);
        }
        self.core.answered();
        let core = self.core;
        core.session.transactions = core.session.transactions.saturating_add(1);
        core.transaction = Some(Transaction {
            smtputf8,
            body,
            rcpt_commands: recipients,
            accepted: recipients,
            bdat_size: offset,
            restart: offset,
            ..Transaction::default()
        });
        core.tx
            .extend_from_slice(&checkpoint::RESTART_CODE.to_ascii());
        core.tx.push(b' ');
        checkpoint::write_restart_text(offset, &mut core.tx);
        core.tx.extend_from_slice(b"\r\n");
        Ok(())
    }
}

impl<'a> LmtpMessageEnd<'a> {
    /// The recipients accepted in this transaction: how many replies are
    /// owed.
    pub fn recipients(&self) -> usize {
        self.core.transaction.as_ref().map_or(0, |t| t.accepted) as usize
    }

    /// Answers each recipient with its own reply, in RCPT order (RFC 2033
    /// §4.2). A count other than [`LmtpMessageEnd::recipients`]
    /// ([`ApiError::RecipientCount`]) or a 3xx reply
    /// ([`ApiError::IntermediateReply`]) leaves the decision pending.
    pub fn respond_each(self, replies: &[Reply<'_>]) -> Result<(), ApiError> {
        let expected = self.recipients();
        if replies.len() != expected {
            return Err(ApiError::RecipientCount {
                expected,
                given: replies.len(),
            });
        }
        if replies.iter().any(|r| r.code().is_intermediate()) {
            return Err(ApiError::IntermediateReply);
        }
        self.core.answered();
        for reply in replies {
            reply.write_to(&mut self.core.tx);
        }
        self.core.end_message();
        Ok(())
    }

    /// Accepts the message for every recipient (`250 2.0.0` each).
    pub fn accept(self) {
        self.decision().accept();
    }

    /// Refuses the message for every recipient (`554 5.6.0` each).
    pub fn deny(self) {
        self.decision().deny();
    }

    /// Answers every recipient with the same `reply`, as
    /// [`Decision::respond`] does.
    pub fn respond(self, reply: &Reply<'_>) -> Result<(), ApiError> {
        self.decision().respond(reply)
    }

    fn decision(self) -> Decision<'a> {
        Decision {
            core: self.core,
            pending: Pending::MessageEnd,
        }
    }
}

impl Core {
    /// The pending decision is answered: the application's time restarts
    /// the wait for the next step.
    pub(super) fn answered(&mut self) {
        self.pending = None;
        self.timer.restart();
    }

    fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing(_) | Phase::Closed)
    }

    fn accept(&mut self, pending: Pending, reply: Option<&Reply<'_>>) {
        let custom = |core: &mut Core, default: MandatedReply| match reply {
            Some(r) => r.write_to(&mut core.tx),
            None => core.reply(default),
        };
        match pending {
            Pending::Connect => match reply {
                Some(r) => {
                    r.write_to(&mut self.tx);
                    self.phase = Phase::Command;
                }
                None => self.greet(),
            },
            Pending::Hello(verb) => {
                self.transaction = None;
                self.session.hello = Some(verb);
                match (verb, reply) {
                    (_, Some(r)) => r.write_to(&mut self.tx),
                    (HelloVerb::Helo, None) => self.plain_hello(),
                    (_, None) => self.capabilities(),
                }
            }
            Pending::Mail { smtputf8, body, .. } => {
                self.session.transactions = self.session.transactions.saturating_add(1);
                // The one transaction ONEX announced has begun.
                self.session.onex_spent |= self.session.onex;
                self.transaction = Some(Transaction {
                    smtputf8,
                    body,
                    ..Transaction::default()
                });
                custom(self, SENDER_OK);
            }
            Pending::Rcpt => {
                if let Some(t) = self.transaction.as_mut() {
                    t.accepted += 1;
                }
                custom(self, RECIPIENT_OK);
            }
            Pending::Burl { last } => self.burl_resolved(last, reply),
            Pending::MessageEnd => {
                for _ in 0..self.message_end_replies() {
                    custom(self, MESSAGE_OK);
                }
                self.end_message();
            }
            Pending::Auth | Pending::AuthStep => {
                self.phase = Phase::Command;
                self.session.authenticated = true;
                custom(self, AUTH_OK);
            }
            // Nothing to go on without the stored credentials: the
            // exchange fails (Decision::scram_lookup gives them).
            Pending::ScramLookup => self.deny(pending, Answer::Mandated(AUTH_FAILED)),
            // RFC 5321 §3.5.3: 252 when the answer cannot be verified;
            // the text names the command asked.
            Pending::Vrfy => custom(self, CANNOT_VRFY),
            Pending::Expn => custom(self, CANNOT_EXPN),
            Pending::Etrn => custom(self, ETRN_OK),
            Pending::Atrn | Pending::Turn => {
                custom(self, OK);
                self.phase = Phase::Reversing;
            }
            Pending::Command => custom(self, OK),
            Pending::Xclient { login } => {
                self.xclient_accepted(login);
                match reply {
                    Some(r) => r.write_to(&mut self.tx),
                    None => self.greet(),
                }
            }
            Pending::Xforward => {
                self.xforward_accepted();
                custom(self, xforward::OK);
            }
        }
    }

    pub(super) fn deny(&mut self, pending: Pending, answer: Answer<'_, '_>) {
        match pending {
            Pending::Connect => {
                let closes = matches!(&answer, Answer::Reply(r) if r.code().get() == 521 || r.code().get() == 421);
                self.answer(answer);
                self.phase = if closes {
                    Phase::Closing(CloseReason::Refused)
                } else {
                    Phase::Refused
                };
            }
            Pending::Burl { .. } => self.burl_refused(answer, AbortReason::ChunkRejected),
            Pending::Mail { .. } => {
                // RFC 9422 §4.1: MAILMAX counts refused transactions too.
                self.session.transactions = self.session.transactions.saturating_add(1);
                self.answer(answer);
            }
            Pending::MessageEnd => {
                for _ in 0..self.message_end_replies() {
                    match &answer {
                        Answer::Mandated(m) => self.reply(*m),
                        Answer::Reply(r) => r.write_to(&mut self.tx),
                    }
                }
                self.end_message();
            }
            Pending::Auth | Pending::ScramLookup | Pending::AuthStep => {
                self.phase = Phase::Command;
                self.answer(answer);
                self.session.auth_failures += 1;
                if self.session.auth_failures >= self.config.limits.auth_attempts {
                    self.close_with(TOO_MANY_AUTH, CloseReason::TooManyErrors);
                }
            }
            Pending::Xforward => {
                self.forwarding.staged = None;
                self.answer(answer);
            }
            _ => self.answer(answer),
        }
    }

    /// Replies owed at the end of a message: one per accepted recipient in
    /// LMTP (RFC 2033 §4.2), one in SMTP.
    fn message_end_replies(&self) -> u32 {
        if self.config.lmtp {
            self.transaction.as_ref().map_or(0, |t| t.accepted)
        } else {
            1
        }
    }
}
