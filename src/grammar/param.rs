//! The parameter productions of RFC 5321 §4.1.2 (`esmtp-param` and the
//! MAIL and RCPT lists), with the RFC 6531 §3.3 UTF-8 values and the one
//! registered parameter that steps outside `esmtp-value` (MTRK); and what
//! every extension's value grammar shares: reading a whole value with
//! streaming productions ([`Terminated`]), the error a failing production
//! names ([`fail_with`]), `1*nDIGIT`.

use nom::branch::alt;
use nom::bytes::streaming::{tag_no_case, take_till, take_while, take_while1, take_while_m_n};
use nom::character::streaming::{char, satisfy};
use nom::combinator::{map_opt, not, opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::multi::many0_count;
use nom::sequence::{pair, preceded, terminated, tuple};
use nom::IResult;

use super::Res;
use crate::error::SyntaxError;
use crate::octets::class::is_esmtp_value;

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` (§4.1.2).
pub(crate) fn esmtp_keyword(input: &[u8]) -> Res<'_> {
    recognize(pair(
        take_while_m_n(1, 1, |b: u8| b.is_ascii_alphanumeric()),
        take_while(|b: u8| b.is_ascii_alphanumeric() || b == b'-'),
    ))(input)
}

/// `esmtp-value = 1*(%d33-60 / %d62-126)` (§4.1.2), `esmtp-value =/
/// UTF8-non-ascii` with SMTPUTF8 (RFC 6531 §3.3).
pub(crate) fn esmtp_value<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    take_while1(move |b: u8| is_esmtp_value(b) || (utf8 && b >= 0x80))
}

/// `esmtp-param = esmtp-keyword ["=" esmtp-value]` (§4.1.2).
pub(crate) fn esmtp_param<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(pair(
        esmtp_keyword,
        opt(preceded(char('='), esmtp_value(utf8))),
    ))
}

/// `mtrk-parameter = "MTRK=" mtrk-certifier [ ":" mtrk-timeout ]`
/// (RFC 3885 §3.1). The certifier is base64 (RFC 3885 §2), whose `=`
/// padding `esmtp-value` does not allow; the value's own grammar is
/// checked by [`crate::ext::mtrk`].
fn mtrk_parameter<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(tuple((
        tag_no_case(crate::ext::mtrk::PARAM),
        char('='),
        take_while1(move |b: u8| is_esmtp_value(b) || b == b'=' || (utf8 && b >= 0x80)),
    )))
}

/// `Mail-parameters = esmtp-param *(SP esmtp-param)` (§4.1.2), where a
/// parameter may also be an `mtrk-parameter` (RFC 3885 §3.1).
pub(crate) fn mail_parameters<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    let param = move |i| alt((mtrk_parameter(utf8), esmtp_param(utf8)))(i);
    recognize(pair(param, many0_count(preceded(char(' '), param))))
}

/// `Rcpt-parameters = esmtp-param *(SP esmtp-param)` (§4.1.2).
pub(crate) fn rcpt_parameters<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(tuple((
        esmtp_param(utf8),
        many0_count(preceded(char(' '), esmtp_param(utf8))),
    )))
}

/// One parameter as lenient mode splits the list: any octets up to SP.
/// Its keyword and value are checked by [`crate::params`], which words
/// the error.
fn lenient_parameter(input: &[u8]) -> Res<'_> {
    take_while1(|b: u8| !matches!(b, b' ' | b'\r' | b'\n'))(input)
}

/// `Mail-parameters` / `Rcpt-parameters` (§4.1.2) as lenient mode reads
/// them: `parameter *( 1*SP parameter )`, runs of spaces between
/// parameters tolerated.
pub(crate) fn lenient_parameters(input: &[u8]) -> Res<'_> {
    recognize(pair(
        lenient_parameter,
        many0_count(preceded(take_while1(|b| b == b' '), lenient_parameter)),
    ))(input)
}

// Parameter values. A value arrives whole (its list was split at SP), but
// a streaming production cannot tell a value that ends from one cut
// short: both run out of input. So a value is handed over with the SP
// that ended it in its list ([`Terminated`]), which no value production
// takes, and each production reads to it. Failures carry the error the
// reply quotes ([`Fail`]): the first production that fails, reading left
// to right, names what is wrong.

/// Why a value breaks its grammar: the error of the innermost production
/// that named one ([`fail_with`]), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail(Option<SyntaxError>);

impl<I> ParseError<I> for Fail {
    fn from_error_kind(_: I, _: ErrorKind) -> Self {
        Fail(None)
    }

    fn append(_: I, _: ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result of a value production.
pub(crate) type VRes<'a, O> = IResult<&'a [u8], O, Fail>;

/// `parser`, whose failure is `error` unless a production inside it named
/// a more precise one. `Incomplete` stays `Incomplete`.
pub(crate) fn fail_with<'a, O>(
    error: SyntaxError,
    mut parser: impl FnMut(&'a [u8]) -> VRes<'a, O>,
) -> impl FnMut(&'a [u8]) -> VRes<'a, O> {
    move |input| match parser(input) {
        Err(nom::Err::Error(Fail(inner)) | nom::Err::Failure(Fail(inner))) => Err(nom::Err::Error(
            Fail(Some(inner.unwrap_or_else(|| error.clone()))),
        )),
        other => other,
    }
}

/// The SP that ended a value in its list (RFC 5321 §4.1.2
/// `Mail-parameters`).
fn value_end(input: &[u8]) -> VRes<'_, char> {
    char(' ')(input)
}

/// Values at most this long are given their SP on the stack.
const STACK_VALUE: usize = 128;

/// A whole parameter value followed by the SP that ended it, for
/// streaming productions to read.
pub(crate) struct Terminated<'v> {
    value: &'v [u8],
    stack: [u8; STACK_VALUE],
    heap: Vec<u8>,
}

impl<'v> Terminated<'v> {
    /// `value` and its SP (copied: a value is short, and longer ones,
    /// which only a raised line limit lets through, go to the heap).
    #[inline]
    pub(crate) fn new(value: &'v [u8]) -> Self {
        let mut t = Terminated {
            value,
            stack: [0; STACK_VALUE],
            heap: Vec::new(),
        };
        match t.stack.get_mut(..value.len() + 1) {
            Some(buf) => {
                buf[..value.len()].copy_from_slice(value);
                buf[value.len()] = b' ';
            }
            None => t.heap = [value, b" "].concat(),
        }
        t
    }

    /// The value and its SP.
    #[inline]
    pub(crate) fn input(&self) -> &[u8] {
        if self.heap.is_empty() {
            &self.stack[..self.value.len() + 1]
        } else {
            &self.heap
        }
    }

    /// Runs `production`, which must take the whole value: anything left
    /// before the SP is `trailing`.
    #[inline]
    pub(crate) fn parse<'t, O>(
        &'t self,
        production: impl FnMut(&'t [u8]) -> VRes<'t, O>,
        trailing: SyntaxError,
    ) -> Result<O, SyntaxError> {
        let whole = terminated(production, fail_with(trailing.clone(), value_end));
        match fail_with(trailing.clone(), whole)(self.input()) {
            // The value's own SP ended it early: a value holds none.
            Ok((rest, _)) if !rest.is_empty() => Err(trailing),
            Ok((_, o)) => Ok(o),
            Err(nom::Err::Error(Fail(e)) | nom::Err::Failure(Fail(e))) => {
                Err(e.unwrap_or(trailing))
            }
            Err(nom::Err::Incomplete(_)) => Err(trailing),
        }
    }

    /// The octets of the value itself that `part`, a piece of
    /// [`Self::input`], covers.
    #[inline]
    pub(crate) fn original(&self, part: &[u8]) -> &'v [u8] {
        let input = self.input();
        let start = (part.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
        start
            .checked_add(part.len())
            .and_then(|end| self.value.get(start..end))
            .unwrap_or_default()
    }
}

/// The value from here up to its first `stop` or its end (the SP after
/// it): a field the value's grammar splits at `stop`, whatever it holds,
/// which its own production reads after.
pub(crate) fn field_until<'a>(stop: u8) -> impl FnMut(&'a [u8]) -> VRes<'a, &'a [u8]> {
    take_till(move |b| b == stop || b == b' ')
}

/// The rest of the value, up to the SP after it.
pub(crate) fn rest_of_value(input: &[u8]) -> VRes<'_, &[u8]> {
    take_till(|b| b == b' ')(input)
}

/// `1*max DIGIT`, and not one more (so that a longer run is an error
/// here, not after it), as a number.
pub(crate) fn digits<'a>(max: usize) -> impl FnMut(&'a [u8]) -> VRes<'a, u64> {
    map_opt(
        terminated(
            take_while_m_n(1, max, |b: u8| b.is_ascii_digit()),
            not(satisfy(|c| c.is_ascii_digit())),
        ),
        |d: &[u8]| {
            d.iter().try_fold(0u64, |n, &b| {
                n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            })
        },
    )
}

/// Checks a value production's streaming contract on valid values: the
/// value and its SP parse, and every strict prefix of the value alone is
/// `Incomplete` (never an error: more octets could still make it valid).
#[cfg(test)]
macro_rules! assert_streaming {
    ($production:expr, $valid:expr $(,)?) => {
        for v in $valid {
            let v: &str = v;
            let with_end = format!("{v} ");
            assert!(
                matches!($production(with_end.as_bytes()), Ok((b" ", _))),
                "{v:?} is not read up to its SP"
            );
            for n in 0..v.len() {
                let prefix = &v.as_bytes()[..n];
                assert!(
                    matches!($production(prefix), Err(nom::Err::Incomplete(_))),
                    "prefix {:?} of {v:?} is not Incomplete",
                    String::from_utf8_lossy(prefix)
                );
            }
        }
    };
}
#[cfg(test)]
pub(crate) use assert_streaming;
