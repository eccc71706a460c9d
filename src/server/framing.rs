//! Input framing: splits the receive buffer into command lines, AUTH
//! response lines and message content, and drives the machine a step at
//! a time (RFC 5321 §2.3.8, §4.1.1.4; RFC 3030 §2; RFC 4954 §4).

use bytes::{Buf, BytesMut};

use super::decision::Pending;
use super::event::{AbortReason, CloseReason, Event};
use super::replies::{
    AUTH_CANCELLED, AUTH_LINE_TOO_LONG, BAD_BASE64, BAD_CHUNK_SIZE, BAD_SEQUENCE, LINE_TOO_LONG,
};
use super::transaction::{bare_check, content_reply, Refusal};
use super::{Phase, Server};
use crate::command::{Command, SaslResponse};
use crate::data::{Chunk, Decoded};
use crate::error::DecodeError;

// An event is moved out once per step; boxing it would cost an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum Step {
    Continue,
    Event(Event),
    Blocked,
}

/// Drops input up to and including the end of the current line; whether
/// it was found (otherwise what is buffered is dropped and the line goes
/// on). In strict mode only CRLF ends a line, as in the command parser:
/// resynchronising on a bare LF would let a command hidden after an
/// overlong line through (RFC 5321 §2.3.8).
pub(super) fn skip_line(rx: &mut BytesMut, strict: bool) -> bool {
    let end = if strict {
        memchr::memmem::find(rx, b"\r\n").map(|i| i + 1)
    } else {
        memchr::memchr(b'\n', rx)
    };
    match end {
        Some(i) => {
            rx.advance(i.saturating_add(1));
            true
        }
        None => {
            // A CR last may be the first half of the CRLF that ends it.
            let keep = usize::from(strict && rx.last() == Some(&b'\r'));
            rx.advance(rx.len() - keep);
            false
        }
    }
}

/// Whether buffered input starts a BDAT command (RFC 3030 §2: verbs are
/// case-insensitive).
pub(super) fn starts_with_bdat(rx: &[u8]) -> bool {
    rx.len() >= 5 && rx[..5].eq_ignore_ascii_case(b"BDAT ")
}

impl Server {
    pub(super) fn step(&mut self) -> Step {
        let core = &mut self.core;
        match &mut core.phase {
            Phase::Proxy => self.proxy_header(),
            Phase::Connecting { asked } => {
                if *asked {
                    Step::Blocked
                } else {
                    *asked = true;
                    core.pending = Some(Pending::Connect);
                    Step::Event(Event::Connect)
                }
            }
            Phase::Closing(reason) => {
                if core.tx.is_empty() {
                    let reason = *reason;
                    core.phase = Phase::Closed;
                    self.rx = BytesMut::new();
                    Step::Event(Event::Closed { reason })
                } else {
                    Step::Blocked
                }
            }
            Phase::Closed | Phase::TlsHandshake => Step::Blocked,
            Phase::TlsPending => {
                if core.tx.is_empty() {
                    core.phase = Phase::TlsHandshake;
                    // Nothing pipelined after STARTTLS may be read after the
                    // handshake (CVE-2011-0411).
                    self.rx.clear();
                    Step::Event(Event::StartTls)
                } else {
                    Step::Blocked
                }
            }
            Phase::Reversing => {
                if core.tx.is_empty() {
                    core.phase = Phase::Closed;
                    Step::Event(Event::Reversed {
                        leftover: self.rx.split().freeze(),
                    })
                } else {
                    Step::Blocked
                }
            }
            Phase::SkipLine { refused } => {
                let refused = *refused;
                if skip_line(&mut self.rx, core.strict()) {
                    core.phase = if refused {
                        Phase::Refused
                    } else {
                        Phase::Command
                    };
                    Step::Continue
                } else {
                    Step::Blocked
                }
            }
            Phase::Data(_, ahead) if ahead.len() > 0 => match ahead.pop() {
                Some(chunk) => Step::Event(Event::Content(chunk)),
                None => Step::Continue,
            },
            Phase::Data(decoder, _) => match decoder.decode(&mut self.rx) {
                Decoded::Content(chunk) if chunk.is_empty() => Step::Continue,
                Decoded::Content(chunk) => Step::Event(Event::Content(chunk)),
                Decoded::NeedMore => Step::Blocked,
                Decoded::End(Ok(size)) => {
                    core.phase = Phase::Command;
                    core.pending = Some(Pending::MessageEnd);
                    let (recipients, restart) =
                        (core.transaction.as_ref()).map_or((0, 0), |t| (t.accepted, t.restart));
                    // The octets stored before a CHECKPOINT restart count.
                    let size = size.saturating_add(restart);
                    Step::Event(Event::MessageEnd { size, recipients })
                }
                Decoded::End(Err(e)) => {
                    core.phase = Phase::Command;
                    core.content_failed(e);
                    Step::Event(Event::MessageAborted {
                        reason: AbortReason::Content(e),
                    })
                }
            },
            Phase::Chunk {
                decoder,
                last,
                refusal,
            } => match decoder.decode(&mut self.rx) {
                Chunk::Content(c) if c.is_empty() || refusal.is_some() => Step::Continue,
                Chunk::Content(c) => {
                    let (c, result) = match bare_check(&core.config, &mut core.transaction) {
                        Some(check) => check.check(c),
                        None => (c, Ok(())),
                    };
                    if let Err(e) = result {
                        // The rest of the chunk is consumed and dropped; the
                        // BDAT is answered with the content error and the
                        // transaction has failed (RFC 3030 §2). The content
                        // before the offending octet still goes out first.
                        *refusal = Some(Refusal::Reply(content_reply(e)));
                        if let Some(t) = core.transaction.as_mut() {
                            t.bdat_failed = true;
                        }
                        if core.content_open {
                            core.content_open = false;
                            core.abort_owed = Some(AbortReason::Content(e));
                        }
                    }
                    if c.is_empty() {
                        Step::Continue
                    } else {
                        Step::Event(Event::Content(c))
                    }
                }
                Chunk::NeedMore => Step::Blocked,
                Chunk::Done => {
                    let (last, refusal) = (*last, *refusal);
                    core.phase = Phase::Command;
                    if last && refusal.is_none() {
                        let check = bare_check(&core.config, &mut core.transaction);
                        if let Err(e) = check.map_or(Ok(()), |b| b.finish()) {
                            core.content_failed(e);
                            return Step::Event(Event::MessageAborted {
                                reason: AbortReason::Content(e),
                            });
                        }
                    }
                    core.chunk_done(last, refusal)
                }
            },
            Phase::Auth(_) => self.auth_line(),
            Phase::Refused => self.refused_line(),
            Phase::Command => self.command_line(),
        }
    }

    pub(super) fn command_line(&mut self) -> Step {
        let core = &mut self.core;
        let opts = core.parse_options();
        let strict = core.strict();
        match Command::parse(&self.rx, &opts) {
            Err(DecodeError::Incomplete) => Step::Blocked,
            Err(DecodeError::LineTooLong { .. }) => {
                // An overlong BDAT line can't be framed: its chunk would be
                // read as commands (smuggling), so the session ends.
                if core.config.extensions.chunking && starts_with_bdat(&self.rx) {
                    self.rx.clear();
                    core.abort_content(AbortReason::Disconnected);
                    core.close_with(BAD_CHUNK_SIZE, CloseReason::Desynchronised);
                    return Step::Continue;
                }
                // Only the overlong line goes: commands pipelined after it
                // are still answered.
                if !skip_line(&mut self.rx, strict) {
                    core.phase = Phase::SkipLine { refused: false };
                }
                core.error(LINE_TOO_LONG);
                Step::Continue
            }
            Err(DecodeError::Syntax { error, consumed }) => {
                // A BDAT whose size cannot be read leaves an unknown number
                // of octets to skip: the stream cannot be resynchronised
                // (checked, never wrapped), so the session ends.
                let bdat = starts_with_bdat(&self.rx);
                self.rx.advance(consumed);
                if bdat && core.config.extensions.chunking {
                    self.rx.clear();
                    core.abort_content(AbortReason::Disconnected);
                    core.close_with(BAD_CHUNK_SIZE, CloseReason::Desynchronised);
                    return Step::Continue;
                }
                let (code, esc) = error.reply();
                core.error_reply(code, esc, error.detail());
                Step::Continue
            }
            Ok((cmd, used)) => {
                let step = core.command(cmd);
                self.rx.advance(used);
                if matches!(core.phase, Phase::TlsPending) {
                    self.rx.clear();
                }
                step
            }
        }
    }

    pub(super) fn refused_line(&mut self) -> Step {
        let opts = self.core.parse_options();
        let strict = self.core.strict();
        match Command::parse(&self.rx, &opts) {
            Err(DecodeError::Incomplete) => Step::Blocked,
            Err(DecodeError::LineTooLong { .. }) => {
                if !skip_line(&mut self.rx, strict) {
                    self.core.phase = Phase::SkipLine { refused: true };
                }
                self.core.error(LINE_TOO_LONG);
                Step::Continue
            }
            Err(DecodeError::Syntax { consumed, .. }) => {
                self.rx.advance(consumed);
                self.core.error(BAD_SEQUENCE);
                Step::Continue
            }
            Ok((cmd, used)) => {
                let quit = matches!(cmd, Command::Quit);
                self.rx.advance(used);
                if quit {
                    self.core.quit();
                } else {
                    self.core.error(BAD_SEQUENCE);
                }
                Step::Continue
            }
        }
    }

    pub(super) fn auth_line(&mut self) -> Step {
        let core = &mut self.core;
        let limit = core.config.limits.auth_line;
        let strict = core.strict();
        match SaslResponse::parse_line(&self.rx, limit) {
            Err(DecodeError::Incomplete) => Step::Blocked,
            Err(DecodeError::LineTooLong { .. }) => {
                core.phase = if skip_line(&mut self.rx, strict) {
                    Phase::Command
                } else {
                    Phase::SkipLine { refused: false }
                };
                core.auth_failure(AUTH_LINE_TOO_LONG);
                Step::Continue
            }
            Err(DecodeError::Syntax { consumed, .. }) => {
                self.rx.advance(consumed);
                core.phase = Phase::Command;
                core.auth_failure(BAD_BASE64);
                Step::Continue
            }
            Ok((response, used)) => {
                let decoded = response.decode();
                self.rx.advance(used);
                let Phase::Auth(exchange) = std::mem::replace(&mut core.phase, Phase::Command)
                else {
                    return Step::Continue;
                };
                match decoded {
                    None => {
                        core.auth_failure(AUTH_CANCELLED);
                        Step::Continue
                    }
                    Some(bytes) => core.sasl_step(exchange, bytes),
                }
            }
        }
    }
}
