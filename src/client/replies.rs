//! Reply input: parses what the server sent and routes each reply to
//! the command that awaited it (RFC 5321 §4.2, RFC 2920 §3.1).

use std::sync::Arc;

use bytes::Buf;

use super::config::TlsPolicy;
use super::event::{CloseReason, Event, MessageError};
use super::pipeline::Expect;
use super::{event, Client, Phase};
use crate::command::Command;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::DecodeError;
use crate::reply::{Reply, ReplyContext, ReplyParseOptions};

impl Client {
    pub(super) fn reply_options(&self) -> ReplyParseOptions {
        let context = match self.inflight.front() {
            Some(Expect::Greeting) => ReplyContext::Greeting,
            Some(Expect::Ehlo | Expect::Helo | Expect::Lhlo | Expect::ReEhlo) => {
                ReplyContext::Hello
            }
            _ => ReplyContext::Command,
        };
        let enhanced = self
            .caps
            .as_ref()
            .is_some_and(|c| c.supports(Keyword::EnhancedStatusCodes));
        ReplyParseOptions::new()
            .with_strictness(self.config.strictness)
            .with_context(context)
            .with_enhanced(enhanced)
    }

    // ---- input ----

    pub(super) fn process(&mut self) {
        while !matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            if self.unasked {
                return self.desync();
            }
            let opts = self.reply_options();
            if let Some(expect @ (Expect::Ehlo | Expect::Lhlo | Expect::ReEhlo)) =
                self.inflight.front().copied()
            {
                // The usual 250 answer is read straight into the set in one
                // pass; anything else (not complete, not 250, no domain,
                // malformed) takes the general path below, as before.
                match Capabilities::parse(&self.rx, &opts) {
                    Ok((caps, used)) => {
                        let caps = caps.into_owned();
                        self.rx.advance(used.min(self.rx.len()));
                        self.inflight.pop_front();
                        self.on_capabilities(expect, caps);
                        continue;
                    }
                    Err(DecodeError::Incomplete) => return,
                    Err(_) => {}
                }
            }
            let (reply, used) = match Reply::parse(&self.rx, &opts) {
                Ok((reply, used)) => (reply.into_owned(), used),
                Err(DecodeError::Incomplete) => return,
                Err(_) => return self.desync(),
            };
            // Advanced, not split: a split would make the buffer shared
            // (one allocation) for a part that is dropped at once.
            self.rx.advance(used.min(self.rx.len()));
            let Some(expect) = self.inflight.pop_front() else {
                // An unsolicited reply: only 421 is expected (RFC 5321 §3.8).
                if reply.code().get() == 421 {
                    self.ended_by(reply);
                } else {
                    self.desync();
                }
                return;
            };
            self.on_reply(expect, reply);
        }
    }

    pub(super) fn desync(&mut self) {
        self.fail_all(MessageError::SessionEnded(None));
        self.close(CloseReason::Desynchronised);
    }

    /// 421 (RFC 5321 §3.8): the server is going away; everything pending
    /// fails with its reply.
    pub(super) fn ended_by(&mut self, reply: Reply<'static>) {
        if let Phase::Quitting(reason) = self.phase {
            return self.close(reason);
        }
        self.fail_all(MessageError::SessionEnded(Some(reply)));
        self.close(CloseReason::ServiceClosing);
    }

    pub(super) fn on_reply(&mut self, expect: Expect, reply: Reply<'static>) {
        let code = reply.code().get();
        if event::is_closing(&reply) && expect != Expect::Quit {
            // Keep what the 421 answers in the outcome, then end.
            self.record(expect, &reply);
            return self.ended_by(reply);
        }
        match expect {
            Expect::Greeting => {
                self.events.push_back(Event::Greeting(reply.clone()));
                if code == 220 {
                    self.send_hello();
                } else {
                    // 554 and the like: QUIT and go (RFC 5321 §3.1).
                    self.fail_all(MessageError::SessionEnded(Some(reply)));
                    self.send_quit(CloseReason::Refused);
                }
            }
            Expect::Ehlo | Expect::Lhlo | Expect::ReEhlo if code == 250 => {
                // A 250 whose first line names no domain (which
                // `Capabilities::parse` refused) still says EHLO worked.
                match Capabilities::from_reply(&reply)
                    .map(Capabilities::into_owned)
                    .or_else(|_| Capabilities::new("unknown"))
                {
                    Ok(caps) => self.on_capabilities(expect, caps),
                    Err(_) => self.after_ehlo(expect),
                }
            }
            Expect::ReEhlo => {
                // A 503 to EHLO after AUTH: keep what is known.
                self.phase = Phase::Ready;
            }
            Expect::Ehlo if matches!(code, 500 | 501 | 502 | 554) => {
                // RFC 5321 §3.2, RFC 1869 §4.5: an old server.
                let host = self.config.hostname.clone();
                self.write(&Command::Helo(host), Expect::Helo);
            }
            Expect::Helo if code == 250 => {
                self.caps = None;
                self.after_hello();
            }
            Expect::Ehlo | Expect::Helo | Expect::Lhlo => {
                self.fail_all(MessageError::SessionEnded(Some(reply)));
                self.send_quit(CloseReason::Refused);
            }
            Expect::StartTls => {
                if code == 220 {
                    // RFC 3207 §4.2: nothing the server sent after its 220
                    // may be trusted.
                    self.rx.clear();
                    self.phase = Phase::TlsHandshake;
                    self.events.push_back(Event::StartTls);
                } else if self.config.tls == TlsPolicy::Required {
                    self.fail_all(MessageError::TlsRequired);
                    self.send_quit(CloseReason::Quit);
                } else {
                    self.start_auth();
                }
            }
            Expect::Auth => self.auth_reply(reply),
            Expect::Rset => {}
            Expect::Quit => self.close(match self.phase {
                Phase::Quitting(r) => r,
                _ => CloseReason::Quit,
            }),
            Expect::Simple(verb) => self.events.push_back(Event::CommandReply { verb, reply }),
            Expect::Xclient { login } => self.xclient_reply(login, reply),
            Expect::Reverse(verb) => {
                if code == 250 {
                    let leftover = self.rx.split().freeze();
                    self.events.push_back(Event::Reversed { leftover });
                    self.fail_all(MessageError::SessionEnded(None));
                    self.close(CloseReason::Reversed);
                } else {
                    self.events.push_back(Event::CommandReply { verb, reply });
                }
            }
            Expect::Mail
            | Expect::Rcpt(_)
            | Expect::Data
            | Expect::DataEnd
            | Expect::Discard
            | Expect::LmtpEnd(_)
            | Expect::Bdat
            | Expect::BdatLast => self.tx_reply(expect, reply),
        }
    }

    /// A 250 to EHLO, LHLO or the EHLO after STARTTLS or AUTH, read into
    /// `caps`: the session and the event share the one set.
    fn on_capabilities(&mut self, expect: Expect, caps: Capabilities<'static>) {
        let caps = Arc::new(caps);
        self.events
            .push_back(Event::Capabilities(Arc::clone(&caps)));
        self.caps = Some(caps);
        self.after_ehlo(expect);
    }

    fn after_ehlo(&mut self, expect: Expect) {
        if expect == Expect::ReEhlo {
            self.phase = Phase::Ready;
        } else {
            self.after_hello();
        }
    }

    /// Stores a transaction reply in the outcome.
    pub(super) fn record(&mut self, expect: Expect, reply: &Reply<'static>) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let out = &mut cur.msg.outcome;
        match expect {
            Expect::Mail => out.mail.push(reply.clone()),
            Expect::Rcpt(i) => {
                if let Some(r) = out.recipients.get_mut(i) {
                    r.rcpt = Some(reply.clone());
                }
            }
            Expect::LmtpEnd(i) => {
                if let Some(r) = out.recipients.get_mut(i) {
                    r.content = Some(reply.clone());
                }
            }
            Expect::Data | Expect::DataEnd | Expect::Bdat | Expect::BdatLast => {
                for &i in &cur.tx.accepted {
                    if let Some(r) = out.recipients.get_mut(i) {
                        if r.content.as_ref().is_none_or(|c| c.code().is_positive()) {
                            r.content = Some(reply.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
