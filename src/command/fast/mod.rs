//! Fused fast paths for the command lines a server sees most: `DATA`,
//! `RSET`, `QUIT`, `NOOP`; `EHLO`/`HELO domain`; `MAIL FROM:<mailbox>`
//! with `SIZE` and `BODY`; `RCPT TO:<mailbox>` with `NOTIFY` and `ORCPT`.
//!
//! Each runs over the raw input once, with one class table: it frames the
//! line (CRLF), checks every octet, validates the path (dot-string local
//! part, LDH domain labels, the 64/63/255/256-octet limits) and the
//! parameters as it goes, and returns the parts as spans. On anything
//! else — a quote, a literal, an escape, 8-bit text, an unknown or
//! repeated parameter, white space out of place, any error — it returns
//! `None` and the general parser reads the line from the start, so the
//! result (value, error kind and text) is always the general parser's.
//! `differential` in this module's tests checks exactly that.

use super::Command;
use crate::ext::body::Body;
use crate::ext::dsn::{Notify, Orcpt};
use crate::octets::class::table;
use crate::octets::pack::{lower4, lower8, raw8, starts_with_kw, word4, word8};
use crate::octets::scan::{non_alnum, non_xchar};
use crate::options::ParseOptions;
use crate::params::{MailParams, RcptParams};
use crate::values::{
    Domain, ForwardPath, Host, LocalPart, Mailbox, ReversePath, MAX_DOMAIN_LEN, MAX_LABEL_LEN,
    MAX_LOCAL_PART_LEN, MAX_PATH_LEN,
};

/// `atext` (RFC 5321 §4.1.2).
const ATEXT: u8 = 1;
/// `ALPHA / DIGIT`.
const LETDIG: u8 = 2;
const HYPHEN: u8 = 4;
const DOT: u8 = 8;
/// `xchar` (RFC 3461 §4): `!`..`~` except `+` and `=`; every octet of an
/// `esmtp-value` that needs no second look.
const XCHAR: u8 = 16;

const fn class(b: u8) -> u8 {
    let mut c = 0;
    if crate::octets::class::atext_const(b) {
        c |= ATEXT;
    }
    if b.is_ascii_alphanumeric() {
        c |= LETDIG;
    }
    if b == b'-' {
        c |= HYPHEN;
    }
    if b == b'.' {
        c |= DOT;
    }
    if b >= 33 && b <= 126 && b != b'+' && b != b'=' {
        c |= XCHAR;
    }
    c
}

static CLASS: [u8; 256] = table!(class);

#[inline(always)]
fn cls(b: u8) -> u8 {
    CLASS[b as usize]
}

/// A line the fast path understood, as spans of the input.
pub(super) enum Fast<'a> {
    Data,
    Rset,
    Quit,
    Noop,
    Ehlo(&'a str),
    Helo(&'a str),
    Mail {
        /// `(local, domain)`, or `None` for `<>`.
        from: Option<(&'a str, &'a str)>,
        size: Option<u64>,
        body: Option<Body>,
    },
    Rcpt {
        local: &'a str,
        domain: &'a str,
        notify: Option<Notify>,
        /// The address of `ORCPT=rfc822;address` (all `xchar`).
        orcpt: Option<&'a str>,
    },
}

/// Checks `\r\n` at `i` (after the last octet of the line) and that the
/// general framing would have found this line end: the `\n` lies within
/// `max_line`. The line's last octet must not be white space, which the
/// general parser would trim. Returns the octets used.
#[inline(always)]
fn line_end(input: &[u8], i: usize, opts: &ParseOptions) -> Option<usize> {
    if input.get(i..i.checked_add(2)?)? != b"\r\n" || i + 1 >= opts.max_line {
        return None;
    }
    Some(i + 2)
}

/// The index of the first octet from `i` on that is not a letter or a
/// digit (or the end of the input), eight octets at a time.
#[inline(always)]
fn skip_alnum(input: &[u8], mut i: usize) -> usize {
    while let Some(w) = raw8(input, i) {
        let m = non_alnum(w);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while input.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        i += 1;
    }
    i
}

/// Scans a dot-string local part from `i`; returns the index of the
/// octet after it, which must be `@`.
#[inline(always)]
fn local_part(input: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    // A dot may not stand at `no_dot` (the start, or right after a dot).
    let mut no_dot = start;
    loop {
        // Letters and digits in bulk; other atext and dots one by one.
        i = skip_alnum(input, i);
        let c = cls(*input.get(i)?);
        if c & ATEXT != 0 {
            i += 1;
        } else if c & DOT != 0 {
            if i == no_dot {
                return None;
            }
            i += 1;
            no_dot = i;
        } else {
            break;
        }
    }
    // Empty, or ending in a dot.
    if i == no_dot || i - start > MAX_LOCAL_PART_LEN || input.get(i) != Some(&b'@') {
        return None;
    }
    Some(i)
}

/// Scans an LDH domain from `start` (RFC 5321 §4.1.2 `Domain`, labels of
/// 1–63 octets, at most 255 in all); returns the index after it.
#[inline(always)]
fn domain(input: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    let mut label = start;
    // The class of the previous octet; DOT at the start, so a leading '-'
    // or '.' is caught as after a dot.
    let mut prev = DOT;
    loop {
        // Letters and digits in bulk; hyphens and dots one by one.
        let j = skip_alnum(input, i);
        if j > i {
            prev = LETDIG;
            i = j;
        }
        let c = cls(*input.get(i)?);
        if c & HYPHEN != 0 {
            if prev == DOT {
                return None;
            }
            prev = HYPHEN;
        } else if c & DOT != 0 {
            if prev != LETDIG || i - label > MAX_LABEL_LEN {
                return None;
            }
            prev = DOT;
            label = i + 1;
        } else {
            break;
        }
        i += 1;
    }
    if prev != LETDIG || i - label > MAX_LABEL_LEN || i - start > MAX_DOMAIN_LEN {
        return None;
    }
    Some(i)
}

/// Scans `xchar`s from `start` up to SP or CR; returns the index after
/// the last one. `None` when there are none or another octet stops them.
/// Eight octets at a time while eight remain, then one by one.
#[inline(always)]
fn xchars(input: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while let Some(w) = raw8(input, i) {
        let bad = non_xchar(w);
        if bad != 0 {
            i += (bad.trailing_zeros() / 8) as usize;
            return xchars_end(input, start, i);
        }
        i += 8;
    }
    while cls(*input.get(i)?) & XCHAR != 0 {
        i += 1;
    }
    xchars_end(input, start, i)
}

#[inline(always)]
fn xchars_end(input: &[u8], start: usize, i: usize) -> Option<usize> {
    match input.get(i)? {
        b' ' | b'\r' if i > start => Some(i),
        _ => None,
    }
}

/// `(local, domain)` of `local@domain>` from `start`, and the index of
/// the `>`.
#[inline(always)]
fn mailbox(input: &[u8], start: usize) -> Option<(usize, usize)> {
    let at = local_part(input, start)?;
    let end = domain(input, at + 1)?;
    // The path, brackets included (RFC 5321 §4.5.3.1.3).
    if input.get(end) != Some(&b'>') || end + 2 - start > MAX_PATH_LEN {
        return None;
    }
    Some((at, end))
}

/// Text of the ASCII span `input[a..b]`.
#[inline(always)]
fn text(s: &str, a: usize, b: usize) -> Option<&str> {
    s.get(a..b)
}

/// The fast path: `Some` with the line's parts and the octets used, or
/// `None` for the general parser.
#[inline(always)]
pub(super) fn scan<'a>(input: &'a [u8], opts: &ParseOptions) -> Option<(Fast<'a>, usize)> {
    const DATA: u32 = lower4(b"data");
    const RSET: u32 = lower4(b"rset");
    const QUIT: u32 = lower4(b"quit");
    const NOOP: u32 = lower4(b"noop");
    const EHLO: u32 = lower4(b"ehlo");
    const HELO: u32 = lower4(b"helo");
    const MAIL: u32 = lower4(b"mail");
    const RCPT: u32 = lower4(b"rcpt");
    let verb = word4(input)?;
    // The fold is exact only for letters: the verb must be four of them.
    if !input.get(..4)?.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    match input.get(4)? {
        b'\r' => {
            let used = line_end(input, 4, opts)?;
            let f = match verb {
                DATA => Fast::Data,
                RSET => Fast::Rset,
                QUIT => Fast::Quit,
                NOOP => Fast::Noop,
                _ => return None,
            };
            Some((f, used))
        }
        b' ' => match verb {
            RCPT => rcpt(input, opts),
            MAIL => mail(input, opts),
            EHLO | HELO => {
                let end = domain(input, 5)?;
                let used = line_end(input, end, opts)?;
                let d = std::str::from_utf8(input.get(5..end)?).ok()?;
                Some((
                    if verb == EHLO {
                        Fast::Ehlo(d)
                    } else {
                        Fast::Helo(d)
                    },
                    used,
                ))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A parameter's `keyword=` in lower case, from its extension's constant,
/// as [`starts_with_kw`] takes it (at most eight octets).
struct KeywordEq {
    octets: [u8; 8],
    len: usize,
}

impl KeywordEq {
    const fn new(keyword: &str) -> Self {
        let k = keyword.as_bytes();
        assert!(k.len() < 8, "the fast path compares eight octets");
        let mut octets = [0u8; 8];
        let mut i = 0;
        while i < k.len() {
            octets[i] = k[i].to_ascii_lowercase();
            i += 1;
        }
        octets[k.len()] = b'=';
        KeywordEq {
            octets,
            len: k.len() + 1,
        }
    }

    #[inline(always)]
    fn get(&self) -> &[u8] {
        &self.octets[..self.len]
    }
}

const SIZE_EQ: KeywordEq = KeywordEq::new(crate::ext::size::PARAM);
const BODY_EQ: KeywordEq = KeywordEq::new(crate::ext::body::PARAM);
const NOTIFY_EQ: KeywordEq = KeywordEq::new(crate::ext::dsn::PARAM_NOTIFY);
const ORCPT_EQ: KeywordEq = KeywordEq::new(crate::ext::dsn::PARAM_ORCPT);
const _: () = assert!(SIZE_EQ.len == BODY_EQ.len);

/// `RCPT TO:<local@domain>` then `NOTIFY=` and `ORCPT=rfc822;` in any
/// order, each at most once.
#[inline(always)]
fn rcpt<'a>(input: &'a [u8], opts: &ParseOptions) -> Option<(Fast<'a>, usize)> {
    const PREFIX: u64 = lower8(b"rcpt to:");
    const RFC822: u64 = lower8(b"rfc822;");
    // The fold is exact for the letters; SP (`input[4]`) is known, and
    // ':' is checked as such since a control octet folds onto it.
    if word8(input, 0, 8)? != PREFIX || input.get(7..9)? != b":<" {
        return None;
    }
    let (at, gt) = mailbox(input, 9)?;
    let mut notify = None;
    let mut orcpt = None;
    let mut i = gt + 1;
    while input.get(i) == Some(&b' ') {
        // The keyword with its '=' compared in one go: no scan.
        let w = raw8(input, i + 1)?;
        if starts_with_kw(w, NOTIFY_EQ.get()) && notify.is_none() {
            let (n, end) = notify_value(input, i + 1 + NOTIFY_EQ.len)?;
            notify = Some(n);
            i = end;
        } else if starts_with_kw(w, ORCPT_EQ.get()) && orcpt.is_none() {
            let v = i + 1 + ORCPT_EQ.len;
            // All xchars (so the fold is exact), then the addr-type.
            let end = xchars(input, v)?;
            if end - v < 8 || word8(input, v, 7)? != RFC822 {
                return None;
            }
            orcpt = Some((v + 7, end));
            i = end;
        } else {
            return None;
        }
    }
    let used = line_end(input, i, opts)?;
    // Every octet from the local part on was checked above to be ASCII.
    let s = std::str::from_utf8(input.get(..i)?).ok()?;
    Some((
        Fast::Rcpt {
            local: text(s, 9, at)?,
            domain: text(s, at + 1, gt)?,
            notify,
            orcpt: match orcpt {
                Some((a, b)) => Some(text(s, a, b)?),
                None => None,
            },
        },
        used,
    ))
}

/// `NOTIFY=` value from `start`: `NEVER` or distinct members of
/// `SUCCESS`, `FAILURE`, `DELAY`, comma separated; returns it and the
/// index after it (SP or CR).
#[inline(always)]
fn notify_value(input: &[u8], start: usize) -> Option<(Notify, usize)> {
    const SUCCESS: u64 = lower8(b"success");
    const FAILURE: u64 = lower8(b"failure");
    const DELAY: u64 = lower8(b"delay");
    const NEVER: u64 = lower8(b"never");
    const M7: u64 = u64::MAX >> 8;
    const M5: u64 = u64::MAX >> 24;
    let mut n = Notify::NEVER;
    let mut i = start;
    loop {
        // The element is matched against each word directly; the octet
        // after it must end it, so "SUCCESSX" is not "SUCCESS".
        let w = word8(input, i, 8)?;
        let (slot, len) = if w & M7 == SUCCESS {
            (&mut n.success, 7)
        } else if w & M7 == FAILURE {
            (&mut n.failure, 7)
        } else if w & M5 == DELAY {
            (&mut n.delay, 5)
        } else if w & M5 == NEVER && i == start && matches!(input.get(i + 5), Some(b' ' | b'\r')) {
            return Some((Notify::NEVER, i + 5));
        } else {
            return None;
        };
        if *slot {
            return None;
        }
        *slot = true;
        i += len;
        match input.get(i)? {
            b',' => i += 1,
            b' ' | b'\r' => return Some((n, i)),
            _ => return None,
        }
    }
}

/// `MAIL FROM:<local@domain>` or `<>`, then `SIZE=` and `BODY=` (7BIT or
/// 8BITMIME) in any order, each at most once.
#[inline(always)]
fn mail<'a>(input: &'a [u8], opts: &ParseOptions) -> Option<(Fast<'a>, usize)> {
    const PREFIX: u64 = lower8(b"mail fro");
    const BIT7: u64 = lower8(Body::SevenBit.as_str().as_bytes());
    const BITMIME8: u64 = lower8(Body::EightBitMime.as_str().as_bytes());
    if word8(input, 0, 8)? != PREFIX || input.get(8..11)? != b"M:<" && input.get(8..11)? != b"m:<" {
        return None;
    }
    let (from, gt) = if input.get(11) == Some(&b'>') {
        (None, 11)
    } else {
        let (at, gt) = mailbox(input, 11)?;
        (Some((at, gt)), gt)
    };
    let mut size = None;
    let mut body = None;
    let mut i = gt + 1;
    while input.get(i) == Some(&b' ') {
        let w = raw8(input, i + 1)?;
        // `SIZE=` and `BODY=` are as long.
        let v = i + 1 + SIZE_EQ.len;
        if starts_with_kw(w, SIZE_EQ.get()) && size.is_none() {
            let mut n: u64 = 0;
            let mut j = v;
            while let Some(d) = input.get(j).filter(|b| b.is_ascii_digit()) {
                n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                j += 1;
            }
            // size-value = 1*20DIGIT (RFC 1870 §3).
            if j == v || j - v > 20 {
                return None;
            }
            size = Some(n);
            i = j;
        } else if starts_with_kw(w, BODY_EQ.get()) && body.is_none() {
            let end = xchars(input, v)?;
            let b = match end - v {
                4 if word8(input, v, 4)? == BIT7 => Body::SevenBit,
                8 if word8(input, v, 8)? == BITMIME8 => Body::EightBitMime,
                _ => return None,
            };
            body = Some(b);
            i = end;
        } else {
            return None;
        }
        if !matches!(input.get(i), Some(b' ' | b'\r')) {
            return None;
        }
    }
    let used = line_end(input, i, opts)?;
    let from = match from {
        None => None,
        Some((at, gt)) => {
            let s = std::str::from_utf8(input.get(..gt)?).ok()?;
            Some((text(s, 11, at)?, text(s, at + 1, gt)?))
        }
    };
    Some((Fast::Mail { from, size, body }, used))
}

impl<'a> Fast<'a> {
    /// The command, built in the tail of each arm so that it is written
    /// straight into the caller's result.
    #[inline(always)]
    pub(super) fn build(self, used: usize) -> (Command<'a>, usize) {
        fn mb<'a>(local: &'a str, domain: &'a str) -> Mailbox<'a> {
            Mailbox {
                local: LocalPart::from_valid(local),
                host: Host::Domain(Domain::from_valid(domain)),
            }
        }
        match self {
            Fast::Data => (Command::Data, used),
            Fast::Rset => (Command::Rset, used),
            Fast::Quit => (Command::Quit, used),
            Fast::Noop => (Command::Noop(None), used),
            Fast::Ehlo(d) => (Command::Ehlo(Host::Domain(Domain::from_valid(d))), used),
            Fast::Helo(d) => (Command::Helo(Host::Domain(Domain::from_valid(d))), used),
            Fast::Mail { from, size, body } => (
                Command::Mail {
                    from: match from {
                        None => ReversePath::Null,
                        Some((l, d)) => ReversePath::Mailbox(mb(l, d)),
                    },
                    params: MailParams {
                        size,
                        body,
                        ..MailParams::default()
                    },
                },
                used,
            ),
            Fast::Rcpt {
                local,
                domain,
                notify,
                orcpt,
            } => (
                Command::Rcpt {
                    to: ForwardPath::Mailbox(mb(local, domain)),
                    params: RcptParams {
                        notify,
                        orcpt: orcpt.map(Orcpt::rfc822),
                        ..RcptParams::default()
                    },
                },
                used,
            ),
        }
    }
}

#[cfg(test)]
mod tests;
