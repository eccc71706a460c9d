//! Character classes of RFC 5321 §4.1.2, RFC 5322 §3.2.3 and RFC 3461 §4
//! as lookup tables (one load per octet on the hot path), and the
//! [`table!`] macro that builds every class table in the crate.

/// A 256-entry lookup table built at compile time from a `const fn(u8)`:
/// the one way every grammar builds its class tables.
macro_rules! table {
    ($f:ident) => {{
        let mut t = [$f(0); 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $f(i as u8);
            i += 1;
        }
        t
    }};
}
pub(crate) use table;

/// `atext` (RFC 5322 §3.2.3), for tables built at compile time.
pub(crate) const fn atext_const(b: u8) -> bool {
    atext(b)
}

const fn atext(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        )
}

const fn ldh(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// `esmtp-value = 1*(%d33-60 / %d62-126)`.
const fn esmtp_value(b: u8) -> bool {
    b >= 33 && b <= 126 && b != b'='
}

/// `xchar`: `!`..`~` except `+` and `=` (RFC 3461 §4).
const fn xchar(b: u8) -> bool {
    b >= 33 && b <= 126 && b != b'+' && b != b'='
}

static ATEXT: [bool; 256] = table!(atext);
static LDH: [bool; 256] = table!(ldh);
static ESMTP_VALUE: [bool; 256] = table!(esmtp_value);
static XCHAR: [bool; 256] = table!(xchar);

#[inline]
pub(crate) fn is_atext(b: u8) -> bool {
    ATEXT[b as usize]
}

#[inline]
pub(crate) fn is_ldh(b: u8) -> bool {
    LDH[b as usize]
}

#[inline]
pub(crate) fn is_esmtp_value(b: u8) -> bool {
    ESMTP_VALUE[b as usize]
}

#[inline]
pub(crate) fn is_xchar(b: u8) -> bool {
    XCHAR[b as usize]
}

/// `qtextSMTP` or the graphic/SP half of `quoted-pairSMTP`: %d32-126.
#[inline]
pub(crate) fn is_quotable(b: u8) -> bool {
    (32..=126).contains(&b)
}

/// Whether non-ASCII text in an address (a U-label or a UTF-8 local part)
/// holds a character that can make it display as something else: a C1
/// control (RFC 5198 §2 keeps controls out of network text) or a
/// bidirectional embedding, override or isolate (RFC 5893 §2 rules them
/// out of labels; RFC 5891 §4.2 checks labels against it).
pub(crate) fn has_deceptive_char(s: &str) -> bool {
    s.chars().any(
        |c| matches!(c, '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
    )
}
