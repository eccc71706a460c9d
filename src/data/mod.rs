//! Message content framing, both directions.
//!
//! - Server, DATA: [`DotDecoder`] unstuffs the content and finds
//!   `<CRLF>.<CRLF>` (RFC 5321 §4.1.1.4, §4.5.2), checking bare CR / LF /
//!   NUL ([`BarePolicy`]), line length and size on the way.
//! - Server, BDAT: [`ChunkDecoder`] consumes exactly the announced octet
//!   count (RFC 3030 §2).
//! - Client: [`DotEncoder`] converts to CRLF, then dot-stuffs; [`classify`]
//!   and friends pick the `BODY=` value.
//!
//! The decoders work on the caller's receive buffer (`bytes::BytesMut`) and
//! hand out content as `bytes::Bytes` slices of it, without copying and
//! without buffering anything themselves.

mod chunk;
mod classify;
mod decode;
#[cfg(test)]
mod differential;
mod encode;
mod scan;
pub(crate) mod width;

pub use chunk::{BareCheck, Chunk, ChunkDecoder};
pub use classify::{classify, is_binary, needs_8bit, ContentKind};
pub(crate) use decode::Step;
pub use decode::{BarePolicy, Decoded, DotDecoder};
pub use encode::DotEncoder;
pub use width::ScanWidth;

/// The vector width [`DotDecoder`], [`DotEncoder`] and [`BareCheck`] scan
/// content at on this CPU: the widest it has (AVX-512, AVX2, else the
/// baseline), chosen at run time so one build is fast everywhere.
/// Benchmarks print it beside the CPU model.
pub fn scan_width() -> ScanWidth {
    width::current()
}

use crate::values::{EnhancedStatusCode, ReplyCode};

/// Why a server must reject a message whose content it received in full.
/// Reported by [`DotDecoder`] at the end of the message, never earlier in
/// the stream: the client only listens after the terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// A CR not followed by LF (RFC 5321 §2.3.8).
    #[error("bare CR in message content")]
    BareCr,
    /// An LF not preceded by CR (RFC 5321 §2.3.8).
    #[error("bare LF in message content")]
    BareLf,
    /// A NUL octet (not `text`, RFC 5322 §3.5).
    #[error("NUL in message content")]
    Nul,
    /// A line longer than the limit (RFC 5321 §4.5.3.1.6).
    #[error("message line longer than {limit} octets")]
    LineTooLong {
        /// The limit, in octets including CRLF.
        limit: usize,
    },
    /// More content than the size cap (RFC 1870 §6.3).
    #[error("message larger than {limit} octets")]
    TooBig {
        /// The cap, in unstuffed octets.
        limit: u64,
    },
}

impl ContentError {
    /// The reply code and enhanced status code a server should answer the
    /// end of data with: `552 5.3.4` for size (RFC 1870 §6.3, RFC 3463),
    /// `500 5.6.0` for a long line (RFC 5321 §4.5.3.1.10 "500 Line too
    /// long"), `550 5.6.0` for forbidden octets (RFC 3463 "other media
    /// error").
    pub const fn reply(&self) -> (ReplyCode, EnhancedStatusCode) {
        let (code, subject, detail) = match self {
            ContentError::BareCr | ContentError::BareLf | ContentError::Nul => (550, 6, 0),
            ContentError::LineTooLong { .. } => (500, 6, 0),
            ContentError::TooBig { .. } => (552, 3, 4),
        };
        (
            ReplyCode::new_unchecked(code),
            EnhancedStatusCode::new_unchecked(5, subject, detail),
        )
    }
}
