//! Reading a [`Capabilities`] set from an EHLO or LHLO reply (RFC 5321
//! §4.1.1.1): lenient, as a client must be with deployed servers. A fast
//! walk over the reply's raw lines reads the usual ones; the EHLO grammar
//! on nom ([`crate::grammar::ehlo`]) reads the rest, and every line in
//! [`Capabilities::from_reply_general`].

use std::ops::Range;

use super::{piece, reply_error, Capabilities, FutureRelease, Keyword, Mechanism, Text, Words};
use crate::error::SyntaxError;
use crate::ext;
use crate::grammar::ehlo::{self as grammar, EhloLine};
use crate::octets::pack::{load_le, pack_const, upper8};
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
        let block = reply.wire_lines();
        let mut lines = reply.lines();
        // The first line's text: from the raw lines when at hand, found
        // with the same search that finds where the keyword lines start.
        let (first, rest) = match block {
            Some(block) => {
                let nl = scan::find(block, b'\n').unwrap_or(block.len());
                let line = block.get(..nl).unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                (line.get(4..).unwrap_or_default(), block.get(nl + 1..))
            }
            None => (lines.next().unwrap_or_default(), None),
        };
        // Leading spaces are skipped: RFC 4141 §9 shows `250- example.com`.
        let start = first.iter().position(|&b| b != b' ');
        let start = start.ok_or(reply_error("EHLO reply names no domain"))?;
        let domain_end = start + scan::find(&first[start..], b' ').unwrap_or(first.len() - start);
        let (domain, greet) = (&first[start..domain_end], first.get(domain_end + 1..));
        // Built where it is returned: the set is not moved again.
        let mut result = Ok(Capabilities::empty(Text::from_octets(domain)));
        let Ok(caps) = &mut result else {
            return result;
        };
        caps.greet = greet.filter(|g| !g.is_empty()).map(Text::from_octets);
        match rest {
            Some(lines) => caps.apply_wire(lines),
            None => lines.for_each(|line| caps.apply_general(line)),
        }
        result
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
        let text = |r: Range<usize>| Text::from_octets(first.get(r).unwrap_or_default());
        let mut caps = Capabilities::empty(text(domain));
        caps.greet = greet.map(text);
        lines.for_each(|line| caps.apply_general(line));
        Ok(caps)
    }

    /// Applies the keyword lines of `block`, a parsed reply's lines as
    /// received after the first. A line's keyword (up to 24 octets) is
    /// found with at most three word loads: it ends at the first octet
    /// below `!`, which must be SP or the line end. The keyword's octets,
    /// upper-cased as loaded, find it in the keyword table; for a keyword
    /// alone (most lines) nothing else of the line is read. Lines it
    /// cannot read so (a leading SP, a blank line, a longer keyword, a
    /// control after the keyword) go to the grammar.
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
        // Eight octets at `at`, zero-padded: a zero is below `!` too.
        let word = |at: usize| load_le(text.get(at..).map_or(&[][..], |t| &t[..t.len().min(8)]));
        let lo = word(0);
        let (kw_len, key) = match scan::below_bang(lo) {
            Some(n) => (n, u128::from(upper8(lo & scan::low_octets(n)))),
            None => {
                let hi = word(8);
                let n = match scan::below_bang(hi) {
                    Some(n) => 8 + n,
                    // ENHANCEDSTATUSCODES is 19 octets.
                    None => 16 + scan::below_bang(word(16)).unwrap_or(8),
                };
                let hi_key = upper8(hi & scan::low_octets(n - 8));
                (n, u128::from(upper8(lo)) | u128::from(hi_key) << 64)
            }
        };
        let after = text.get(kw_len..).unwrap_or_default();
        let line_end = match after {
            [b'\n', ..] => Some(1),
            [b'\r', b'\n', ..] => Some(2),
            _ => None,
        };
        let known = match after.first() {
            Some(b' ' | b'\r' | b'\n') if kw_len > 0 && kw_len < 24 => {
                Keyword::from_packed(key, text.get(..kw_len).unwrap_or_default())
            }
            _ => None,
        };
        match (known, line_end) {
            // Most lines: a keyword that takes no parameters, alone.
            (Some(kw), Some(end)) if !kw.takes_params() => {
                self.present |= kw.bit();
                return kw_len + end;
            }
            _ => {}
        }
        let nl = scan::find(text, b'\n').unwrap_or(text.len());
        let line = text.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // `AUTH=LOGIN PLAIN`, a pre-RFC 2554 form old servers still send,
        // is merged with `AUTH`; the key holds the first octets
        // upper-cased.
        const AUTH_EQ: u64 = pack_const("AUTH=") as u64;
        match known {
            Some(kw) => self.apply_known(kw, line, 0..kw_len),
            None if kw_len >= 5 && key as u64 & scan::low_octets(5) == AUTH_EQ => {
                self.apply_auth_eq(line, 5..line.len())
            }
            None => self.apply_general(line),
        }
        nl + 1
    }

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
        for word in words {
            let name = line.get(word.range).unwrap_or_default();
            let mech = match Mechanism::from_packed(word.key, name.len()) {
                Some(known) => known,
                None => match Mechanism::parse(name) {
                    Ok(other) => other,
                    Err(_) => continue,
                },
            };
            if !self.auth.contains(&mech) {
                if self.auth.capacity() == 0 {
                    // The usual handful in one allocation, without the
                    // growth path of a first push.
                    self.auth = Vec::with_capacity(4);
                }
                self.auth.push(mech);
            }
        }
    }
}
