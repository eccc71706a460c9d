//! The `esmtp-param` grammar shared by MAIL and RCPT (RFC 5321 §4.1.2):
//! splitting a parameter list, checking keywords and values octet by
//! octet, the [`Value`] an extension's parser receives, and the small
//! helpers the extensions' parameter definitions build on.

use std::borrow::Cow;

use super::Param;
use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::octets::class::table;
use crate::octets::pack::pack_upper;
use crate::options::ParseOptions;
use crate::values::XText;

/// A keyword of at most 16 octets, upper-cased and packed (see
/// [`pack_upper`]), so recognising it is one integer match; 0 for longer
/// keywords (never a known one). Keywords hold no NUL, so the zero padding
/// is unambiguous.
#[inline]
pub(super) fn pack_keyword(k: &[u8]) -> u128 {
    if k.len() > 16 {
        0
    } else {
        pack_upper(k)
    }
}

pub(super) const fn args(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

pub(super) const fn bad_value(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::ParameterValue, detail)
}

pub(super) const fn bad_char(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Character, detail)
}

/// Octet classes of a parameter value, OR-ed over the value so one pass
/// finds everything the dispatch needs to know.
pub(super) const PLUS: u8 = 1;
pub(super) const EQ: u8 = 2;
pub(super) const HIGH: u8 = 4;
pub(super) const CTL: u8 = 8;
/// SP ends a value.
pub(super) const SP: u8 = 16;
/// HTAB ends a value in lenient mode and is a control otherwise.
pub(super) const TAB: u8 = 32;

pub(super) const fn value_class(b: u8) -> u8 {
    match b {
        b'+' => PLUS,
        b'=' => EQ,
        b' ' => SP,
        b'\t' => TAB | CTL,
        0x80..=0xff => HIGH,
        33..=126 => 0,
        _ => CTL,
    }
}

pub(super) const fn keyword_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

pub(super) static VALUE_CLASS: [u8; 256] = table!(value_class);
pub(super) static KEYWORD_CHAR: [bool; 256] = table!(keyword_char);

/// One `esmtp-param`, split at its first `=`, with the classes of the
/// octets its value holds.
pub(super) struct RawParam<'a> {
    pub(super) keyword: &'a [u8],
    pub(super) value: Option<&'a [u8]>,
    pub(super) class: u8,
}

/// Why an octet cannot continue a keyword.
pub(super) fn keyword_error(b: u8) -> SyntaxError {
    match b {
        b' ' | b'\t' => args("extra white space in parameter list"),
        b'=' => args("empty parameter keyword"),
        b'-' => args("parameter keyword starts with '-'"),
        33..=126 => args("invalid parameter keyword"),
        _ => bad_char("invalid character in parameter keyword"),
    }
}

/// Takes the next parameter off `rest` in a single pass. Strict mode
/// takes exactly one SP between parameters; lenient mode takes runs of SP
/// and HTAB anywhere.
#[inline]
pub(super) fn next_param<'a>(
    rest: &mut &'a [u8],
    opts: &ParseOptions,
) -> Result<Option<RawParam<'a>>, SyntaxError> {
    let lenient = opts.lenient_mode();
    let mut s = *rest;
    if lenient {
        let skip = s
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(s.len());
        s = &s[skip..];
    }
    if s.is_empty() {
        return Ok(None);
    }
    let k = s
        .iter()
        .position(|&b| !KEYWORD_CHAR[b as usize])
        .unwrap_or(s.len());
    let keyword = &s[..k];
    match keyword.first() {
        Some(b'-') => return Err(keyword_error(b'-')),
        Some(_) => {}
        None => return Err(keyword_error(s[0])),
    }
    let is_sep = |b: u8| b == b' ' || (lenient && b == b'\t');
    let (value, class, end) = match s.get(k) {
        None => (None, 0, k),
        Some(&b) if is_sep(b) => (None, 0, k),
        Some(b'=') => {
            let v = &s[k + 1..];
            let stop = if lenient { SP | TAB } else { SP };
            let mut class = 0;
            let mut n = v.len();
            for (i, &b) in v.iter().enumerate() {
                let c = VALUE_CLASS[b as usize];
                if c & stop != 0 {
                    n = i;
                    break;
                }
                class |= c;
            }
            if n == 0 {
                return Err(args("empty parameter value"));
            }
            (Some(&v[..n]), class, k + 1 + n)
        }
        Some(&b) => return Err(keyword_error(b)),
    };
    if class != 0 {
        if class & CTL != 0 {
            return Err(bad_char("control character in parameter"));
        }
        if class & HIGH != 0 {
            if !opts.utf8 {
                return Err(bad_char("non-ASCII parameter value without SMTPUTF8"));
            }
            if value.is_some_and(|v| std::str::from_utf8(v).is_err()) {
                return Err(bad_char("invalid UTF-8 in parameter value"));
            }
        }
    }
    *rest = match s.get(end) {
        None => &[],
        Some(_) => {
            let after = &s[end + 1..];
            if !lenient && matches!(after.first(), None | Some(b' ')) {
                return Err(args("extra space in parameter list"));
            }
            after
        }
    };
    Ok(Some(RawParam {
        keyword,
        value,
        class,
    }))
}

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
pub(super) fn check_keyword(k: &[u8]) -> Result<(), SyntaxError> {
    match k.first() {
        None => Err(args("empty parameter keyword")),
        Some(&f) if f != b'-' && k.iter().all(|&b| KEYWORD_CHAR[b as usize]) => Ok(()),
        Some(_) => Err(k
            .iter()
            .find(|&&b| !KEYWORD_CHAR[b as usize])
            .map_or(args("invalid parameter keyword"), |&b| keyword_error(b))),
    }
}

/// `=` inside a value breaks `esmtp-value`, except where allowed.
pub(super) fn check_eq(raw: &RawParam<'_>, allow: bool) -> Result<(), SyntaxError> {
    if raw.class & EQ != 0 && !allow {
        return Err(args("'=' in parameter value"));
    }
    Ok(())
}

/// The input of a parameter list: octets, and the same octets as text
/// when the caller has already checked them as UTF-8 (a command line).
#[derive(Clone, Copy)]
pub(super) struct Src<'a> {
    pub(super) bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Src<'a> {
    pub(super) fn bytes(bytes: &'a [u8]) -> Self {
        Src { bytes, text: None }
    }

    pub(super) fn text(text: &'a str) -> Self {
        Src {
            bytes: text.as_bytes(),
            text: Some(text),
        }
    }

    /// `part` (a sub-slice of `bytes` cut beside ASCII delimiters) as
    /// text: sliced out of the checked text by its offset, or checked now.
    #[inline]
    pub(super) fn str_of(self, part: &'a [u8]) -> Option<&'a str> {
        match self.text {
            Some(t) => {
                let off = (part.as_ptr() as usize).checked_sub(self.bytes.as_ptr() as usize)?;
                t.get(off..off.checked_add(part.len())?)
            }
            None => std::str::from_utf8(part).ok(),
        }
    }
}

/// One parameter's value as its extension's parser receives it: the
/// octets after the first `=` (none for a flag), already checked for
/// `esmtp-value` characters, with what the list scan learnt of them.
pub(crate) struct Value<'a> {
    raw: RawParam<'a>,
    src: Src<'a>,
}

impl<'a> Value<'a> {
    pub(super) fn new(raw: RawParam<'a>, src: Src<'a>) -> Self {
        Value { raw, src }
    }

    /// The value, or the error of a parameter that needs one.
    pub(crate) fn need(&self) -> Result<&'a [u8], SyntaxError> {
        self.raw
            .value
            .ok_or(bad_value("parameter requires a value"))
    }

    /// True when every octet is an `xchar` (RFC 3461 §4: no `+`, `=`,
    /// 8-bit or control octet was seen), so an xtext decodes to itself.
    pub(crate) fn is_xchars(&self) -> bool {
        self.raw.class == 0
    }

    /// `part` of the value as text, without a second UTF-8 check when the
    /// list came from a checked command line.
    pub(crate) fn str_of(&self, part: &'a [u8]) -> Option<&'a str> {
        self.src.str_of(part)
    }

    /// An xtext value (RFC 3461 §4) kept decoded; borrowed without a pass
    /// of its own when every octet is an `xchar`.
    pub(crate) fn xtext(&self, opts: &ParseOptions) -> Result<XText<'a>, SyntaxError> {
        let v = self.need()?;
        if self.is_xchars() {
            if let Some(s) = self.str_of(v) {
                return Ok(XText::new(s));
            }
        }
        XText::decode(v, opts.lenient_mode())
    }

    /// Sets a flag parameter, which takes no value; a repeat is an error.
    pub(crate) fn flag(&self, slot: &mut bool) -> Result<(), SyntaxError> {
        flag(slot, self.raw.value)
    }
}

/// Sets a flag parameter, which takes no value.
fn flag(slot: &mut bool, v: Option<&[u8]>) -> Result<(), SyntaxError> {
    if v.is_some() {
        return Err(bad_value("parameter takes no value"));
    }
    if *slot {
        return Err(bad_value("duplicate parameter"));
    }
    *slot = true;
    Ok(())
}

/// Fills a single-valued slot; a second occurrence is an error (RFC 3461
/// §4.5, RFC 1870 §6, …).
pub(crate) fn set<T>(
    slot: &mut Option<T>,
    parse: impl FnOnce() -> Result<T, SyntaxError>,
) -> Result<(), SyntaxError> {
    if slot.is_some() {
        return Err(bad_value("duplicate parameter"));
    }
    *slot = Some(parse()?);
    Ok(())
}

/// Keeps an unknown parameter; repeats are errors, case-insensitively.
pub(super) fn push_other<'a>(
    other: &mut Vec<Param<'a>>,
    src: Src<'a>,
    k: &'a [u8],
    v: Option<&'a [u8]>,
) -> Result<(), SyntaxError> {
    if other
        .iter()
        .any(|p| p.keyword.as_bytes().eq_ignore_ascii_case(k))
    {
        return Err(bad_value("duplicate parameter"));
    }
    let utf8 = |b: &'a [u8]| src.str_of(b).ok_or(bad_char("invalid UTF-8"));
    other.push(Param {
        keyword: Cow::Borrowed(utf8(k)?),
        value: v.map(utf8).transpose()?.map(Cow::Borrowed),
    });
    Ok(())
}

/// Appends ` KEYWORD=`.
pub(crate) fn key(out: &mut Vec<u8>, keyword: &str) {
    out.push(b' ');
    out.extend_from_slice(keyword.as_bytes());
    out.push(b'=');
}

/// Appends ` KEYWORD` (a flag).
pub(crate) fn flag_out(out: &mut Vec<u8>, on: bool, keyword: &str) {
    if on {
        out.push(b' ');
        out.extend_from_slice(keyword.as_bytes());
    }
}

/// Appends ` KEYWORD=xtext` unless the text is absent or empty.
pub(crate) fn write_xtext(out: &mut Vec<u8>, keyword: &str, x: &Option<XText<'_>>) {
    if let Some(x) = x.as_ref().filter(|x| !x.as_str().is_empty()) {
        key(out, keyword);
        x.write_to(out);
    }
}
