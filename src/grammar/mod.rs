//! The general grammar of RFC 5321, written with nom's streaming
//! combinators so that it reads like the ABNF: each function is named
//! after the production it parses and cites its section. A strict prefix
//! of a valid line is `Incomplete`; nothing of nom leaves this module.
//!
//! Where it sits: hand-tuned fast paths read the hot inputs first, and
//! this grammar is the general reading behind them.
//!
//! - Commands: the fused fast path ([`crate::command`]'s `fast` file)
//!   reads the hot lines; for every other MAIL, SEND, SOML, SAML and RCPT
//!   line this grammar decides whether the arguments have the shape RFC
//!   5321 §4.1.1.2/§4.1.1.3 gives them (or, in lenient mode, the shapes
//!   deployed clients send), and splits them into the path and the
//!   parameter list ([`path`], [`param`]). The typed values are then
//!   built by [`crate::values`] and [`crate::params`], which also word the
//!   error a rejected line gets.
//! - Replies ([`reply`]): §4.2 and the enhanced status code (RFC 3463
//!   §2), behind [`crate::reply::Reply::parse`]'s fast path, which hands
//!   over every reply it does not take.
//! - EHLO keyword lines ([`ehlo`]): §4.1.1.1, behind
//!   [`crate::ehlo::Capabilities::from_reply`]'s fast walk (and so behind
//!   [`crate::ehlo::Capabilities::parse`]'s one pass).
//! - Parameter values: what every extension's value grammar shares
//!   ([`param`]), each value's own production in its [`crate::ext`]
//!   module.
//!
//! Differential tests (here, beside each fast path, in `tests/`, and the
//! `grammar`, `reply` and `ehlo` fuzz targets) hold the readings to one
//! language.

use std::ops::Range;

use nom::bytes::streaming::{tag, tag_no_case, take_while1};
use nom::character::streaming::char;
use nom::combinator::opt;
use nom::sequence::{preceded, terminated, tuple};
use nom::IResult;

pub(crate) mod ehlo;
pub(crate) mod param;
pub(crate) mod path;
pub(crate) mod reply;
#[cfg(test)]
mod tests;

/// A parser's result over raw octets; by default it returns the octets a
/// production spans.
type Res<'a, O = &'a [u8]> = IResult<&'a [u8], O>;

/// The longest argument text copied to the stack to be given its CRLF;
/// longer lines (only with a raised line limit) are copied to the heap.
const STACK_LINE: usize = 1024;

/// Which command's arguments are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathCommand {
    /// `"FROM:" Reverse-path [SP Mail-parameters]`: MAIL (§4.1.1.2) and
    /// SEND, SOML, SAML (RFC 821 §4.1.1).
    From,
    /// `"TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
    /// Forward-path ) [SP Rcpt-parameters]` (§4.1.1.3).
    To,
}

/// The arguments of a MAIL or RCPT line up to and including its CRLF:
/// `keyword ":" path [SP parameters] *(SP / HTAB) CRLF`, as the path and
/// parameter spans.
fn path_arguments(
    command: PathCommand,
    utf8: bool,
) -> impl FnMut(&[u8]) -> Res<'_, (&[u8], &[u8])> {
    move |input| {
        let (rest, (_, _, path, params, _)) = match command {
            PathCommand::From => tuple((
                tag_no_case("FROM"),
                char(':'),
                path::reverse_path(utf8),
                opt(preceded(char(' '), param::mail_parameters(utf8))),
                path::line_end,
            ))(input)?,
            PathCommand::To => tuple((
                tag_no_case("TO"),
                char(':'),
                path::rcpt_path(utf8),
                opt(preceded(char(' '), param::rcpt_parameters(utf8))),
                path::line_end,
            ))(input)?,
        };
        Ok((rest, (path, params.unwrap_or_default())))
    }
}

/// Runs `parse` over `args` followed by CRLF, so that a streaming parser
/// sees where the line ends, and turns the spans it returns into ranges of
/// `args`. `args` lies on the stack when it fits (it always does at the
/// default line limit); longer lines are copied to the heap.
fn with_line_end(
    args: &[u8],
    parse: impl FnOnce(&[u8]) -> Option<(&[u8], &[u8])>,
) -> Option<(Range<usize>, Range<usize>)> {
    let mut stack = [0u8; STACK_LINE];
    let heap;
    let line: &[u8] = match stack.get_mut(..args.len() + 2) {
        Some(buf) => {
            buf[..args.len()].copy_from_slice(args);
            buf[args.len()..].copy_from_slice(b"\r\n");
            buf
        }
        None => {
            heap = [args, b"\r\n"].concat();
            &heap
        }
    };
    let (path, params) = parse(line)?;
    let at = |part: &[u8]| {
        let start = part.as_ptr() as usize - line.as_ptr() as usize;
        start..start + part.len()
    };
    // An absent parameter list is the empty span at the end of `args`.
    let params = if params.is_empty() {
        args.len()..args.len()
    } else {
        at(params)
    };
    Some((at(path), params))
}

/// Reads the arguments of a complete strict MAIL or RCPT line, given
/// without the verb, its SP and the line end, against the RFC 5321
/// grammar. Returns where the path and the parameter list lie in `args`,
/// or `None` when the line is not in the language.
pub(crate) fn split_path_arguments(
    args: &[u8],
    command: PathCommand,
    utf8: bool,
) -> Option<(Range<usize>, Range<usize>)> {
    with_line_end(args, |line| match path_arguments(command, utf8)(line) {
        Ok((b"", spans)) => Some(spans),
        _ => None,
    })
}

/// Where a MAIL or RCPT line that [`split_lenient_path_arguments`] (or,
/// for a strict line the grammar refused, [`split_path_then_parameters`])
/// could not split stops making sense, in the order the parts come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    /// No `FROM` / `TO` after the verb.
    Keyword,
    /// No `:` after the keyword.
    Colon,
    /// A `<` without the `>` that closes it.
    Bracket,
    /// Something other than SP (or, strictly, more than one SP) after the
    /// path.
    Separator,
}

/// `path *SP [parameters]` up to the line end, after the colon: the
/// path of [`path::lenient_path`], then either the line end or SP (any
/// run of them when `lenient`, exactly one otherwise) and the parameters.
fn path_then_parameters(input: &[u8], lenient: bool) -> Result<(&[u8], &[u8]), SplitError> {
    let (rest, path) = path::lenient_path(input).map_err(|_| SplitError::Bracket)?;
    let separator = |i| {
        if lenient {
            take_while1(|b| b == b' ')(i)
        } else {
            tag(" ")(i)
        }
    };
    let (_, params) = terminated(
        opt(preceded(separator, param::lenient_parameters)),
        path::line_end,
    )(rest)
    .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| SplitError::Separator)?;
    Ok((path, params.unwrap_or_default()))
}

/// Splits the arguments of a MAIL or RCPT line in lenient mode, given
/// without the verb, its SP and the line end: `*SP keyword *SP ":" *SP
/// path [1*SP parameters]`, where the path may lack its brackets. RFC
/// 5321 §3.3 forbids the spaces around the colon and §4.1.2 the bare
/// address, but deployed clients send both. Returns where the path and
/// the parameter list lie in `args`; what they hold is for the value
/// parsers to check.
pub(crate) fn split_lenient_path_arguments(
    args: &[u8],
    command: PathCommand,
) -> Result<(Range<usize>, Range<usize>), SplitError> {
    let keyword = match command {
        PathCommand::From => "FROM",
        PathCommand::To => "TO",
    };
    let mut failed = SplitError::Keyword;
    with_line_end(args, |line| {
        let (rest, _) = preceded(path::spaces, tag_no_case(keyword))(line).ok()?;
        failed = SplitError::Colon;
        let (rest, _) = tuple((path::spaces, char(':'), path::spaces))(rest).ok()?;
        path_then_parameters(rest, true)
            .map_err(|e| failed = e)
            .ok()
    })
    .ok_or(failed)
}

/// Splits `path [SP parameters]`, the rest of a strict MAIL or RCPT line
/// after its colon, at the end of the path: the path ends at the first
/// `>` outside a quoted string (or, without brackets, at SP), and exactly
/// one SP must follow it. For wording the error of a line the grammar
/// refused: the path and parameters are then checked by the value
/// parsers.
pub(crate) fn split_path_then_parameters(
    after_colon: &[u8],
) -> Result<(Range<usize>, Range<usize>), SplitError> {
    let mut failed = SplitError::Bracket;
    with_line_end(after_colon, |line| {
        path_then_parameters(line, false)
            .map_err(|e| failed = e)
            .ok()
    })
    .ok_or(failed)
}
