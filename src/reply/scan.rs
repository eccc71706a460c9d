//! Octet search tuned for reply lines, which are mostly a few dozen octets:
//! eight octets at a time in plain integer arithmetic, handing longer runs
//! to `memchr`, whose set-up costs more than a short line takes to scan.

/// How far the word-at-a-time loop goes before `memchr` takes over.
const SHORT: usize = 64;

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of the first zero octet of `v` (and maybe of octets above
/// it, never below): a borrow only starts at a zero octet.
#[inline(always)]
fn zero_octets(v: u64) -> u64 {
    v.wrapping_sub(LOW) & !v & HIGH
}

/// Up to 8 octets as a little-endian integer, zero-padded.
#[inline]
pub(crate) fn load_le(b: &[u8]) -> u64 {
    let word = |s: &[u8]| -> u64 {
        let mut a = [0u8; 4];
        a.copy_from_slice(s.get(..4).unwrap_or(&[0; 4]));
        u64::from(u32::from_le_bytes(a))
    };
    match b.len() {
        8.. => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            u64::from_le_bytes(a)
        }
        // Two overlapping 4-octet loads: shared octets are equal, so OR
        // keeps them intact.
        n @ 4..=7 => word(b) | word(&b[n - 4..]) << (8 * (n - 4)),
        _ => b
            .iter()
            .enumerate()
            .fold(0, |key, (i, &o)| key | u64::from(o) << (8 * i)),
    }
}

/// The index of the first `a` or `b` in `hay`.
#[inline]
pub(crate) fn find2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let (fill_a, fill_b) = (LOW * u64::from(a), LOW * u64::from(b));
    let hits = |v: u64| zero_octets(v ^ fill_a) | zero_octets(v ^ fill_b);
    let mut i = 0;
    while let Some(chunk) = hay.get(i..i + 8) {
        if i >= SHORT {
            return memchr::memchr2(a, b, &hay[i..]).map(|j| i + j);
        }
        let m = hits(load_le(chunk));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = hay.get(i..).unwrap_or_default();
    // Fewer than 8 octets: ignore the zero padding.
    let m = hits(load_le(tail)) & low_octets(tail.len());
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

/// The index of the first of `a`, `b` or `c` among the low `len` octets of
/// `word`.
#[inline]
pub(crate) fn first_of3_in_word(word: u64, len: usize, a: u8, b: u8, c: u8) -> Option<usize> {
    let m = (zero_octets(word ^ (LOW * u64::from(a)))
        | zero_octets(word ^ (LOW * u64::from(b)))
        | zero_octets(word ^ (LOW * u64::from(c))))
        & low_octets(len);
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
                        find2(&hay, b'\r', b'\n'),
                        memchr::memchr2(b'\r', b'\n', &hay),
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
