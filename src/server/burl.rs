//! BURL in the server machine (RFC 4468 §3.2): the command, the content
//! the application supplies for its URL, and what its answer does. BURL
//! shares the transaction's BDAT state: its content counts in the same
//! size and bare-CR/LF checks, a refused BURL or BDAT fails the
//! transaction until RSET, and either ends it with LAST.

use bytes::Bytes;

use super::decision::Pending;
use super::event::{AbortReason, ApiError, Event};
use super::framing::Step;
use super::output::Answer;
use super::replies::{NEED_MAIL, NOT_IMPLEMENTED};
use super::transaction::{bare_check, content_reply};
use super::{Core, Server};
use crate::ext::burl::{
    serves_scheme, uri_scheme, AFTER_FAILURE, NO_RECIPIENTS, RCPT_REQUIRED, SCHEME_NOT_OFFERED,
    TOO_BIG, WAITING,
};
use crate::reply::Reply;

impl Server {
    /// Supplies content for the pending [`Event::Burl`]: the next octets
    /// of what its URL refers to, in order, as many pieces as it comes in.
    /// Each comes back as [`Event::Content`] (so it is stored with the
    /// BDAT chunks around it), counted against
    /// [`Limits::message_size`](super::Limits::message_size) and checked
    /// as BDAT content is
    /// ([`ServerConfig::bare_line_endings`](super::ServerConfig::bare_line_endings)).
    /// Then answer the decision: [`Decision::accept`](super::Decision::accept)
    /// once the URL is resolved in full.
    ///
    /// [`ApiError::BurlRefused`] when the content broke a limit: the
    /// machine refused the BURL itself (`554 5.3.4`, RFC 4468 §6, or the
    /// content error) and the decision is answered, so stop fetching.
    /// [`ApiError::NoBurl`] when no BURL waits.
    pub fn burl_content(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        self.core.burl_content(chunk)
    }
}

impl Core {
    /// `BURL absolute-URI [LAST]`: handed to the application once the
    /// transaction can take content (RFC 4468 §3.1: only after a
    /// successful RCPT).
    pub(super) fn burl(&mut self, url: &str, last: bool) -> Step {
        let served = match self.config.extensions.burl.as_deref() {
            Some(schemes) if !self.config.lmtp => {
                uri_scheme(url).is_some_and(|s| serves_scheme(schemes, s))
            }
            // Not offered: RFC 5321 §4.2.4.
            _ => return self.error_step(NOT_IMPLEMENTED),
        };
        let Some(t) = self.transaction.as_mut() else {
            return self.error_step(NEED_MAIL);
        };
        if t.bdat_failed {
            return self.error_step(AFTER_FAILURE);
        }
        let refusal = if t.accepted == 0 {
            // RFC 4468 §3.2: no URL is resolved without a valid recipient.
            Some(if t.rcpt_commands == 0 {
                RCPT_REQUIRED
            } else {
                NO_RECIPIENTS
            })
        } else if !served {
            Some(SCHEME_NOT_OFFERED)
        } else {
            None
        };
        if let Some(reply) = refusal {
            t.bdat_failed = true;
            self.abort_content(AbortReason::ChunkRejected);
            return self.error_step(reply);
        }
        t.used_bdat = true;
        self.content_open = true;
        self.content_begins();
        self.pending = Some(Pending::Burl { last });
        Step::Event(Event::Burl {
            url: url.to_owned(),
            last,
        })
    }

    /// The application supplies the next octets of the BURL's content.
    pub(super) fn burl_content(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        if !matches!(self.pending, Some(Pending::Burl { .. })) {
            return Err(ApiError::NoBurl);
        }
        let max = self.config.limits.message_size;
        let Some(t) = self.transaction.as_mut() else {
            return Err(ApiError::NoBurl);
        };
        let total = t.bdat_size.saturating_add(chunk.len() as u64);
        if let Some(limit) = max.filter(|&m| total > m) {
            let reason = AbortReason::Content(crate::data::ContentError::TooBig { limit });
            self.burl_refused(Answer::Mandated(TOO_BIG), reason);
            return Err(ApiError::BurlRefused);
        }
        t.bdat_size = total;
        let (clean, result) = match bare_check(&self.config, &mut self.transaction) {
            Some(check) => check.check(chunk),
            None => (chunk, Ok(())),
        };
        if let Err(e) = result {
            self.burl_refused(Answer::Mandated(content_reply(e)), AbortReason::Content(e));
            return Err(ApiError::BurlRefused);
        }
        if !clean.is_empty() {
            self.owe(Event::Content(clean));
        }
        Ok(())
    }

    /// The URL was resolved in full: `250 2.5.0` for a part (RFC 4468 §6),
    /// or the end of the message for LAST.
    pub(super) fn burl_resolved(&mut self, last: bool, reply: Option<&Reply<'_>>) {
        if !last {
            match reply {
                Some(r) => r.write_to(&mut self.tx),
                None => self.reply(WAITING),
            }
            return;
        }
        // A CR last in the message is bare (RFC 5321 §2.3.8).
        let check = bare_check(&self.config, &mut self.transaction);
        if let Err(e) = check.map_or(Ok(()), |b| b.finish()) {
            self.abort_content(AbortReason::Content(e));
            self.reply(content_reply(e));
            self.transaction = None;
            return;
        }
        let (size, recipients) = self
            .transaction
            .as_ref()
            .map_or((0, 0), |t| (t.bdat_size, t.accepted));
        self.pending = Some(Pending::MessageEnd);
        self.owe(Event::MessageEnd { size, recipients });
    }

    /// The BURL is refused: the transaction has failed (RFC 4468 §3.2:
    /// "the server will fail the entire transaction") until RSET.
    pub(super) fn burl_refused(&mut self, answer: Answer<'_, '_>, reason: AbortReason) {
        self.answered();
        if let Some(t) = self.transaction.as_mut() {
            t.bdat_failed = true;
        }
        self.abort_content(reason);
        self.answer(answer);
    }

    /// `event` comes next, after those already owed.
    fn owe(&mut self, event: Event) {
        self.owed
            .get_or_insert_with(Default::default)
            .push_back(event);
    }
}
