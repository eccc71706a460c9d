//! Reading a reply from the input (RFC 5321 §4.2): framing its lines,
//! checking codes and separators, and recognising the enhanced status code
//! (RFC 2034, RFC 3463 §2).

use std::borrow::Cow;

use super::{Reply, ReplyContext, ReplyParseOptions, Repr};
use crate::error::DecodeError;
use crate::grammar::reply as grammar;
use crate::octets::scan;
use crate::values::{EnhancedStatusCode, ReplyCode};

impl<'a> Reply<'a> {
    /// Parses one complete reply at the start of `input`, returning it and
    /// the number of octets it occupies.
    ///
    /// Streaming: any strict prefix of a valid reply is
    /// [`DecodeError::Incomplete`]. A line without its end within
    /// `opts.max_line` octets is [`DecodeError::LineTooLong`]. A malformed
    /// line (bad code, a code that differs from the first line's, a CR not
    /// followed by LF, a bad separator, too many lines) is a
    /// [`DecodeError::Syntax`] of kind [`SyntaxErrorKind::Reply`](crate::SyntaxErrorKind::Reply) whose
    /// `consumed` covers the reply up to and including that line.
    ///
    /// The enhanced code is recognised only when `opts.enhanced` is set, the
    /// context is [`ReplyContext::Command`], the reply is not 3xx, and the
    /// first line's text starts with `class.subject.detail` (no leading
    /// zeros, class equal to the code's first digit) followed by SP or the
    /// line end (RFC 2034, RFC 3463 §2); otherwise `250 1.2.3.4 accepted`
    /// would be misread.
    pub fn parse(
        input: &'a [u8],
        opts: &ReplyParseOptions,
    ) -> Result<(Reply<'a>, usize), DecodeError> {
        match Self::parse_fast(input, opts) {
            Some(result) => result,
            None => declined(input, opts),
        }
    }

    /// [`Reply::parse`] without the hand-tuned fast path in front: the RFC
    /// 5321 §4.2 grammar on nom, which words every error (the fast path
    /// hands it whatever it does not take). The same result on every
    /// input (the differential tests and the `reply` fuzz target hold the
    /// two to it), only slower. For testing a parser against this
    /// crate's, or this crate's two readings against each other.
    pub fn parse_general(
        input: &'a [u8],
        opts: &ReplyParseOptions,
    ) -> Result<(Reply<'a>, usize), DecodeError> {
        let parsed = grammar::reply(input, opts)?;
        Ok((
            Reply {
                code: parsed.code,
                enhanced: parsed.enhanced,
                repr: Repr::Wire(Cow::Borrowed(&input[..parsed.len])),
            },
            parsed.len,
        ))
    }

    /// The fast path: framing, codes, separators and text in one pass per
    /// line with word-at-a-time search. `Some` for a well-formed reply, a
    /// prefix of one, or a line without its end within `opts.max_line`;
    /// `None` (declined) for anything malformed, which the general parser
    /// then reads and words.
    #[inline(always)]
    pub(super) fn parse_fast(
        input: &'a [u8],
        opts: &ReplyParseOptions,
    ) -> Option<Result<(Reply<'a>, usize), DecodeError>> {
        let mut pos = 0usize;
        // The first line's code, its three octets packed; until it is
        // read, a value no three octets pack to (the top octet is 0).
        const UNREAD: u32 = u32::MAX;
        let mut first = UNREAD;
        let mut count = 0usize;
        loop {
            let (code, more, len) = match scan_line(input.get(pos..).unwrap_or_default(), opts) {
                LineScan::Line {
                    code, more, len, ..
                } => (code, more, len),
                LineScan::Stop(e) => return Some(Err(e)),
                LineScan::Decline => return None,
            };
            count += 1;
            if count > opts.max_lines {
                return None;
            }
            // Later lines repeat the first line's code (RFC 5321 §4.2.1):
            // one comparison, the digits checked once.
            if code != first {
                if first != UNREAD || !code_digits(code, opts.lenient()) {
                    return None;
                }
                first = code;
            }
            pos += len;
            if !more {
                break;
            }
        }
        let [a, b, c, _] = first.to_le_bytes();
        let code = ReplyCode::new_unchecked(
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        );
        let block = &input[..pos];
        let enhanced = if opts.enhanced
            && opts.context == ReplyContext::Command
            && !code.is_intermediate()
        {
            let first_line = block.get(4..).unwrap_or_default();
            match *first_line {
                    // The usual `x.y.z`, one digit each, then SP or the line
                    // end (which the block always holds).
                    [c @ (b'2' | b'4' | b'5'), b'.', s @ b'0'..=b'9', b'.', d @ b'0'..=b'9', b' ' | b'\r' | b'\n', ..] => {
                        Some(EnhancedStatusCode::new_unchecked(
                            c - b'0',
                            u16::from(s - b'0'),
                            u16::from(d - b'0'),
                        ))
                    }
                    _ => enhanced_prefix(first_line, |b| matches!(b, b' ' | b'\r' | b'\n'))
                        .map(|(esc, _)| esc),
                }
                .filter(|esc| u16::from(esc.class()) == code.get() / 100)
        } else {
            None
        };
        Some(Ok((
            Reply {
                code,
                enhanced,
                repr: Repr::Wire(Cow::Borrowed(block)),
            },
            pos,
        )))
    }
}

/// One line of a reply, as [`scan_line`] found it.
pub(crate) enum LineScan<'a> {
    /// A well-formed line: its code (three octets packed little-endian),
    /// whether more lines follow (`-`), its text, and the octets it takes
    /// with its line end.
    Line {
        code: u32,
        more: bool,
        text: &'a [u8],
        len: usize,
    },
    /// No line end yet ([`DecodeError::Incomplete`]), or none within
    /// `max_line` octets ([`DecodeError::LineTooLong`]).
    Stop(DecodeError),
    /// Malformed: for the general parser to word.
    Decline,
}

/// Frames and checks the reply line at the start of `rest` (RFC 5321
/// §4.2): a line end within `opts.max_line` octets, CRLF (or, lenient, a
/// bare LF), three octets of code, then nothing, `-` or SP, and text
/// without a lone CR (strict: without controls but HT). Whether the code
/// is in range or repeats the first line's is the caller's to check.
#[inline(always)]
pub(crate) fn scan_line<'a>(rest: &'a [u8], opts: &ReplyParseOptions) -> LineScan<'a> {
    let lenient = opts.lenient();
    let window = rest.get(..opts.max_line).unwrap_or(rest);
    // One search for the first octet below 0x0e finds the line end and,
    // in the usual case, shows that no CR precedes it; a lone CR (or HT,
    // or another low control) takes the slower path.
    let (nl, cr_free) = match scan::find_below(window, b'\r' + 1) {
        Some(i) if window[i] == b'\n' => (i, true),
        Some(i) if window[i] == b'\r' && window.get(i + 1) == Some(&b'\n') => (i + 1, true),
        _ => match memchr::memchr(b'\n', window) {
            Some(nl) => (nl, false),
            None if rest.len() >= opts.max_line => {
                return LineScan::Stop(DecodeError::LineTooLong {
                    limit: opts.max_line,
                })
            }
            None => return LineScan::Stop(DecodeError::Incomplete),
        },
    };
    let Some(line) = window.get(..nl) else {
        return LineScan::Decline;
    };
    let body = match line {
        [body @ .., b'\r'] => body,
        _ if lenient => line,
        _ => return LineScan::Decline,
    };
    let [a, b, c, tail @ ..] = body else {
        return LineScan::Decline;
    };
    let (more, text) = match tail {
        [] => (false, tail),
        [b'-', text @ ..] => (true, text),
        [b' ', text @ ..] => (false, text),
        _ => return LineScan::Decline,
    };
    if !cr_free && memchr::memchr(b'\r', text).is_some() {
        return LineScan::Decline;
    }
    if !lenient && text.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return LineScan::Decline;
    }
    LineScan::Line {
        code: u32::from_le_bytes([*a, *b, *c, 0]),
        more,
        text,
        len: nl + 1,
    }
}

/// Whether the packed `code` is a `Reply-code` (RFC 5321 §4.2); lenient
/// mode takes a second digit up to 9 (§4.2: interpret the first digit).
#[inline(always)]
pub(crate) fn code_digits(code: u32, lenient: bool) -> bool {
    match code.to_le_bytes() {
        [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9', _] => true,
        [b'2'..=b'5', b'0'..=b'9', b'0'..=b'9', _] => lenient,
        _ => false,
    }
}

/// A reply the fast path declined: malformed, so off the hot path.
#[cold]
#[inline(never)]
fn declined<'a>(
    input: &'a [u8],
    opts: &ReplyParseOptions,
) -> Result<(Reply<'a>, usize), DecodeError> {
    Reply::parse_general(input, opts)
}

/// The enhanced code `class.subject.detail` (RFC 3463 §2) that `text`
/// starts with, and where it ends, if the code runs up to the end of `text`
/// or an octet that `ends` accepts.
///
/// Accepts exactly what [`EnhancedStatusCode::parse`] accepts for the text
/// before that octet (class 2, 4 or 5; 1–3 digits without a leading zero),
/// in one pass and without splitting.
pub(super) fn enhanced_prefix(
    text: &[u8],
    ends: impl Fn(u8) -> bool,
) -> Option<(EnhancedStatusCode, usize)> {
    let class = match text {
        [c @ (b'2' | b'4' | b'5'), b'.', ..] => c - b'0',
        _ => return None,
    };
    let (subject, after_subject) = esc_number(text, 2)?;
    if text.get(after_subject) != Some(&b'.') {
        return None;
    }
    let (detail, end) = esc_number(text, after_subject + 1)?;
    match text.get(end) {
        None => {}
        Some(&b) if ends(b) => {}
        Some(_) => return None,
    }
    Some((EnhancedStatusCode::new(class, subject, detail)?, end))
}

/// The 1–3 digit number at `text[start..]` (no leading zero unless it is
/// 0) and the index after it.
fn esc_number(text: &[u8], start: usize) -> Option<(u16, usize)> {
    let digits = text.get(start..)?;
    let len = digits
        .iter()
        .take(4)
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len().min(4));
    if len == 0 || len > 3 || (len > 1 && digits[0] == b'0') {
        return None;
    }
    let n = digits[..len]
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    Some((n, start + len))
}
