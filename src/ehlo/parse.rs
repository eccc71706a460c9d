//! Reading a [`Capabilities`] set from an EHLO or LHLO reply (RFC 5321
//! §4.1.1.1): lenient, as a client must be with deployed servers.

use std::ops::Range;

use super::keyword::first_token;
use super::{piece, reply_error, tokens, Capabilities, FutureRelease, Keyword, Mechanism, Tokens};
use crate::error::SyntaxError;
use crate::ext;
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
        // `AUTH=LOGIN PLAIN`, a pre-RFC 2554 form old servers still send, is
        // merged with `AUTH`. The
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
                1 => match ext::parse_digits(param_text(0), 20) {
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
                    } else if let Some(n) = ext::parse_digits(min, 9) {
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
                1 if ext::mt_priority::is_profile(param_text(0)) => {
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
                            Some(b'1'..=b'9') => ext::parse_digits(interval, 9)?,
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
            Keyword::Limits => match ext::limits::parse_ehlo(line, params) {
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
                1 if ext::no_soliciting::is_keywords(param_text(0)) => {
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
}
