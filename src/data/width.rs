//! Which vector width the DATA scans run at: the widest the CPU has, found
//! once per process, so that one build runs AVX-512 or AVX2 code where the
//! CPU has it and SSE2 (or NEON) everywhere else.
//!
//! The crate forbids `unsafe`; the run-time dispatch is `fearless_simd`'s
//! (its `vectorize` compiles the inlined scan with the detected features).

use std::sync::OnceLock;

/// A vector width the DATA scans run at ([`scan_width`](crate::data::scan_width)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanWidth {
    /// Sixteen octets per operation: SSE2 on every x86-64, NEON on
    /// aarch64, plain code elsewhere.
    Baseline,
    /// 32 octets per operation (x86-64-v3).
    Avx2,
    /// 64 octets per operation: AVX-512 with the Ice Lake feature set
    /// (Intel since Ice Lake, AMD since Zen 4). Skylake-SP and Cascade
    /// Lake, whose 512-bit units lower the clock for everything else, run
    /// [`Avx2`](ScanWidth::Avx2).
    Avx512,
}

/// The CPU's proof of a width, for running a scan at it.
#[derive(Clone, Copy)]
pub(crate) enum Level {
    Baseline,
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx2(fearless_simd::Avx2),
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx512(fearless_simd::Avx512),
}

impl Level {
    fn width(self) -> ScanWidth {
        match self {
            Level::Baseline => ScanWidth::Baseline,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Level::Avx2(_) => ScanWidth::Avx2,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Level::Avx512(_) => ScanWidth::Avx512,
        }
    }
}

/// Every width this CPU can run, narrowest first.
fn available() -> Vec<Level> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        let cpu = fearless_simd::Level::new();
        let wide = [
            cpu.as_avx2().map(Level::Avx2),
            cpu.as_avx512().map(Level::Avx512),
        ];
        std::iter::once(Level::Baseline)
            .chain(wide.into_iter().flatten())
            .collect()
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    {
        vec![Level::Baseline]
    }
}

/// The width the scans run at: the widest available, unless a test chose
/// one for its thread ([`force`]).
#[inline]
pub(crate) fn level() -> Level {
    #[cfg(any(test, feature = "testing"))]
    if let Some(forced) = FORCED.with(std::cell::Cell::get) {
        return forced;
    }
    static WIDEST: OnceLock<Level> = OnceLock::new();
    *WIDEST.get_or_init(|| available().pop().unwrap_or(Level::Baseline))
}

/// The width the scans run at in this thread.
pub(crate) fn current() -> ScanWidth {
    level().width()
}

/// The widths this CPU can run, narrowest first ([`ScanWidth::Baseline`]
/// always).
#[cfg(any(test, feature = "testing"))]
pub fn widths() -> Vec<ScanWidth> {
    available().into_iter().map(Level::width).collect()
}

#[cfg(any(test, feature = "testing"))]
thread_local! {
    static FORCED: std::cell::Cell<Option<Level>> = const { std::cell::Cell::new(None) };
}

/// Runs this thread's scans at `width` from now on (`None`: the widest
/// again), so that differential tests and fuzz targets check every width
/// the CPU has against the reference. `false`, and nothing changed, when
/// the CPU does not have it.
#[cfg(any(test, feature = "testing"))]
pub fn force(width: Option<ScanWidth>) -> bool {
    let level = match width {
        None => None,
        Some(w) => match available().into_iter().find(|l| l.width() == w) {
            Some(level) => Some(level),
            None => return false,
        },
    };
    FORCED.with(|f| f.set(level));
    true
}
