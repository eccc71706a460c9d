//! The pipeline queue: what is written next, and which replies are owed
//! (RFC 2920 §3.1: only some commands may be followed before their reply).

use bytes::Bytes;

use super::content::{ContentPhase, Source};
use super::event::{CloseReason, Event};
use super::{Client, Message, Phase};
use crate::command::{Command, Verb};

/// What a reply owed by the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Greeting,
    Ehlo,
    Helo,
    Lhlo,
    /// EHLO after AUTH: a refusal keeps the old capabilities.
    ReEhlo,
    StartTls,
    Auth,
    Rset,
    Mail,
    Rcpt(usize),
    Data,
    /// The reply after the final dot (SMTP).
    DataEnd,
    /// The reply after a lone dot sent because no recipient was accepted.
    Discard,
    /// One LMTP reply after the content, for this recipient.
    LmtpEnd(usize),
    Bdat,
    BdatLast,
    Simple(Verb),
    Reverse(Verb),
    /// XCLIENT: `220` starts the session over; `login`: it carried a
    /// LOGIN value.
    Xclient {
        login: bool,
    },
    Quit,
}

impl Expect {
    /// Commands that may be followed by more commands before their reply
    /// (RFC 2920 §3.1: everything else ends a group).
    pub(super) fn pipelinable(self) -> bool {
        matches!(
            self,
            Expect::Rset | Expect::Mail | Expect::Rcpt(_) | Expect::Bdat
        )
    }
}

#[derive(Debug)]
pub(super) enum Job {
    Message(Box<Message>),
    Command(Box<Command<'static>>),
    Quit,
}

impl Client {
    // ---- output ----

    pub(super) fn write(&mut self, cmd: &Command<'_>, expect: Expect) {
        // Commands are built from validated values, and caller text is
        // checked when queued (`request`).
        cmd.write_checked(&mut self.staging);
        self.owe(expect);
    }

    /// Records that a reply is owed for what was just written. Octets
    /// already received while no reply was owed cannot answer it: a server
    /// replies to a command only after reading it (RFC 5321 §4.2, RFC
    /// 2920 §3.1). Taken as this command's reply, an unasked `250` would
    /// shift every reply after it by one, and a message could be reported
    /// delivered that was never sent. Only `421` may come unasked (RFC
    /// 5321 §3.8); anything else ends the session at the next input.
    pub(super) fn owe(&mut self, expect: Expect) {
        if self.inflight.is_empty() && !self.rx.is_empty() {
            let start = self.rx.get(..3).unwrap_or(&self.rx[..]);
            if !b"421".starts_with(start) {
                self.unasked = true;
            }
        }
        self.inflight.push_back(expect);
    }

    pub(super) fn flush(&mut self) {
        if !self.staging.is_empty() {
            self.out
                .push_back(Bytes::from(std::mem::take(&mut self.staging)));
        }
    }

    pub(super) fn push_bytes(&mut self, b: Bytes) {
        self.flush();
        if !b.is_empty() {
            self.out.push_back(b);
        }
    }

    // ---- jobs and transactions ----

    /// Starts whatever can start now.
    pub(super) fn pump(&mut self) {
        loop {
            if !matches!(self.phase, Phase::Ready) {
                return;
            }
            if self.current.is_some() {
                self.tx_pump();
                return;
            }
            if !self.inflight.is_empty() {
                return;
            }
            let Some(job) = self.jobs.pop_front() else {
                return;
            };
            match job {
                Job::Quit => return self.send_quit(CloseReason::Quit),
                Job::Command(cmd) => {
                    if let Err(error) = self.offered_for(&cmd) {
                        self.refuse_command(cmd.verb(), error);
                        continue;
                    }
                    let expect = super::forward::expect_for(&cmd);
                    self.write(&cmd, expect);
                    return;
                }
                Job::Message(msg) => self.start_message(msg),
            }
        }
    }

    /// Sends the transaction's next commands, as far as pipelining allows.
    pub(super) fn tx_pump(&mut self) {
        let pipelining = self.pipelining();
        let lmtp = self.config.lmtp;
        loop {
            if !self.can_send() {
                return;
            }
            let needs_rset = self.needs_rset;
            let Some(cur) = self.current.as_mut() else {
                return;
            };
            let tx = &mut cur.tx;
            if !tx.mail_sent {
                if needs_rset {
                    self.needs_rset = false;
                    self.write(&Command::Rset, Expect::Rset);
                    continue;
                }
                tx.mail_sent = true;
                let from = a_labels_reverse(&cur.msg.envelope.from, tx.a_labels);
                let params = tx.params.clone();
                let cmd = match cur.msg.envelope.send {
                    // Offered: the negotiation checked (RFC 5321 App. F.6).
                    Some(mode) => Command::Send { mode, from, params },
                    None => Command::Mail { from, params },
                };
                self.write(&cmd, Expect::Mail);
                continue;
            }
            if tx.mail_ok == Some(false) && !pipelining {
                return;
            }
            if tx.mail_ok.is_none() && tx.params.extras().transid.is_some() {
                // A `355` restores the recipients (RFC 1845 §5): none is
                // sent before the reply says whether it came.
                return;
            }
            if tx.sent_rcpts < tx.rcpts.len() {
                let i = tx.rcpts[tx.sent_rcpts];
                tx.sent_rcpts += 1;
                let Some(r) = cur.msg.envelope.recipients.get(i) else {
                    continue;
                };
                let mut params = r.params.clone();
                tx.rcpt_strip.apply(&mut params);
                let cmd = Command::Rcpt {
                    to: a_labels_forward(&r.to, tx.a_labels),
                    params,
                };
                self.write(&cmd, Expect::Rcpt(i));
                continue;
            }
            if !matches!(tx.content, ContentPhase::NotStarted) {
                return;
            }
            // Content: without pipelining (or with BDAT in LMTP, whose
            // final replies depend on the accepted count) wait for every
            // RCPT reply first.
            let all_in = self.inflight.is_empty();
            let must_wait = !pipelining || (tx.bdat && lmtp);
            if must_wait && !all_in {
                return;
            }
            if all_in && (tx.accepted.is_empty() || tx.mail_ok == Some(false)) {
                // Nothing to send the content to.
                return self.finish_tx();
            }
            if tx.bdat {
                tx.content = ContentPhase::Bdat;
                if let Source::Stream { consumed, .. } = &mut cur.msg.source {
                    *consumed = true;
                    let id = cur.msg.id;
                    self.events.push_back(Event::ContentWanted(id));
                }
            } else {
                tx.content = ContentPhase::DataSent;
                self.write(&Command::Data, Expect::Data);
            }
            return;
        }
    }
}

/// The reverse path as written: its domain in A-labels when `a_labels`
/// (checked convertible by the negotiation).
fn a_labels_reverse(
    from: &crate::values::ReversePath<'static>,
    a_labels: bool,
) -> crate::values::ReversePath<'static> {
    #[cfg(feature = "idna")]
    if a_labels {
        if let Some(p) = crate::values::reverse_path_ascii(from) {
            return p;
        }
    }
    let _ = a_labels;
    from.clone()
}

/// The forward path as written: see [`a_labels_reverse`].
fn a_labels_forward(
    to: &crate::values::ForwardPath<'static>,
    a_labels: bool,
) -> crate::values::ForwardPath<'static> {
    #[cfg(feature = "idna")]
    if a_labels {
        if let Some(p) = crate::values::forward_path_ascii(to) {
            return p;
        }
    }
    let _ = a_labels;
    to.clone()
}
