//! Pending decisions: what the application was asked and what its
//! answer (accept, deny, respond) does to the session.

use super::event::{CloseReason, HelloVerb};
use super::output::Answer;
use super::replies::{
    AUTH_OK, CANNOT_VRFY, ETRN_OK, MESSAGE_OK, OK, RECIPIENT_OK, SENDER_OK, TOO_MANY_AUTH,
};
use super::{Core, Phase, Transaction};
use crate::ext::body::Body;
use crate::ext::MandatedReply;
use crate::reply::Reply;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    Connect,
    Hello(HelloVerb),
    Mail { smtputf8: bool, body: Option<Body> },
    Rcpt,
    MessageEnd,
    Auth,
    Vrfy,
    Etrn,
    Reverse,
    Command,
}

impl Core {
    pub(super) fn accept(&mut self, pending: Pending, reply: Option<&Reply<'_>>) {
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
            Pending::Mail { smtputf8, body } => {
                self.session.transactions = self.session.transactions.saturating_add(1);
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
            Pending::MessageEnd => {
                let n = if self.config.lmtp {
                    self.transaction.as_ref().map_or(0, |t| t.accepted)
                } else {
                    1
                };
                for _ in 0..n {
                    custom(self, MESSAGE_OK);
                }
                self.end_message();
            }
            Pending::Auth => {
                self.session.authenticated = true;
                custom(self, AUTH_OK);
            }
            Pending::Vrfy => custom(self, CANNOT_VRFY),
            Pending::Etrn => custom(self, ETRN_OK),
            Pending::Reverse => {
                custom(self, OK);
                self.phase = Phase::Reversing;
            }
            Pending::Command => custom(self, OK),
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
            Pending::Mail { .. } => {
                // RFC 9422 §4.1: MAILMAX counts refused transactions too.
                self.session.transactions = self.session.transactions.saturating_add(1);
                self.answer(answer);
            }
            Pending::MessageEnd => {
                let n = if self.config.lmtp {
                    self.transaction.as_ref().map_or(0, |t| t.accepted)
                } else {
                    1
                };
                for _ in 0..n {
                    match &answer {
                        Answer::Mandated(m) => self.reply(*m),
                        Answer::Reply(r) => r.write_to(&mut self.tx),
                    }
                }
                self.end_message();
            }
            Pending::Auth => {
                self.answer(answer);
                self.session.auth_failures += 1;
                if self.session.auth_failures >= self.config.limits.auth_attempts {
                    self.close_with(TOO_MANY_AUTH, CloseReason::TooManyErrors);
                }
            }
            _ => self.answer(answer),
        }
    }
}
