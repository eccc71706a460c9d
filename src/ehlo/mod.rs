//! EHLO capabilities: the typed set parsed from and written into an EHLO
//! reply (RFC 5321 §4.1.1.1, and every registered service extension).
//!
//! Parsing is lenient, as a client must be with deployed servers: keywords
//! in any case (RFC 5321 §4.1.1.1), `250- domain` (RFC 4141 §9), an empty
//! last line (Postfix smtp-sink), the old `AUTH=` form merged with `AUTH`
//! (catalog §9 item 19). Unknown and `X-` keywords are kept verbatim and
//! written back, never dropped. A known keyword whose parameters are
//! malformed as a whole (say `SIZE abc`, or a LIMITS line that breaks the
//! RFC 9422 §3.7 grammar) is not offered as supported: it is kept verbatim
//! among the unknown lines instead, so nothing is lost on re-writing.

use std::borrow::Cow;
use std::ops::Range;

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::octets::pack::{load_le, pack_const, pack_upper, upper8};
use crate::octets::scan;
use crate::reply::{Reply, ReplyTextError};
use crate::values::ReplyCode;

mod mechanism;
#[cfg(test)]
mod tests;

pub use mechanism::{Mechanism, MechanismName};

/// Why a capability value given by the caller cannot be advertised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("invalid capability: {0}")]
pub struct CapabilityError(&'static str);

impl CapabilityError {
    /// What was wrong.
    pub fn detail(&self) -> &'static str {
        self.0
    }
}

macro_rules! keywords {
    ($($(#[$m:meta])* $name:ident = $wire:literal,)*) => {
        /// An EHLO keyword this crate knows (RFC 5321 §2.2.2 and the
        /// extension RFCs). Unknown keywords are kept as text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Keyword {
            $($(#[$m])* $name,)*
        }

        impl Keyword {
            /// Every known keyword, in the order they are written.
            pub const ALL: &'static [Keyword] = &[$(Keyword::$name,)*];

            /// The keyword as written (upper case).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Keyword::$name => $wire,)*
                }
            }

        }
    };
}

keywords! {
    /// `SIZE [n]` (RFC 1870).
    Size = "SIZE",
    /// `AUTH mech…` (RFC 4954).
    Auth = "AUTH",
    /// `8BITMIME` (RFC 6152).
    EightBitMime = "8BITMIME",
    /// `PIPELINING` (RFC 2920).
    Pipelining = "PIPELINING",
    /// `CHUNKING` (RFC 3030).
    Chunking = "CHUNKING",
    /// `BINARYMIME` (RFC 3030).
    BinaryMime = "BINARYMIME",
    /// `DSN` (RFC 3461).
    Dsn = "DSN",
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    EnhancedStatusCodes = "ENHANCEDSTATUSCODES",
    /// `STARTTLS` (RFC 3207).
    StartTls = "STARTTLS",
    /// `SMTPUTF8` (RFC 6531).
    SmtpUtf8 = "SMTPUTF8",
    /// `DELIVERBY [min-by-time]` (RFC 2852).
    DeliverBy = "DELIVERBY",
    /// `MT-PRIORITY [profile]` (RFC 6710).
    MtPriority = "MT-PRIORITY",
    /// `FUTURERELEASE interval date-time` (RFC 4865).
    FutureRelease = "FUTURERELEASE",
    /// `LIMITS name=value…` (RFC 9422).
    Limits = "LIMITS",
    /// `BURL [imap…]` (RFC 4468).
    Burl = "BURL",
    /// `NO-SOLICITING [keywords]` (RFC 3865).
    NoSoliciting = "NO-SOLICITING",
    /// `ETRN` (RFC 1985).
    Etrn = "ETRN",
    /// `ATRN` (RFC 2645).
    Atrn = "ATRN",
    /// `HELP` (RFC 5321 §4.1.1.8).
    Help = "HELP",
    /// `EXPN` (RFC 5321 §4.1.1.7).
    Expn = "EXPN",
    /// `VRFY` (RFC 5321 §4.1.1.6).
    Vrfy = "VRFY",
    /// `CHECKPOINT` (RFC 1845).
    Checkpoint = "CHECKPOINT",
    /// `MTRK` (RFC 3885).
    Mtrk = "MTRK",
    /// `RRVS` (RFC 7293).
    Rrvs = "RRVS",
    /// `REQUIRETLS` (RFC 8689).
    RequireTls = "REQUIRETLS",
    /// `CONPERM` (RFC 4141).
    ConPerm = "CONPERM",
    /// `CONNEG` (RFC 4141).
    ConNeg = "CONNEG",
    /// `UTF8SMTP` (RFC 5336, obsoleted by RFC 6531).
    Utf8Smtp = "UTF8SMTP",
    /// `SEND` (RFC 821; deprecated by RFC 5321 App. F.6).
    Send = "SEND",
    /// `SOML` (RFC 821; deprecated by RFC 5321 App. F.6).
    Soml = "SOML",
    /// `SAML` (RFC 821; deprecated by RFC 5321 App. F.6).
    Saml = "SAML",
    /// `TURN` (RFC 821; deprecated by RFC 5321 App. F.1).
    Turn = "TURN",
    /// `VERB` (sendmail; IANA-registered without an RFC).
    Verb = "VERB",
    /// `ONEX` (sendmail; IANA-registered without an RFC).
    Onex = "ONEX",
}

impl Keyword {
    /// Recognises a keyword in any case (RFC 5321 §4.1.1.1).
    pub fn parse(name: &[u8]) -> Option<Keyword> {
        // One table slot to check instead of comparing names.
        Keyword::from_packed(pack_upper(name), name)
    }

    const fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// Whether the keyword's parameters are stored (all others ignore
    /// theirs).
    const fn takes_params(self) -> bool {
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
    #[inline]
    fn from_packed(key: u128, name: &[u8]) -> Option<Keyword> {
        match KEYWORD_TABLE[keyword_slot(key)] {
            (known, Some(kw), wire) if known == key && same_past_16(name, wire) => Some(kw),
            _ => None,
        }
    }
}

/// Spreads the known keywords' keys over [`KEYWORD_TABLE`] without two in
/// one slot. Adding a keyword may need another odd multiplier (try random
/// ones); the build fails while two collide.
const KEYWORD_HASH: u64 = 0x4971_282e_6e20_03f3;

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

/// The first SP-separated token of `line` and its [`pack_upper`] key, or
/// `None` for a blank line. The usual line starts with its keyword and the
/// keyword fits in 16 octets: then two word loads find both the token's end
/// and its key.
fn first_token(line: &[u8]) -> Option<(Range<usize>, u128)> {
    if line.first() == Some(&b' ') {
        // `250-  KEYWORD`: rare, so the plain way.
        let kw = tokens(line).next()?;
        let key = pack_upper(line.get(kw.clone()).unwrap_or_default());
        return Some((kw, key));
    }
    if line.is_empty() {
        return None;
    }
    let (lo_octets, rest) = line.split_at(line.len().min(8));
    let hi_octets = rest.get(..rest.len().min(8)).unwrap_or_default();
    let (lo, hi) = (load_le(lo_octets), load_le(hi_octets));
    let end = match scan::first_in_word(lo, lo_octets.len(), b' ') {
        Some(i) => i,
        None => match scan::first_in_word(hi, hi_octets.len(), b' ') {
            Some(i) => 8 + i,
            None => {
                let past = line.get(16..).unwrap_or_default();
                line.len() - past.len() + scan::find(past, b' ').unwrap_or(past.len())
            }
        },
    };
    let lo = upper8(lo & scan::low_octets(end));
    let hi = upper8(hi & scan::low_octets(end.saturating_sub(8)));
    Some((0..end, u128::from(lo) | u128::from(hi) << 64))
}

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

/// The FUTURERELEASE limits (RFC 4865 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FutureRelease<'a> {
    max_interval: u32,
    max_date_time: Cow<'a, str>,
}

impl<'a> FutureRelease<'a> {
    /// The longest hold in seconds (1–999999999) and the latest release
    /// time, an RFC 3339 `date-time`.
    pub fn new(
        max_interval: u32,
        max_date_time: impl Into<Cow<'a, str>>,
    ) -> Result<Self, CapabilityError> {
        let max_date_time = max_date_time.into();
        if !(1..=999_999_999).contains(&max_interval) {
            return Err(CapabilityError("FUTURERELEASE interval out of range"));
        }
        if !is_rfc3339_date_time(max_date_time.as_bytes()) {
            return Err(CapabilityError("FUTURERELEASE date-time is not RFC 3339"));
        }
        Ok(Self {
            max_interval,
            max_date_time,
        })
    }

    /// The longest `HOLDFOR=` interval accepted, in seconds.
    pub fn max_interval(&self) -> u32 {
        self.max_interval
    }

    /// The latest `HOLDUNTIL=` date-time accepted, as advertised (RFC 3339).
    pub fn max_date_time(&self) -> &str {
        &self.max_date_time
    }

    fn into_owned(self) -> FutureRelease<'static> {
        FutureRelease {
            max_interval: self.max_interval,
            max_date_time: Cow::Owned(self.max_date_time.into_owned()),
        }
    }
}

/// The LIMITS advertised (RFC 9422). Registered limits are typed; others
/// are kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Limits<'a> {
    mail_max: Option<u32>,
    rcpt_max: Option<u32>,
    rcpt_domain_max: Option<u32>,
    other: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
}

impl<'a> Limits<'a> {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// MAIL commands per session (RFC 9422 §4.1).
    pub fn mail_max(&self) -> Option<u32> {
        self.mail_max
    }

    /// RCPT commands per transaction (RFC 9422 §4.2).
    pub fn rcpt_max(&self) -> Option<u32> {
        self.rcpt_max
    }

    /// Distinct recipient domains (RFC 9422 §4.3).
    pub fn rcpt_domain_max(&self) -> Option<u32> {
        self.rcpt_domain_max
    }

    /// Unregistered limits, name and optional value, as advertised.
    pub fn unknown(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.other.iter().map(|(n, v)| (&**n, v.as_deref()))
    }

    /// These limits with MAILMAX set; values are 1–999999 (RFC 9422 §4).
    pub fn with_mail_max(mut self, n: u32) -> Result<Self, CapabilityError> {
        self.mail_max = Some(limit_value(n)?);
        Ok(self)
    }

    /// These limits with RCPTMAX set (1–999999).
    pub fn with_rcpt_max(mut self, n: u32) -> Result<Self, CapabilityError> {
        self.rcpt_max = Some(limit_value(n)?);
        Ok(self)
    }

    /// These limits with RCPTDOMAINMAX set (1–999999).
    pub fn with_rcpt_domain_max(mut self, n: u32) -> Result<Self, CapabilityError> {
        self.rcpt_domain_max = Some(limit_value(n)?);
        Ok(self)
    }

    /// These limits with an unregistered limit added (RFC 9422 §3
    /// `limit-name ["=" limit-value]`).
    pub fn with_unknown(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: Option<Cow<'a, str>>,
    ) -> Result<Self, CapabilityError> {
        let name = name.into();
        if !is_limit_name(name.as_bytes()) || known_limit(name.as_bytes()).is_some() {
            return Err(CapabilityError("invalid or registered limit name"));
        }
        if let Some(v) = &value {
            if !is_limit_value(v.as_bytes()) {
                return Err(CapabilityError("invalid limit value"));
            }
        }
        self.other.push((name, value));
        Ok(self)
    }

    fn into_owned(self) -> Limits<'static> {
        Limits {
            mail_max: self.mail_max,
            rcpt_max: self.rcpt_max,
            rcpt_domain_max: self.rcpt_domain_max,
            other: self
                .other
                .into_iter()
                .map(|(n, v)| (own(n), v.map(own)))
                .collect(),
        }
    }
}

fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}

fn limit_value(n: u32) -> Result<u32, CapabilityError> {
    if (1..=999_999).contains(&n) {
        Ok(n)
    } else {
        Err(CapabilityError("limit out of range 1-999999"))
    }
}

/// The capabilities a server advertised in its EHLO (or LHLO) reply.
///
/// Borrows from the parsed reply where it can; [`Capabilities::into_owned`]
/// detaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities<'a> {
    domain: Cow<'a, str>,
    greet: Option<Cow<'a, str>>,
    present: u64,
    size: Option<u64>,
    auth: Vec<Mechanism>,
    deliver_by: Option<u32>,
    mt_priority: Option<Cow<'a, str>>,
    future_release: Option<FutureRelease<'a>>,
    limits: Limits<'a>,
    burl: Vec<Cow<'a, str>>,
    no_soliciting: Option<Cow<'a, str>>,
    other: Vec<Cow<'a, str>>,
}

fn reply_error(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Reply, detail)
}

/// The text of `range` of `line`, borrowed unless it is not UTF-8.
///
/// Lines are split on SP before any UTF-8 repair: SP never belongs to a
/// UTF-8 sequence, so repairing a piece gives the same text as cutting the
/// same piece out of the repaired line, and only the pieces kept pay for
/// the check.
fn piece(line: &[u8], range: Range<usize>) -> Cow<'_, str> {
    text_of(line.get(range).unwrap_or_default())
}

/// Ranges of the SP-separated tokens of `s`, empty ones skipped.
fn tokens(s: &[u8]) -> Tokens<'_> {
    Tokens { bytes: s, pos: 0 }
}

/// See [`tokens`].
struct Tokens<'s> {
    bytes: &'s [u8],
    pos: usize,
}

impl Iterator for Tokens<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let rest = self.bytes.get(self.pos..)?;
        let start = self.pos + rest.iter().position(|&b| b != b' ')?;
        let len = self
            .bytes
            .get(start..)?
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(self.bytes.len() - start);
        self.pos = start + len;
        Some(start..start + len)
    }
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
        Ok(Self::empty(domain))
    }

    fn empty(domain: Cow<'a, str>) -> Self {
        Self {
            domain,
            greet: None,
            present: 0,
            size: None,
            auth: Vec::new(),
            deliver_by: None,
            mt_priority: None,
            future_release: None,
            limits: Limits::new(),
            burl: Vec::new(),
            no_soliciting: None,
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
        self.greet = (!greet.is_empty()).then_some(greet);
        Ok(self)
    }

    /// Reads the capabilities from a 250 reply to EHLO or LHLO.
    ///
    /// Fails only if the reply is not 250 or its first line names no
    /// domain; keyword lines never fail (see the module notes).
    pub fn from_reply<'r>(reply: &'r Reply<'_>) -> Result<Capabilities<'r>, SyntaxError> {
        if reply.code() != ReplyCode::OK {
            return Err(reply_error("EHLO reply is not 250"));
        }
        let mut lines = reply.lines();
        let first = lines.next().unwrap_or_default();
        // Leading spaces are skipped: RFC 4141 §9 shows `250- example.com`.
        let mut toks = tokens(first);
        let domain = toks
            .next()
            .ok_or(reply_error("EHLO reply names no domain"))?;
        let greet_start = domain.end.saturating_add(1);
        let greet = (greet_start < first.len()).then(|| piece(first, greet_start..first.len()));
        let mut caps = Capabilities::empty(piece(first, domain));
        caps.greet = greet;
        // One token buffer for all lines, allocated only if a keyword has
        // parameters.
        let mut ranges = Vec::new();
        match reply.wire_lines() {
            Some(block) => caps.apply_wire(block, &mut ranges),
            None => {
                for line in lines {
                    caps.apply_line(line, &mut ranges);
                }
            }
        }
        Ok(caps)
    }

    /// Applies the keyword lines of `block`, a parsed reply's lines as
    /// received, after the first: the same as [`Self::apply_line`] on each
    /// of [`Reply::lines`], but a line's keyword (up to 24 octets) and, for
    /// a keyword alone (most lines), the line's end are found with at most
    /// three word loads.
    fn apply_wire(&mut self, block: &'a [u8], ranges: &mut Vec<Range<usize>>) {
        let mut pos = scan::find(block, b'\n').map_or(block.len(), |nl| nl + 1);
        while pos < block.len() {
            // The parser left `code [SP / "-"] text [CR] LF`; a line
            // without separator is a bare code.
            let text_start = match block.get(pos + 3) {
                Some(b'-' | b' ') => pos + 4,
                _ => pos + 3,
            };
            let avail = block.get(text_start..).unwrap_or_default();
            let (lo_octets, rest) = avail.split_at(avail.len().min(8));
            let hi_octets = rest.get(..rest.len().min(8)).unwrap_or_default();
            let (lo, hi) = (load_le(lo_octets), load_le(hi_octets));
            let delim = |w, n| scan::first_of3_in_word(w, n, b' ', b'\r', b'\n');
            let end = delim(lo, lo_octets.len())
                .or_else(|| delim(hi, hi_octets.len()).map(|i| i + 8))
                .or_else(|| {
                    // ENHANCEDSTATUSCODES is 19 octets.
                    let third = avail.get(16..).unwrap_or_default();
                    let third = third.get(..third.len().min(8)).unwrap_or_default();
                    delim(load_le(third), third.len()).map(|i| i + 16)
                });
            let Some(kw_len) = end.filter(|&i| i > 0) else {
                // No keyword at the line start: leading SP, a blank line,
                // or a keyword over 24 octets.
                let nl = scan::find(avail, b'\n').unwrap_or(avail.len());
                let line = avail.get(..nl).unwrap_or_default();
                self.apply_line(line.strip_suffix(b"\r").unwrap_or(line), ranges);
                pos = text_start + nl + 1;
                continue;
            };
            let key = u128::from(upper8(lo & scan::low_octets(kw_len)))
                | u128::from(upper8(hi & scan::low_octets(kw_len.saturating_sub(8)))) << 64;
            let (line_len, next) = match avail.get(kw_len..) {
                Some([b'\n', ..]) => (kw_len, kw_len + 1),
                Some([b'\r', b'\n', ..]) => (kw_len, kw_len + 2),
                // Parameters follow: find the line end.
                _ => {
                    let nl = scan::find(avail, b'\n').unwrap_or(avail.len());
                    let cr = avail.get(..nl).is_some_and(|l| l.ends_with(b"\r"));
                    (nl - usize::from(cr), nl + 1)
                }
            };
            let line = avail.get(..line_len).unwrap_or_default();
            match Keyword::from_packed(key, line) {
                // Most lines: a keyword that takes no parameters, alone.
                Some(kw) if line_len == kw_len && !kw.takes_params() => self.present |= kw.bit(),
                _ => self.apply_keyword(line, 0..kw_len, key, ranges),
            }
            pos = text_start + next;
        }
    }

    fn apply_line(&mut self, line: &'a [u8], ranges: &mut Vec<Range<usize>>) {
        let Some((kw, key)) = first_token(line) else {
            // An empty line, as Postfix smtp-sink ends its reply with.
            return;
        };
        self.apply_keyword(line, kw, key, ranges);
    }

    /// Applies `line`, whose first token is `kw` with [`pack_upper`] key
    /// `key`.
    fn apply_keyword(
        &mut self,
        line: &'a [u8],
        kw: Range<usize>,
        key: u128,
        ranges: &mut Vec<Range<usize>>,
    ) {
        let toks = Tokens {
            bytes: line,
            pos: kw.end,
        };
        let kw_text = line.get(kw.clone()).unwrap_or_default();
        // Catalog §9 item 19: `AUTH=LOGIN PLAIN`, merged with `AUTH`. The
        // key holds the keyword's first octets upper-cased.
        const AUTH_EQ: u64 = pack_const("AUTH=") as u64;
        if kw_text.len() >= 5 && key as u64 & scan::low_octets(5) == AUTH_EQ {
            let first = kw_text.get(5..).unwrap_or_default();
            self.present |= Keyword::Auth.bit();
            let names =
                core::iter::once(first).chain(toks.map(|r| line.get(r).unwrap_or_default()));
            for name in names {
                self.add_mechanism_lenient(name);
            }
            return;
        }
        let Some(keyword) = Keyword::from_packed(key, kw_text) else {
            self.push_verbatim(line, kw.start);
            return;
        };
        ranges.clear();
        ranges.extend(toks);
        let params = &ranges[..];
        let p = |i: usize| piece(line, params[i].clone());
        let param_text = |i: usize| line.get(params[i].clone()).unwrap_or_default();
        let ok = match keyword {
            Keyword::Size => match params.len() {
                0 => {
                    self.size = None;
                    true
                }
                1 => match parse_u64(param_text(0), 20) {
                    Some(n) => {
                        self.size = Some(n);
                        true
                    }
                    None => false,
                },
                _ => false,
            },
            Keyword::Auth => {
                // One allocation for the usual handful of mechanisms.
                self.auth.reserve(params.len());
                for i in 0..params.len() {
                    self.add_mechanism_lenient(param_text(i));
                }
                true
            }
            Keyword::DeliverBy => match params.len() {
                0 => {
                    self.deliver_by = None;
                    true
                }
                1 => {
                    // RFC 2852 §3: min-by-time *("," extension-token); no
                    // extension tokens are defined, so they are ignored.
                    let min = param_text(0)
                        .split(|&b| b == b',')
                        .next()
                        .unwrap_or_default();
                    if min.is_empty() {
                        self.deliver_by = None;
                        true
                    } else if let Some(n) = parse_u64(min, 9) {
                        self.deliver_by = u32::try_from(n).ok();
                        true
                    } else {
                        false
                    }
                }
                _ => false,
            },
            Keyword::MtPriority => match params.len() {
                0 => {
                    self.mt_priority = None;
                    true
                }
                1 if is_priority_profile(param_text(0)) => {
                    self.mt_priority = Some(p(0));
                    true
                }
                _ => false,
            },
            Keyword::FutureRelease => {
                let parsed = (params.len() == 2)
                    .then(|| {
                        let interval = param_text(0);
                        let n = match interval.first() {
                            Some(b'1'..=b'9') => parse_u64(interval, 9)?,
                            _ => return None,
                        };
                        FutureRelease::new(u32::try_from(n).ok()?, p(1)).ok()
                    })
                    .flatten();
                match parsed {
                    Some(fr) => {
                        self.future_release = Some(fr);
                        true
                    }
                    None => false,
                }
            }
            Keyword::Limits => match Self::parse_limits(line, params) {
                Some(limits) => {
                    self.limits = limits;
                    true
                }
                None => false,
            },
            Keyword::Burl => {
                self.burl = (0..params.len()).map(p).collect();
                true
            }
            Keyword::NoSoliciting => match params.len() {
                0 => {
                    self.no_soliciting = None;
                    true
                }
                1 if is_solicitation_keywords(param_text(0)) => {
                    self.no_soliciting = Some(p(0));
                    true
                }
                _ => false,
            },
            // Parameters of value-less keywords are ignored (RFC 6531 §3.3
            // says so for SMTPUTF8).
            _ => true,
        };
        if ok {
            self.present |= keyword.bit();
        } else {
            self.push_verbatim(line, kw.start);
        }
    }

    fn push_verbatim(&mut self, line: &'a [u8], start: usize) {
        let end = line.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        self.other.push(piece(line, start..end.max(start)));
    }

    fn add_mechanism_lenient(&mut self, name: &[u8]) {
        if let Ok(mech) = Mechanism::parse(name) {
            if !self.auth.contains(&mech) {
                self.auth.push(mech);
            }
        }
    }

    /// RFC 9422 §3.7: a malformed parameter voids LIMITS (`None`); a bad
    /// registered limit is ignored; unknown ones are kept.
    fn parse_limits(line: &'a [u8], params: &[Range<usize>]) -> Option<Limits<'a>> {
        let mut limits = Limits::new();
        for r in params {
            let text = line.get(r.clone())?;
            let (name, value) = match text.iter().position(|&b| b == b'=') {
                Some(eq) => (&text[..eq], Some(&text[eq + 1..])),
                None => (text, None),
            };
            if !is_limit_name(name) {
                return None;
            }
            if let Some(v) = value {
                if !is_limit_value(v) {
                    return None;
                }
            }
            match known_limit(name) {
                Some(slot) => {
                    let n = value.and_then(|v| match v.first() {
                        Some(b'1'..=b'9') => parse_u64(v, 6),
                        _ => None,
                    });
                    if let Some(n) = n.and_then(|n| u32::try_from(n).ok()) {
                        *slot.of(&mut limits) = Some(n);
                    }
                }
                None => {
                    let name_end = r.start + name.len();
                    let v = value.map(|_| piece(line, name_end + 1..r.end));
                    limits.other.push((piece(line, r.start..name_end), v));
                }
            }
        }
        Some(limits)
    }

    /// The same set, owning all its text.
    pub fn into_owned(self) -> Capabilities<'static> {
        Capabilities {
            domain: own(self.domain),
            greet: self.greet.map(own),
            present: self.present,
            size: self.size,
            auth: self.auth,
            deliver_by: self.deliver_by,
            mt_priority: self.mt_priority.map(own),
            future_release: self.future_release.map(FutureRelease::into_owned),
            limits: self.limits.into_owned(),
            burl: self.burl.into_iter().map(own).collect(),
            no_soliciting: self.no_soliciting.map(own),
            other: self.other.into_iter().map(own).collect(),
        }
    }

    /// The domain the server gave on the first line.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The text after the domain on the first line, if any.
    pub fn greet(&self) -> Option<&str> {
        self.greet.as_deref()
    }

    /// Whether the server advertised `keyword`.
    pub fn supports(&self, keyword: Keyword) -> bool {
        self.present & keyword.bit() != 0
    }

    /// The fixed message size limit (RFC 1870 §4): `None` when SIZE was not
    /// advertised, was advertised without a number, or with 0 ("no fixed
    /// maximum").
    pub fn max_size(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0 && self.supports(Keyword::Size))
    }

    /// The SIZE parameter exactly as advertised: `None` if SIZE is absent,
    /// `Some(None)` for a bare `SIZE`.
    pub fn size_param(&self) -> Option<Option<u64>> {
        self.supports(Keyword::Size).then_some(self.size)
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
        self.mt_priority.as_deref()
    }

    /// The FUTURERELEASE limits (RFC 4865 §3).
    pub fn future_release(&self) -> Option<&FutureRelease<'a>> {
        self.future_release.as_ref()
    }

    /// The LIMITS (RFC 9422), if advertised.
    pub fn limits(&self) -> Option<&Limits<'a>> {
        self.supports(Keyword::Limits).then_some(&self.limits)
    }

    /// The BURL arguments (RFC 4468 §3), e.g. `imap`.
    pub fn burl_args(&self) -> impl Iterator<Item = &str> {
        self.burl.iter().map(|s| &**s)
    }

    /// The NO-SOLICITING keyword list (RFC 3865 §2), if given.
    pub fn no_soliciting_keywords(&self) -> Option<&str> {
        self.no_soliciting.as_deref()
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
        if keyword == Keyword::FutureRelease && self.future_release.is_none() {
            return Err(CapabilityError("FUTURERELEASE needs its two parameters"));
        }
        self.present |= keyword.bit();
        Ok(())
    }

    /// Stops advertising `keyword` and forgets its parameters.
    pub fn remove(&mut self, keyword: Keyword) {
        self.present &= !keyword.bit();
        match keyword {
            Keyword::Size => self.size = None,
            Keyword::Auth => self.auth.clear(),
            Keyword::DeliverBy => self.deliver_by = None,
            Keyword::MtPriority => self.mt_priority = None,
            Keyword::FutureRelease => self.future_release = None,
            Keyword::Limits => self.limits = Limits::new(),
            Keyword::Burl => self.burl.clear(),
            Keyword::NoSoliciting => self.no_soliciting = None,
            _ => {}
        }
    }

    /// Advertises SIZE with a limit (0: no fixed maximum, RFC 1870 §4) or
    /// without a number.
    pub fn set_size(&mut self, limit: Option<u64>) {
        self.present |= Keyword::Size.bit();
        self.size = limit;
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
            if !is_priority_profile(p.as_bytes()) {
                return Err(CapabilityError("invalid MT-PRIORITY profile"));
            }
        }
        self.present |= Keyword::MtPriority.bit();
        self.mt_priority = profile;
        Ok(())
    }

    /// Advertises FUTURERELEASE.
    pub fn set_future_release(&mut self, limits: FutureRelease<'a>) {
        self.present |= Keyword::FutureRelease.bit();
        self.future_release = Some(limits);
    }

    /// Advertises LIMITS.
    pub fn set_limits(&mut self, limits: Limits<'a>) {
        self.present |= Keyword::Limits.bit();
        self.limits = limits;
    }

    /// Advertises BURL with these arguments (RFC 4468 §3: `imap` or
    /// `imap://authority`; any `ehlo-param` is accepted).
    pub fn set_burl<I, S>(&mut self, args: I) -> Result<(), CapabilityError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'a, str>>,
    {
        let args: Vec<Cow<'a, str>> = args.into_iter().map(Into::into).collect();
        if !args.iter().all(|a| is_ehlo_param(a.as_bytes())) {
            return Err(CapabilityError("invalid BURL argument"));
        }
        self.present |= Keyword::Burl.bit();
        self.burl = args;
        Ok(())
    }

    /// Advertises NO-SOLICITING with an optional keyword list (RFC 3865 §2:
    /// `word *("," word)`, at most 1000 characters).
    pub fn set_no_soliciting(
        &mut self,
        keywords: Option<Cow<'a, str>>,
    ) -> Result<(), CapabilityError> {
        if let Some(k) = &keywords {
            if !is_solicitation_keywords(k.as_bytes()) {
                return Err(CapabilityError("invalid solicitation keywords"));
            }
        }
        self.present |= Keyword::NoSoliciting.bit();
        self.no_soliciting = keywords;
        Ok(())
    }

    /// Advertises a keyword this crate does not know, with its parameters,
    /// as one line `keyword *(SP param)` (RFC 5321 §4.1.1.1 `ehlo-line`).
    /// Known keywords must use their typed setters.
    pub fn add_unknown(&mut self, line: impl Into<Cow<'a, str>>) -> Result<(), CapabilityError> {
        let line = line.into();
        let mut parts = line.split(' ');
        let kw = parts.next().unwrap_or_default().as_bytes();
        let kw_ok = kw.first().is_some_and(u8::is_ascii_alphanumeric)
            && kw.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        if !kw_ok || Keyword::parse(kw).is_some() {
            return Err(CapabilityError("invalid or known EHLO keyword"));
        }
        if !parts.all(|p| is_ehlo_param(p.as_bytes())) {
            return Err(CapabilityError("invalid EHLO parameter"));
        }
        self.other.push(line);
        Ok(())
    }

    fn wire_lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(Keyword::ALL.len() + self.other.len() + 1);
        let mut first = self.domain.to_string();
        if let Some(g) = &self.greet {
            first.push(' ');
            first.push_str(g);
        }
        lines.push(first);
        for &kw in Keyword::ALL {
            if !self.supports(kw) {
                continue;
            }
            let mut line = kw.name().to_owned();
            let mut param = |p: &str| {
                line.push(' ');
                line.push_str(p);
            };
            match kw {
                Keyword::Size => {
                    if let Some(n) = self.size {
                        param(&n.to_string());
                    }
                }
                // Never the old `AUTH=` form (catalog §9 item 19).
                Keyword::Auth => self.auth.iter().for_each(|m| param(m.as_str())),
                Keyword::DeliverBy => {
                    if let Some(n) = self.deliver_by {
                        param(&n.to_string());
                    }
                }
                Keyword::MtPriority => self.mt_priority.iter().for_each(|p| param(p)),
                Keyword::FutureRelease => {
                    if let Some(fr) = &self.future_release {
                        param(&fr.max_interval.to_string());
                        param(&fr.max_date_time);
                    }
                }
                Keyword::Limits => {
                    let l = &self.limits;
                    for (name, v) in [
                        ("MAILMAX", l.mail_max),
                        ("RCPTMAX", l.rcpt_max),
                        ("RCPTDOMAINMAX", l.rcpt_domain_max),
                    ] {
                        if let Some(v) = v {
                            param(&format!("{name}={v}"));
                        }
                    }
                    for (name, v) in &l.other {
                        match v {
                            Some(v) => param(&format!("{name}={v}")),
                            None => param(name),
                        }
                    }
                }
                Keyword::Burl => self.burl.iter().for_each(|a| param(a)),
                Keyword::NoSoliciting => self.no_soliciting.iter().for_each(|k| param(k)),
                _ => {}
            }
            lines.push(line);
        }
        lines.extend(self.other.iter().map(|l| l.to_string()));
        lines
    }

    /// The multi-line `250` reply advertising this set: the domain (and
    /// greeting) first, then one keyword per line, unknown lines last.
    /// Fails only if a line would exceed 512 octets or parsed greeting text
    /// holds a control character.
    pub fn to_reply(&self) -> Result<Reply<'static>, ReplyTextError> {
        Reply::new(ReplyCode::OK, None, self.wire_lines())
    }

    /// Appends [`Self::to_reply`] in wire form.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), ReplyTextError> {
        self.to_reply()?.write_to(out);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum KnownLimit {
    Mail,
    Rcpt,
    RcptDomain,
}

impl KnownLimit {
    fn of<'l>(self, limits: &'l mut Limits<'_>) -> &'l mut Option<u32> {
        match self {
            KnownLimit::Mail => &mut limits.mail_max,
            KnownLimit::Rcpt => &mut limits.rcpt_max,
            KnownLimit::RcptDomain => &mut limits.rcpt_domain_max,
        }
    }
}

fn known_limit(name: &[u8]) -> Option<KnownLimit> {
    if name.eq_ignore_ascii_case(b"MAILMAX") {
        Some(KnownLimit::Mail)
    } else if name.eq_ignore_ascii_case(b"RCPTMAX") {
        Some(KnownLimit::Rcpt)
    } else if name.eq_ignore_ascii_case(b"RCPTDOMAINMAX") {
        Some(KnownLimit::RcptDomain)
    } else {
        None
    }
}

/// 1 to `max_digits` ASCII digits, with checked arithmetic (catalog §9
/// item 15).
fn parse_u64(digits: &[u8], max_digits: usize) -> Option<u64> {
    if digits.is_empty() || digits.len() > max_digits {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// RFC 5321 `ehlo-param = 1*(%d33-126)`.
fn is_ehlo_param(p: &[u8]) -> bool {
    !p.is_empty() && p.iter().all(|&b| (33..=126).contains(&b))
}

/// RFC 9422 `limit-name = 1*(ALPHA / DIGIT / "-" / "_")`.
fn is_limit_name(n: &[u8]) -> bool {
    !n.is_empty()
        && n.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 9422 `limit-value = 1*(%x21-3A / %x3C-7E)`.
fn is_limit_value(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b';')
}

/// RFC 6710 `priority-profile = 1*20(ALPHA / DIGIT / "-" / "_" / ".")`.
fn is_priority_profile(p: &[u8]) -> bool {
    (1..=20).contains(&p.len())
        && p.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// RFC 3865 `word *("," word)`, `word = ALPHA *wordchar`, ≤ 1000 chars.
fn is_solicitation_keywords(k: &[u8]) -> bool {
    k.len() <= 1000
        && k.split(|&b| b == b',').all(|w| {
            w.first().is_some_and(u8::is_ascii_alphabetic)
                && w.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        })
}

/// RFC 3339 §5.6 `date-time`, with calendar checks (days per month, leap
/// years, a leap second only as :60).
pub(crate) fn is_rfc3339_date_time(s: &[u8]) -> bool {
    fn num(s: &[u8], range: Range<usize>) -> Option<u32> {
        let d = s.get(range)?;
        d.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    }
    let check = || -> Option<()> {
        let year = num(s, 0..4)?;
        let month = num(s, 5..7)?;
        let day = num(s, 8..10)?;
        let (hour, minute, second) = (num(s, 11..13)?, num(s, 14..16)?, num(s, 17..19)?);
        let seps = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| s.get(i) != Some(&c))
            || !matches!(s.get(10), Some(b'T' | b't'))
        {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = s.get(19..)?;
        if let Some(frac) = rest.strip_prefix(b".") {
            let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            rest = &frac[n..];
        }
        match rest {
            [b'Z' | b'z'] => Some(()),
            [b'+' | b'-', ..] if rest.len() == 6 && rest[3] == b':' => {
                let (h, m) = (num(rest, 1..3)?, num(rest, 4..6)?);
                (h <= 23 && m <= 59).then_some(())
            }
            _ => None,
        }
    };
    check().is_some()
}
