//! Client side of DATA: CRLF normalisation and dot-stuffing.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::scan;

/// Runs shorter than this are copied rather than sliced, which bounds the
/// number of pieces [`DotEncoder::encode_shared`] hands out.
const MIN_SLICE: usize = 2048;

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
/// if the content did not end with one. Runs between the points that need
/// attention are copied in bulk, or with
/// [`encode_shared`](Self::encode_shared) not copied at all.
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
        self.run(content, &mut CopyAll(out));
    }

    /// The wire form of `content`, handed to `emit` as pieces to write in
    /// order, most of them slices of `content` (no copy).
    ///
    /// Canonical text (CRLF line ends only, as RFC 5321 §2.3.8 asks of a
    /// client) comes out as runs of `content` cut at the dots to stuff:
    /// each such dot ends one run and begins the next, so it is written
    /// twice without a copy. Runs shorter than 2 KiB, line ends to
    /// normalise and stuffing after them are gathered in one buffer, so
    /// every piece but the buffered ones is at least 2 KiB long and a
    /// message without bare CR or LF gives one piece per stuffed dot (or
    /// fewer). Same output as [`encode`](Self::encode), for any split.
    pub fn encode_shared(&mut self, content: &Bytes, mut emit: impl FnMut(Bytes)) {
        let mut pieces = Shared::new(content, &mut emit);
        self.run(content, &mut pieces);
        pieces.flush();
    }

    /// [`encode_shared`](Self::encode_shared) of the last content, then
    /// [`finish`](Self::finish): the terminator joins the last buffered
    /// piece, or comes as a piece of its own.
    pub fn finish_shared(&mut self, content: &Bytes, mut emit: impl FnMut(Bytes)) {
        let mut pieces = Shared::new(content, &mut emit);
        self.run(content, &mut pieces);
        if pieces.buf.is_empty() {
            drop(pieces);
            let end: &'static [u8] = if self.state == State::Mid {
                b"\r\n.\r\n"
            } else {
                b".\r\n"
            };
            self.state = State::LineStart;
            emit(Bytes::from_static(end));
        } else {
            self.finish(&mut pieces.buf);
            pieces.flush();
        }
    }

    /// The encoder proper: walks `s` from one point of attention to the
    /// next (a dot to stuff after a CRLF, a bare CR or LF), handing the
    /// octets between them to `sink` as ranges of `s`.
    fn run<S: Sink>(&mut self, s: &[u8], sink: &mut S) {
        if s.is_empty() {
            return;
        }
        let mut pos = 0;
        if self.state == State::AfterCr && s.first() == Some(&b'\n') {
            // The LF of a CRLF whose CR was already written.
            pos = 1;
            self.state = State::LineStart;
        }
        if self.state != State::Mid && s.get(pos) == Some(&b'.') {
            // The run starting here begins with the dot: it is written twice.
            sink.extra(b".");
        }
        // Start of the octets not yet handed to `sink`.
        let mut run = pos;
        // Whether `s` ended at a line end handled as bare.
        let mut ended = None;
        while pos < s.len() {
            // Clean windows are skipped in one vectorised pass; the window
            // after them is looked at closely.
            let (from, rest) = sink.skip_clean(s, pos, &mut run);
            pos = from;
            let Some((lim, pairs)) = rest else {
                // Copied while still in cache.
                sink.text(s, run..pos);
                run = pos;
                continue;
            };
            match next_attention(s, pos, lim, pairs) {
                None => pos = lim,
                Some(Attention::Bare(b)) => {
                    sink.text(s, run..b);
                    sink.extra(b"\r\n");
                    let cr = s.get(b) == Some(&b'\r');
                    pos = b.saturating_add(1);
                    run = pos;
                    if s.get(pos) == Some(&b'.') {
                        sink.extra(b".");
                    }
                    if pos >= s.len() {
                        ended = Some(if cr { State::AfterCr } else { State::LineStart });
                    }
                }
                Some(Attention::Dot(d)) => {
                    // The dot ends this run and starts the next one.
                    let after = d.saturating_add(1);
                    sink.text(s, run..after);
                    run = d;
                    pos = after;
                }
            }
        }
        if ended.is_none() {
            sink.text(s, run..s.len());
        }
        self.state = match ended {
            Some(state) => state,
            None if s.last() == Some(&b'\n') => State::LineStart,
            None => State::Mid,
        };
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
}

/// Where the encoder's output goes.
trait Sink {
    /// How many octets to check before handing them on: a copy is made
    /// while they are still in cache.
    const BLOCK: usize;
    /// Octets `range` of the content, unchanged.
    fn text(&mut self, s: &[u8], range: Range<usize>);
    /// Octets the encoder adds (stuffing, CRLF for a bare line end).
    fn extra(&mut self, b: &'static [u8]);
    /// [`scan::skip_clean`] from `pos`; a sink may take the text from
    /// `*run` up to what the scan vouched for as it goes, moving `*run`.
    fn skip_clean(&mut self, s: &[u8], pos: usize, run: &mut usize) -> scan::Skipped {
        let _ = run;
        scan::skip_clean(s, pos, Self::BLOCK)
    }
}

/// Everything copied into a buffer.
struct CopyAll<'a, B>(&'a mut B);

impl<B: BufMut> Sink for CopyAll<'_, B> {
    // Within L1: smaller blocks cost more in restarts than they save.
    const BLOCK: usize = 32 << 10;

    fn text(&mut self, s: &[u8], range: Range<usize>) {
        self.0.put_slice(s.get(range).unwrap_or_default());
    }

    fn extra(&mut self, b: &'static [u8]) {
        self.0.put_slice(b);
    }

    fn skip_clean(&mut self, s: &[u8], pos: usize, run: &mut usize) -> scan::Skipped {
        scan::skip_clean_copy(s, pos, Self::BLOCK, run, &mut |text| self.0.put_slice(text))
    }
}

/// Long runs as slices of the content, the rest gathered in `buf`.
struct Shared<'a, F> {
    content: &'a Bytes,
    buf: BytesMut,
    emit: &'a mut F,
}

impl<'a, F: FnMut(Bytes)> Shared<'a, F> {
    fn new(content: &'a Bytes, emit: &'a mut F) -> Self {
        Self {
            content,
            buf: BytesMut::new(),
            emit,
        }
    }

    fn flush(&mut self) {
        if !self.buf.is_empty() {
            (self.emit)(self.buf.split().freeze());
        }
    }

    /// Room for `n` more octets; when the buffer must grow, room for the
    /// rest of the content as well (with a CR per 32 octets), so that
    /// content needing many copies allocates about once, and at least
    /// room for many line ends.
    fn reserve(&mut self, n: usize, from: usize) {
        if self.buf.capacity().saturating_sub(self.buf.len()) < n {
            let rest = self.content.len().saturating_sub(from);
            let want = rest.saturating_add(rest / 32).max(n).max(1024);
            self.buf.reserve(want);
        }
    }
}

impl<F: FnMut(Bytes)> Sink for Shared<'_, F> {
    // Slices cost nothing to hand on: runs as long as the content allows.
    const BLOCK: usize = usize::MAX;

    fn text(&mut self, s: &[u8], range: Range<usize>) {
        let len = range.end.saturating_sub(range.start);
        if len == 0 {
            return;
        }
        if len >= MIN_SLICE && range.end <= self.content.len() {
            self.flush();
            (self.emit)(self.content.slice(range));
        } else {
            self.reserve(len, range.start);
            self.buf.put_slice(s.get(range).unwrap_or_default());
        }
    }

    fn extra(&mut self, b: &'static [u8]) {
        self.reserve(b.len(), self.content.len());
        self.buf.put_slice(b);
    }
}

/// What the encoder must act on next.
enum Attention {
    /// A bare CR or LF at this position.
    Bare(usize),
    /// A dot to stuff at this position (after a CRLF).
    Dot(usize),
}

/// The first point of attention in `pos..lim` of `s`, exactly: a bare CR or
/// LF there, or a dot whose CRLF starts there, whichever comes first (a
/// bare line end before the dot is handled first). With `pairs` the scan
/// has already shown there is no bare line end in `pos..lim`.
fn next_attention(s: &[u8], pos: usize, lim: usize, pairs: bool) -> Option<Attention> {
    let region = s.get(pos..lim.saturating_add(2).min(s.len()))?;
    let dot = scan::crlf_dot()
        .find(region)
        .map(|at| pos.saturating_add(at).saturating_add(2));
    let stop = if pairs {
        pos
    } else {
        dot.map_or(lim, |d| d.min(lim))
    };
    let window = s.get(pos..stop).unwrap_or_default();
    for i in memchr::memchr2_iter(b'\r', b'\n', window) {
        let i = pos.saturating_add(i);
        if is_bare(s, i) {
            return Some(Attention::Bare(i));
        }
    }
    dot.map(Attention::Dot)
}

/// Whether the CR or LF at `i` is bare.
fn is_bare(s: &[u8], i: usize) -> bool {
    match s.get(i) {
        Some(b'\r') => s.get(i.saturating_add(1)) != Some(&b'\n'),
        Some(b'\n') => i == 0 || s.get(i - 1) != Some(&b'\r'),
        _ => false,
    }
}
