//! Reading an EHLO reply straight from the input into a [`Capabilities`]
//! set in one pass: the reply's line walk and the keyword lookup fused.
//!
//! [`Reply::parse`] followed by [`Capabilities::from_reply`] walks every
//! line twice: once to find its end and check it against the reply
//! grammar (RFC 5321 §4.2), once to read its keyword. Here a keyword line
//! of the usual kind (a known keyword alone, or SIZE or DELIVERBY with a
//! number) is read once: the word loads that find the keyword also find
//! the CRLF right after it, and a line whose octets are all keyword
//! octets has nothing else the grammar could refuse. Any other line is
//! framed and checked as [`Reply::parse`] does, then read as
//! [`Capabilities::from_reply`] reads it; anything unusual about the reply
//! as a whole (not complete, not 250, over a limit, enhanced codes to
//! strip, malformed) is left to those two, so the result is theirs on
//! every input.

use super::parse::Alone;
use super::{reply_error, Capabilities};
use crate::error::{DecodeError, SyntaxError};
use crate::reply::{scan_line, LineScan, Reply, ReplyContext, ReplyParseOptions};
use crate::values::ReplyCode;

/// `250` packed as [`LineScan::Line`] packs a code.
const CODE_250: u32 = u32::from_le_bytes(*b"250\0");

impl<'a> Capabilities<'a> {
    /// Reads an EHLO or LHLO reply from the start of `input` into a
    /// capability set, returning it and the number of octets the reply
    /// occupies.
    ///
    /// The same result as [`Reply::parse`] followed by
    /// [`Capabilities::from_reply`] (a complete reply that is not 250 or
    /// names no domain is a [`DecodeError::Syntax`] covering the reply),
    /// in one pass over the usual lines instead of two.
    pub fn parse(
        input: &'a [u8],
        opts: &ReplyParseOptions,
    ) -> Result<(Capabilities<'a>, usize), DecodeError> {
        match Self::parse_fused(input, opts) {
            Some(caps) => caps,
            None => Self::parse_in_two(input, opts),
        }
    }

    /// [`Reply::parse`], then [`Capabilities::from_reply`] on the reply's
    /// octets.
    fn parse_in_two(
        input: &'a [u8],
        opts: &ReplyParseOptions,
    ) -> Result<(Capabilities<'a>, usize), DecodeError> {
        let (reply, used) = Reply::parse(input, opts)?;
        let syntax = |error: SyntaxError| DecodeError::Syntax {
            error,
            consumed: used,
        };
        if reply.code() != ReplyCode::OK {
            return Err(syntax(reply_error("EHLO reply is not 250")));
        }
        match reply.wire_lines() {
            // The lines as received: a slice of the input, so the set can
            // borrow from the input rather than from `reply`.
            Some(_) => Capabilities::from_block(input.get(..used).unwrap_or_default())
                .map(|caps| (caps, used))
                .map_err(syntax),
            // Enhanced codes were stripped from the lines: rare for an
            // EHLO reply, so the set is copied out of the reply.
            None => Capabilities::from_reply(&reply)
                .map(|caps| (caps.into_owned(), used))
                .map_err(syntax),
        }
    }

    /// The one-pass reading: `Some` for a complete 250 reply it read
    /// whole, `None` for anything else.
    #[inline]
    fn parse_fused(
        input: &'a [u8],
        opts: &ReplyParseOptions,
    ) -> Option<Result<(Capabilities<'a>, usize), DecodeError>> {
        if opts.enhanced && opts.context == ReplyContext::Command {
            // A `250 2.0.0` first line would have its code stripped.
            return None;
        }
        let LineScan::Line {
            code: CODE_250,
            more,
            text,
            len,
        } = scan_line(input, opts)
        else {
            return None;
        };
        if opts.max_lines == 0 {
            return None;
        }
        let mut caps = Capabilities::with_first_line(text).ok()?;
        let (mut pos, mut more, mut count) = (len, more, 1usize);
        while more {
            count += 1;
            if count > opts.max_lines {
                return None;
            }
            let rest = input.get(pos..)?;
            // Every later line repeats the code (RFC 5321 §4.2.1): `250-`,
            // or `250 ` on the last.
            let last = match rest.get(..4)? {
                b"250-" => false,
                b"250 " => true,
                _ => return None,
            };
            let text = rest.get(4..)?;
            match caps.keyword_alone(text, opts.lenient()) {
                Alone::Done(used) if 4 + used <= opts.max_line => pos += 4 + used,
                Alone::Done(_) => return None,
                Alone::Line(first) => {
                    let LineScan::Line {
                        code: CODE_250,
                        text,
                        len,
                        ..
                    } = scan_line(rest, opts)
                    else {
                        return None;
                    };
                    caps.apply_line(text, first);
                    pos += len;
                }
            }
            more = !last;
        }
        Some(Ok((caps, pos)))
    }
}
