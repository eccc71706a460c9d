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
