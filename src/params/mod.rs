//! MAIL and RCPT parameters (RFC 5321 §4.1.2 `Mail-parameters` /
//! `Rcpt-parameters`): splitting, the `esmtp-param` grammar, and one line
//! per known parameter dispatching to its extension module in
//! [`crate::ext`].
//!
//! Rules applied here, for every parameter:
//! - parameters are separated by one SP; lenient mode also takes runs of
//!   SP/HTAB and leading or trailing white space;
//! - a parameter splits at the *first* `=` (catalog §9 item 10);
//! - `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`, matched
//!   case-insensitively (catalog §9 items 11, 23);
//! - `esmtp-value = 1*(%d33-60 / %d62-126)`, plus UTF-8 when
//!   [`ParseOptions::utf8`] (RFC 6531 §3.3). `=` inside a value is allowed
//!   only for MTRK (base64 padding) and, in lenient mode, for unknown
//!   parameters;
//! - a flag parameter given a value, a valued parameter without one, and a
//!   repeated parameter (known or unknown, any case) are errors;
//! - an unknown parameter is kept in `other`, verbatim: a server answers
//!   it with `555 5.5.4` (RFC 5321 §4.1.1.11), or ignores it by policy.
//!
//! Errors: a broken `esmtp-param` is [`SyntaxErrorKind::Arguments`]; a
//! control or 8-bit octet without SMTPUTF8 is [`SyntaxErrorKind::Character`];
//! an invalid or repeated value of a known parameter is
//! [`SyntaxErrorKind::ParameterValue`] (`501 5.5.4`, RFC 3461 §4.5); a
//! well-formed value this implementation does not know, such as `BODY=9BIT`,
//! is [`SyntaxErrorKind::UnsupportedParameterValue`] (`555 5.5.4`, RFC 5321
//! §4.1.1.11).
//!
//! Parsing allocates nothing unless a value holds escapes or an unknown
//! parameter is present.

use std::borrow::Cow;

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::ext::auth::AuthParam;
use crate::ext::body::Body;
use crate::ext::checkpoint::TransId;
use crate::ext::deliverby::By;
use crate::ext::dsn::{Notify, Orcpt, Ret};
use crate::ext::future_release::{Hold, MAX_HOLD_FOR};
use crate::ext::mt_priority::MtPriority;
use crate::ext::mtrk::Mtrk;
use crate::ext::no_soliciting::Solicit;
use crate::ext::rrvs::Rrvs;
use crate::ext::{
    auth, body, checkpoint, conneg, deliverby, dsn, future_release, mt_priority, mtrk,
    no_soliciting, requiretls, rrvs, size, smtputf8, submitter, utf8smtp,
};
use crate::octets::class::is_esmtp_value;
use crate::octets::class::table;
use crate::options::ParseOptions;
use crate::values::{push_decimal, Mailbox, XText};

/// An unknown (or `X-`) parameter, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param<'a> {
    /// The `esmtp-keyword`, as written.
    pub keyword: Cow<'a, str>,
    /// The `esmtp-value`, as written, if any.
    pub value: Option<Cow<'a, str>>,
}

impl Param<'_> {
    /// True when this can be written as an `esmtp-param`: a valid keyword
    /// and a non-empty value without SP or control characters. Invalid
    /// parameters are not written, so caller text can never inject a
    /// space, CR or LF into a command.
    pub fn is_valid(&self) -> bool {
        check_keyword(self.keyword.as_bytes()).is_ok()
            && match &self.value {
                None => true,
                Some(v) => {
                    !v.is_empty()
                        && v.bytes()
                            .all(|b| is_esmtp_value(b) || b == b'=' || b >= 0x80)
                }
            }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Param<'static> {
        Param {
            keyword: Cow::Owned(self.keyword.into_owned()),
            value: self.value.map(|v| Cow::Owned(v.into_owned())),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        if !self.is_valid() {
            return;
        }
        out.push(b' ');
        out.extend_from_slice(self.keyword.as_bytes());
        if let Some(v) = &self.value {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// The parameters of a MAIL command, typed where an extension defines
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailParams<'a> {
    /// `SIZE=` declared message size in octets (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=`, decoded (RFC 3461). An empty value is not written.
    pub envid: Option<XText<'a>>,
    /// `AUTH=` (RFC 4954 §5).
    pub auth: Option<AuthParam<'a>>,
    /// `BY=` (RFC 2852).
    pub by: Option<By>,
    /// `MT-PRIORITY=` (RFC 6710).
    pub mt_priority: Option<MtPriority>,
    /// `HOLDFOR=` or `HOLDUNTIL=` (RFC 4865); an out-of-range
    /// [`Hold::For`] is written clamped to 1..=999,999,999.
    pub hold: Option<Hold>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// `SOLICIT=` (RFC 3865).
    pub solicit: Option<Solicit<'a>>,
    /// `MTRK=` (RFC 3885).
    pub mtrk: Option<Mtrk<'a>>,
    /// `SUBMITTER=` (RFC 4405).
    pub submitter: Option<Mailbox<'a>>,
    /// `CONPERM` (RFC 4141).
    pub conperm: bool,
    /// `TRANSID=` (RFC 1845).
    pub transid: Option<TransId<'a>>,
    /// `ALT-ADDRESS=`, decoded (RFC 5336). An empty value is not written.
    pub alt_address: Option<XText<'a>>,
    /// Unknown parameters, in order.
    pub other: Vec<Param<'a>>,
}

/// The parameters of a RCPT command, typed where an extension defines
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461, RFC 6533).
    pub orcpt: Option<Orcpt<'a>>,
    /// `RRVS=` (RFC 7293).
    pub rrvs: Option<Rrvs>,
    /// `CONNEG` (RFC 4141).
    pub conneg: bool,
    /// `ALT-ADDRESS=`, decoded (RFC 5336). An empty value is not written.
    pub alt_address: Option<XText<'a>>,
    /// Unknown parameters, in order.
    pub other: Vec<Param<'a>>,
}

const fn args(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

const fn bad_value(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::ParameterValue, detail)
}

const fn bad_char(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Character, detail)
}

/// Octet classes of a parameter value, OR-ed over the value so one pass
/// finds everything the dispatch needs to know.
const PLUS: u8 = 1;
const EQ: u8 = 2;
const HIGH: u8 = 4;
const CTL: u8 = 8;
/// SP ends a value.
const SP: u8 = 16;
/// HTAB ends a value in lenient mode and is a control otherwise.
const TAB: u8 = 32;

const fn value_class(b: u8) -> u8 {
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

const fn keyword_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

static VALUE_CLASS: [u8; 256] = table!(value_class);
static KEYWORD_CHAR: [bool; 256] = table!(keyword_char);

/// One `esmtp-param`, split at its first `=`, with the classes of the
/// octets its value holds.
struct RawParam<'a> {
    keyword: &'a [u8],
    value: Option<&'a [u8]>,
    class: u8,
}

/// Why an octet cannot continue a keyword.
fn keyword_error(b: u8) -> SyntaxError {
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
fn next_param<'a>(
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
fn check_keyword(k: &[u8]) -> Result<(), SyntaxError> {
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
fn check_eq(raw: &RawParam<'_>, allow: bool) -> Result<(), SyntaxError> {
    if raw.class & EQ != 0 && !allow {
        return Err(args("'=' in parameter value"));
    }
    Ok(())
}

/// The input of a parameter list: octets, and the same octets as text
/// when the caller has already checked them as UTF-8 (a command line).
#[derive(Clone, Copy)]
struct Src<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Src<'a> {
    fn bytes(bytes: &'a [u8]) -> Self {
        Src { bytes, text: None }
    }

    fn text(text: &'a str) -> Self {
        Src {
            bytes: text.as_bytes(),
            text: Some(text),
        }
    }

    /// `part` (a sub-slice of `bytes` cut beside ASCII delimiters) as
    /// text: sliced out of the checked text by its offset, or checked now.
    #[inline]
    fn str_of(self, part: &'a [u8]) -> Option<&'a str> {
        match self.text {
            Some(t) => {
                let off = (part.as_ptr() as usize).checked_sub(self.bytes.as_ptr() as usize)?;
                t.get(off..off.checked_add(part.len())?)
            }
            None => std::str::from_utf8(part).ok(),
        }
    }
}

/// An xtext value kept decoded; borrowed without a pass of its own when
/// the scan saw neither `+` nor 8-bit (every octet is then an `xchar`).
fn xtext_value<'a>(
    raw: &RawParam<'a>,
    src: Src<'a>,
    opts: &ParseOptions,
) -> Result<XText<'a>, SyntaxError> {
    let v = need(raw.value)?;
    if raw.class == 0 {
        if let Some(s) = src.str_of(v) {
            return Ok(XText::new(s));
        }
    }
    XText::decode(v, opts.lenient_mode())
}

/// The value of a parameter that needs one.
fn need(v: Option<&[u8]>) -> Result<&[u8], SyntaxError> {
    v.ok_or(bad_value("parameter requires a value"))
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
fn set<T>(
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
fn push_other<'a>(
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
fn key(out: &mut Vec<u8>, keyword: &str) {
    out.push(b' ');
    out.extend_from_slice(keyword.as_bytes());
    out.push(b'=');
}

/// Appends ` KEYWORD` (a flag).
fn flag_out(out: &mut Vec<u8>, on: bool, keyword: &str) {
    if on {
        out.push(b' ');
        out.extend_from_slice(keyword.as_bytes());
    }
}

fn write_xtext(out: &mut Vec<u8>, keyword: &str, x: &Option<XText<'_>>) {
    if let Some(x) = x.as_ref().filter(|x| !x.as_str().is_empty()) {
        key(out, keyword);
        x.write_to(out);
    }
}

/// A keyword of at most 16 octets, uppercased and packed little-endian,
/// so recognising it is one integer match; 0 for longer keywords (never a
/// known one). Keywords hold no NUL, so the zero padding is unambiguous.
#[inline]
fn pack_keyword(k: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    match buf.get_mut(..k.len()) {
        Some(dst) => dst.copy_from_slice(k),
        None => return 0,
    }
    for b in &mut buf {
        *b = b.to_ascii_uppercase();
    }
    u128::from_le_bytes(buf)
}

/// [`pack_keyword`] for an uppercase constant.
const fn packed(s: &str) -> u128 {
    let b = s.as_bytes();
    let mut buf = [0u8; 16];
    let mut i = 0;
    while i < b.len() {
        buf[i] = b[i];
        i += 1;
    }
    u128::from_le_bytes(buf)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MailKw {
    Size,
    Body,
    Smtputf8,
    Ret,
    Envid,
    Auth,
    By,
    MtPriority,
    HoldFor,
    HoldUntil,
    RequireTls,
    Solicit,
    Mtrk,
    Submitter,
    Conperm,
    Transid,
    AltAddress,
}

/// Recognises a MAIL keyword.
fn mail_keyword(k: &[u8]) -> Option<MailKw> {
    const BY: u128 = packed(deliverby::PARAM);
    const RET: u128 = packed(dsn::PARAM_RET);
    const SIZE: u128 = packed(size::PARAM);
    const BODY: u128 = packed(body::PARAM);
    const AUTH: u128 = packed(auth::PARAM);
    const MTRK: u128 = packed(mtrk::PARAM);
    const ENVID: u128 = packed(dsn::PARAM_ENVID);
    const HOLDFOR: u128 = packed(future_release::PARAM_HOLDFOR);
    const SOLICIT: u128 = packed(no_soliciting::PARAM);
    const CONPERM: u128 = packed(conneg::PARAM_CONPERM);
    const TRANSID: u128 = packed(checkpoint::PARAM);
    const SMTPUTF8: u128 = packed(smtputf8::PARAM);
    const HOLDUNTIL: u128 = packed(future_release::PARAM_HOLDUNTIL);
    const SUBMITTER: u128 = packed(submitter::PARAM);
    const REQUIRETLS: u128 = packed(requiretls::PARAM);
    const MT_PRIORITY: u128 = packed(mt_priority::PARAM);
    const ALT_ADDRESS: u128 = packed(utf8smtp::PARAM);
    Some(match pack_keyword(k) {
        SIZE => MailKw::Size,
        BODY => MailKw::Body,
        SMTPUTF8 => MailKw::Smtputf8,
        RET => MailKw::Ret,
        ENVID => MailKw::Envid,
        AUTH => MailKw::Auth,
        BY => MailKw::By,
        MT_PRIORITY => MailKw::MtPriority,
        HOLDFOR => MailKw::HoldFor,
        HOLDUNTIL => MailKw::HoldUntil,
        REQUIRETLS => MailKw::RequireTls,
        SOLICIT => MailKw::Solicit,
        MTRK => MailKw::Mtrk,
        SUBMITTER => MailKw::Submitter,
        CONPERM => MailKw::Conperm,
        TRANSID => MailKw::Transid,
        ALT_ADDRESS => MailKw::AltAddress,
        _ => return None,
    })
}

impl<'a> MailParams<'a> {
    /// Parses the parameter list. `input` is everything after the
    /// reverse-path and its single SP (may be empty).
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        Self::parse_in(Src::bytes(input), opts)
    }

    /// [`MailParams::parse`] for text already checked as UTF-8 (a command
    /// line), into an empty value that already sits where it is wanted
    /// (in a `Command`), so the large struct is never moved; values are
    /// borrowed without a second UTF-8 check.
    #[inline]
    pub(crate) fn fill_str(
        &mut self,
        input: &'a str,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        self.fill(Src::text(input), opts)
    }

    #[inline]
    fn parse_in(src: Src<'a>, opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let mut p = MailParams::default();
        p.fill(src, opts)?;
        Ok(p)
    }

    #[inline]
    fn fill(&mut self, src: Src<'a>, opts: &ParseOptions) -> Result<(), SyntaxError> {
        let mut rest = src.bytes;
        while let Some(raw) = next_param(&mut rest, opts)? {
            self.apply(raw, src, opts)?;
        }
        Ok(())
    }

    #[inline]
    fn apply(
        &mut self,
        raw: RawParam<'a>,
        src: Src<'a>,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        let (k, v) = (raw.keyword, raw.value);
        let kw = mail_keyword(k);
        let Some(kw) = kw else {
            check_eq(&raw, opts.lenient_mode())?;
            return push_other(&mut self.other, src, k, v);
        };
        check_eq(&raw, kw == MailKw::Mtrk)?;
        match kw {
            MailKw::Size => set(&mut self.size, || size::parse_value(need(v)?)),
            MailKw::Body => set(&mut self.body, || Body::parse(need(v)?)),
            MailKw::Smtputf8 => flag(&mut self.smtputf8, v),
            MailKw::Ret => set(&mut self.ret, || Ret::parse(need(v)?)),
            MailKw::Envid => set(&mut self.envid, || xtext_value(&raw, src, opts)),
            MailKw::Auth => set(&mut self.auth, || AuthParam::parse(need(v)?, opts)),
            MailKw::By => set(&mut self.by, || By::parse(need(v)?)),
            MailKw::MtPriority => set(&mut self.mt_priority, || MtPriority::parse(need(v)?)),
            // RFC 4865 §4 item 9: more than one hold-param is an error.
            MailKw::HoldFor => set(&mut self.hold, || Hold::parse_for(need(v)?)),
            MailKw::HoldUntil => set(&mut self.hold, || Hold::parse_until(need(v)?)),
            MailKw::RequireTls => flag(&mut self.requiretls, v),
            MailKw::Solicit => set(&mut self.solicit, || Solicit::parse(need(v)?)),
            MailKw::Mtrk => set(&mut self.mtrk, || Mtrk::parse(need(v)?)),
            MailKw::Submitter => set(&mut self.submitter, || {
                submitter::parse_value(need(v)?, opts)
            }),
            MailKw::Conperm => flag(&mut self.conperm, v),
            MailKw::Transid => set(&mut self.transid, || TransId::parse(need(v)?)),
            MailKw::AltAddress => set(&mut self.alt_address, || xtext_value(&raw, src, opts)),
        }
    }

    /// Writes each parameter preceded by one SP (nothing when empty):
    /// known parameters first in a fixed order, uppercase, in their
    /// canonical form, then the unknown ones as kept.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(s) = self.size {
            key(out, size::PARAM);
            size::write_value(s, out);
        }
        if let Some(b) = self.body {
            key(out, body::PARAM);
            b.write_to(out);
        }
        flag_out(out, self.smtputf8, smtputf8::PARAM);
        if let Some(r) = self.ret {
            key(out, dsn::PARAM_RET);
            r.write_to(out);
        }
        write_xtext(out, dsn::PARAM_ENVID, &self.envid);
        if let Some(a) = &self.auth {
            key(out, auth::PARAM);
            a.write_to(out);
        }
        if let Some(b) = &self.by {
            key(out, deliverby::PARAM);
            b.write_to(out);
        }
        if let Some(p) = self.mt_priority {
            key(out, mt_priority::PARAM);
            p.write_to(out);
        }
        match &self.hold {
            Some(Hold::For(n)) => {
                key(out, future_release::PARAM_HOLDFOR);
                push_decimal(out, u64::from((*n).clamp(1, MAX_HOLD_FOR)));
            }
            Some(h @ Hold::Until(_)) => {
                key(out, h.keyword());
                h.write_to(out);
            }
            None => {}
        }
        flag_out(out, self.requiretls, requiretls::PARAM);
        if let Some(s) = &self.solicit {
            key(out, no_soliciting::PARAM);
            s.write_to(out);
        }
        if let Some(m) = &self.mtrk {
            key(out, mtrk::PARAM);
            m.write_to(out);
        }
        if let Some(m) = &self.submitter {
            key(out, submitter::PARAM);
            submitter::write_value(m, out);
        }
        flag_out(out, self.conperm, conneg::PARAM_CONPERM);
        if let Some(t) = &self.transid {
            key(out, checkpoint::PARAM);
            t.write_to(out);
        }
        write_xtext(out, utf8smtp::PARAM, &self.alt_address);
        for p in &self.other {
            p.write_to(out);
        }
    }

    /// True when no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.size.is_none()
            && self.body.is_none()
            && !self.smtputf8
            && self.ret.is_none()
            && self.envid.is_none()
            && self.auth.is_none()
            && self.by.is_none()
            && self.mt_priority.is_none()
            && self.hold.is_none()
            && !self.requiretls
            && self.solicit.is_none()
            && self.mtrk.is_none()
            && self.submitter.is_none()
            && !self.conperm
            && self.transid.is_none()
            && self.alt_address.is_none()
            && self.other.is_empty()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> MailParams<'static> {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(XText::into_owned),
            auth: self.auth.map(AuthParam::into_owned),
            by: self.by,
            mt_priority: self.mt_priority,
            hold: self.hold,
            requiretls: self.requiretls,
            solicit: self.solicit.map(Solicit::into_owned),
            mtrk: self.mtrk.map(Mtrk::into_owned),
            submitter: self.submitter.map(Mailbox::into_owned),
            conperm: self.conperm,
            transid: self.transid.map(TransId::into_owned),
            alt_address: self.alt_address.map(XText::into_owned),
            other: self.other.into_iter().map(Param::into_owned).collect(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RcptKw {
    Notify,
    Orcpt,
    Rrvs,
    Conneg,
    AltAddress,
}

fn rcpt_keyword(k: &[u8]) -> Option<RcptKw> {
    const RRVS: u128 = packed(rrvs::PARAM);
    const ORCPT: u128 = packed(dsn::PARAM_ORCPT);
    const NOTIFY: u128 = packed(dsn::PARAM_NOTIFY);
    const CONNEG: u128 = packed(conneg::PARAM_CONNEG);
    const ALT_ADDRESS: u128 = packed(utf8smtp::PARAM);
    Some(match pack_keyword(k) {
        NOTIFY => RcptKw::Notify,
        ORCPT => RcptKw::Orcpt,
        RRVS => RcptKw::Rrvs,
        CONNEG => RcptKw::Conneg,
        ALT_ADDRESS => RcptKw::AltAddress,
        _ => return None,
    })
}

impl<'a> RcptParams<'a> {
    /// Parses the parameter list. `input` is everything after the
    /// forward-path and its single SP (may be empty).
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        Self::parse_in(Src::bytes(input), opts)
    }

    /// [`RcptParams::parse`] for text already checked as UTF-8 (a command
    /// line), into an empty value that already sits where it is wanted
    /// (in a `Command`), so the large struct is never moved; values are
    /// borrowed without a second UTF-8 check.
    #[inline]
    pub(crate) fn fill_str(
        &mut self,
        input: &'a str,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        self.fill(Src::text(input), opts)
    }

    #[inline]
    fn parse_in(src: Src<'a>, opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let mut p = RcptParams::default();
        p.fill(src, opts)?;
        Ok(p)
    }

    #[inline]
    fn fill(&mut self, src: Src<'a>, opts: &ParseOptions) -> Result<(), SyntaxError> {
        let mut rest = src.bytes;
        while let Some(raw) = next_param(&mut rest, opts)? {
            self.apply(raw, src, opts)?;
        }
        Ok(())
    }

    #[inline]
    fn apply(
        &mut self,
        raw: RawParam<'a>,
        src: Src<'a>,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        let (k, v) = (raw.keyword, raw.value);
        let Some(kw) = rcpt_keyword(k) else {
            check_eq(&raw, opts.lenient_mode())?;
            return push_other(&mut self.other, src, k, v);
        };
        check_eq(&raw, false)?;
        match kw {
            RcptKw::Notify => set(&mut self.notify, || Notify::parse(need(v)?, opts)),
            RcptKw::Orcpt => set(&mut self.orcpt, || {
                let v = need(v)?;
                // Every octet an xchar (the scan saw no '+', '=', 8-bit or
                // control): the common `rfc822;addr` needs no second look.
                if raw.class == 0 {
                    if let Some(o) = src.str_of(v).and_then(Orcpt::parse_xchars) {
                        return Ok(o);
                    }
                }
                Orcpt::parse(v, opts)
            }),
            RcptKw::Rrvs => set(&mut self.rrvs, || Rrvs::parse(need(v)?)),
            RcptKw::Conneg => flag(&mut self.conneg, v),
            RcptKw::AltAddress => set(&mut self.alt_address, || xtext_value(&raw, src, opts)),
        }
    }

    /// Writes each parameter preceded by one SP (nothing when empty):
    /// known parameters first in a fixed order, uppercase, in their
    /// canonical form, then the unknown ones as kept.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(n) = self.notify {
            key(out, dsn::PARAM_NOTIFY);
            n.write_to(out);
        }
        if let Some(o) = &self.orcpt {
            key(out, dsn::PARAM_ORCPT);
            o.write_to(out);
        }
        if let Some(r) = &self.rrvs {
            key(out, rrvs::PARAM);
            r.write_to(out);
        }
        flag_out(out, self.conneg, conneg::PARAM_CONNEG);
        write_xtext(out, utf8smtp::PARAM, &self.alt_address);
        for p in &self.other {
            p.write_to(out);
        }
    }

    /// True when no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.notify.is_none()
            && self.orcpt.is_none()
            && self.rrvs.is_none()
            && !self.conneg
            && self.alt_address.is_none()
            && self.other.is_empty()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(Orcpt::into_owned),
            rrvs: self.rrvs,
            conneg: self.conneg,
            alt_address: self.alt_address.map(XText::into_owned),
            other: self.other.into_iter().map(Param::into_owned).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
