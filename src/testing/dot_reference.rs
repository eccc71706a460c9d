//! The DATA decoder as it was before the fused scan (esmtp 0.1), kept
//! verbatim as the reference that differential tests, benches and fuzz
//! targets compare [`crate::data::DotDecoder`] with: same chunks, same
//! errors, same bytes left in the buffer, for every input and split.

use bytes::{Buf, Bytes, BytesMut};
use memchr::{memchr, memrchr};

use crate::data::{BarePolicy, ContentError, Decoded};

/// The longest chunk handed out: the run is searched, then checked, so it
/// should fit in L2.
const MAX_RUN: usize = 64 << 10;

/// Where the decoder stands relative to the line structure: all it keeps
/// between calls besides counters, so any split of the input decodes alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// After CRLF (or the DATA line): a "." here is stuffing or the end.
    LineStart,
    /// Inside a line; the last content octet was not CR.
    Mid,
    /// The last content octet was CR (already handed out).
    Cr,
    /// `CRLF "."` consumed, the dot not handed out.
    Dot,
    /// `CRLF "." CR` consumed, neither the dot nor the CR handed out.
    DotCr,
    /// The terminator was consumed.
    Done,
}

/// Streams the content of a DATA transaction out of the server's receive
/// buffer (RFC 5321 §4.1.1.4, §4.5.2).
///
/// Call sequence: after sending `354`, create one decoder per message
/// ([`DotDecoder::new`] plus the `with_*` settings) and call
/// [`decode`](Self::decode) with the receive buffer until it returns
/// [`Decoded::End`]:
/// - [`Decoded::Content`]: store the chunk, call again;
/// - [`Decoded::NeedMore`]: read from the peer, append to the buffer, call
///   again;
/// - [`Decoded::End`]: reply to the message (`250`, or the rejection's
///   [`ContentError::reply`]) and go back to parsing commands from the same
///   buffer: bytes after the terminator are left in it.
///
/// The decoder never copies and never holds content: each chunk is split
/// off the buffer (`split_to(..).freeze()`), and the buffer is drained on
/// every call that does not end the message, whatever the peer sends. Its
/// whole state is a few counters. Chunks end at each stuffed dot, at the
/// end of the buffer and every 64 KiB (so that the search and the checks of
/// one run share the cache); their concatenation does not depend on how
/// the input was split.
///
/// Once the message must be rejected (bare CR / LF / NUL under
/// [`BarePolicy::Reject`], an overlong line, the size cap), no more content
/// is handed out; the decoder keeps consuming to the terminator, and the
/// first reason is reported at the end.
#[derive(Debug, Clone)]
pub struct DotDecoder {
    state: State,
    policy: BarePolicy,
    max_line: usize,
    max_size: u64,
    size: u64,
    /// Content octets since the last LF (the current line so far).
    line: usize,
    error: Option<ContentError>,
}

impl Default for DotDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl DotDecoder {
    /// The text-line limit of RFC 5321 §4.5.3.1.6: 1000 octets with CRLF.
    pub const DEFAULT_MAX_LINE: usize = 1000;

    /// A decoder for one message, positioned right after the DATA command
    /// line (whose CRLF counts as the line break before the first line),
    /// with [`BarePolicy::Reject`], the 1000-octet line limit and no size
    /// cap.
    pub const fn new() -> Self {
        Self {
            state: State::LineStart,
            policy: BarePolicy::Reject,
            max_line: Self::DEFAULT_MAX_LINE,
            max_size: u64::MAX,
            size: 0,
            line: 0,
            error: None,
        }
    }

    /// This decoder with another policy for bare CR, bare LF and NUL.
    pub const fn with_policy(mut self, policy: BarePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// This decoder with another line limit, in content octets including
    /// the CRLF and excluding a stuffed dot; `usize::MAX` disables it.
    pub const fn with_max_line(mut self, max_line: usize) -> Self {
        self.max_line = max_line;
        self
    }

    /// This decoder with a size cap in unstuffed octets (RFC 1870 §5), such
    /// as the SIZE the server advertised; beyond it the message is
    /// [`ContentError::TooBig`].
    pub const fn with_max_size(mut self, max_size: u64) -> Self {
        self.max_size = max_size;
        self
    }

    /// Unstuffed content octets seen so far, including any not handed out
    /// after a rejection.
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The reason the message will be rejected, as soon as it is known.
    pub const fn error(&self) -> Option<ContentError> {
        self.error
    }

    /// Whether the terminator has been consumed.
    pub const fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Consumes message content from the front of `buf`; see the type's
    /// documentation for the call sequence. After [`Decoded::End`], further
    /// calls return the same `End` and leave `buf` alone.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Decoded {
        loop {
            let Some(&first) = buf.first() else {
                if self.state == State::Done {
                    return self.end();
                }
                return Decoded::NeedMore;
            };
            match self.state {
                State::Done => return self.end(),
                State::LineStart if first == b'.' => {
                    buf.advance(1);
                    self.state = State::Dot;
                    continue;
                }
                State::Dot if first == b'\r' => {
                    buf.advance(1);
                    self.state = State::DotCr;
                    continue;
                }
                State::Dot => {
                    // The dot was stuffing (RFC 5321 §4.5.2): drop it, the
                    // line goes on.
                    self.state = State::Mid;
                }
                State::DotCr if first == b'\n' => {
                    buf.advance(1);
                    self.state = State::Done;
                    return self.end();
                }
                State::DotCr => {
                    // `CRLF "." CR x`: stuffing, then a CR that is content
                    // (bare, as x is not LF; the next region reports it).
                    if self.take(b"\r") {
                        return Decoded::Content(Bytes::from_static(b"\r"));
                    }
                    continue;
                }
                State::LineStart | State::Mid | State::Cr => {}
            }

            let end = self.region_end(buf);
            // The region is never empty: `first` is in it unless it is a
            // line-start dot, which the match above consumed.
            if self.take(buf.get(..end).unwrap_or_default()) {
                return Decoded::Content(buf.split_to(end).freeze());
            }
            buf.advance(end);
        }
    }

    /// The end of the content run at the front of `buf`: just before the
    /// next line-start dot, or the whole buffer.
    fn region_end(&self, buf: &[u8]) -> usize {
        if self.state == State::Cr && buf.starts_with(b"\n.") {
            return 1;
        }
        // A bounded window keeps the search and the checks in cache; a
        // `CRLF "."` across its edge is caught by the state.
        let window = buf.get(..MAX_RUN).unwrap_or(buf);
        scan_ref::crlf_dot()
            .find(window)
            .map_or(window.len(), |at| at.saturating_add(2))
    }

    fn fail(&mut self, error: ContentError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    fn end(&self) -> Decoded {
        Decoded::End(match self.error {
            Some(error) => Err(error),
            None => Ok(self.size),
        })
    }

    /// Takes one content run (or the CR of `CRLF "." CR x`): checks it
    /// unless the message is already condemned, moves the state past it and
    /// counts it; whether it may be handed out.
    fn take(&mut self, run: &[u8]) -> bool {
        if self.error.is_none() {
            self.check(run);
        }
        self.state = next_state(self.state, run);
        self.size = self.size.saturating_add(run.len() as u64);
        self.error.is_none()
    }

    /// Finds the first violation in a content run that follows
    /// `self.state`, and records it.
    ///
    /// Each violation has an exact position, so the one reported does not
    /// depend on how the input was split: an LF or NUL is wrong where it
    /// stands, a bare CR is seen at the octet after it (which is not LF), a
    /// long line at its `max_line + 1`-th octet, the size at the first octet
    /// over the cap. At one position the order is size, line, LF, CR, NUL.
    fn check(&mut self, run: &[u8]) {
        let strict = self.policy == BarePolicy::Reject;
        let room = self.max_size.saturating_sub(self.size);
        let too_big = usize::try_from(room).ok().filter(|&at| at < run.len());
        if too_big.is_none() && self.clean(run, strict) {
            return;
        }
        self.check_exact(run, strict, too_big);
    }

    /// The exact path of [`check`](Self::check), block by block.
    fn check_exact(&mut self, run: &[u8], strict: bool, too_big: Option<usize>) {
        // Every line wholly inside a block this size is short enough.
        let block = (self.max_line / 2).clamp(1, scan_ref::BLOCK);
        let mut at: usize = 0;
        while at < run.len() {
            let next = at.saturating_add(block).min(run.len());
            let head = run.get(at..next).unwrap_or_default();
            let mut found: Option<(usize, ContentError)> = None;
            let mut note = |pos: usize, error: ContentError| {
                if found.is_none_or(|(best, _)| pos < best) {
                    found = Some((pos, error));
                }
            };
            if let Some(pos) = too_big.filter(|&pos| pos < next) {
                note(
                    pos,
                    ContentError::TooBig {
                        limit: self.max_size,
                    },
                );
            }
            if let Some(pos) = self.long_line(head) {
                note(
                    at.saturating_add(pos),
                    ContentError::LineTooLong {
                        limit: self.max_line,
                    },
                );
            }
            if strict {
                // Pairs (previous, current) for every current octet of the
                // block; the run's first octet pairs with the state.
                let pairs = run.get(at.saturating_sub(1)..next).unwrap_or_default();
                let edge =
                    at == 0 && bare_at(self.state == State::Cr, head.first().copied()).is_some();
                if edge || scan_ref::unpaired(pairs, true) {
                    if let Some((pos, error)) = first_bare(self.state, run, at, next) {
                        note(pos, error);
                    }
                }
            }
            if let Some((_, error)) = found {
                self.fail(error);
                return;
            }
            at = next;
        }
    }

    /// The fast path of [`check`](Self::check): one vectorised pass that
    /// proves a run clean, or `false` (nothing updated) to take the exact
    /// path. With an LF in every [`scan_ref::WINDOW`] octets, no line inside the
    /// run is longer than two windows, and the line the run continues ends
    /// within one, so a limit of three windows or more cannot be exceeded
    /// while the carried line stays short.
    fn clean(&mut self, run: &[u8], strict: bool) -> bool {
        const W: usize = scan_ref::WINDOW;
        if self.max_line < 3 * W || self.line.saturating_add(W + 1) > self.max_line {
            return false;
        }
        if strict && bare_at(self.state == State::Cr, run.first().copied()).is_some() {
            return false;
        }
        // The scan stops at the first broken pair, so after one its line
        // verdict covers only part of the run: leave such runs (rare, and
        // rejected anyway under the strict policy) to the exact path.
        let (bare, lf_everywhere) = scan_ref::pairs_and_lines(run);
        if bare || !lf_everywhere {
            return false;
        }
        // The last LF is within the last two windows, if the run has one.
        let tail = run.get(run.len().saturating_sub(2 * W)..).unwrap_or(run);
        self.line = match memrchr(b'\n', tail) {
            Some(last) => tail.len().saturating_sub(last).saturating_sub(1),
            None => self.line.saturating_add(run.len()),
        };
        true
    }

    /// Line-length bookkeeping for one block of at most `max_line / 2`
    /// octets (or one octet): the first octet of the block that makes a line
    /// too long, if any. Only the line the block continues and the one it
    /// leaves open need counting.
    fn long_line(&mut self, block: &[u8]) -> Option<usize> {
        let limit = self.max_line;
        // The octet that would be the line's `limit + 1`-th.
        let over = limit.checked_sub(self.line);
        let hit = match memrchr(b'\n', block) {
            None => {
                self.line = self.line.saturating_add(block.len());
                over.filter(|&pos| pos < block.len())
            }
            Some(last) => {
                let first = if self.line.saturating_add(block.len()) > limit {
                    memchr(b'\n', block).unwrap_or(last)
                } else {
                    last
                };
                self.line = block.len().saturating_sub(last).saturating_sub(1);
                over.filter(|&pos| pos <= first)
            }
        };
        // `over` is `None` only if an earlier octet was already too long,
        // which was reported then.
        hit.or(if over.is_none() { Some(0) } else { None })
    }
}

/// The violation at an octet, from whether the octet before it is a CR.
/// NUL is the caller's concern.
fn bare_at(prev_cr: bool, octet: Option<u8>) -> Option<ContentError> {
    match octet {
        Some(b'\n') if !prev_cr => Some(ContentError::BareLf),
        Some(b'\n') | None => None,
        Some(_) if prev_cr => Some(ContentError::BareCr),
        Some(0) => Some(ContentError::Nul),
        Some(_) => None,
    }
}

/// The first bare CR / LF / NUL detected at a position in `from..to` of
/// `run` (which follows `state`), exactly; only called once a fast check
/// has flagged the block.
fn first_bare(state: State, run: &[u8], from: usize, to: usize) -> Option<(usize, ContentError)> {
    let mut prev_cr = match from.checked_sub(1) {
        None => state == State::Cr,
        Some(prev) => run.get(prev) == Some(&b'\r'),
    };
    for (pos, &octet) in run.get(from..to).unwrap_or_default().iter().enumerate() {
        if let Some(error) = bare_at(prev_cr, Some(octet)) {
            return Some((from.saturating_add(pos), error));
        }
        prev_cr = octet == b'\r';
    }
    None
}

/// The state after a content run that followed `state`.
fn next_state(state: State, region: &[u8]) -> State {
    match region {
        [.., b'\r', b'\n'] => State::LineStart,
        [b'\n'] if state == State::Cr => State::LineStart,
        [.., b'\r'] => State::Cr,
        [] => state,
        _ => State::Mid,
    }
}

/// The scan helpers the reference used, frozen with it.
mod scan_ref {
    use std::sync::OnceLock;

    use memchr::memmem::Finder;

    pub(super) const BLOCK: usize = 4096;

    pub(super) fn crlf_dot() -> &'static Finder<'static> {
        static FINDER: OnceLock<Finder<'static>> = OnceLock::new();
        FINDER.get_or_init(|| Finder::new(b"\r\n."))
    }

    pub(super) fn unpaired(s: &[u8], nul: bool) -> bool {
        let Some(next) = s.get(1..) else {
            return false;
        };
        let mut bad = false;
        if nul {
            let mut least = u8::MAX;
            for (&a, &b) in s.iter().zip(next) {
                bad |= (a == b'\r') != (b == b'\n');
                least = least.min(b);
            }
            bad |= least == 0;
        } else {
            for (&a, &b) in s.iter().zip(next) {
                bad |= (a == b'\r') != (b == b'\n');
            }
        }
        bad
    }

    pub(super) const WINDOW: usize = 256;

    pub(super) fn pairs_and_lines(s: &[u8]) -> (bool, bool) {
        let mut lf_everywhere = true;
        let mut at: usize = 0;
        while let Some(window) = s.get(at..at.saturating_add(WINDOW + 1).min(s.len())) {
            let Some(next) = window.get(1..) else {
                break;
            };
            let mut bad = false;
            let mut lf = false;
            let mut least = u8::MAX;
            for (&a, &b) in window.iter().zip(next) {
                let is_lf = b == b'\n';
                bad |= (a == b'\r') != is_lf;
                lf |= is_lf;
                least = least.min(b);
            }
            if bad || least == 0 {
                return (true, lf_everywhere);
            }
            if next.len() == WINDOW {
                lf_everywhere &= lf;
            }
            at = at.saturating_add(WINDOW);
        }
        (false, lf_everywhere)
    }
}
