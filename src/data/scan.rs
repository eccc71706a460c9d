//! Branch-free scans the compiler turns into SIMD (SSE2 on every x86-64,
//! NEON on aarch64; the fused DATA scan also at AVX2 and AVX-512 width,
//! see `width.rs`) without `unsafe`: each folds a whole slice with `|`
//! instead of stopping early, so callers keep slices short (a few KiB) and
//! take a slow, exact path only when a scan reports something.

use std::sync::OnceLock;

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use fearless_simd::Simd as _;
use memchr::memmem::Finder;

use super::width::{self, Level};

/// Runs `$scan::<L>(args)` at the CPU's width: `L` = 16 lanes per group on
/// the baseline, 32 under AVX2, 64 under AVX-512, each compiled inlined
/// into `fearless_simd`'s function with those target features.
macro_rules! at_width {
    ($scan:ident($($arg:expr),*)) => {
        match width::level() {
            Level::Baseline => $scan::<16>($($arg),*),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Level::Avx2(cpu) => cpu.vectorize(
                #[inline(always)]
                || $scan::<32>($($arg),*),
            ),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Level::Avx512(cpu) => cpu.vectorize(
                #[inline(always)]
                || $scan::<64>($($arg),*),
            ),
        }
    };
}

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

/// The searcher for `LF "."`, which ends a run once the CRLF pairing is
/// known to hold.
fn lf_dot() -> &'static Finder<'static> {
    static FINDER: OnceLock<Finder<'static>> = OnceLock::new();
    FINDER.get_or_init(|| Finder::new(b"\n."))
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

/// Lanes per window of [`clean_run`]: with an LF in every window, no line
/// is longer than `2 · LANES - 1` octets, which the default 1000-octet
/// limit allows; a whole number of steps at every width (two groups of 64
/// lanes at the widest).
pub(crate) const LANES: usize = 384;

/// What one window of [`clean_run`] holds, from lane `i` looking at the
/// octets `i`, `i + 1` and `i + 2`: a broken CRLF pair or a NUL at `i`
/// (`bad`), an LF at `i + 1` (`lf`), an LF at `i + 1` with a dot after it
/// (`dot`). Without `NUL` a NUL is not looked for: the client scan has no
/// use for it, and the check is one more operation per lane.
#[inline(always)]
fn window<const L: usize, const NUL: bool>(w: &[u8; LANES + 2]) -> (bool, bool, bool) {
    const { assert!(LANES.is_multiple_of(2 * L), "a window is whole groups") };
    // `L` lanes at a time from three plain loads, two such groups per
    // step, each lane's result kept in its own accumulator until the end:
    // the compiler maps each accumulator onto one vector register of the
    // width the caller was compiled for (`L` = 16: SSE2 or NEON; 32: AVX2;
    // 64: AVX-512).
    let mut bad = [[0u8; L]; 2];
    let mut lf = [[0u8; L]; 2];
    let mut dot = [[0u8; L]; 2];
    let mut least = [[u8::MAX; L]; 2];
    let mut k = 0;
    while k < LANES {
        for g in 0..2 {
            let at = k + L * g;
            // In range: LANES is a multiple of 2·L (checked above).
            let (Some(a), Some(b), Some(c)) = (
                w.get(at..at + L),
                w.get(at + 1..at + L + 1),
                w.get(at + 2..at + L + 2),
            ) else {
                continue;
            };
            for j in 0..L {
                let is_cr = u8::from(a[j] == b'\r').wrapping_neg();
                let is_lf = u8::from(b[j] == b'\n').wrapping_neg();
                let is_dot = u8::from(c[j] == b'.').wrapping_neg();
                bad[g][j] |= is_cr ^ is_lf;
                lf[g][j] |= is_lf;
                dot[g][j] |= is_lf & is_dot;
                if NUL {
                    least[g][j] = least[g][j].min(a[j]);
                }
            }
        }
        k += 2 * L;
    }
    // One vector test per result.
    let mut attention = [0u8; L];
    let mut lfs = [0u8; L];
    let mut dots = [0u8; L];
    for j in 0..L {
        let nul = u8::from(NUL && least[0][j].min(least[1][j]) == 0).wrapping_neg();
        attention[j] = bad[0][j] | bad[1][j] | nul;
        lfs[j] = lf[0][j] | lf[1][j];
        dots[j] = dot[0][j] | dot[1][j];
    }
    let any = |v: [u8; L]| v.iter().fold(0u8, |acc, &x| acc | x) != 0;
    (any(attention), any(lfs), any(dots))
}

/// The same as [`window`] over the lanes left at the end of a run, which
/// see only the octets the run holds: pairs up to the last octet, dots up
/// to the second-last LF position.
fn tail(s: &[u8]) -> (bool, bool) {
    let next = s.get(1..).unwrap_or_default();
    let after = s.get(2..).unwrap_or_default();
    let mut bad = false;
    let mut least = u8::MAX;
    for (&a, &b) in s.iter().zip(next) {
        bad |= (a == b'\r') != (b == b'\n');
    }
    for &a in s {
        least = least.min(a);
    }
    let mut dot = false;
    for (&b, &c) in next.iter().zip(after) {
        dot |= (b == b'\n') & (c == b'.');
    }
    (bad | (least == 0), dot)
}

/// Whether any adjacent pair of `s` breaks the CRLF pairing (a CR not
/// followed by LF, an LF not preceded by CR) or any octet is a NUL: the
/// BDAT text check's pass over a whole piece, at the CPU's width. The
/// first octet's predecessor and the last one's successor are the
/// caller's.
pub(crate) fn broken_pairs(s: &[u8]) -> bool {
    at_width!(broken_pairs_in(s))
}

#[inline(always)]
fn broken_pairs_in<const L: usize>(s: &[u8]) -> bool {
    let mut at: usize = 0;
    while let Some(w) = s.get(at..at.saturating_add(LANES + 2)) {
        let Ok(w) = <&[u8; LANES + 2]>::try_from(w) else {
            break;
        };
        // Lanes `at..at + LANES`: the pairs that start there, and NUL.
        if window::<L, true>(w).0 {
            return true;
        }
        at = at.saturating_add(LANES);
    }
    tail(s.get(at..).unwrap_or_default()).0
}

/// What the client scan found: how far it vouches for the text, and what
/// needs a closer look after that ([`skip_clean`] gives the details).
pub(crate) type Skipped = (usize, Option<(usize, bool)>);

/// For the client side: how far from `pos` the fused scan vouches for
/// `s`, looking at no more than about `budget` octets. Returns
/// `(from, rest)`: before `from` there is no bare CR, no bare LF (the pair
/// ending at `pos` included) and no `LF "."`. `rest` is `None` when the
/// budget ran out first, else `Some((to, pairs))`: `from..to` needs a closer
/// look, and with `pairs` it has no bare CR or LF (a dot is what needs the
/// look). NUL passes (the encoder sends it as it is; the server decides).
/// An LF first in `s` is attention (it may be bare).
pub(crate) fn skip_clean(s: &[u8], pos: usize, budget: usize) -> Skipped {
    at_width!(skip_clean_in(
        s,
        pos,
        budget,
        None::<(&mut usize, &mut fn(&[u8]))>
    ))
}

/// How much vouched-for text [`skip_clean_copy`] gathers before it hands it
/// out: copies of 3 KiB overlap the scan of the next windows best. On an
/// Intel Xeon the copying encoder runs at 0.96–0.98× memcpy interleaved
/// with its own bench rows, as fast as memcpy of the same 3 KiB pieces
/// without a scan; pieces of 8 or 64 KiB gave 0.90–0.95×, and a copy per
/// window (384 octets) or one copy of each whole run after its scan was
/// slower still (BENCHMARKS.md, issue #10 rounds 7 and 9).
const COPY_CHUNK: usize = 8 * LANES;

/// [`skip_clean`] for a copying encoder: the text the scan vouches for is
/// handed to `out` as it goes, in pieces of about [`COPY_CHUNK`] octets
/// while they are still in the first-level cache. `copied` is where the
/// text not yet handed out starts (at most `pos`: text before `pos` the
/// caller still owes); on return it has moved past what was handed out,
/// never beyond the returned `from`.
pub(crate) fn skip_clean_copy(
    s: &[u8],
    pos: usize,
    budget: usize,
    copied: &mut usize,
    out: &mut impl FnMut(&[u8]),
) -> Skipped {
    at_width!(skip_clean_in(s, pos, budget, Some((copied, out))))
}

#[inline(always)]
fn skip_clean_in<const L: usize>(
    s: &[u8],
    pos: usize,
    budget: usize,
    mut copy: Option<(&mut usize, &mut impl FnMut(&[u8]))>,
) -> Skipped {
    let mut at = match pos.checked_sub(1) {
        Some(prev) => prev,
        None if s.first() == Some(&b'\n') => return (0, Some((s.len().min(LANES), false))),
        None => 0,
    };
    let stop = pos.saturating_add(budget);
    while let Some(w) = s.get(at..at.saturating_add(LANES + 2)) {
        let Ok(w) = <&[u8; LANES + 2]>::try_from(w) else {
            break;
        };
        if at >= stop {
            return (at, None);
        }
        let (bad, _, dot) = window::<L, false>(w);
        // Lanes `at..at + LANES` cover bare CRs before `at + LANES` and
        // bare LFs up to it.
        let to = at.saturating_add(LANES);
        if bad || dot {
            return (at.max(pos), Some((to, !bad)));
        }
        if let Some((copied, out)) = &mut copy {
            if to.saturating_sub(**copied) >= COPY_CHUNK {
                out(s.get(**copied..to).unwrap_or_default());
                **copied = to;
            }
        }
        at = to;
    }
    let from = at.max(pos);
    (from, Some((from.saturating_add(LANES).min(s.len()), false)))
}

/// The fused DATA scan: one pass over a run that checks the CRLF pairing,
/// NUL and the line limit, and finds the first `CRLF "."`, vectorised a
/// window of [`LANES`] octets at a time.
///
/// `s[0]` is the caller's (checked against what came before); `line` is
/// the current line's octets up to and including it. Returns the end of the
/// clean run (just before the first `CRLF "."`'s dot, or `s.len()`) and the
/// octets of the line left open at its end, or `None` when anything needs
/// a closer look (a bare CR or LF, a NUL, a line that may be too long):
/// the caller then takes its exact path, which finds what this one only
/// suspected. A `CRLF "."` reaching past `s` is not seen.
pub(crate) fn clean_run(s: &[u8], line: usize, max_line: usize) -> Option<(usize, usize)> {
    at_width!(clean_run_in(s, line, max_line))
}

#[inline(always)]
fn clean_run_in<const L: usize>(s: &[u8], line: usize, max_line: usize) -> Option<(usize, usize)> {
    // Octets of the open line up to and including `s[at]`, or more.
    let mut bound = line;
    let mut at: usize = 0;
    while let Some(w) = s.get(at..at.saturating_add(LANES + 2)) {
        let w: &[u8; LANES + 2] = w.try_into().ok()?;
        let (bad, lf, dot) = window::<L, true>(w);
        // Every line that ends in this window ends within LANES octets of
        // `at`.
        if bad || bound.saturating_add(LANES) > max_line {
            return None;
        }
        if dot {
            let lf_at = lf_dot().find(w.get(1..)?)?;
            return Some((at.saturating_add(lf_at).saturating_add(2), 0));
        }
        bound = if lf {
            LANES - 1
        } else {
            bound.saturating_add(LANES)
        };
        at = at.saturating_add(LANES);
    }
    let rest = s.get(at..).unwrap_or_default();
    let (bad, dot) = tail(rest);
    if bad || bound.saturating_add(rest.len()) > max_line.saturating_add(1) {
        return None;
    }
    if dot {
        let lf_at = lf_dot().find(rest.get(1..)?)?;
        return Some((at.saturating_add(lf_at).saturating_add(2), 0));
    }
    let open = match memchr::memrchr(b'\n', s) {
        Some(last) => s.len().saturating_sub(last).saturating_sub(1),
        None => line.saturating_add(s.len()).saturating_sub(1),
    };
    Some((s.len(), open))
}
