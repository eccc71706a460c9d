//! Keyword packing: up to 16 octets of a name as one integer, so that a
//! keyword is recognised by one integer comparison or one table slot.
//!
//! Two folds exist on purpose. [`upper8`] is exact ASCII upper-casing, for
//! names compared whole (EHLO keywords, SASL mechanisms, DSN words). The
//! `| 0x20` fold of [`word8`] is cheaper but maps some non-letters onto
//! letters, so the command fast path uses it only where the octets compared
//! are already known to be letters, or checks them again.

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

/// [`u8::to_ascii_uppercase`] on the 8 octets of `x` at once: exactly the
/// octets `a`–`z` change (by subtracting 0x20).
#[inline]
pub(crate) fn upper8(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = x & !HIGH;
    // The high bit of each octet of `ge_a` is set where low7 >= b'a', and
    // of `gt_z` where low7 > b'z'; neither sum carries across octets.
    let ge_a = low7 + ONES * u64::from(0x80 - b'a');
    let gt_z = low7 + ONES * u64::from(0x80 - b'z' - 1);
    // Octets with their own high bit set are not ASCII and stay as they are.
    let lower = ge_a & !gt_z & !x & HIGH;
    x - (lower >> 2)
}
/// The first 16 octets of `name` as one integer, low octet first and
/// zero-padded, with ASCII letters upper-cased: the key two names share when
/// they start alike in any case. Names of different lengths can share a key
/// (trailing NUL), so a match is confirmed with [`same_past_16`].
///
/// Whole words at a time, not octet by octet: this runs once per EHLO line.
#[inline]
pub(crate) fn pack_upper(name: &[u8]) -> u128 {
    let (lo, rest) = name.split_at(name.len().min(8));
    let hi = rest.get(..rest.len().min(8)).unwrap_or_default();
    u128::from(upper8(load_le(lo))) | u128::from(upper8(load_le(hi))) << 64
}
/// [`pack_upper`] for a name known at compile time (already upper case):
/// like it, only the first 16 octets count.
pub(crate) const fn pack_const(name: &str) -> u128 {
    let b = name.as_bytes();
    let mut key = 0u128;
    let mut i = 0;
    while i < b.len() && i < 16 {
        key |= (b[i] as u128) << (8 * i);
        i += 1;
    }
    key
}

/// Eight octets at `at`, little-endian, with the octets from `len` on
/// cleared and ASCII letters folded to lower case by `| 0x20` on the
/// kept ones (the callers only compare keyword characters, for which the
/// fold is exact). `None` when fewer than eight octets follow `at`.
#[inline(always)]
pub(crate) fn word8(input: &[u8], at: usize, len: usize) -> Option<u64> {
    let b: [u8; 8] = input.get(at..at.checked_add(8)?)?.try_into().ok()?;
    let w = u64::from_le_bytes(b) | 0x2020_2020_2020_2020;
    Some(match len {
        0 => 0,
        1..=7 => w & (u64::MAX >> (64 - 8 * len)),
        _ => w,
    })
}

/// Eight octets at `at`, little-endian, as they are.
#[inline(always)]
pub(crate) fn raw8(input: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = input.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Whether `KEYWORD=` (given as lowercase `keyword=`, at most eight
/// octets) starts `w` (from [`raw8`]), letters in any case. Only the
/// letters are folded: the fold maps control octets onto `=` and digits.
#[inline(always)]
pub(crate) fn starts_with_kw(w: u64, kw: &[u8]) -> bool {
    let n = kw.len();
    let letters = n - 1;
    let fold = 0x2020_2020_2020_2020u64 & (u64::MAX >> (64 - 8 * letters));
    let mask = if n == 8 {
        u64::MAX
    } else {
        u64::MAX >> (64 - 8 * n)
    };
    (w | fold) & mask == lower8_exact(kw)
}

/// The octets of `s` packed little-endian, unchanged.
const fn lower8_exact(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let mut i = 0;
    while i < s.len() {
        b[i] = s[i];
        i += 1;
    }
    u64::from_le_bytes(b)
}

/// [`word8`] of a lowercase constant of at most eight octets.
pub(crate) const fn lower8(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let mut i = 0;
    while i < s.len() {
        b[i] = s[i] | 0x20;
        i += 1;
    }
    u64::from_le_bytes(b)
}

/// Four octets folded as in [`word8`].
#[inline(always)]
pub(crate) fn word4(input: &[u8]) -> Option<u32> {
    let b: [u8; 4] = input.get(..4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b) | 0x2020_2020)
}

pub(crate) const fn lower4(s: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*s) | 0x2020_2020
}
