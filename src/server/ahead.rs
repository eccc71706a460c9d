//! Message content decoded as [`Server::receive`] copies it: each run is
//! checked in the caller's slice, then copied while it is in cache,
//! instead of a copy of the whole read and a second pass over it later.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::data::{Decoded, DotDecoder, Step};

/// Reads at least this long are decoded as they are copied; shorter ones
/// are only appended, as the decode that follows finds them in cache.
pub(super) const AHEAD_MIN: usize = 32 * 1024;

/// The most input one step checks: small enough to stay in the
/// first-level cache between the scan and the copy.
const PIECE: usize = 16 * 1024;

/// Content chunks decoded by `receive` and not yet handed out as
/// [`super::Event::Content`], in order, ahead of the undecoded input.
/// Held by the DATA phase, so that leaving it (the session closing)
/// drops them; boxed, and only once a large read comes, so that the
/// session stays small.
#[derive(Debug, Default)]
pub(super) struct Ahead(Option<Box<Queue>>);

#[derive(Debug, Default)]
struct Queue {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl Ahead {
    /// The octets held.
    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |q| q.len)
    }

    /// The next chunk to hand out.
    pub(super) fn pop(&mut self) -> Option<Bytes> {
        let q = self.0.as_mut()?;
        let chunk = q.chunks.pop_front()?;
        q.len -= chunk.len();
        Some(chunk)
    }

    /// Decodes `data` straight from the caller's slice, a piece at a time,
    /// and copies each content run into `rx` right after checking it, while
    /// the run is still in the first-level cache: the read's content is
    /// queued here as one chunk, and `rx` keeps only what the decoder does
    /// not own (the input after the end of the message). Input buffered
    /// before `data` is decoded first.
    pub(super) fn receive(&mut self, decoder: &mut DotDecoder, rx: &mut BytesMut, data: &[u8]) {
        let q = self.0.get_or_insert_with(Box::default);
        let mut push = |chunk: Bytes| {
            if !chunk.is_empty() {
                q.len += chunk.len();
                q.chunks.push_back(chunk);
            }
        };
        // The decoder drains whatever it is given until the message ends.
        while !rx.is_empty() {
            match decoder.decode(rx) {
                Decoded::Content(chunk) => push(chunk),
                Decoded::NeedMore => break,
                // The end (or the error) is reported again by the next
                // call, after the chunks queued before it; what follows it
                // is the next command's.
                Decoded::End(_) => {
                    rx.extend_from_slice(data);
                    return;
                }
            }
        }
        // One allocation for the content of the whole read. The runs land
        // back to back in it (the stuffed dots left out), so the read's
        // content is handed out as one chunk: a split, a chunk and an
        // event per run cost about a tenth of the whole (BENCHMARKS.md,
        // issue #10 round 7). One octet more for a CR that the read
        // before held back (`CRLF "." CR` at its end) and that comes first.
        rx.reserve(data.len() + 1);
        let mut at = 0;
        while let Some(rest) = data.get(at..) {
            // A bounded piece keeps the run that a step checks in cache
            // for its copy. Pieces start at multiples of PIECE, as reads
            // of PIECE octets would, wherever the steps before ended.
            let piece = rest.get(..PIECE - at % PIECE).unwrap_or(rest);
            match decoder.step(piece) {
                Step::Content(n) => {
                    rx.extend_from_slice(piece.get(..n).unwrap_or_default());
                    at += n;
                }
                Step::LoneCr => rx.extend_from_slice(b"\r"),
                Step::Skip(n) => at += n,
                Step::NeedMore => break,
                Step::End => {
                    push(rx.split().freeze());
                    rx.extend_from_slice(rest);
                    return;
                }
            }
        }
        push(rx.split().freeze());
    }
}
