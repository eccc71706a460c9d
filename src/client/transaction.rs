//! The mail transaction: MAIL, RCPT, DATA/BDAT replies and the outcome
//! of each message (RFC 5321 §3.3, RFC 3030, RFC 2033 §4.2).

use super::content::{ContentPhase, Source};
use super::event::{Event, MessageError};
use super::pipeline::Expect;
use super::{Client, Current, Message, Tx};
use crate::data::DotEncoder;
use crate::reply::Reply;

impl Client {
    pub(super) fn tx_reply(&mut self, expect: Expect, reply: Reply<'static>) {
        let positive = reply.code().is_positive();
        let code = reply.code().get();
        if expect == Expect::Mail && code == 355 && self.restarted(&reply) {
            return;
        }
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        match expect {
            Expect::Mail => {
                cur.tx.mail_ok = Some(positive);
                if positive {
                    self.needs_rset = true;
                }
                self.record(expect, &reply);
                if !positive && !self.pipelining() {
                    self.finish_tx();
                }
            }
            Expect::Rcpt(i) => {
                cur.tx.rcpt_replies += 1;
                if positive {
                    cur.tx.accepted.push(i);
                } else if code == 452 {
                    cur.tx.retry.push(i);
                }
                self.record(expect, &reply);
            }
            Expect::Data => {
                if code == 354 {
                    if cur.tx.accepted.is_empty() {
                        // Every recipient failed but the server wants the
                        // content: end it at once (RFC 2920 §3.1).
                        cur.tx.content = ContentPhase::Sent;
                        self.staging.extend_from_slice(b".\r\n");
                        self.owe(Expect::Discard);
                    } else {
                        cur.tx.content = ContentPhase::Data(DotEncoder::new());
                        if let Source::Stream { consumed, .. } = &mut cur.msg.source {
                            *consumed = true;
                            let id = cur.msg.id;
                            self.events.push_back(Event::ContentWanted(id));
                        }
                    }
                } else if matches!(code / 100, 4 | 5) {
                    self.record(expect, &reply);
                    self.finish_tx();
                } else {
                    // DATA is answered by 354 or a refusal (RFC 5321
                    // §4.3.2). A 250 here would be recorded as the
                    // message's acceptance while no content was sent: the
                    // replies can no longer be matched to the commands.
                    self.desync();
                }
            }
            Expect::DataEnd | Expect::BdatLast => {
                self.record(expect, &reply);
                // The final dot always ends the transaction (RFC 5321
                // §4.1.1.4); a refused BDAT leaves it indeterminate until
                // RSET (RFC 3030 §2).
                self.needs_rset = expect == Expect::BdatLast && !positive;
                self.finish_tx();
            }
            Expect::Discard => {
                self.needs_rset = false;
                self.finish_tx();
            }
            Expect::LmtpEnd(_) => {
                self.record(expect, &reply);
                if !self
                    .inflight
                    .iter()
                    .any(|e| matches!(e, Expect::LmtpEnd(_)))
                {
                    self.needs_rset = false;
                    self.finish_tx();
                }
            }
            Expect::Bdat => {
                if !positive {
                    cur.tx.bdat_failed = true;
                    self.record(expect, &reply);
                }
                self.maybe_finish_failed_bdat();
            }
            _ => {}
        }
    }

    /// After a refused BDAT chunk, the transaction ends once no more chunk
    /// replies are owed (RFC 3030 §2: RSET is then needed).
    pub(super) fn maybe_finish_failed_bdat(&mut self) {
        let failed = self.current.as_ref().is_some_and(|c| c.tx.bdat_failed);
        let owed = self
            .inflight
            .iter()
            .any(|e| matches!(e, Expect::Bdat | Expect::BdatLast | Expect::LmtpEnd(_)));
        if failed && !owed {
            self.needs_rset = true;
            self.finish_tx();
        }
    }

    pub(super) fn start_message(&mut self, mut msg: Box<Message>) {
        if let Some(max) = self
            .caps
            .as_ref()
            .and_then(|c| c.limits())
            .and_then(|l| l.mail_max())
        {
            if self.transactions >= max {
                msg.outcome.error = Some(MessageError::SessionLimit);
                self.events.push_back(Event::Message(msg.outcome));
                return;
            }
        }
        match self.negotiate(&msg) {
            Err(e) => {
                msg.outcome.error = Some(e);
                self.events.push_back(Event::Message(msg.outcome));
            }
            Ok(tx) => self.begin_tx(msg, tx),
        }
    }

    pub(super) fn begin_tx(&mut self, mut msg: Box<Message>, mut tx: Tx) {
        let max = self
            .caps
            .as_ref()
            .and_then(|c| c.limits())
            .and_then(|l| l.rcpt_max())
            .map_or(usize::MAX, |n| (n as usize).max(1));
        let n = msg.remaining.len().min(max);
        tx.rcpts = msg.remaining.drain(..n).collect();
        self.transactions = self.transactions.saturating_add(1);
        self.current = Some(Current { msg, tx });
        self.tx_pump();
    }

    /// The transaction is over: another one for the same message if
    /// recipients remain, else the outcome.
    pub(super) fn finish_tx(&mut self) {
        let Some(mut cur) = self.current.take() else {
            return;
        };
        if cur.tx.mail_ok == Some(true) && !matches!(cur.tx.content, ContentPhase::Sent) {
            self.needs_rset = true;
        }
        // RFC 5321 §4.5.3.1.10: recipients refused as too many go in a
        // new transaction, as long as this one made progress.
        let progress = !cur.tx.accepted.is_empty();
        if progress {
            for &i in cur.tx.retry.iter().rev() {
                cur.msg.remaining.push_front(i);
            }
        }
        let more = !cur.msg.remaining.is_empty() && cur.tx.mail_ok == Some(true) && progress;
        if more && cur.msg.source.replayable() {
            let msg = cur.msg;
            self.start_message(msg);
        } else {
            if more {
                cur.msg.outcome.error = Some(MessageError::TooManyRecipients);
            }
            self.events.push_back(Event::Message(cur.msg.outcome));
        }
        self.pump();
    }
}
