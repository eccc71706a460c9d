//! EHLO capabilities: the typed set parsed from and written into an EHLO
//! reply (RFC 5321 §4.1.1.1, and every registered service extension).
//!
//! Parsing is lenient, as a client must be with deployed servers: keywords
//! in any case (RFC 5321 §4.1.1.1), `250- domain` (RFC 4141 §9), an empty
//! last line (Postfix smtp-sink), the old `AUTH=` form merged with `AUTH`
//! (a pre-RFC 2554 form old servers still send). Unknown and `X-` keywords are kept verbatim and
//! written back, never dropped. A known keyword whose parameters are
//! malformed as a whole (say `SIZE abc`, or a LIMITS line that breaks the
//! RFC 9422 §3.7 grammar) is not offered as supported: it is kept verbatim
//! among the unknown lines instead, so nothing is lost on re-writing.

use std::borrow::Cow;
use std::ops::Range;

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::grammar::ehlo as grammar;
use crate::octets::pack::{load_le, pack_upper, upper8};
use crate::octets::scan;

#[cfg(test)]
mod differential;
mod fused;
mod keyword;
mod mechanism;
mod parse;
#[cfg(test)]
mod tests;
mod text;
mod write;

pub use keyword::Keyword;
pub use mechanism::{Mechanism, MechanismName};
use text::Text;

pub use crate::ext::future_release::FutureRelease;
pub use crate::ext::limits::Limits;

/// Why a capability value given by the caller cannot be advertised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid capability: {0}")]
pub struct CapabilityError(&'static str);

impl CapabilityError {
    pub(crate) const fn new(detail: &'static str) -> Self {
        CapabilityError(detail)
    }

    /// What was wrong.
    pub fn detail(&self) -> &'static str {
        self.0
    }
}

pub(crate) fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

/// The capabilities a server advertised in its EHLO (or LHLO) reply.
///
/// Borrows from the parsed reply where it can; [`Capabilities::into_owned`]
/// detaches it.
#[derive(Clone)]
pub struct Capabilities<'a> {
    /// The first line's text from the domain on, `Domain [ SP ehlo-greet ]`
    /// (no SP after the domain without a greeting): one piece, so that an
    /// owned set copies it with one allocation.
    first: Text<'a>,
    /// The octets of `first` the domain takes.
    domain_len: usize,
    /// A bit per advertised keyword ([`Keyword::bit`]), and
    /// [`SIZE_NUMBER`].
    present: u64,
    /// The SIZE limit, when [`SIZE_NUMBER`] is set: kept apart from its
    /// flag so that the set stays within 128 octets, which the compiler
    /// moves without a call to `memcpy`.
    size: u64,
    auth: Vec<Mechanism>,
    deliver_by: Option<u32>,
    /// The values of the keywords few servers advertise, boxed so that the
    /// set stays small to build and move; `None` until one is stored.
    rare: Option<Box<Rare<'a>>>,
    other: Vec<Cow<'a, str>>,
}

/// The bit of [`Capabilities::present`] that says SIZE came with a number;
/// keyword bits are below it.
const SIZE_NUMBER: u64 = 1 << 63;
const _: () = assert!(
    Keyword::ALL.len() < 63,
    "EHLO keyword bits reach SIZE_NUMBER"
);

/// The values of the rarely advertised keywords.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rare<'a> {
    mt_priority: Option<Cow<'a, str>>,
    future_release: Option<FutureRelease<'a>>,
    limits: Limits<'a>,
    burl: Vec<Cow<'a, str>>,
    no_soliciting: Option<Cow<'a, str>>,
}

impl Rare<'_> {
    fn into_owned(self) -> Rare<'static> {
        Rare {
            mt_priority: self.mt_priority.map(own),
            future_release: self.future_release.map(FutureRelease::into_owned),
            limits: self.limits.into_owned(),
            burl: self.burl.into_iter().map(own).collect(),
            no_soliciting: self.no_soliciting.map(own),
        }
    }
}

impl PartialEq for Capabilities<'_> {
    /// Equal when every value is: whether the rare values were ever boxed
    /// does not matter.
    fn eq(&self, other: &Self) -> bool {
        let rare_eq = match (self.rare.as_deref(), other.rare.as_deref()) {
            (Some(a), Some(b)) => a == b,
            (Some(r), None) | (None, Some(r)) => *r == Rare::default(),
            (None, None) => true,
        };
        self.first == other.first
            && self.domain_len == other.domain_len
            && self.present == other.present
            && self.size_value() == other.size_value()
            && self.auth == other.auth
            && self.deliver_by == other.deliver_by
            && rare_eq
            && self.other == other.other
    }
}

impl Eq for Capabilities<'_> {}

pub(super) fn reply_error(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Reply, detail)
}

/// The text of `range` of `line`, borrowed unless it is not UTF-8.
///
/// Lines are split on SP before any UTF-8 repair: SP never belongs to a
/// UTF-8 sequence, so repairing a piece gives the same text as cutting the
/// same piece out of the repaired line, and only the pieces kept pay for
/// the check.
pub(crate) fn piece(line: &[u8], range: Range<usize>) -> Cow<'_, str> {
    text_of(line.get(range).unwrap_or_default())
}

/// A word of an EHLO line: where it lies, and its first 16 octets packed
/// upper-cased ([`crate::octets::pack::pack_upper`]'s key).
pub(super) struct Word {
    pub(super) range: Range<usize>,
    pub(super) key: u128,
}

/// The SP-separated words of a line from `pos` on, empty ones skipped. A
/// word of up to 16 octets is found and packed with the same two word
/// loads; longer ones, and words holding a control, are searched for
/// octet by octet.
#[derive(Clone)]
pub(super) struct Words<'s> {
    bytes: &'s [u8],
    pos: usize,
}

impl<'s> Words<'s> {
    pub(super) fn from(bytes: &'s [u8], pos: usize) -> Self {
        Words { bytes, pos }
    }
}

impl Iterator for Words<'_> {
    type Item = Word;

    #[inline]
    fn next(&mut self) -> Option<Word> {
        let b = self.bytes;
        let mut start = self.pos;
        while b.get(start) == Some(&b' ') {
            start += 1;
        }
        self.pos = start;
        let rest = b.get(start..).filter(|r| !r.is_empty())?;
        // The word ends at the first octet below `!` if that is SP or the
        // end of the line (a control inside a word does not end it); the
        // zero padding of a short load is below `!` too.
        let ends = |i: usize| matches!(rest.get(i), None | Some(b' '));
        let lo = load8(rest, 0);
        let (len, key) = match scan::below_bang(lo) {
            Some(n) if ends(n) => (n, u128::from(upper8(lo & scan::low_octets(n)))),
            None => {
                let hi = load8(rest, 8);
                match scan::below_bang(hi) {
                    Some(n) if ends(8 + n) => (
                        8 + n,
                        u128::from(upper8(lo)) | u128::from(upper8(hi & scan::low_octets(n))) << 64,
                    ),
                    _ => long_word(rest),
                }
            }
            _ => long_word(rest),
        };
        self.pos = start + len;
        Some(Word {
            range: start..start + len,
            key,
        })
    }
}

/// Eight octets of `b` at `at`, little-endian, zero-padded past its end.
#[inline(always)]
pub(super) fn load8(b: &[u8], at: usize) -> u64 {
    match b.get(at..at.saturating_add(8)) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or_default()),
        None => load_le(b.get(at..).unwrap_or_default()),
    }
}

/// The length and key of a word over 16 octets, or holding a control.
#[cold]
fn long_word(rest: &[u8]) -> (usize, u128) {
    let len = scan::find(rest, b' ').unwrap_or(rest.len());
    (len, pack_upper(rest.get(..len).unwrap_or_default()))
}

/// `line` as text, borrowed unless it must be repaired (invalid UTF-8 is
/// replaced with U+FFFD, as [`String::from_utf8_lossy`] does).
fn text_of(line: &[u8]) -> Cow<'_, str> {
    // `from_utf8` checks ASCII a word at a time; the lossy path does not.
    match core::str::from_utf8(line) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(line),
    }
}

impl<'a> Capabilities<'a> {
    /// A capability set for a server called `domain`, with no keywords.
    pub fn new(domain: impl Into<Cow<'a, str>>) -> Result<Self, CapabilityError> {
        let domain = domain.into();
        if domain.is_empty() || !domain.bytes().all(|b| b > b' ' && b != 0x7f) {
            return Err(CapabilityError(
                "domain must be non-empty, without SP or controls",
            ));
        }
        let domain_len = domain.len();
        Ok(Self::empty(Text::from_str(domain), domain_len))
    }

    /// A set with no keywords whose first line is `first`, its domain the
    /// first `domain_len` octets.
    fn empty(first: Text<'a>, domain_len: usize) -> Self {
        Self {
            first,
            domain_len,
            present: 0,
            size: 0,
            auth: Vec::new(),
            deliver_by: None,
            rare: None,
            other: Vec::new(),
        }
    }

    /// This set with greeting text after the domain on the first line
    /// (RFC 5321 `ehlo-greet`; controls other than HT are refused).
    pub fn with_greet(mut self, greet: impl Into<Cow<'a, str>>) -> Result<Self, CapabilityError> {
        let greet = greet.into();
        if greet.bytes().any(|b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(CapabilityError("greeting text holds a control character"));
        }
        let mut first = self.domain().to_owned();
        if !greet.is_empty() {
            first.push(' ');
            first.push_str(&greet);
        }
        self.first = Text::from_str(Cow::Owned(first));
        Ok(self)
    }

    /// The same set, owning all its text.
    pub fn into_owned(self) -> Capabilities<'static> {
        Capabilities {
            first: self.first.into_owned(),
            domain_len: self.domain_len,
            present: self.present,
            size: self.size,
            auth: self.auth,
            deliver_by: self.deliver_by,
            rare: self.rare.map(|r| Box::new(r.into_owned())),
            other: self.other.into_iter().map(own).collect(),
        }
    }

    /// The number SIZE came with, if any.
    fn size_value(&self) -> Option<u64> {
        (self.present & SIZE_NUMBER != 0).then_some(self.size)
    }

    pub(super) fn set_size_value(&mut self, size: Option<u64>) {
        match size {
            Some(n) => {
                self.size = n;
                self.present |= SIZE_NUMBER;
            }
            None => {
                self.size = 0;
                self.present &= !SIZE_NUMBER;
            }
        }
    }

    /// The rare values, boxed on first use.
    fn rare_mut(&mut self) -> &mut Rare<'a> {
        self.rare.get_or_insert_with(Box::default)
    }

    /// The domain the server gave on the first line.
    pub fn domain(&self) -> &str {
        // At a char boundary: the domain ends at the line's end or an SP.
        self.first
            .as_str()
            .get(..self.domain_len)
            .unwrap_or_default()
    }

    /// The text after the domain on the first line, if any.
    pub fn greet(&self) -> Option<&str> {
        self.first.as_str().get(self.domain_len + 1..)
    }

    /// Whether the server advertised `keyword`.
    pub fn supports(&self, keyword: Keyword) -> bool {
        self.present & keyword.bit() != 0
    }

    /// The fixed message size limit (RFC 1870 §4): `None` when SIZE was not
    /// advertised, was advertised without a number, or with 0 ("no fixed
    /// maximum").
    pub fn max_size(&self) -> Option<u64> {
        self.size_value()
            .filter(|&n| n > 0 && self.supports(Keyword::Size))
    }

    /// The SIZE parameter exactly as advertised: `None` if SIZE is absent,
    /// `Some(None)` for a bare `SIZE`.
    pub fn size_param(&self) -> Option<Option<u64>> {
        self.supports(Keyword::Size).then_some(self.size_value())
    }

    /// The SASL mechanisms offered, from `AUTH` and `AUTH=` lines, each once.
    pub fn auth_mechanisms(&self) -> &[Mechanism] {
        &self.auth
    }

    /// The DELIVERBY min-by-time in seconds (RFC 2852 §3), if given.
    pub fn deliver_by_min(&self) -> Option<u32> {
        self.deliver_by
    }

    /// The MT-PRIORITY profile (RFC 6710 §3), if named.
    pub fn mt_priority_profile(&self) -> Option<&str> {
        self.rare.as_ref()?.mt_priority.as_deref()
    }

    /// The FUTURERELEASE limits (RFC 4865 §3).
    pub fn future_release(&self) -> Option<&FutureRelease<'a>> {
        self.rare.as_ref()?.future_release.as_ref()
    }

    /// The LIMITS (RFC 9422), if advertised.
    pub fn limits(&self) -> Option<&Limits<'a>> {
        // Whatever advertises LIMITS boxes the rare values.
        let rare = self.rare.as_deref()?;
        self.supports(Keyword::Limits).then_some(&rare.limits)
    }

    /// The BURL arguments (RFC 4468 §3), e.g. `imap`.
    pub fn burl_args(&self) -> impl Iterator<Item = &str> {
        self.rare.iter().flat_map(|r| r.burl.iter()).map(|s| &**s)
    }

    /// The NO-SOLICITING keyword list (RFC 3865 §2), if given.
    pub fn no_soliciting_keywords(&self) -> Option<&str> {
        self.rare.as_ref()?.no_soliciting.as_deref()
    }

    /// The parameters of an unknown or private keyword the server
    /// advertised (`X-FOO a b` gives `Some("a b")`, a bare `X-FOO` gives
    /// `Some("")`), matched in any case (RFC 5321 §2.4); `None` when it was
    /// not advertised. Known keywords are read with [`Self::supports`] and
    /// their typed accessors.
    pub fn unknown_keyword(&self, keyword: &str) -> Option<&str> {
        self.other.iter().find_map(|line| {
            let (kw, params) = line.split_once(' ').unwrap_or((line, ""));
            kw.eq_ignore_ascii_case(keyword).then_some(params)
        })
    }

    /// Unknown, private (`X-`) and malformed keyword lines, verbatim.
    pub fn unknown(&self) -> impl Iterator<Item = &str> {
        self.other.iter().map(|s| &**s)
    }

    /// Advertises `keyword` with no parameter (a bare SIZE, AUTH with no
    /// mechanism, DELIVERBY or MT-PRIORITY without value, BURL without
    /// argument). FUTURERELEASE needs [`Self::set_future_release`] and is
    /// refused here.
    pub fn insert(&mut self, keyword: Keyword) -> Result<(), CapabilityError> {
        if keyword == Keyword::FutureRelease && self.future_release().is_none() {
            return Err(CapabilityError("FUTURERELEASE needs its two parameters"));
        }
        if keyword == Keyword::Limits {
            // LIMITS without limits: `limits()` shows the empty set.
            self.rare_mut();
        }
        self.present |= keyword.bit();
        Ok(())
    }

    /// Stops advertising `keyword` and forgets its parameters.
    pub fn remove(&mut self, keyword: Keyword) {
        self.present &= !keyword.bit();
        match keyword {
            Keyword::Size => self.set_size_value(None),
            Keyword::Auth => self.auth.clear(),
            Keyword::DeliverBy => self.deliver_by = None,
            _ => {}
        }
        let Some(rare) = self.rare.as_deref_mut() else {
            return;
        };
        match keyword {
            Keyword::MtPriority => rare.mt_priority = None,
            Keyword::FutureRelease => rare.future_release = None,
            Keyword::Limits => rare.limits = Limits::new(),
            Keyword::Burl => rare.burl.clear(),
            Keyword::NoSoliciting => rare.no_soliciting = None,
            _ => {}
        }
    }

    /// Advertises SIZE with a limit (0: no fixed maximum, RFC 1870 §4) or
    /// without a number.
    pub fn set_size(&mut self, limit: Option<u64>) {
        self.present |= Keyword::Size.bit();
        self.set_size_value(limit);
    }

    /// Advertises AUTH with `mechanism` added (once).
    pub fn add_auth_mechanism(&mut self, mechanism: Mechanism) {
        self.present |= Keyword::Auth.bit();
        if !self.auth.contains(&mechanism) {
            self.auth.push(mechanism);
        }
    }

    /// Advertises DELIVERBY with an optional min-by-time (0–999999999,
    /// RFC 2852 §3: `[1*9DIGIT]`, never negative).
    pub fn set_deliver_by(&mut self, min: Option<u32>) -> Result<(), CapabilityError> {
        if min.is_some_and(|n| n > 999_999_999) {
            return Err(CapabilityError("min-by-time over 9 digits"));
        }
        self.present |= Keyword::DeliverBy.bit();
        self.deliver_by = min;
        Ok(())
    }

    /// Advertises MT-PRIORITY with an optional profile name (RFC 6710 §3:
    /// 1–20 letters, digits, `-`, `_`, `.`).
    pub fn set_mt_priority(
        &mut self,
        profile: Option<Cow<'a, str>>,
    ) -> Result<(), CapabilityError> {
        if let Some(p) = &profile {
            if !crate::ext::mt_priority::is_profile(p.as_bytes()) {
                return Err(CapabilityError("invalid MT-PRIORITY profile"));
            }
        }
        self.present |= Keyword::MtPriority.bit();
        self.rare_mut().mt_priority = profile;
        Ok(())
    }

    /// Advertises FUTURERELEASE.
    pub fn set_future_release(&mut self, limits: FutureRelease<'a>) {
        self.present |= Keyword::FutureRelease.bit();
        self.rare_mut().future_release = Some(limits);
    }

    /// Advertises LIMITS.
    pub fn set_limits(&mut self, limits: Limits<'a>) {
        self.present |= Keyword::Limits.bit();
        self.rare_mut().limits = limits;
    }

    /// Advertises BURL with these arguments (RFC 4468 §3: `imap` or
    /// `imap://authority`; any `ehlo-param` is accepted).
    pub fn set_burl<I, S>(&mut self, args: I) -> Result<(), CapabilityError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'a, str>>,
    {
        let args: Vec<Cow<'a, str>> = args.into_iter().map(Into::into).collect();
        if !args
            .iter()
            .all(|a| crate::ext::burl::is_argument(a.as_bytes()))
        {
            return Err(CapabilityError("invalid BURL argument"));
        }
        self.present |= Keyword::Burl.bit();
        self.rare_mut().burl = args;
        Ok(())
    }

    /// Advertises NO-SOLICITING with an optional keyword list (RFC 3865 §2:
    /// `word *("," word)`, at most 1000 characters).
    pub fn set_no_soliciting(
        &mut self,
        keywords: Option<Cow<'a, str>>,
    ) -> Result<(), CapabilityError> {
        if let Some(k) = &keywords {
            if !crate::ext::no_soliciting::is_keywords(k.as_bytes()) {
                return Err(CapabilityError("invalid solicitation keywords"));
            }
        }
        self.present |= Keyword::NoSoliciting.bit();
        self.rare_mut().no_soliciting = keywords;
        Ok(())
    }

    /// Advertises a keyword this crate does not know, with its parameters,
    /// as one line `keyword *(SP param)` (RFC 5321 §4.1.1.1 `ehlo-line`).
    /// Known keywords must use their typed setters.
    pub fn add_unknown(&mut self, line: impl Into<Cow<'a, str>>) -> Result<(), CapabilityError> {
        let line = line.into();
        let kw = line.split(' ').next().unwrap_or_default().as_bytes();
        if !grammar::is_ehlo_keyword(kw) || Keyword::parse(kw).is_some() {
            return Err(CapabilityError("invalid or known EHLO keyword"));
        }
        if !grammar::is_ehlo_line(line.as_bytes()) {
            return Err(CapabilityError("invalid EHLO parameter"));
        }
        self.other.push(line);
        Ok(())
    }
}

/// RFC 5321 `ehlo-param = 1*(%d33-126)`.
pub(crate) fn is_ehlo_param(p: &[u8]) -> bool {
    !p.is_empty() && p.iter().all(|&b| (33..=126).contains(&b))
}
