//! Message content decoded as [`Server::receive`] copies it: the copy
//! and the decode in one pass over each piece while it is in cache,
//! instead of a copy of the whole read and a second pass over it later.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::data::{Decoded, DotDecoder};

/// Reads at least this long are decoded as they are copied; shorter ones
/// are only appended, as the decode that follows finds them in cache.
pub(super) const AHEAD_MIN: usize = 32 * 1024;

/// The piece copied, then decoded, at a time: small enough to stay in the
/// first-level cache between the copy and the scan.
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

    /// Appends `data` to `rx` a piece at a time, decoding each piece at
    /// once: the content found is queued here, exactly the chunks the
    /// decoder would have returned from the buffered input (split at the
    /// piece boundaries), and `rx` keeps what it has not consumed (a
    /// partial line, the end of the message and what follows it).
    pub(super) fn receive(&mut self, decoder: &mut DotDecoder, rx: &mut BytesMut, data: &[u8]) {
        // One allocation for the whole read: the chunks are slices of it.
        rx.reserve(data.len());
        let q = self.0.get_or_insert_with(Box::default);
        let mut ended = false;
        for piece in data.chunks(PIECE) {
            rx.extend_from_slice(piece);
            while !ended {
                match decoder.decode(rx) {
                    Decoded::Content(chunk) if chunk.is_empty() => {}
                    Decoded::Content(chunk) => {
                        q.len += chunk.len();
                        q.chunks.push_back(chunk);
                    }
                    Decoded::NeedMore => break,
                    // The end (or the error) is reported again by the next
                    // call, after the chunks queued before it.
                    Decoded::End(_) => ended = true,
                }
            }
        }
    }
}
