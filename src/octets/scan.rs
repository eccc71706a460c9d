//! Word-at-a-time (SWAR) octet search and class tests. Search is tuned for
//! reply and command lines, which are mostly a few dozen octets:
//! eight octets at a time in plain integer arithmetic, handing longer runs
//! to `memchr`, whose set-up costs more than a short line takes to scan.

/// How far the word-at-a-time loop goes before `memchr` takes over.
const SHORT: usize = 64;

use super::pack::load_le;

pub(crate) const LOW: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of the first zero octet of `v` (and maybe of octets above
/// it, never below): a borrow only starts at a zero octet.
#[inline(always)]
fn zero_octets(v: u64) -> u64 {
    v.wrapping_sub(LOW) & !v & HIGH
}

/// The index of the first octet of `hay` below `n` (at most 128): one
/// subtraction per word finds CR and LF (and the rarer low controls) at
/// once, where searching for the two octets takes two tests.
#[inline]
pub(crate) fn find_below(hay: &[u8], n: u8) -> Option<usize> {
    let sub = LOW * u64::from(n);
    // Exact for the lowest flagged octet: a borrow only starts there.
    let below = |v: u64| v.wrapping_sub(sub) & !v & HIGH;
    let mut i = 0;
    while let Some(chunk) = hay.get(i..i + 8) {
        let m = below(load_le(chunk));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = hay.get(i..).unwrap_or_default();
    // The zero padding is below `n` too: only the real octets count.
    let m = below(load_le(tail)) & low_octets(tail.len());
    (m != 0).then(|| i + (m.trailing_zeros() / 8) as usize)
}

/// The index of the first `a` in `hay`.
#[inline]
pub(crate) fn find(hay: &[u8], a: u8) -> Option<usize> {
    let fill = LOW * u64::from(a);
    let mut i = 0;
    while let Some(chunk) = hay.get(i..i + 8) {
        if i >= SHORT {
            return memchr::memchr(a, &hay[i..]).map(|j| i + j);
        }
        let m = zero_octets(load_le(chunk) ^ fill);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = hay.get(i..).unwrap_or_default();
    first_in_word(load_le(tail), tail.len(), a).map(|j| i + j)
}

/// The index of the first `a` among the low `len` octets of `word` (as
/// [`load_le`] gives them).
#[inline]
pub(crate) fn first_in_word(word: u64, len: usize, a: u8) -> Option<usize> {
    let m = zero_octets(word ^ (LOW * u64::from(a))) & low_octets(len);
    (m != 0).then(|| (m.trailing_zeros() / 8) as usize)
}

/// The index of the first octet of `word` below `!` (SP, a control, or
/// the zero padding of [`load_le`]), if any.
#[inline(always)]
pub(crate) fn below_bang(word: u64) -> Option<usize> {
    // Exact for the lowest flagged octet: a borrow only starts there.
    let m = word.wrapping_sub(LOW * 0x21) & !word & HIGH;
    (m != 0).then(|| (m.trailing_zeros() / 8) as usize)
}

/// A mask of the low `n` octets of a word (all of them from 8 up).
#[inline]
pub(crate) fn low_octets(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

// Class tests on a whole word, for the command fast path.
/// One bit (the top of the octet) for each octet of `w` equal to `b`;
/// exact up to and including the lowest one (a borrow can only flag
/// octets above a true match).
#[inline(always)]
pub(crate) const fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (LOW * b as u64);
    x.wrapping_sub(LOW) & !x & HIGH
}

/// Flags the octets of `w` that are not `xchar`, exact for the lowest.
#[inline(always)]
pub(crate) const fn non_xchar(w: u64) -> u64 {
    // Below '!' (SP and controls), 8-bit, DEL, '+', '='.
    let below = w.wrapping_sub(0x2121_2121_2121_2121) & !w & HIGH;
    below | (w & HIGH) | has_byte(w, 0x7f) | has_byte(w, b'+') | has_byte(w, b'=')
}

/// The top bit of each octet `b` of `w` with `m < b < n` (`m`, `n` at
/// most 127): exact for every octet, as no step carries or borrows
/// across octets.
#[inline(always)]
pub(crate) const fn between(w: u64, m: u8, n: u8) -> u64 {
    let low = w & (LOW * 0x7f);
    (LOW * (127 + n as u64)).wrapping_sub(low) & !w & (low + LOW * (127 - m as u64)) & HIGH
}

/// The top bit of each octet of `w` that is not an ASCII letter or
/// digit. Letters are folded first; digits are tested unfolded, since
/// the fold maps some controls onto them.
#[inline(always)]
pub(crate) const fn non_alnum(w: u64) -> u64 {
    let digits = between(w, b'0' - 1, b'9' + 1);
    let letters = between(w | (LOW * 0x20), b'a' - 1, b'z' + 1);
    !(digits | letters) & HIGH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_memchr() {
        // Every position, both ends of the word loop and the memchr hand-off,
        // with the wanted octet next to its borrow-prone neighbours.
        for len in 0..150 {
            for at in 0..=len {
                for fill in [0u8, 1, b'\r' + 1, 0x80, 0xff] {
                    let mut hay = vec![fill; len];
                    if at < len {
                        hay[at] = b'\n';
                    }
                    if at + 1 < len {
                        hay[at + 1] = b'\r';
                    }
                    assert_eq!(find(&hay, b'\n'), memchr::memchr(b'\n', &hay), "{hay:?}");
                    assert_eq!(find(&hay, 0), memchr::memchr(0, &hay), "{hay:?}");
                    assert_eq!(
                        find_below(&hay, 0x0e),
                        hay.iter().position(|&b| b < 0x0e),
                        "{hay:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn load_le_pads_with_zero() {
        let bytes = *b"abcdefghij";
        for n in 0..=8 {
            let mut want = [0u8; 8];
            want[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(load_le(&bytes[..n]), u64::from_le_bytes(want));
        }
        assert_eq!(load_le(&bytes), u64::from_le_bytes(*b"abcdefgh"));
    }
}
