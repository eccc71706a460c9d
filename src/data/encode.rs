//! Client side of DATA: CRLF normalisation and dot-stuffing.

use bytes::BufMut;
use memchr::memchr2;

use super::scan;

/// What the encoder last wrote, which decides what the next octet means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// After a CRLF that came from an LF, or before any content.
    LineStart,
    /// After a CRLF that came from a CR: an LF next belongs to it.
    AfterCr,
    /// Inside a line.
    Mid,
}

/// Turns message content into the DATA wire form (RFC 5321 §4.5.2),
/// streaming.
///
/// Every bare CR and bare LF becomes CRLF *before* stuffing, so the peer
/// sees exactly the lines the encoder stuffed (RUSTSEC-2026-0561, the
/// SMTP-smuggling family); then a "." is added to every line that begins
/// with ".", the first line included (the DATA command's CRLF precedes it).
///
/// Call sequence: after the server's `354`, create one encoder per message,
/// call [`encode`](Self::encode) with each piece of content as it becomes
/// available (any split gives the same output), then
/// [`finish`](Self::finish) once, which writes `.CRLF`, preceded by a CRLF
/// if the content did not end with one. Runs between line breaks are
/// copied in bulk.
#[derive(Debug, Clone)]
pub struct DotEncoder {
    state: State,
}

impl Default for DotEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl DotEncoder {
    /// An encoder positioned at the start of the message.
    pub const fn new() -> Self {
        Self {
            state: State::LineStart,
        }
    }

    /// Appends the wire form of `content` to `out`.
    pub fn encode<B: BufMut>(&mut self, content: &[u8], out: &mut B) {
        let mut rest = content;
        while let Some(&first) = rest.first() {
            match (self.state, first) {
                (State::AfterCr, b'\n') => {
                    // The LF of a CRLF whose CR was already written.
                    self.state = State::LineStart;
                    rest = rest.get(1..).unwrap_or_default();
                    continue;
                }
                (State::LineStart | State::AfterCr, b'.') => out.put_u8(b'.'),
                _ => {}
            }
            // Up to just before the next dot after a CRLF, or all of it. A
            // dot after a bare CR or LF is in a run that is not canonical,
            // which `normalise` stuffs.
            let end = scan::crlf_dot()
                .find(rest)
                .map_or(rest.len(), |at| at.saturating_add(2));
            let (run, tail) = rest.split_at(end.min(rest.len()));
            if self.is_canonical(run) {
                out.put_slice(run);
                self.state = if run.ends_with(b"\n") {
                    State::LineStart
                } else {
                    State::Mid
                };
            } else {
                self.normalise(run, out);
            }
            rest = tail;
        }
    }

    /// Ends the message: a CRLF if the content did not end with a line
    /// break, then `.CRLF` (RFC 5321 §4.1.1.4). The encoder is then back at
    /// the start of a message.
    pub fn finish<B: BufMut>(&mut self, out: &mut B) {
        if self.state == State::Mid {
            out.put_slice(b"\r\n");
        }
        out.put_slice(b".\r\n");
        self.state = State::LineStart;
    }

    /// Whether `run` (which starts after any line-start dot was handled)
    /// is already CRLF-only and can be copied as it is. A CR at its end is
    /// not, as its LF may be in the next call.
    fn is_canonical(&self, run: &[u8]) -> bool {
        let bad_edges = run.first() == Some(&b'\n') || run.last() == Some(&b'\r');
        !bad_edges && !scan::unpaired_blocks(run)
    }

    /// The general path: writes `run` with every CR, LF and CRLF as CRLF,
    /// stuffing dots at the line starts inside it.
    fn normalise<B: BufMut>(&mut self, run: &[u8], out: &mut B) {
        let mut rest = run;
        while let Some(at) = memchr2(b'\r', b'\n', rest) {
            let (text, tail) = rest.split_at(at);
            if !text.is_empty() {
                out.put_slice(text);
                self.state = State::Mid;
            }
            let Some((&brk, tail)) = tail.split_first() else {
                break;
            };
            rest = tail;
            if brk == b'\n' && self.state == State::AfterCr {
                self.state = State::LineStart;
            } else {
                out.put_slice(b"\r\n");
                self.state = if brk == b'\r' {
                    State::AfterCr
                } else {
                    State::LineStart
                };
            }
            if rest.first() == Some(&b'.') {
                out.put_u8(b'.');
                // The dot is now ordinary text of the line.
                out.put_u8(b'.');
                rest = rest.get(1..).unwrap_or_default();
                self.state = State::Mid;
            }
        }
        if !rest.is_empty() {
            out.put_slice(rest);
            self.state = State::Mid;
        }
    }
}
