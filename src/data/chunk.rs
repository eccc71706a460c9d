//! Server side of BDAT: counted chunks (RFC 3030 §2).

use bytes::{Buf, Bytes, BytesMut};

/// One step of [`ChunkDecoder::decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Chunk {
    /// Chunk octets, a slice of the receive buffer. Call `decode` again.
    Content(Bytes),
    /// The buffer is drained; append more received bytes and call again.
    NeedMore,
    /// The whole chunk was consumed; whatever follows it is still in the
    /// buffer (the next command).
    Done,
}

/// Consumes exactly the octet count of one `BDAT` command from the
/// server's receive buffer (RFC 3030 §2): no stuffing, no terminator, no
/// look at the content.
///
/// Call sequence: after parsing `BDAT <size> [LAST]`, create one decoder:
/// [`ChunkDecoder::new`] to receive the chunk, or
/// [`ChunkDecoder::discard`] when the command is rejected (RFC 3030 §2:
/// the chunk is consumed all the same, or its octets would be read as
/// commands). Call [`decode`](Self::decode) with the receive buffer until it
/// returns [`Chunk::Done`], then reply and parse the next command from the
/// same buffer.
#[derive(Debug, Clone)]
pub struct ChunkDecoder {
    remaining: u64,
    discard: bool,
}

impl ChunkDecoder {
    /// A decoder that hands out the next `size` octets.
    pub const fn new(size: u64) -> Self {
        Self {
            remaining: size,
            discard: false,
        }
    }

    /// A decoder that consumes the next `size` octets and drops them.
    pub const fn discard(size: u64) -> Self {
        Self {
            remaining: size,
            discard: true,
        }
    }

    /// Octets of the chunk not consumed yet.
    pub const fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Consumes chunk octets from the front of `buf`, never more than the
    /// chunk holds; see the type's documentation for the call sequence.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Chunk {
        loop {
            if self.remaining == 0 {
                return Chunk::Done;
            }
            if buf.is_empty() {
                return Chunk::NeedMore;
            }
            let take = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
            self.remaining = self.remaining.saturating_sub(take as u64);
            if !self.discard {
                return Chunk::Content(buf.split_to(take).freeze());
            }
            buf.advance(take);
        }
    }
}

/// Checks text sent with BDAT for bare CR, bare LF and NUL, chunk by chunk,
/// so a server gives BDAT the same [`BarePolicy`](super::BarePolicy) as
/// DATA: only `BODY=BINARYMIME` content may hold them (RFC 3030 §3; RFC
/// 5321 §2.3.8 for text). A CRLF split across two chunks (or two reads) is
/// one line end.
///
/// What it passes on is the content before the first offending octet,
/// whatever the pieces were: a CR that ends a piece is held back until
/// the next octet shows whether it is bare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BareCheck {
    held_cr: bool,
}

impl BareCheck {
    /// A check at the start of a message.
    pub const fn new() -> Self {
        Self { held_cr: false }
    }

    /// Checks the next piece of content. Returns the content known to be
    /// clean (a slice of `piece`, or a copy with a held-back CR in front)
    /// and, when an offending octet was found, what it was; content after
    /// it is not returned.
    pub fn check(&mut self, piece: Bytes) -> (Bytes, Result<(), super::ContentError>) {
        if piece.is_empty() {
            return (piece, Ok(()));
        }
        let held = std::mem::take(&mut self.held_cr);
        let (clean, result) = match Self::clean_piece(&piece, held) {
            Some(clean) => (clean, Ok(())),
            None => Self::find_offence(&piece, held),
        };
        // A CR that ends the clean content is held back until the next
        // octet shows whether it is bare.
        self.held_cr = result.is_ok() && clean < piece.len();
        // A held CR is only passed on once its LF has come.
        let passed = if held && piece.first() == Some(&b'\n') {
            let mut with_cr = Vec::with_capacity(clean + 1);
            with_cr.push(b'\r');
            with_cr.extend_from_slice(&piece[..clean]);
            Bytes::from(with_cr)
        } else {
            piece.slice(..clean)
        };
        (passed, result)
    }

    /// The fast path of [`check`](Self::check): when the whole piece is
    /// clean (one vectorised pass: every CR followed by LF, every LF after
    /// a CR, no NUL, and the first octet right against what was held),
    /// how much of it to pass on now (all but a CR at its end); `None`
    /// sends it to [`find_offence`](Self::find_offence).
    fn clean_piece(piece: &[u8], held: bool) -> Option<usize> {
        let &first = piece.first()?;
        let edge = if held { first == b'\n' } else { first != b'\n' };
        if !edge || first == 0 || super::scan::broken_pairs(piece) {
            return None;
        }
        Some(piece.len() - usize::from(piece.last() == Some(&b'\r')))
    }

    /// The exact path of [`check`](Self::check): where the content stops
    /// being clean and why. `Ok` with less than the whole piece: a CR at
    /// its end waits for the next piece.
    fn find_offence(piece: &[u8], held: bool) -> (usize, Result<(), super::ContentError>) {
        use super::ContentError;
        // Where the LF owed by the last CR must be, if one is owed.
        let mut lf_at = held.then_some(0);
        let mut bad = None;
        for i in memchr::memchr3_iter(b'\r', b'\n', 0, piece) {
            if let Some(need) = lf_at.take() {
                if i != need || piece[i] != b'\n' {
                    bad = Some((need.saturating_sub(1), ContentError::BareCr));
                    break;
                }
                continue;
            }
            match piece[i] {
                0 => bad = Some((i, ContentError::Nul)),
                // Not owed by a CR just before it.
                b'\n' => bad = Some((i, ContentError::BareLf)),
                _ => lf_at = Some(i + 1),
            }
            if bad.is_some() {
                break;
            }
        }
        match (bad, lf_at) {
            (Some((at, e)), _) => (at, Err(e)),
            (None, Some(need)) if need < piece.len() => {
                (need.saturating_sub(1), Err(ContentError::BareCr))
            }
            (None, Some(_)) => (piece.len() - 1, Ok(())),
            (None, None) => (piece.len(), Ok(())),
        }
    }

    /// The message ended: a CR held back is bare.
    pub fn finish(&self) -> Result<(), super::ContentError> {
        if self.held_cr {
            Err(super::ContentError::BareCr)
        } else {
            Ok(())
        }
    }
}
