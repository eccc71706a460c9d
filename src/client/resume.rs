//! CHECKPOINT restarts (RFC 1845 §3): a `355` to a MAIL that carried
//! `TRANSID=` restores the transaction's recipients, and the content goes
//! out from the server's offset on, the octets before it skipped.

use bytes::Bytes;

use super::content::{ContentPhase, Source};
use super::event::MessageError;
use super::Client;
use crate::ext::body::Body;
use crate::ext::checkpoint::{restart_offset, resume_whole, Resume, Skipped};
use crate::reply::Reply;

/// The LF owed when the offset falls inside a CRLF the client makes of a
/// bare CR or LF (BDAT only: DATA resumes at the start of a line).
const LF: Bytes = Bytes::from_static(b"\n");

impl Client {
    /// A `355` to MAIL: the transaction is restarted, if this message
    /// asked for it and the reply carries an offset; whether it was.
    pub(super) fn restarted(&mut self, reply: &Reply<'static>) -> bool {
        let Some(offset) = restart_offset(reply) else {
            return false;
        };
        let Some(cur) = self.current.as_mut() else {
            return false;
        };
        let tx = &mut cur.tx;
        if tx.params.extras().transid.is_none() {
            return false;
        }
        let out = &mut cur.msg.outcome;
        out.mail.push(reply.clone());
        tx.mail_ok = Some(true);
        // A transaction is open on the server, whatever happens next.
        self.needs_rset = true;
        let binary = tx.params.body == Some(Body::BinaryMime);
        let data = !tx.bdat;
        let resumable = match &cur.msg.source {
            Source::Whole(content) => match resume_whole(content, offset, binary, data) {
                Some((at, lf_first)) => {
                    tx.offset = at;
                    tx.bdat_carry = lf_first.then_some((LF, false));
                    true
                }
                None => false,
            },
            // Checked as it is skipped, before any chunk goes out.
            Source::Stream { .. } if !data => {
                tx.resume = Some(Resume::new(offset, binary));
                true
            }
            // BURL parts have no known size; streamed content would have
            // to be checked after DATA is sent.
            _ => false,
        };
        if !resumable {
            out.error = Some(MessageError::CannotResume { offset });
            self.finish_tx();
            return true;
        }
        // RFC 1845 §5: the restored recipients are not sent again.
        let rcpts = tx.rcpts.clone();
        for &i in &rcpts {
            if let Some(r) = out.recipients.get_mut(i) {
                r.restored = true;
            }
        }
        tx.sent_rcpts = rcpts.len();
        tx.rcpt_replies = rcpts.len();
        tx.accepted = rcpts;
        true
    }

    /// Skips streamed content the server already holds; whether content
    /// may be sent now (`false`: more must be pushed first, or the offset
    /// turned out past the end and the message failed).
    pub(super) fn skip_resumed(&mut self) -> bool {
        let Some(cur) = self.current.as_mut() else {
            return true;
        };
        let tx = &mut cur.tx;
        let Some(resume) = tx.resume.as_mut() else {
            return true;
        };
        let Source::Stream {
            chunks, finished, ..
        } = &mut cur.msg.source
        else {
            return true;
        };
        if !matches!(tx.content, ContentPhase::Bdat) {
            return true;
        }
        let lf_first = loop {
            let Some(piece) = chunks.pop_front() else {
                if !*finished {
                    return false;
                }
                match resume.finish(false) {
                    Some(lf_first) => break lf_first,
                    None => {
                        let offset = cur.msg.outcome.resumed_at().unwrap_or_default();
                        cur.msg.outcome.error = Some(MessageError::CannotResume { offset });
                        tx.resume = None;
                        // Nothing was sent: the message has no recipient.
                        tx.accepted.clear();
                        self.finish_tx();
                        return false;
                    }
                }
            };
            if let Skipped::Done { lf_first, at } = resume.take(&piece) {
                if at < piece.len() {
                    chunks.push_front(piece.slice(at..));
                }
                break lf_first;
            }
        };
        tx.resume = None;
        tx.bdat_carry = lf_first.then_some((LF, false));
        true
    }
}
