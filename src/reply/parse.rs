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
        let mut first: Option<[u8; 3]> = None;
        let mut count = 0usize;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let window = &rest[..rest.len().min(opts.max_line)];
            // One search finds the line end and, in the usual case, shows
            // that no CR precedes it; a lone CR takes the slower path below.
            let (nl, cr_free) = match scan::find2(window, b'\r', b'\n') {
                Some(i) if window[i] == b'\n' => (i, true),
                Some(i) if window.get(i + 1) == Some(&b'\n') => (i + 1, true),
                _ => match memchr::memchr(b'\n', window) {
                    Some(nl) => (nl, false),
                    None if rest.len() >= opts.max_line => {
                        return Some(Err(DecodeError::LineTooLong {
                            limit: opts.max_line,
                        }))
                    }
                    None => return Some(Err(DecodeError::Incomplete)),
                },
            };
            let end = pos + nl + 1;
            count += 1;
            if count > opts.max_lines {
                return None;
            }
            let line = &rest[..nl];
            let line = match line.split_last() {
                Some((b'\r', body)) => body,
                _ if opts.lenient() => line,
                _ => return None,
            };
            let (code, sep, text) = match line {
                [a, b, c, rest @ ..] => ([*a, *b, *c], rest.first().copied(), rest),
                _ => return None,
            };
            match code {
                [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9'] => {}
                [b'2'..=b'5', b'0'..=b'9', b'0'..=b'9'] if opts.lenient() => {}
                _ => return None,
            }
            if let Some(f) = first {
                if f != code {
                    return None;
                }
            } else {
                first = Some(code);
            }
            let text = match sep {
                None | Some(b' ') | Some(b'-') => text.get(1..).unwrap_or_default(),
                Some(_) => return None,
            };
            if !cr_free && memchr::memchr(b'\r', text).is_some() {
                return None;
            }
            if !opts.lenient() && text.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return None;
            }
            pos = end;
            if sep != Some(b'-') {
                break;
            }
        }
        let [a, b, c] = first.unwrap_or(*b"500");
        let code = ReplyCode::new_unchecked(
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        );
        let block = &input[..pos];
        let enhanced =
            if opts.enhanced && opts.context == ReplyContext::Command && !code.is_intermediate() {
                let first_line = block.get(4..).unwrap_or_default();
                enhanced_prefix(first_line, |b| matches!(b, b' ' | b'\r' | b'\n'))
                    .map(|(esc, _)| esc)
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

/// A reply the fast path declined: malformed, so off the hot path.
#[cold]
#[inline(never)]
fn declined<'a>(
    input: &'a [u8],
    opts: &ReplyParseOptions,
) -> Result<(Reply<'a>, usize), DecodeError> {
    Reply::parse_general(input, opts)
}

/// `text` without a leading `esc` and the one SP after it, when it starts
/// with exactly that code.
pub(super) fn strip_enhanced(text: &[u8], esc: EnhancedStatusCode) -> &[u8] {
    match enhanced_prefix(text, |b| b == b' ') {
        Some((found, end)) if found == esc => text.get(end + 1..).unwrap_or_default(),
        _ => text,
    }
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
