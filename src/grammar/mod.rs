//! The general command grammar of RFC 5321, written with nom's streaming
//! combinators so that it reads like the ABNF: each function is named
//! after the production it parses and cites its section. A strict prefix
//! of a valid line is `Incomplete`; nothing of nom leaves this module.
//!
//! Where it sits: the fused fast path ([`crate::command`]'s `fast` file)
//! reads the hot lines first; for every other strict MAIL, SEND, SOML,
//! SAML and RCPT line this grammar decides whether the arguments have the
//! shape RFC 5321 §4.1.1.2/§4.1.1.3 gives them, and splits them into the
//! path and the parameter list. The typed values are then built by
//! [`crate::values`] and [`crate::params`], which also word the error a
//! rejected line gets. Differential tests (here, in `tests/`, and the
//! `grammar` fuzz target) hold the three readings to one language.

use std::ops::Range;

use nom::bytes::streaming::tag_no_case;
use nom::character::streaming::char;
use nom::combinator::opt;
use nom::sequence::{preceded, tuple};
use nom::IResult;

pub(crate) mod param;
pub(crate) mod path;
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

/// Reads the arguments of a complete strict MAIL or RCPT line, given
/// without the verb, its SP and the line end, against the RFC 5321
/// grammar. Returns where the path and the parameter list lie in `args`,
/// or `None` when the line is not in the language.
pub(crate) fn split_path_arguments(
    args: &[u8],
    command: PathCommand,
    utf8: bool,
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
    let (rest, (path, params)) = path_arguments(command, utf8)(line).ok()?;
    if !rest.is_empty() {
        return None;
    }
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
