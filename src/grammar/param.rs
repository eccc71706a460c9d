//! The parameter productions of RFC 5321 §4.1.2 (`esmtp-param` and the
//! MAIL and RCPT lists), with the RFC 6531 §3.3 UTF-8 values and the one
//! registered parameter that steps outside `esmtp-value` (MTRK).

use nom::branch::alt;
use nom::bytes::streaming::{tag_no_case, take_while, take_while1, take_while_m_n};
use nom::character::streaming::char;
use nom::combinator::{opt, recognize};
use nom::multi::many0_count;
use nom::sequence::{pair, preceded, tuple};

use super::Res;
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
    recognize(pair(
        tag_no_case("MTRK="),
        take_while1(move |b: u8| is_esmtp_value(b) || b == b'=' || (utf8 && b >= 0x80)),
    ))
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
