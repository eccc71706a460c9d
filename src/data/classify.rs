//! What a client must declare for its content (MAIL `BODY=`).

use memchr::memchr2_iter;

use super::scan;

/// The weakest transfer a message needs, for the client's `BODY=` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ContentKind {
    /// 7-bit text in lines of at most 998 octets: plain DATA (RFC 5321).
    SevenBit,
    /// Octets above 127 in text lines: `BODY=8BITMIME` (RFC 6152).
    EightBit,
    /// NUL, or a line longer than 998 octets: `BODY=BINARYMIME` with BDAT
    /// (RFC 3030 §3), as neither survives DATA.
    Binary,
}

/// Classifies complete message content. Line lengths are counted between
/// line breaks (CR, LF or CRLF), excluding them, as RFC 5322 §2.1.1 counts
/// its 998.
pub fn classify(content: &[u8]) -> ContentKind {
    if is_binary(content) {
        ContentKind::Binary
    } else if needs_8bit(content) {
        ContentKind::EightBit
    } else {
        ContentKind::SevenBit
    }
}

/// Whether `content` holds an octet above 127 (RFC 6152 8BITMIME).
pub fn needs_8bit(content: &[u8]) -> bool {
    scan::any_8bit(content)
}

/// Whether `content` cannot travel as text at all: it holds a NUL or a line
/// longer than 998 octets without its line break (RFC 5322 §2.1.1), and so
/// needs BINARYMIME (RFC 3030 §3).
pub fn is_binary(content: &[u8]) -> bool {
    const MAX: usize = 998;
    if scan::any_nul(content) {
        return true;
    }
    let mut start = 0;
    for at in memchr2_iter(b'\r', b'\n', content) {
        if at.saturating_sub(start) > MAX {
            return true;
        }
        start = at.saturating_add(1);
    }
    content.len().saturating_sub(start) > MAX
}
