//! The reply grammar of RFC 5321 §4.2, with the enhanced status code of
//! RFC 2034 and RFC 3463 §2, as nom streaming parsers: the general reply
//! parser, which [`crate::reply::Reply::parse`]'s hand-tuned fast path
//! hands every reply it does not take (any malformed one: it words the
//! error) and which [`crate::reply::Reply::parse_general`] exposes.
//!
//! `Greeting` (§4.2) is a `Reply-line` with code 220 whose text starts
//! with the server's domain. It is read as a `Reply-line`: "any text,
//! including no text at all ... MUST be acceptable" to a client (§4.2),
//! so the domain is not required.
//!
//! Where this crate is more tolerant than the ABNF, the RFC asks it to be:
//! the code alone, with or without a trailing space (§4.2: clients "SHOULD
//! be prepared to process the code alone (with or without a trailing space
//! character)"), and 8-bit text (RFC 6531 §3.7.4: UTF-8 strings in
//! replies). Lenient mode adds a bare LF as line end, any octet but CR and
//! LF in the text (`ehlo-greet`, §4.1.1.1), and a second code digit 6–9
//! (§4.2: "interpreting the first digit only").

use nom::branch::alt;
use nom::bytes::streaming::{tag, take_while, take_while_m_n};
use nom::character::streaming::{char, one_of, satisfy};
use nom::combinator::{map, peek, verify};
use nom::sequence::{preceded, terminated, tuple};

use super::Res;
use crate::error::{DecodeError, SyntaxError, SyntaxErrorKind};
use crate::reply::{ReplyContext, ReplyParseOptions};
use crate::values::{EnhancedStatusCode, ReplyCode};

/// A reply the general parser read: its code, its enhanced code if one
/// was recognised, and the octets it occupies (its lines as received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedReply {
    pub(crate) code: ReplyCode,
    pub(crate) enhanced: Option<EnhancedStatusCode>,
    pub(crate) len: usize,
}

/// One reply line read by [`reply_line`].
struct Line {
    code: [u8; 3],
    /// Another line follows (the code was followed by `-`).
    more: bool,
}

/// Why a line is not part of a reply, found before its line end was seen
/// (a prefix is [`LineError::Incomplete`]).
enum LineError {
    Incomplete,
    Invalid(&'static str),
}

/// nom's verdict as a [`LineError`]: a prefix waits, a mismatch is
/// `detail`.
fn fail(e: nom::Err<nom::error::Error<&[u8]>>, detail: &'static str) -> LineError {
    match e {
        nom::Err::Incomplete(_) => LineError::Incomplete,
        _ => LineError::Invalid(detail),
    }
}

/// A digit from `lo` to `hi`.
fn digit<'a>(lo: char, hi: char) -> impl FnMut(&'a [u8]) -> Res<'a, char> {
    satisfy(move |c| (lo..=hi).contains(&c))
}

/// `Reply-code = %x32-35 %x30-35 %x30-39` (§4.2). Lenient mode also takes
/// a second digit 6–9: a client "MUST be prepared to handle codes not
/// specified in this document and MUST do so by interpreting the first
/// digit only" (§4.2).
fn reply_code<'a>(lenient: bool) -> impl FnMut(&'a [u8]) -> Res<'a, [u8; 3]> {
    let second = if lenient { '9' } else { '5' };
    map(
        tuple((digit('2', '5'), digit('0', second), digit('0', '9'))),
        |(a, b, c)| [a as u8, b as u8, c as u8],
    )
}

/// `textstring = 1*(%d09 / %d32-126)` (§4.2), possibly empty (the code
/// alone "with or without a trailing space"), with the 8-bit octets of
/// UTF-8 strings (RFC 6531 §3.7.4). Lenient: any octet but CR and LF.
fn textstring<'a>(lenient: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    take_while(move |b: u8| {
        if lenient {
            b != b'\r' && b != b'\n'
        } else {
            b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
        }
    })
}

/// `CRLF`; lenient mode also ends a line at a bare LF.
fn line_end<'a>(lenient: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    move |input| {
        if lenient {
            alt((tag("\r\n"), tag("\n")))(input)
        } else {
            tag("\r\n")(input)
        }
    }
}

/// The octet after the code: `-` (more lines follow), SP, or nothing
/// before the line end.
fn separator(input: &[u8]) -> Res<'_, Option<char>> {
    alt((map(one_of(" -"), Some), map(peek(one_of("\r\n")), |_| None)))(input)
}

/// Why a line that should start with a code does not: the line's framed
/// octets tell which word fits.
fn code_error(input: &[u8]) -> &'static str {
    let line = input.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line {
        [a, b, c, ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => "reply code out of range",
        [_, _, _, ..] => "reply does not start with a code",
        _ => "reply line shorter than a code",
    }
}

/// Why the text did not end at a line end: the octet it stopped at.
fn text_error(rest: &[u8]) -> &'static str {
    match rest {
        [b'\r', ..] => "CR without LF in reply",
        [b'\n', ..] => "line ends in bare LF",
        _ => "control character in reply text",
    }
}

/// One line of a reply (§4.2): `Reply-code "-" [ textstring ] CRLF`, a
/// line more lines follow, or `Reply-code [ SP textstring ] CRLF`, the
/// last line; [`Line::more`] tells which. Its code must be `first` when an
/// earlier line gave one (§4.2.1: every line carries the same code).
fn reply_line(
    input: &[u8],
    lenient: bool,
    first: Option<[u8; 3]>,
) -> Result<(&[u8], Line), LineError> {
    let (rest, code) = reply_code(lenient)(input).map_err(|e| fail(e, code_error(input)))?;
    if first.is_some_and(|f| f != code) {
        return Err(LineError::Invalid("reply lines carry different codes"));
    }
    let (rest, sep) =
        separator(rest).map_err(|e| fail(e, "reply code not followed by SP or hyphen"))?;
    let (rest, _) = match sep {
        Some(_) => textstring(lenient)(rest),
        None => Ok((rest, &rest[..0])),
    }
    .map_err(|e| fail(e, "control character in reply text"))?;
    let (rest, _) = line_end(lenient)(rest).map_err(|e| fail(e, text_error(rest)))?;
    Ok((
        rest,
        Line {
            code,
            more: sep == Some('-'),
        },
    ))
}

/// `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP
/// textstring ] CRLF` (§4.2), read one line at a time, each within
/// `opts.max_line` octets and at most `opts.max_lines` of them.
///
/// A strict prefix of a valid reply is [`DecodeError::Incomplete`]. A line
/// that breaks the grammar is a [`DecodeError::Syntax`] covering the reply
/// up to that line's LF — or, until that LF has arrived, `Incomplete`
/// (`LineTooLong` once `max_line` octets have come without one): the
/// caller resynchronises after the bad line, so its end must be known.
pub(crate) fn reply(input: &[u8], opts: &ReplyParseOptions) -> Result<ParsedReply, DecodeError> {
    let lenient = opts.lenient();
    let mut pos = 0;
    let mut first = None;
    let mut count = 0usize;
    loop {
        let rest = input.get(pos..).unwrap_or_default();
        let window = &rest[..rest.len().min(opts.max_line)];
        count += 1;
        let line = if count > opts.max_lines {
            Err(LineError::Invalid("too many lines in reply"))
        } else {
            reply_line(window, lenient, first)
        };
        match line {
            Ok((after, line)) => {
                pos += window.len() - after.len();
                first = Some(line.code);
                if !line.more {
                    break;
                }
            }
            Err(e) => {
                let nl = memchr::memchr(b'\n', window);
                return Err(match (e, nl) {
                    (e, Some(nl)) => DecodeError::Syntax {
                        error: SyntaxError::new(
                            SyntaxErrorKind::Reply,
                            match e {
                                LineError::Invalid(detail) => detail,
                                // Every production stops at the LF.
                                LineError::Incomplete => "malformed reply line",
                            },
                        ),
                        consumed: pos + nl + 1,
                    },
                    (_, None) if rest.len() >= opts.max_line => DecodeError::LineTooLong {
                        limit: opts.max_line,
                    },
                    (_, None) => DecodeError::Incomplete,
                });
            }
        }
    }
    let [a, b, c] = first.unwrap_or(*b"500");
    let code = ReplyCode::new_unchecked(
        u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
    );
    let enhanced =
        if opts.enhanced && opts.context == ReplyContext::Command && !code.is_intermediate() {
            // The first line's text, with its line end after it.
            input
                .get(4..pos)
                .and_then(|text| enhanced_code(text).ok())
                .map(|(_, esc)| esc)
                .filter(|esc| u16::from(esc.class()) == code.get() / 100)
        } else {
            None
        };
    Ok(ParsedReply {
        code,
        enhanced,
        len: pos,
    })
}

/// `subject = 1*3digit`, `detail = 1*3digit`, "expressed without leading
/// zero digits" (RFC 3463 §2).
fn number(input: &[u8]) -> Res<'_, u16> {
    map(
        verify(
            take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()),
            |d: &[u8]| d.len() == 1 || d[0] != b'0',
        ),
        |d: &[u8]| d.iter().fold(0, |n, &b| n * 10 + u16::from(b - b'0')),
    )(input)
}

/// `status-code = class "." subject "." detail`, `class = "2"/"4"/"5"`
/// (RFC 3463 §2).
pub(crate) fn status_code(input: &[u8]) -> Res<'_, EnhancedStatusCode> {
    map(
        tuple((
            one_of("245"),
            preceded(char('.'), number),
            preceded(char('.'), number),
        )),
        |(class, subject, detail)| {
            EnhancedStatusCode::new_unchecked(class as u8 - b'0', subject, detail)
        },
    )(input)
}

/// An enhanced status code at the start of a reply's text, as RFC 2034
/// §4 places it: `status-code` followed by SP or the line end ("White-space
/// characters and comments are NOT allowed within a status-code", RFC
/// 3463 §2, so `2.1.05` or `2.1.0x` is text, not a code).
pub(crate) fn enhanced_code(text: &[u8]) -> Res<'_, EnhancedStatusCode> {
    terminated(status_code, peek(one_of(" \r\n")))(text)
}
