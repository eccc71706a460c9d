//! The EHLO reply grammar of RFC 5321 §4.1.1.1 on nom: the general reading
//! of an EHLO (or LHLO) reply's lines behind
//! [`crate::ehlo::Capabilities::from_reply`]'s fast walk, which hands it
//! every line it does not take, and all of them in
//! [`crate::ehlo::Capabilities::from_reply_general`].
//!
//! ```text
//! ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!                / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                 *( "250-" ehlo-line CRLF )
//!                 "250" SP ehlo-line CRLF )
//! ehlo-greet   = 1*(%d0-9 / %d11-12 / %d14-127)
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param   = 1*(%d33-126)
//! ```
//!
//! The codes, separators and line ends of `ehlo-ok-rsp` are the
//! `Reply-line` grammar's ([`super::reply`]), read when the reply was
//! parsed; what is read here is each line's text. A client must be lenient
//! with deployed servers, so beside the strict productions (which check
//! what a caller advertises) are the lenient readings the parser uses:
//! runs of SP anywhere (`250- example.com`, RFC 4141 §9), an empty line
//! (Postfix smtp-sink ends its reply so), parameters of any octets but SP,
//! and the pre-RFC 2554 `AUTH=` form. A line whose first word is not an
//! `ehlo-keyword` is still a line: it is kept verbatim.

use std::ops::Range;

use nom::bytes::streaming::{tag, tag_no_case, take_while, take_while1, take_while_m_n};
use nom::character::streaming::{char, one_of};
use nom::combinator::{opt, peek, recognize};
use nom::multi::many0_count;
use nom::sequence::{pair, preceded, terminated, tuple};

use super::Res;

/// `ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` (§4.1.1.1).
pub(crate) fn ehlo_keyword(input: &[u8]) -> Res<'_> {
    recognize(pair(
        take_while_m_n(1, 1, |b: u8| b.is_ascii_alphanumeric()),
        take_while(|b: u8| b.is_ascii_alphanumeric() || b == b'-'),
    ))(input)
}

/// `ehlo-param = 1*(%d33-126)` (§4.1.1.1): any printable ASCII but SP.
pub(crate) fn ehlo_param(input: &[u8]) -> Res<'_> {
    take_while1(|b: u8| (33..=126).contains(&b))(input)
}

/// `ehlo-line = ehlo-keyword *( SP ehlo-param )` (§4.1.1.1), then CRLF:
/// what this crate writes, and what it accepts from a caller who
/// advertises a keyword it does not know.
pub(crate) fn ehlo_line(input: &[u8]) -> Res<'_> {
    terminated(
        recognize(pair(
            ehlo_keyword,
            many0_count(preceded(char(' '), ehlo_param)),
        )),
        tag("\r\n"),
    )(input)
}

/// `*SP`.
fn spaces(input: &[u8]) -> Res<'_> {
    take_while(|b| b == b' ')(input)
}

/// A word of a lenient line: any octets up to SP or the line end.
fn word(input: &[u8]) -> Res<'_> {
    take_while1(|b: u8| !matches!(b, b' ' | b'\r' | b'\n'))(input)
}

/// The rest of a line's text: any octets up to the line end.
fn rest_of_line(input: &[u8]) -> Res<'_> {
    take_while(|b: u8| b != b'\r' && b != b'\n')(input)
}

/// `CRLF` or a bare LF (lenient replies end lines so).
fn line_end(input: &[u8]) -> Res<'_> {
    nom::branch::alt((tag("\r\n"), tag("\n")))(input)
}

/// Where `part` lies in `line` (both slices of one buffer).
fn span(line: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - line.as_ptr() as usize;
    start..start + part.len()
}

/// The first line of `ehlo-ok-rsp` as read leniently: `*SP Domain [ SP
/// ehlo-greet ]`, the domain being any word (a client takes the name the
/// server gives) and the greeting whatever follows its SP. `None` when
/// the line names no domain.
pub(crate) fn ehlo_greeting(text: &[u8]) -> Option<(Range<usize>, Option<Range<usize>>)> {
    with_line_end(text, |line| {
        let (_, (domain, greet)) = tuple((
            preceded(spaces, word),
            // `mx ` has no greeting: the one SP is all there is.
            terminated(
                opt(preceded(
                    char(' '),
                    take_while1(|b| b != b'\r' && b != b'\n'),
                )),
                pair(spaces, line_end),
            ),
        ))(line)
        .ok()?;
        Some((span(line, domain), greet.map(|g| span(line, g))))
    })
}

/// One keyword line of `ehlo-ok-rsp` as read leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EhloLine {
    /// Nothing but SP, or nothing at all.
    Blank,
    /// `"AUTH=" mechanism *( 1*SP mechanism )`: the pre-RFC 2554 form of
    /// AUTH, with the span of its mechanism list (from after the `=`).
    AuthEq { mechanisms: Range<usize> },
    /// A line that starts with a word (after any SP): `keyword` is that
    /// word, `is_keyword` whether it is an `ehlo-keyword`, and `params`
    /// the rest of the line, whose SP-separated words are its parameters.
    Line {
        keyword: Range<usize>,
        is_keyword: bool,
        params: Range<usize>,
    },
}

/// `ehlo-line` as read leniently (§4.1.1.1): `*SP ( "AUTH=" params /
/// ehlo-keyword [ 1*SP params ] / word [ 1*SP params ] ) *SP`, or a blank
/// line; `params = param *( 1*SP param )`, a param being any octets but
/// SP.
pub(crate) fn lenient_ehlo_line(text: &[u8]) -> EhloLine {
    let read = with_line_end(text, |line| {
        let (rest, _) = spaces(line).ok()?;
        if let Ok((rest, _)) = tag_no_case::<_, _, nom::error::Error<&[u8]>>("AUTH=")(rest) {
            let (_, mechanisms) = terminated(rest_of_line, line_end)(rest).ok()?;
            return Some(EhloLine::AuthEq {
                mechanisms: span(line, mechanisms),
            });
        }
        // An `ehlo-keyword` is a whole word when SP or the line end
        // follows it; otherwise the word is something else.
        let keyword_word = terminated(ehlo_keyword, peek(one_of(" \r\n")));
        let (rest, (keyword, is_keyword)) = match opt(keyword_word)(rest).ok()? {
            (rest, Some(k)) => (rest, (k, true)),
            (_, None) => match opt(word)(rest).ok()? {
                (rest, Some(w)) => (rest, (w, false)),
                (_, None) => {
                    line_end(rest).ok()?;
                    return Some(EhloLine::Blank);
                }
            },
        };
        let (_, params) = terminated(rest_of_line, line_end)(rest).ok()?;
        Some(EhloLine::Line {
            keyword: span(line, keyword),
            is_keyword,
            params: span(line, params),
        })
    });
    // The text comes from a parsed or validated reply line: no CR or LF.
    read.unwrap_or(EhloLine::Blank)
}

/// Whether `line`, given without its line end, is an `ehlo-line`.
pub(crate) fn is_ehlo_line(line: &[u8]) -> bool {
    with_line_end(line, |l| matches!(ehlo_line(l), Ok((b"", _))).then_some(())).is_some()
}

/// Whether `word` is an `ehlo-keyword`.
pub(crate) fn is_ehlo_keyword(word: &[u8]) -> bool {
    with_line_end(word, |l| {
        matches!(terminated(ehlo_keyword, tag("\r\n"))(l), Ok((b"", _))).then_some(())
    })
    .is_some()
}

/// Runs `parse` over `text` followed by CRLF, so that a streaming parser
/// sees where the line ends. Ranges it returns are ranges of `text`.
fn with_line_end<T>(text: &[u8], parse: impl FnOnce(&[u8]) -> Option<T>) -> Option<T> {
    // A reply line is at most 512 octets by default (RFC 5321
    // §4.5.3.1.5); longer ones (a raised limit) go to the heap.
    let mut stack = [0u8; 514];
    let heap;
    let line: &[u8] = match stack.get_mut(..text.len() + 2) {
        Some(buf) => {
            buf[..text.len()].copy_from_slice(text);
            buf[text.len()..].copy_from_slice(b"\r\n");
            buf
        }
        None => {
            heap = [text, b"\r\n"].concat();
            &heap
        }
    };
    parse(line)
}
