//! The reply queue: how the session words and queues what it sends
//! (RFC 5321 §4.2; enhanced codes RFC 2034 §4), the greeting and the
//! error counting that closes an abusive session.

use super::event::{AbortReason, CloseReason};
use super::replies::TOO_MANY_ERRORS;
use super::{Core, Phase};
use crate::ext::MandatedReply;
use crate::options::{ParseOptions, Strictness};
use crate::reply::Reply;
use crate::values::{EnhancedStatusCode, ReplyCode};

pub(super) enum Answer<'r, 'a> {
    Mandated(MandatedReply),
    Reply(&'r Reply<'a>),
}

/// Configured text goes on the wire: keep CR, LF and controls out.
pub(super) fn sanitize(line: &str) -> String {
    let body = line.strip_suffix("\r\n").unwrap_or(line);
    let mut s: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.push_str("\r\n");
    s
}

impl Core {
    pub(super) fn parse_options(&self) -> ParseOptions {
        ParseOptions::default()
            .with_strictness(self.config.strictness)
            .with_utf8(self.config.extensions.smtputf8 || self.config.extensions.utf8smtp)
            .with_max_line(self.config.limits.command_line)
    }

    pub(super) fn strict(&self) -> bool {
        self.config.strictness == Strictness::Strict
    }

    pub(super) fn enhanced(&self) -> bool {
        self.config.extensions.enhanced_status_codes || self.config.lmtp
    }

    /// Writes a one-line reply; the enhanced code is left out on 3xx
    /// replies and when the extension is off (RFC 2034 §4).
    pub(super) fn reply(&mut self, reply: MandatedReply) {
        let (code, esc, text) = (reply.code(), reply.enhanced(), reply.text());
        self.tx.extend_from_slice(&code.to_ascii());
        self.tx.extend_from_slice(b" ");
        if self.enhanced() && !code.is_intermediate() {
            esc.write_to(&mut self.tx);
            self.tx.push(b' ');
        }
        self.tx.extend_from_slice(text.as_bytes());
        self.tx.extend_from_slice(b"\r\n");
    }

    pub(super) fn answer(&mut self, answer: Answer<'_, '_>) {
        match answer {
            Answer::Mandated(m) => self.reply(m),
            Answer::Reply(r) => r.write_to(&mut self.tx),
        }
    }

    pub(super) fn greet(&mut self) {
        let line = format!(
            "220 {} {}\r\n",
            self.config.hostname(),
            self.config.greeting
        );
        self.tx.extend_from_slice(sanitize(&line).as_bytes());
        self.phase = Phase::Command;
    }

    pub(super) fn error(&mut self, reply: MandatedReply) {
        self.reply(reply);
        self.count_error();
    }

    pub(super) fn error_reply(
        &mut self,
        code: ReplyCode,
        esc: EnhancedStatusCode,
        text: &'static str,
    ) {
        self.error(MandatedReply::new(code, esc, text));
    }

    pub(super) fn count_error(&mut self) {
        self.session.errors = self.session.errors.saturating_add(1);
        if self.session.errors >= self.config.limits.errors {
            self.abort_content(AbortReason::Disconnected);
            self.close_with(TOO_MANY_ERRORS, CloseReason::TooManyErrors);
        }
    }

    pub(super) fn close_with(&mut self, reply: MandatedReply, reason: CloseReason) {
        if !matches!(self.phase, Phase::Closing(_) | Phase::Closed) {
            self.reply(reply);
            self.phase = Phase::Closing(reason);
        }
    }

    pub(super) fn hostname_prefix_esc(&self) -> &'static str {
        if self.enhanced() {
            "2.0.0 "
        } else {
            ""
        }
    }
}
