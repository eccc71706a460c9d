//! Server side of DATA: dot-unstuffing and the end-of-data search.

use bytes::{Buf, Bytes, BytesMut};
use memchr::{memchr, memrchr};

use super::scan;
use super::ContentError;

/// The longest chunk handed out: the run is searched, then checked, so it
/// should fit in L2.
const MAX_RUN: usize = 64 << 10;

/// What a [`DotDecoder`] does with the octets attackers use to smuggle a
/// second message past a relay: bare CR and bare LF (RFC 5321 §2.3.8:
/// "MUST NOT" be sent) and NUL (not `text` in RFC 5322 §3.5; a relay that
/// strips it turns `<CRLF>NUL.<CRLF>` into a terminator downstream).
///
/// Under either policy only `<CRLF>.<CRLF>` ends the message, so a smuggled
/// `<LF>.<LF>` or `<CRLF>.<LF>` never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BarePolicy {
    /// Keep reading to the real terminator, hand out no more content, and
    /// report the message as rejected ([`ContentError::BareCr`],
    /// [`ContentError::BareLf`], [`ContentError::Nul`]).
    #[default]
    Reject,
    /// Pass them through as content. A bare CR or LF never starts a line
    /// for unstuffing, so a dot after it is content; a bare LF does end a
    /// line for the line-length limit, as every reader of the stored
    /// message will see it that way.
    Allow,
}

/// One step of [`DotDecoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decoded {
    /// Unstuffed message content, a slice of the receive buffer (only the
    /// lone CR of a `CRLF "." CR` that is not the end is a static). Call
    /// `decode` again.
    Content(Bytes),
    /// The buffer is drained; append more received bytes and call again.
    NeedMore,
    /// `<CRLF>.<CRLF>` was consumed; whatever follows it is still in the
    /// buffer (pipelined commands). `Ok` carries the message size (RFC
    /// 1870 §5: unstuffed octets, final CRLF included); `Err` says why the
    /// server must reject the message.
    End(Result<u64, ContentError>),
}

/// One step of [`DotDecoder::step`] over the front of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The first `n` octets are content, to hand out.
    Content(usize),
    /// The CR of a `CRLF "." CR` that is not the end: content, already
    /// consumed (hand out `"\r"`, consume nothing).
    LoneCr,
    /// The first `n` octets are consumed and not handed out (a stuffed dot,
    /// the terminator, or content of a message already rejected).
    Skip(usize),
    /// The input is empty.
    NeedMore,
    /// The message has ended; the input after the terminator is not the
    /// decoder's.
    End,
}

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
            match self.step(buf) {
                Step::Content(end) => return Decoded::Content(buf.split_to(end).freeze()),
                Step::LoneCr => return Decoded::Content(Bytes::from_static(b"\r")),
                Step::Skip(n) => buf.advance(n),
                Step::NeedMore => return Decoded::NeedMore,
                Step::End => return self.end(),
            }
        }
    }

    /// What [`decode`](Self::decode) does next with the front of `input`,
    /// without touching a buffer: the state moves past what the step
    /// consumes, so the caller must consume it (and hand out the content)
    /// before the next step. Also drives decoding from borrowed input, as
    /// [`Server::receive`](crate::server::Server::receive) does to check
    /// each run before it copies it.
    #[inline]
    pub(crate) fn step(&mut self, input: &[u8]) -> Step {
        loop {
            let Some(&first) = input.first() else {
                if self.state == State::Done {
                    return Step::End;
                }
                return Step::NeedMore;
            };
            match self.state {
                State::Done => return Step::End,
                State::LineStart if first == b'.' => {
                    self.state = State::Dot;
                    return Step::Skip(1);
                }
                State::Dot if first == b'\r' => {
                    self.state = State::DotCr;
                    return Step::Skip(1);
                }
                State::Dot => {
                    // The dot was stuffing (RFC 5321 §4.5.2): drop it, the
                    // line goes on.
                    self.state = State::Mid;
                }
                State::DotCr if first == b'\n' => {
                    self.state = State::Done;
                    return Step::Skip(1);
                }
                State::DotCr => {
                    // `CRLF "." CR x`: stuffing, then a CR that is content
                    // (bare, as x is not LF; the next region reports it).
                    if self.take(b"\r") {
                        return Step::LoneCr;
                    }
                    continue;
                }
                State::LineStart | State::Mid | State::Cr => {}
            }

            if let Some(end) = self.clean_run(input) {
                return Step::Content(end);
            }
            let end = self.region_end(input);
            // The region is never empty: `first` is in it unless it is a
            // line-start dot, which the match above consumed.
            if self.take(input.get(..end).unwrap_or_default()) {
                return Step::Content(end);
            }
            return Step::Skip(end);
        }
    }

    /// The fast path of `decode`: the next content run found and checked in
    /// one pass ([`scan::clean_run`]) and taken, when it is clean; `None`
    /// (nothing updated) leaves the run to the search and the exact checks.
    /// A run with no bare CR, bare LF or NUL passes the same checks under
    /// either [`BarePolicy`], so `Allow` takes this path too.
    fn clean_run(&mut self, buf: &[u8]) -> Option<usize> {
        if self.error.is_some() {
            return None;
        }
        let hay = buf.get(..MAX_RUN).unwrap_or(buf);
        let room = self.max_size.saturating_sub(self.size);
        if room < hay.len() as u64 {
            return None;
        }
        // The first octet pairs with what came before; `CR | LF "."` across
        // reads is the search's case.
        let line = match (self.state == State::Cr, hay.first()?) {
            (true, b'\n') if hay.get(1) != Some(&b'.') => 0,
            (false, &octet) if octet != b'\n' && octet != 0 => self.line.saturating_add(1),
            _ => return None,
        };
        if self.line >= self.max_line {
            return None;
        }
        let (end, open) = scan::clean_run(hay, line, self.max_line)?;
        let run = hay.get(..end)?;
        self.state = next_state(self.state, run);
        self.size = self.size.saturating_add(end as u64);
        self.line = open;
        Some(end)
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
        scan::crlf_dot()
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
        let block = (self.max_line / 2).clamp(1, scan::BLOCK);
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
                if edge || scan::unpaired(pairs, true) {
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
    /// path. With an LF in every [`scan::WINDOW`] octets, no line inside the
    /// run is longer than two windows, and the line the run continues ends
    /// within one, so a limit of three windows or more cannot be exceeded
    /// while the carried line stays short.
    fn clean(&mut self, run: &[u8], strict: bool) -> bool {
        const W: usize = scan::WINDOW;
        if self.max_line < 3 * W || self.line.saturating_add(W + 1) > self.max_line {
            return false;
        }
        if strict && bare_at(self.state == State::Cr, run.first().copied()).is_some() {
            return false;
        }
        // The scan stops at the first broken pair, so after one its line
        // verdict covers only part of the run: leave such runs (rare, and
        // rejected anyway under the strict policy) to the exact path.
        let (bare, lf_everywhere) = scan::pairs_and_lines(run);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn octet() -> impl Strategy<Value = u8> {
        prop_oneof![
            1 => Just(b'\r'),
            1 => Just(b'\n'),
            1 => Just(0u8),
            60 => Just(b'x'),
        ]
    }

    #[test]
    fn clean_text_takes_the_fast_path() {
        let run = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n".repeat(200);
        let mut decoder = DotDecoder::new();
        assert!(decoder.clean(&run, true));
        assert_eq!(decoder.line, 0);
        assert!(!DotDecoder::new().clean(b"a\nb", true));
    }

    /// A run that breaks the CRLF pairing early and holds an overlong line
    /// later (found by CI's proptest run).
    #[test]
    fn broken_pair_then_long_line_is_not_clean() {
        let mut run = b"xx\rxx".to_vec();
        run.extend_from_slice(&[b'x'; 400]);
        run.extend_from_slice(b"\nxx");
        let mut fast = DotDecoder::new().with_max_line(768);
        fast.line = 504;
        fast.state = State::Cr;
        assert!(!fast.clean(&run, false));
    }

    proptest! {
        // Whenever the fast path calls a run clean, the exact path agrees
        // and leaves the same line count.
        #[test]
        fn fast_path_agrees_with_exact_path(
            run in prop::collection::vec(octet(), 1..3000),
            line in 0usize..1000,
            cr in any::<bool>(),
            strict in any::<bool>(),
            max_line in prop_oneof![Just(768usize), Just(1000), 700usize..2000],
        ) {
            let mut fast = DotDecoder::new().with_max_line(max_line);
            fast.line = line;
            fast.state = if cr { State::Cr } else { State::Mid };
            let mut exact = fast.clone();
            if fast.clean(&run, strict) {
                exact.check_exact(&run, strict, None);
                prop_assert_eq!(exact.error, None);
                prop_assert_eq!(exact.line, fast.line);
            }
        }
    }
}
