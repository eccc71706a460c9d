//! The mail transaction: MAIL, RCPT, DATA and BDAT (RFC 5321 §3.3,
//! §4.1.1.2–§4.1.1.4; RFC 3030), and the end or abort of its content.

use super::config::ServerConfig;
use super::decision::Pending;
use super::event::{AbortReason, Event};
use super::framing::Step;
use super::replies::{
    AUTH_REQUIRED, BAD_SEQUENCE, BDAT_AFTER_FAILURE, DATA_AFTER_BDAT, NEED_HELLO, NEED_LHLO,
    NEED_MAIL, NEED_RCPT, NESTED_MAIL, NOT_IMPLEMENTED, NO_VALID_RCPT, TOO_MANY_MAILS,
    TOO_MANY_RCPTS,
};
use super::{Core, Phase, Transaction};
use crate::command::SendMode;
use crate::data::{BareCheck, BarePolicy, ChunkDecoder, ContentError, DotDecoder};
use crate::ext;
use crate::ext::body::Body;
use crate::ext::MandatedReply;
use crate::params::{MailParams, RcptParams};
use crate::values::{ForwardPath, ReversePath};

#[derive(Debug, Clone, Copy)]
pub(super) enum Refusal {
    Reply(MandatedReply),
    /// LMTP BDAT LAST with no recipient: no reply at all (RFC 2033 §4.3).
    Silent,
}

/// The bare-octet check of the transaction's BDAT content, when the policy
/// applies to it: [`BarePolicy::Reject`] and a body other than BINARYMIME,
/// the one body that may hold any octet (RFC 3030 §3).
pub(super) fn bare_check<'t>(
    config: &ServerConfig,
    transaction: &'t mut Option<Transaction>,
) -> Option<&'t mut BareCheck> {
    if config.bare_line_endings != BarePolicy::Reject {
        return None;
    }
    let t = transaction.as_mut()?;
    if t.body == Some(Body::BinaryMime) {
        return None;
    }
    Some(&mut t.bare)
}

/// The reply to content that broke a rule (RFC 3463 codes, see
/// [`ContentError::reply`]).
pub(super) fn content_reply(e: ContentError) -> MandatedReply {
    let (code, esc) = e.reply();
    let text = match e {
        ContentError::BareCr => "Bare CR not allowed in message content",
        ContentError::BareLf => "Bare LF not allowed in message content",
        ContentError::Nul => "NUL not allowed in message content",
        ContentError::LineTooLong { .. } => "Message line too long",
        ContentError::TooBig { .. } => "Message size exceeds fixed maximum message size",
    };
    MandatedReply::new(code, esc, text)
}

impl Core {
    /// Owes the application a `MessageAborted` if content was handed out.
    pub(super) fn abort_content(&mut self, reason: AbortReason) {
        if self.content_open {
            self.content_open = false;
            self.abort_owed = Some(reason);
            // BURL content not yet taken, or the end it led to, is void.
            if let Some(q) = self.owed.as_mut() {
                q.clear();
            }
        }
    }

    pub(super) fn content_failed(&mut self, e: ContentError) {
        self.reply(content_reply(e));
        self.content_open = false;
        self.transaction = None;
        self.xforward_reset();
    }

    /// Whether one message's content is being received: DATA, or BDAT
    /// from the first chunk to LAST, for [`super::Timeouts::message`].
    pub(super) fn in_message(&self) -> bool {
        matches!(self.phase, Phase::Data(..) | Phase::Chunk { .. })
            || self.transaction.as_ref().is_some_and(|t| t.used_bdat)
    }

    /// The message's content begins now (the latest time given), unless
    /// it already began.
    pub(super) fn content_begins(&mut self) {
        let now = self.timer.now();
        if let Some(t) = self.transaction.as_mut() {
            if t.content_started.is_none() {
                t.content_started = now;
            }
        }
    }

    pub(super) fn end_message(&mut self) {
        self.content_open = false;
        self.transaction = None;
        self.xforward_reset();
    }

    pub(super) fn reset_transaction(&mut self) {
        self.abort_content(AbortReason::Reset);
        self.transaction = None;
        self.xforward_reset();
    }

    pub(super) fn chunk_done(&mut self, last: bool, refusal: Option<Refusal>) -> Step {
        match refusal {
            Some(Refusal::Silent) => {
                self.transaction = None;
                Step::Continue
            }
            Some(Refusal::Reply(reply)) => {
                self.error(reply);
                Step::Continue
            }
            None if last => {
                self.pending = Some(Pending::MessageEnd);
                let (size, recipients) = self
                    .transaction
                    .as_ref()
                    .map_or((0, 0), |t| (t.bdat_size, t.accepted));
                Step::Event(Event::MessageEnd { size, recipients })
            }
            None => {
                let size = self.transaction.as_ref().map_or(0, |t| t.bdat_size);
                let text = format!("{size} octets received");
                self.tx.extend_from_slice(b"250 ");
                if self.enhanced() {
                    self.tx.extend_from_slice(b"2.0.0 ");
                }
                self.tx.extend_from_slice(text.as_bytes());
                self.tx.extend_from_slice(b"\r\n");
                Step::Continue
            }
        }
    }

    pub(super) fn mail(
        &mut self,
        from: ReversePath<'_>,
        mut params: MailParams<'_>,
        send: Option<SendMode>,
    ) -> Step {
        if self.session.hello.is_none() {
            return self.error_step(if self.config.lmtp {
                NEED_LHLO
            } else {
                NEED_HELLO
            });
        }
        if self.transaction.is_some() {
            return self.error_step(NESTED_MAIL);
        }
        if self.session.onex && self.session.onex_spent {
            return self.error_step(ext::sendmail::TRANSACTION_AFTER_ONEX);
        }
        if self.config.extensions.auth_required && !self.session.authenticated {
            return self.error_step(AUTH_REQUIRED);
        }
        if let Some(max) = self.config.limits.transactions {
            if self.session.transactions >= max {
                self.reply(TOO_MANY_MAILS);
                return Step::Continue;
            }
        }
        if let Err(reply) = self.check_mail_params(&params) {
            return self.error_step(reply);
        }
        if let Err(reply) = self.accept_mail(&from, &mut params) {
            return self.error_step(reply);
        }
        if let (Some(declared), Some(max)) = (params.size, self.config.limits.message_size) {
            if declared > max {
                self.reply(ext::size::EXCEEDS_FIXED_MAXIMUM);
                return Step::Continue;
            }
        }
        self.pending = Some(Pending::Mail {
            smtputf8: params.smtputf8,
            body: params.body,
            checkpoint: params.extras().transid.is_some(),
        });
        Step::Event(Event::Mail {
            from: from.into_owned(),
            params: params.into_owned(),
            send,
        })
    }

    pub(super) fn rcpt(&mut self, to: ForwardPath<'_>, params: RcptParams<'_>) -> Step {
        let Some(t) = self.transaction.as_ref() else {
            return self.error_step(NEED_MAIL);
        };
        if t.used_bdat {
            return self.error_step(BAD_SEQUENCE);
        }
        if t.rcpt_commands >= self.config.limits.recipients {
            self.reply(TOO_MANY_RCPTS);
            return Step::Continue;
        }
        if let Err(reply) = self.check_rcpt_params(&params) {
            return self.error_step(reply);
        }
        if let Err(reply) = self.accept_rcpt(&to, &params) {
            return self.error_step(reply);
        }
        if let Some(t) = self.transaction.as_mut() {
            t.rcpt_commands += 1;
        }
        self.pending = Some(Pending::Rcpt);
        Step::Event(Event::Rcpt {
            to: to.into_owned(),
            params: params.into_owned(),
        })
    }

    pub(super) fn data(&mut self) -> Step {
        let lmtp = self.config.lmtp;
        let Some(t) = self.transaction.as_ref() else {
            return self.error_step(NEED_MAIL);
        };
        if t.used_bdat {
            return self.error_step(DATA_AFTER_BDAT);
        }
        // RFC 3030 §3: BINARYMIME content cannot be sent with DATA.
        if t.body == Some(Body::BinaryMime) {
            return self.error_step(ext::body::BINARYMIME_NEEDS_BDAT);
        }
        if t.accepted == 0 {
            // RFC 2033 §4.2 (LMTP: 503); RFC 5321 §3.3 (554).
            return self.error_step(if lmtp || t.rcpt_commands == 0 {
                NEED_RCPT
            } else {
                NO_VALID_RCPT
            });
        }
        self.tx
            .extend_from_slice(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n");
        let mut decoder = DotDecoder::new()
            .with_policy(self.config.bare_line_endings)
            .with_max_line(self.config.limits.data_line);
        if let Some(max) = self.config.limits.message_size {
            // After a CHECKPOINT restart, part of the message is stored.
            decoder = decoder.with_max_size(max.saturating_sub(t.restart));
        }
        self.phase = Phase::Data(decoder, super::ahead::Ahead::default());
        self.content_open = true;
        self.content_begins();
        Step::Continue
    }

    pub(super) fn bdat(&mut self, size: u64, last: bool) -> Step {
        // Even a refused chunk is read, so it is timed as content.
        self.content_begins();
        let refuse = |core: &mut Core, refusal: Refusal| {
            core.phase = Phase::Chunk {
                decoder: ChunkDecoder::discard(size),
                last,
                refusal: Some(refusal),
            };
            Step::Continue
        };
        if !self.config.extensions.chunking {
            return refuse(self, Refusal::Reply(NOT_IMPLEMENTED));
        }
        let max = self.config.limits.message_size;
        let lmtp = self.config.lmtp;
        let Some(t) = self.transaction.as_mut() else {
            return refuse(self, Refusal::Reply(NEED_MAIL));
        };
        if t.bdat_failed {
            return refuse(self, Refusal::Reply(BDAT_AFTER_FAILURE));
        }
        if t.accepted == 0 {
            if lmtp && last {
                // RFC 2033 §4.3: zero replies for BDAT LAST without recipients.
                return refuse(self, Refusal::Silent);
            }
            t.bdat_failed = true;
            let reply = if lmtp || t.rcpt_commands == 0 {
                NEED_RCPT
            } else {
                NO_VALID_RCPT
            };
            return refuse(self, Refusal::Reply(reply));
        }
        let total = t.bdat_size.saturating_add(size);
        if max.is_some_and(|m| total > m) {
            t.bdat_failed = true;
            self.abort_content(AbortReason::ChunkRejected);
            return refuse(self, Refusal::Reply(ext::size::EXCEEDS_FIXED_MAXIMUM));
        }
        t.used_bdat = true;
        t.bdat_size = total;
        self.content_open = true;
        self.phase = Phase::Chunk {
            decoder: ChunkDecoder::new(size),
            last,
            refusal: None,
        };
        Step::Continue
    }
}
