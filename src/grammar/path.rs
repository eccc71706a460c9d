//! The address productions of RFC 5321 §4.1.2 and §4.1.3 (with the
//! RFC 6531 §3.3 UTF-8 extensions when `utf8`), as nom streaming parsers
//! that recognise a production and return the octets it spans.
//!
//! The size limits of RFC 5321 §4.5.3.1 are part of the language a
//! receiver accepts, so they are checked here too.

use nom::branch::alt;
use nom::bytes::streaming::{tag, tag_no_case, take_while, take_while1, take_while_m_n};
use nom::character::streaming::char;
use nom::combinator::{opt, peek, recognize, verify};
use nom::multi::{count, many0_count, many_m_n};
use nom::sequence::{pair, preceded, terminated, tuple};

use super::Res;
use crate::octets::class::{is_atext, is_quotable};
use crate::values::{MAX_DOMAIN_LEN, MAX_LABEL_LEN, MAX_LOCAL_PART_LEN, MAX_PATH_LEN};

/// `Let-dig = ALPHA / DIGIT` (§4.1.3).
fn is_let_dig(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `sub-domain = Let-dig [Ldh-str]`, `Ldh-str = *( ALPHA / DIGIT / "-" )
/// Let-dig` (§4.1.2); with SMTPUTF8 also a U-label (RFC 6531 §3.3), whose
/// octets are UTF-8 (the line was checked as UTF-8 before). A label is at
/// most 63 octets (RFC 1035 §2.3.4).
pub(crate) fn sub_domain<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    let octet = move |b: u8| is_let_dig(b) || b == b'-' || (utf8 && b >= 0x80);
    let ends = move |b: u8| is_let_dig(b) || (utf8 && b >= 0x80);
    verify(take_while1(octet), move |l: &[u8]| {
        l.len() <= MAX_LABEL_LEN
            && l.first().is_some_and(|&b| ends(b))
            && l.last().is_some_and(|&b| ends(b))
    })
}

/// `Domain = sub-domain *("." sub-domain)` (§4.1.2), at most 255 octets
/// (§4.5.3.1.2).
pub(crate) fn domain<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    verify(
        recognize(pair(
            sub_domain(utf8),
            many0_count(preceded(char('.'), sub_domain(utf8))),
        )),
        |d: &[u8]| d.len() <= MAX_DOMAIN_LEN,
    )
}

/// `Snum = 1*3DIGIT` "representing a decimal integer value in the range 0
/// through 255" (§4.1.3).
fn snum(input: &[u8]) -> Res<'_> {
    verify(
        take_while_m_n(1, 3, |b: u8| b.is_ascii_digit()),
        |d: &[u8]| d.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0')) <= 255,
    )(input)
}

/// `IPv4-address-literal = Snum 3("." Snum)` (§4.1.3).
pub(crate) fn ipv4_address_literal(input: &[u8]) -> Res<'_> {
    recognize(pair(snum, count(preceded(char('.'), snum), 3)))(input)
}

/// `IPv6-hex = 1*4HEXDIG` (§4.1.3).
fn ipv6_hex(input: &[u8]) -> Res<'_> {
    take_while_m_n(1, 4, |b: u8| b.is_ascii_hexdigit())(input)
}

/// `IPv6-hex *max(":" IPv6-hex)`: the groups on one side of `::`, and
/// how many there are.
fn hex_groups<'a>(max: usize) -> impl FnMut(&'a [u8]) -> Res<'a, usize> {
    move |input| {
        let (rest, (_, more)) =
            pair(ipv6_hex, many_m_n(0, max, preceded(char(':'), ipv6_hex)))(input)?;
        Ok((rest, 1 + more.len()))
    }
}

/// `IPv6-full = IPv6-hex 7(":" IPv6-hex)` (§4.1.3).
fn ipv6_full(input: &[u8]) -> Res<'_> {
    recognize(pair(ipv6_hex, count(preceded(char(':'), ipv6_hex), 7)))(input)
}

/// `IPv6-comp = [IPv6-hex *5(":" IPv6-hex)] "::" [IPv6-hex *5(":"
/// IPv6-hex)]`: "No more than 6 groups in addition to the '::' may be
/// present" (§4.1.3).
fn ipv6_comp(input: &[u8]) -> Res<'_> {
    let (rest, (left, _, right)) =
        tuple((opt(hex_groups(5)), tag("::"), opt(hex_groups(5))))(input)?;
    if left.unwrap_or(0) + right.unwrap_or(0) > 6 {
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((rest, &input[..input.len() - rest.len()]))
}

/// `IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal`
/// (§4.1.3).
fn ipv6v4_full(input: &[u8]) -> Res<'_> {
    recognize(tuple((
        ipv6_hex,
        count(preceded(char(':'), ipv6_hex), 5),
        char(':'),
        ipv4_address_literal,
    )))(input)
}

/// `IPv6v4-comp = [IPv6-hex *3(":" IPv6-hex)] "::" [IPv6-hex *3(":"
/// IPv6-hex) ":"] IPv4-address-literal`: "No more than 4 groups in
/// addition to the '::' and IPv4-address-literal may be present"
/// (§4.1.3).
fn ipv6v4_comp(input: &[u8]) -> Res<'_> {
    let (rest, (left, _, right, _)) = tuple((
        opt(hex_groups(3)),
        tag("::"),
        many_m_n(0, 4, terminated(ipv6_hex, char(':'))),
        ipv4_address_literal,
    ))(input)?;
    if left.unwrap_or(0) + right.len() > 4 {
        return Err(nom::Err::Error(nom::error::Error::new(
            input,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((rest, &input[..input.len() - rest.len()]))
}

/// `IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp`
/// (§4.1.3). Each alternative must reach the closing `]`, so a shorter
/// reading of a longer address is not taken.
fn ipv6_addr(input: &[u8]) -> Res<'_> {
    let end = || peek(char(']'));
    alt((
        terminated(ipv6v4_full, end()),
        terminated(ipv6_full, end()),
        terminated(ipv6v4_comp, end()),
        terminated(ipv6_comp, end()),
    ))(input)
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (§4.1.2), with `IPv6-address-literal =
/// "IPv6:" IPv6-addr` (§4.1.3). `General-address-literal` is left out:
/// IANA has registered no `Standardized-tag` but `IPv6`, so no other tag
/// names an address.
pub(crate) fn address_literal(input: &[u8]) -> Res<'_> {
    recognize(tuple((
        char('['),
        alt((
            ipv4_address_literal,
            recognize(pair(tag_no_case("IPv6:"), ipv6_addr)),
        )),
        char(']'),
    )))(input)
}

/// `Atom = 1*atext` (§4.1.2), `atext =/ UTF8-non-ascii` with SMTPUTF8
/// (RFC 6531 §3.3).
fn atom<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    take_while1(move |b: u8| is_atext(b) || (utf8 && b >= 0x80))
}

/// `Dot-string = Atom *("." Atom)` (§4.1.2).
pub(crate) fn dot_string<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(pair(
        atom(utf8),
        many0_count(preceded(char('.'), atom(utf8))),
    ))
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE`, `QcontentSMTP =
/// qtextSMTP / quoted-pairSMTP`, `quoted-pairSMTP = %d92 %d32-126`,
/// `qtextSMTP = %d32-33 / %d35-91 / %d93-126` (§4.1.2), `qtextSMTP =/
/// UTF8-non-ascii` with SMTPUTF8 (RFC 6531 §3.3).
pub(crate) fn quoted_string<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    let qtext = move |b: u8| is_quotable(b) && b != b'"' && b != b'\\' || (utf8 && b >= 0x80);
    recognize(tuple((
        char('"'),
        many0_count(alt((
            take_while1(qtext),
            recognize(pair(char('\\'), take_while_m_n(1, 1, is_quotable))),
        ))),
        char('"'),
    )))
}

/// `Local-part = Dot-string / Quoted-string` (§4.1.2), at most 64 octets
/// (§4.5.3.1.1).
pub(crate) fn local_part<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    verify(
        alt((dot_string(utf8), quoted_string(utf8))),
        |l: &[u8]| l.len() <= MAX_LOCAL_PART_LEN,
    )
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )` (§4.1.2).
pub(crate) fn mailbox<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(tuple((
        local_part(utf8),
        char('@'),
        alt((domain(utf8), address_literal)),
    )))
}

/// `At-domain = "@" Domain` (§4.1.2).
fn at_domain<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(pair(char('@'), domain(utf8)))
}

/// `A-d-l = At-domain *( "," At-domain )` (§4.1.2): a source route, which
/// a receiver "MUST BE accepted" and then ignores (App. C).
fn a_d_l<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    recognize(pair(
        at_domain(utf8),
        many0_count(preceded(char(','), at_domain(utf8))),
    ))
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"` (§4.1.2), at most 256 octets
/// (§4.5.3.1.3).
pub(crate) fn path<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    verify(
        recognize(tuple((
            char('<'),
            opt(terminated(a_d_l(utf8), char(':'))),
            mailbox(utf8),
            char('>'),
        ))),
        |p: &[u8]| p.len() <= MAX_PATH_LEN,
    )
}

/// `Reverse-path = Path / "<>"` (§4.1.2).
pub(crate) fn reverse_path<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    alt((tag("<>"), path(utf8)))
}

/// What RCPT TO takes (§4.1.1.3): `"<Postmaster@" Domain ">" /
/// "<Postmaster>" / Forward-path`, with `Forward-path = Path` (§4.1.2).
/// The first is a `Path` already.
pub(crate) fn rcpt_path<'a>(utf8: bool) -> impl FnMut(&'a [u8]) -> Res<'a> {
    alt((tag_no_case("<Postmaster>"), path(utf8)))
}

/// `*( SP / HTAB ) CRLF`: the end of a command line, after the trailing
/// white space that receivers "SHOULD tolerate" (§4.1.1).
pub(crate) fn line_end(input: &[u8]) -> Res<'_> {
    recognize(pair(take_while(|b| b == b' ' || b == b'\t'), tag("\r\n")))(input)
}

/// `*SP`: the runs of spaces that lenient mode tolerates around the colon
/// of MAIL FROM / RCPT TO and before the parameters. Only SP: a command
/// line holds no other white space by the time its arguments are split
/// (HTAB is a control, refused with the line, RFC 5321 §2.4).
pub(crate) fn spaces(input: &[u8]) -> Res<'_> {
    take_while(|b| b == b' ')(input)
}

/// Octets that may appear in a lenient path or parameter: anything but
/// the SP that ends it and the line end.
fn is_lenient_octet(b: u8) -> bool {
    !matches!(b, b' ' | b'\r' | b'\n')
}

/// A quoted string inside a lenient bracketed path: `DQUOTE *( "\" octet /
/// octet ) DQUOTE`, where an escaped octet may be anything but the line
/// end. It may hold `>` and SP, so the path's end is found outside it;
/// whether its contents are `QcontentSMTP` (§4.1.2) the value parser
/// decides.
fn lenient_quoted(input: &[u8]) -> Res<'_> {
    let not_line_end = |b: u8| b != b'\r' && b != b'\n';
    recognize(tuple((
        char('"'),
        many0_count(alt((
            take_while1(move |b: u8| b != b'"' && b != b'\\' && not_line_end(b)),
            recognize(pair(char('\\'), take_while_m_n(1, 1, not_line_end))),
        ))),
        char('"'),
    )))(input)
}

/// The path of a MAIL or RCPT line in lenient mode: `"<" *( quoted /
/// octet ) ">"`, ending at the first `>` outside a quoted string, or a
/// bare address up to the next SP (deployed clients send `MAIL FROM:
/// user@example.org`). Which octets the path may hold is left to the value
/// parsers, which word the error (RFC 5321 §4.1.2 `Path` with the
/// brackets made optional).
pub(crate) fn lenient_path(input: &[u8]) -> Res<'_> {
    if input.first() == Some(&b'<') {
        recognize(tuple((
            char('<'),
            many0_count(alt((
                lenient_quoted,
                take_while1(|b: u8| b != b'>' && b != b'"' && b != b'\r' && b != b'\n'),
            ))),
            char('>'),
        )))(input)
    } else {
        // Possibly empty: `MAIL FROM:` alone is for the value parser to
        // refuse.
        take_while(is_lenient_octet)(input)
    }
}
