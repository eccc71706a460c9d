//! The EHLO keywords this crate knows, each spelled once: the wire names
//! come from the extension modules in [`crate::ext`], and a name is
//! recognised in any case with one hash-table slot (RFC 5321 §4.1.1.1).

use crate::ext;
use crate::octets::pack::{pack_const, pack_upper};

/// Builds [`Keyword`] from the extension registry (`ext::registry!`): one
/// variant per keyword an extension module registers, at the position it
/// gives, spelled by the module's constant.
macro_rules! keywords {
    ($( $module:ident { $( $(#[$m:meta])* $name:ident = $pos:literal $(=> $wire:ident)?, )* } )*) => {
        /// An EHLO keyword this crate knows (RFC 5321 §2.2.2 and the
        /// extension RFCs). Unknown keywords are kept as text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Keyword {
            $($( $(#[$m])* $name = $pos, )*)*
        }

        impl Keyword {
            /// Every known keyword, in the order they are written.
            pub const ALL: &'static [Keyword] = &by_position([$($( Keyword::$name, )*)*]);

            /// The keyword as written (upper case).
            pub const fn name(self) -> &'static str {
                match self {
                    $($( Keyword::$name => wire!($module $($wire)?), )*)*
                }
            }
        }
    };
}

/// The constant a registry entry names, `EHLO_KEYWORD` by default.
macro_rules! wire {
    ($module:ident) => {
        ext::$module::EHLO_KEYWORD
    };
    ($module:ident $wire:ident) => {
        ext::$module::$wire
    };
}

ext::registry!(keywords);

/// The keywords sorted by their position (insertion sort, at compile
/// time); the build fails unless the positions are 0, 1, 2, … without gap.
const fn by_position<const N: usize>(mut all: [Keyword; N]) -> [Keyword; N] {
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && (all[j - 1] as u8) > (all[j] as u8) {
            let t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    let mut k = 0;
    while k < N {
        assert!(all[k] as usize == k, "EHLO keyword positions must be 0..N");
        k += 1;
    }
    all
}

impl Keyword {
    /// Recognises a keyword in any case (RFC 5321 §4.1.1.1).
    pub fn parse(name: &[u8]) -> Option<Keyword> {
        // One table slot to check instead of comparing names.
        Keyword::from_packed(pack_upper(name), name)
    }

    pub(super) const fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// Whether the keyword's parameters are stored (all others ignore
    /// theirs).
    pub(super) const fn takes_params(self) -> bool {
        matches!(
            self,
            Keyword::Size
                | Keyword::Auth
                | Keyword::DeliverBy
                | Keyword::MtPriority
                | Keyword::FutureRelease
                | Keyword::Limits
                | Keyword::Burl
                | Keyword::NoSoliciting
        )
    }
}

impl Keyword {
    /// The keyword `name` is, given its [`pack_upper`] key: one table slot
    /// to check, whatever the keyword.
    #[inline(always)]
    pub(super) fn from_packed(key: u128, name: &[u8]) -> Option<Keyword> {
        match KEYWORD_TABLE[keyword_slot(key)] {
            (known, Some(kw), wire) if known == key && same_past_16(name, wire) => Some(kw),
            _ => None,
        }
    }
}

/// Spreads the known keywords' keys over [`KEYWORD_TABLE`] without two in
/// one slot. Adding a keyword may need another odd multiplier (try random
/// ones); the build fails while two collide.
const KEYWORD_HASH: u64 = 0x5d04_00eb_b28f_dd37;

/// The slot of `key` in [`KEYWORD_TABLE`]: below 64.
const fn keyword_slot(key: u128) -> usize {
    let folded = key as u64 ^ ((key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (folded.wrapping_mul(KEYWORD_HASH) >> 58) as usize
}

/// Each known keyword's [`pack_upper`] key in its slot, with its name (at
/// hand, unlike through [`Keyword::name`]'s jump table).
#[allow(clippy::type_complexity)]
const KEYWORD_TABLE: [(u128, Option<Keyword>, &str); 64] = {
    let mut table = [(0, None, ""); 64];
    let mut i = 0;
    while i < Keyword::ALL.len() {
        let kw = Keyword::ALL[i];
        let key = pack_const(kw.name());
        let slot = keyword_slot(key);
        assert!(table[slot].1.is_none(), "two EHLO keywords share a slot");
        table[slot] = (key, Some(kw), kw.name());
        i += 1;
    }
    table
};

/// Whether `name`, whose [`pack_upper`] key is `wire`'s, is `wire`:
/// same length, and the same octets past the 16th in any case.
#[inline(always)]
fn same_past_16(name: &[u8], wire: &str) -> bool {
    name.len() == wire.len()
        && name
            .get(16..)
            .unwrap_or_default()
            .eq_ignore_ascii_case(wire.as_bytes().get(16..).unwrap_or_default())
}
