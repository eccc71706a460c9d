//! Branch-free scans the compiler turns into SIMD (SSE2 on every x86-64,
//! NEON on aarch64) without `unsafe`: each folds a whole slice with `|`
//! instead of stopping early, so callers keep slices short (a few KiB) and
//! take a slow, exact path only when a scan reports something.

use std::sync::OnceLock;

use memchr::memmem::Finder;

/// How many octets one check covers: small enough to stay in L1 between the
/// search and the checks, large enough to amortise the calls.
pub(crate) const BLOCK: usize = 4096;

/// The searcher for `CRLF "."`, the only place DATA needs attention on
/// clean input (a stuffed dot or the terminator). Built once: building a
/// memmem searcher costs more than scanning a typical run between dots.
pub(crate) fn crlf_dot() -> &'static Finder<'static> {
    static FINDER: OnceLock<Finder<'static>> = OnceLock::new();
    FINDER.get_or_init(|| Finder::new(b"\r\n."))
}

/// Whether any adjacent pair `(a, b)` of `s` breaks the CRLF pairing: a CR
/// not followed by LF, or an LF not preceded by CR. The first octet's
/// predecessor and the last octet's successor are the caller's business.
/// With `nul`, a NUL as `b` (any octet but the first) counts too.
#[inline]
pub(crate) fn unpaired(s: &[u8], nul: bool) -> bool {
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

/// The window of the line-length fast check: see [`pairs_and_lines`].
pub(crate) const WINDOW: usize = 256;

/// One pass over `s` for the DATA checks: whether any adjacent pair breaks
/// the CRLF pairing or has a NUL second (as [`unpaired`] with `nul`), and
/// whether every full window of [`WINDOW`] second octets (positions
/// `1 + k·WINDOW ..`) holds an LF, which bounds every line inside `s`.
/// Stops at the first broken pair.
pub(crate) fn pairs_and_lines(s: &[u8]) -> (bool, bool) {
    let mut lf_everywhere = true;
    let mut at: usize = 0;
    while let Some(window) = s.get(at..at.saturating_add(WINDOW + 1).min(s.len())) {
        let Some(next) = window.get(1..) else {
            break;
        };
        // `bool` accumulators vectorise without the masking that `u8`
        // conversions cost.
        let mut bad = false;
        let mut lf = false;
        // A running minimum finds a NUL in one instruction per vector.
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

/// [`unpaired`] over a slice of any length, a block at a time (with one
/// octet of overlap, so no pair is missed), stopping at the first hit.
pub(crate) fn unpaired_blocks(s: &[u8]) -> bool {
    let mut at: usize = 0;
    while at.saturating_add(1) < s.len() {
        let end = at.saturating_add(BLOCK).min(s.len());
        let pairs = s
            .get(at..end.saturating_add(1).min(s.len()))
            .unwrap_or_default();
        if unpaired(pairs, false) {
            return true;
        }
        at = end;
    }
    false
}

/// Whether `s` holds an octet with the high bit set.
#[inline]
pub(crate) fn any_8bit(s: &[u8]) -> bool {
    s.chunks(BLOCK)
        .any(|c| c.iter().fold(0u8, |acc, &b| acc | b) & 0x80 != 0)
}

/// Whether `s` holds a NUL.
#[inline]
pub(crate) fn any_nul(s: &[u8]) -> bool {
    s.chunks(BLOCK)
        .any(|c| c.iter().fold(false, |acc, &b| acc | (b == 0)))
}
