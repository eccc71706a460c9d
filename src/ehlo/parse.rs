//! Reading a [`Capabilities`] set from an EHLO or LHLO reply (RFC 5321
//! §4.1.1.1): lenient, as a client must be with deployed servers. A fast
//! walk over the reply's raw lines reads the usual ones; the EHLO grammar
//! on nom ([`crate::grammar::ehlo`]) reads the rest, and every line in
//! [`Capabilities::from_reply_general`].

use std::ops::Range;

use super::{
    load8, piece, reply_error, Capabilities, FutureRelease, Keyword, Mechanism, Text, Words,
};
use crate::error::SyntaxError;
use crate::ext;
use crate::grammar::ehlo::{self as grammar, EhloLine};
use crate::octets::pack::{pack_const, upper8};
use crate::octets::scan;
use crate::reply::Reply;
use crate::values::ReplyCode;

impl<'a> Capabilities<'a> {
    /// Reads the capabilities from a 250 reply to EHLO or LHLO.
    ///
    /// Fails only if the reply is not 250 or its first line names no
    /// domain; keyword lines never fail (see the module notes).
    pub fn from_reply<'r>(reply: &'r Reply<'_>) -> Result<Capabilities<'r>, SyntaxError> {
        if reply.code() != ReplyCode::OK {
            return Err(reply_error("EHLO reply is not 250"));
        }
        if let Some(block) = reply.wire_lines() {
            return Capabilities::from_block(block);
        }
        let mut lines = reply.lines();
        let mut caps = Capabilities::with_first_line(lines.next().unwrap_or_default())?;
        lines.for_each(|line| caps.apply_general(line));
        Ok(caps)
    }

    /// The set a parsed 250 reply's lines give, `block` being those lines
    /// as received (codes and line ends included, no enhanced codes).
    pub(super) fn from_block(block: &'a [u8]) -> Result<Self, SyntaxError> {
        let nl = scan::find(block, b'\n').unwrap_or(block.len());
        let line = block.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut caps = Capabilities::with_first_line(line.get(4..).unwrap_or_default())?;
        caps.apply_wire(block.get(nl + 1..).unwrap_or_default());
        Ok(caps)
    }

    /// An empty set for the first line's text, `Domain [ SP ehlo-greet ]`
    /// (RFC 5321 §4.1.1.1), read leniently: leading spaces are skipped
    /// (RFC 4141 §9 shows `250- example.com`), the domain is the first
    /// word, the greeting what follows its SP.
    pub(super) fn with_first_line(first: &'a [u8]) -> Result<Self, SyntaxError> {
        let start = first.iter().position(|&b| b != b' ');
        let start = start.ok_or(reply_error("EHLO reply names no domain"))?;
        let domain_end = start + scan::find(&first[start..], b' ').unwrap_or(first.len() - start);
        // A lone SP after the domain is no greeting.
        let end = match first.get(domain_end + 1..) {
            Some(greet) if !greet.is_empty() => first.len(),
            _ => domain_end,
        };
        let (text, domain_len) = Text::first_line(
            first.get(start..end).unwrap_or_default(),
            domain_end - start,
        );
        Ok(Capabilities::empty(text, domain_len))
    }

    /// [`Capabilities::from_reply`] without the fast walk: every line read
    /// by the RFC 5321 §4.1.1.1 grammar on nom. The same result on every
    /// reply (the differential tests and the `ehlo` fuzz target hold the
    /// two to it), only slower. For testing a parser against this
    /// crate's, or this crate's two readings against each other.
    pub fn from_reply_general<'r>(reply: &'r Reply<'_>) -> Result<Capabilities<'r>, SyntaxError> {
        if reply.code() != ReplyCode::OK {
            return Err(reply_error("EHLO reply is not 250"));
        }
        let mut lines = reply.lines();
        let first = lines.next().unwrap_or_default();
        let (domain, greet) =
            grammar::ehlo_greeting(first).ok_or(reply_error("EHLO reply names no domain"))?;
        // The greeting follows the domain's one SP (RFC 5321 `ehlo-greet`
        // after SP), so the two are one piece of the line.
        let end = greet.map_or(domain.end, |g| g.end);
        let (text, domain_len) = Text::first_line(
            first.get(domain.start..end).unwrap_or_default(),
            domain.len(),
        );
        let mut caps = Capabilities::empty(text, domain_len);
        lines.for_each(|line| caps.apply_general(line));
        Ok(caps)
    }

    /// Applies the keyword lines of `block`, a parsed reply's lines as
    /// received after the first. A line's keyword (up to 24 octets) is
    /// found with at most three word loads: it ends at the first octet
    /// below `!`, which must be SP or the line end. Its octets, packed as
    /// loaded, find it in the keyword table (folded to upper case only if
    /// that misses); for a keyword alone (most lines) nothing else of the
    /// line is read. A known keyword with parameters has them read word by
    /// word; a line that starts with no known keyword (a leading SP, a
    /// blank line, a longer or unknown word, a control after it) goes to
    /// the grammar.
    fn apply_wire(&mut self, block: &'a [u8]) {
        let mut pos = 0;
        while let Some(rest) = block.get(pos..).filter(|r| !r.is_empty()) {
            // The parser left `code [SP / "-"] text [CR] LF`; a line
            // without separator is a bare code.
            let text_start = match rest.get(3) {
                Some(b'-' | b' ') => 4,
                _ => 3,
            };
            let text = rest.get(text_start..).unwrap_or_default();
            pos += text_start + self.apply_wire_line(text);
        }
    }

    /// Applies the line at the start of `text` (its text, then its line
    /// end and what follows); returns the octets it took, line end
    /// included.
    #[inline(always)]
    fn apply_wire_line(&mut self, text: &'a [u8]) -> usize {
        match self.keyword_alone(text, true) {
            Alone::Done(used) => used,
            Alone::Line(keyword) => {
                let nl = scan::find(text, b'\n').unwrap_or(text.len());
                let line = text.get(..nl).unwrap_or_default();
                self.apply_line(line.strip_suffix(b"\r").unwrap_or(line), keyword);
                nl + 1
            }
        }
    }

    /// Applies a line at the start of `text` (text, line end, what
    /// follows) if it is the usual kind: a known keyword that takes no
    /// parameters, or SIZE or DELIVERBY with a number, and right after it
    /// the line end (CRLF, or with `bare_lf` a bare LF). Returns the octets
    /// it took, line end included ([`Alone::Done`]); for any other line,
    /// having changed nothing, what it found of the line's first word
    /// ([`Alone::Line`]). Such a line holds no octet below `!` but the SP
    /// before a number: nothing in it breaks the reply grammar.
    #[inline(always)]
    pub(super) fn keyword_alone(&mut self, text: &[u8], bare_lf: bool) -> Alone {
        let (kw_len, raw) = keyword_octets(text);
        let known = lookup(text, kw_len, raw);
        let found = FirstWord { kw_len, raw, known };
        let after = text.get(kw_len..).unwrap_or_default();
        let line_end = match after {
            [b'\n', ..] if bare_lf => Some(1),
            [b'\r', b'\n', ..] => Some(2),
            _ => None,
        };
        let Some(kw) = known else {
            return Alone::Line(found);
        };
        match (kw, line_end) {
            // Most lines: a keyword that takes no parameters, alone.
            (kw, Some(end)) if !kw.takes_params() => {
                self.present |= kw.bit();
                Alone::Done(kw_len + end)
            }
            // `SIZE n` and `DELIVERBY n` (RFC 1870 §4, RFC 2852 §3), the
            // usual parameters: a number alone, read up to the line end.
            // Anything else, or a number that might not fit, takes the
            // general way.
            (kw @ (Keyword::Size | Keyword::DeliverBy), None) => {
                let most = if kw == Keyword::Size { 19 } else { 9 };
                let Some((n, used)) = number_then_line_end(after, most, bare_lf) else {
                    return Alone::Line(found);
                };
                if kw == Keyword::Size {
                    self.set_size_value(Some(n));
                } else {
                    self.deliver_by = u32::try_from(n).ok();
                }
                self.present |= kw.bit();
                Alone::Done(kw_len + used)
            }
            _ => Alone::Line(found),
        }
    }

    /// Applies one keyword line's text (without its line end), whose first
    /// word [`Capabilities::keyword_alone`] found.
    pub(super) fn apply_line(&mut self, line: &'a [u8], first: FirstWord) {
        // `AUTH=LOGIN PLAIN`, a pre-RFC 2554 form old servers still send,
        // is merged with `AUTH`.
        const AUTH_EQ: u64 = pack_const("AUTH=") as u64;
        let FirstWord { kw_len, raw, known } = first;
        match known {
            Some(kw) => self.apply_known(kw, line, 0..kw_len),
            None if kw_len >= 5 && upper(raw) as u64 & scan::low_octets(5) == AUTH_EQ => {
                self.apply_auth_eq(line, 5..line.len())
            }
            None => self.apply_general(line),
        }
    }
}

/// What [`Capabilities::keyword_alone`] made of a line.
pub(super) enum Alone {
    /// The line is read; the octets it took, line end included.
    Done(usize),
    /// The line is for [`Capabilities::apply_line`], with its first word.
    Line(FirstWord),
}

/// The first word of a keyword line: its length (up to the first octet
/// below `!`), its first 16 octets packed as they are, and the known
/// keyword it is, if SP or the line end follows it.
#[derive(Clone, Copy)]
pub(super) struct FirstWord {
    kw_len: usize,
    raw: u128,
    known: Option<Keyword>,
}

/// The keyword at the start of `text`: its length, up to the first octet
/// below `!` (at most 24 octets are looked at), and its first 16 octets
/// packed as they are (a keyword sent in upper case, as nearly all are,
/// is then found without folding). A zero of a short load's padding is
/// below `!` too.
#[inline(always)]
fn keyword_octets(text: &[u8]) -> (usize, u128) {
    let lo = load8(text, 0);
    match scan::below_bang(lo) {
        Some(n) => (n, u128::from(lo & scan::low_octets(n))),
        None => {
            let hi = load8(text, 8);
            let n = match scan::below_bang(hi) {
                Some(n) => 8 + n,
                // ENHANCEDSTATUSCODES is 19 octets.
                None => 16 + scan::below_bang(load8(text, 16)).unwrap_or(8),
            };
            (
                n,
                u128::from(lo) | u128::from(hi & scan::low_octets(n - 8)) << 64,
            )
        }
    }
}

/// [`keyword_octets`]' key with ASCII letters upper-cased.
#[inline(always)]
fn upper(raw: u128) -> u128 {
    u128::from(upper8(raw as u64)) | u128::from(upper8((raw >> 64) as u64)) << 64
}

/// The known keyword that is the first word of `text`, `kw_len` octets
/// packed to `raw`, if SP or the line end follows it.
#[inline(always)]
fn lookup(text: &[u8], kw_len: usize, raw: u128) -> Option<Keyword> {
    match text.get(kw_len) {
        Some(b' ' | b'\r' | b'\n') | None if kw_len > 0 && kw_len < 24 => {
            let name = text.get(..kw_len).unwrap_or_default();
            match Keyword::from_packed(raw, name) {
                Some(kw) => Some(kw),
                None => Keyword::from_packed(upper(raw), name),
            }
        }
        _ => None,
    }
}

/// `SP 1*DIGIT line-end` at the start of `after`, with at most `most`
/// digits: the number and the octets it took, line end included.
#[inline(always)]
fn number_then_line_end(after: &[u8], most: usize, bare_lf: bool) -> Option<(u64, usize)> {
    let digits = after.strip_prefix(b" ")?;
    let len = digits
        .iter()
        .take(most + 1)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if len == 0 || len > most {
        return None;
    }
    let end = match digits.get(len..)? {
        [b'\n', ..] if bare_lf => 1,
        [b'\r', b'\n', ..] => 2,
        _ => return None,
    };
    let n = digits[..len]
        .iter()
        .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    Some((n, 1 + len + end))
}

impl<'a> Capabilities<'a> {
    /// Applies one keyword line's text as the EHLO grammar reads it.
    fn apply_general(&mut self, line: &'a [u8]) {
        match grammar::lenient_ehlo_line(line) {
            // An empty line, as Postfix smtp-sink ends its reply with.
            EhloLine::Blank => {}
            EhloLine::AuthEq { mechanisms } => self.apply_auth_eq(line, mechanisms),
            EhloLine::Line {
                keyword,
                is_keyword,
                ..
            } => {
                let known = is_keyword
                    .then(|| Keyword::parse(line.get(keyword.clone()).unwrap_or_default()))
                    .flatten();
                match known {
                    Some(kw) => self.apply_known(kw, line, keyword),
                    None => self.push_verbatim(line, keyword.start),
                }
            }
        }
    }

    /// `AUTH=` and the mechanisms in `mechanisms` of `line`: AUTH is
    /// offered, and each valid mechanism joins the `AUTH` line's.
    fn apply_auth_eq(&mut self, line: &'a [u8], mechanisms: Range<usize>) {
        self.present |= Keyword::Auth.bit();
        let list = line.get(mechanisms).unwrap_or_default();
        self.add_mechanisms(list, Words::from(list, 0));
    }

    /// Applies `line`, whose first word, at `kw`, is the known `keyword`,
    /// and whose SP-separated words after it are its parameters. A keyword
    /// whose parameters are malformed is kept verbatim instead.
    fn apply_known(&mut self, keyword: Keyword, line: &'a [u8], kw: Range<usize>) {
        let words = Words::from(line, kw.end);
        let mut params = words.clone().map(|w| w.range);
        let text = |r: Range<usize>| line.get(r).unwrap_or_default();
        // At most `N` parameters, or `None` when there are more.
        fn up_to<const N: usize>(
            params: &mut impl Iterator<Item = Range<usize>>,
        ) -> Option<[Option<Range<usize>>; N]> {
            let got = core::array::from_fn(|_| params.next());
            params.next().is_none().then_some(got)
        }
        let ok = match keyword {
            Keyword::Size => match up_to::<1>(&mut params) {
                Some([None]) => {
                    self.set_size_value(None);
                    true
                }
                Some([Some(n)]) => match ext::parse_digits(text(n), 20) {
                    Some(n) => {
                        self.set_size_value(Some(n));
                        true
                    }
                    None => false,
                },
                _ => false,
            },
            Keyword::Auth => {
                self.add_mechanisms(line, words);
                true
            }
            Keyword::DeliverBy => match up_to::<1>(&mut params) {
                Some([None]) => {
                    self.deliver_by = None;
                    true
                }
                Some([Some(r)]) => {
                    // RFC 2852 §3: min-by-time *("," extension-token); no
                    // extension tokens are defined, so they are ignored.
                    let min = text(r).split(|&b| b == b',').next().unwrap_or_default();
                    if min.is_empty() {
                        self.deliver_by = None;
                        true
                    } else if let Some(n) = ext::parse_digits(min, 9) {
                        self.deliver_by = u32::try_from(n).ok();
                        true
                    } else {
                        false
                    }
                }
                _ => false,
            },
            Keyword::MtPriority => match up_to::<1>(&mut params) {
                Some([None]) => {
                    if let Some(rare) = self.rare.as_deref_mut() {
                        rare.mt_priority = None;
                    }
                    true
                }
                Some([Some(r)]) if ext::mt_priority::is_profile(text(r.clone())) => {
                    self.rare_mut().mt_priority = Some(piece(line, r));
                    true
                }
                _ => false,
            },
            Keyword::FutureRelease => {
                let parsed = match up_to::<2>(&mut params) {
                    Some([Some(interval), Some(date)]) => {
                        let interval = text(interval);
                        match interval.first() {
                            Some(b'1'..=b'9') => ext::parse_digits(interval, 9)
                                .and_then(|n| u32::try_from(n).ok())
                                .and_then(|n| FutureRelease::new(n, piece(line, date)).ok()),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match parsed {
                    Some(fr) => {
                        self.rare_mut().future_release = Some(fr);
                        true
                    }
                    None => false,
                }
            }
            Keyword::Limits => {
                // Rare: the one keyword whose parameters are collected.
                let ranges: Vec<Range<usize>> = params.collect();
                match ext::limits::parse_ehlo(line, &ranges) {
                    Some(limits) => {
                        self.rare_mut().limits = limits;
                        true
                    }
                    None => false,
                }
            }
            Keyword::Burl => {
                let args = params.map(|r| piece(line, r)).collect();
                self.rare_mut().burl = args;
                true
            }
            Keyword::NoSoliciting => match up_to::<1>(&mut params) {
                Some([None]) => {
                    if let Some(rare) = self.rare.as_deref_mut() {
                        rare.no_soliciting = None;
                    }
                    true
                }
                Some([Some(r)]) if ext::no_soliciting::is_keywords(text(r.clone())) => {
                    self.rare_mut().no_soliciting = Some(piece(line, r));
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

    /// Adds each valid mechanism among `words` of `line` that is not
    /// there yet; invalid names are skipped.
    fn add_mechanisms(&mut self, line: &[u8], words: Words<'_>) {
        // The known mechanisms already offered, a bit each.
        let mut seen = self.auth.iter().fold(0u16, |m, mech| m | mech.known_bit());
        for word in words {
            let name = line.get(word.range).unwrap_or_default();
            let mech = match Mechanism::from_packed(word.key, name.len()) {
                Some(known) if seen & known.known_bit() != 0 => continue,
                Some(known) => {
                    seen |= known.known_bit();
                    known
                }
                None => match Mechanism::parse(name) {
                    Ok(other) if !self.auth.contains(&other) => other,
                    _ => continue,
                },
            };
            if self.auth.capacity() == 0 {
                // The usual handful in one allocation, without the growth
                // path of a first push.
                self.auth = Vec::with_capacity(4);
            }
            self.auth.push(mech);
        }
    }
}
