//! What XCLIENT and XFORWARD share (Postfix's XCLIENT_README and
//! XFORWARD_README): the attribute names, a value or `[UNAVAILABLE]` /
//! `[TEMPUNAVAIL]`, the `attribute-name "=" attribute-value` list with
//! xtext values, the value grammars (host names, addresses with `IPV6:`,
//! ports, words) and how each value is written.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{EncodeError, SyntaxError, SyntaxErrorKind};
use crate::octets::class::is_xchar;
use crate::options::ParseOptions;
use crate::values::XText;

/// `[UNAVAILABLE]` (XCLIENT_README, XFORWARD_README; any case, Note 2).
pub(crate) const UNAVAILABLE: &str = "[UNAVAILABLE]";
/// `[TEMPUNAVAIL]` (XCLIENT_README, NAME and REVERSE_NAME only).
pub(crate) const TEMPUNAVAIL: &str = "[TEMPUNAVAIL]";
/// "IPV6:" before an IPv6 address (any case, Note 2).
pub(crate) const IPV6_PREFIX: &str = "IPV6:";
/// The longest attribute value (XFORWARD_README Note 1: "must not be
/// longer than 255 characters"; Postfix refuses a longer one on the wire
/// with "attribute value too long").
pub(crate) const MAX_VALUE: usize = 255;
/// XCLIENT_README Note 1: "The client must not send XCLIENT commands that
/// exceed the 512 character limit for SMTP commands" (RFC 5321
/// §4.5.3.1.4); XFORWARD_README Note 2 says the same.
pub(crate) const MAX_LINE: usize = 512;

/// An attribute's value, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attr<T> {
    /// The value.
    Value(T),
    /// `[UNAVAILABLE]`: the information is not available.
    Unavailable,
    /// `[TEMPUNAVAIL]`: a look-up failed temporarily (XCLIENT's NAME and
    /// REVERSE_NAME only).
    TempUnavailable,
}

impl<T> Attr<T> {
    /// The value, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Attr::Value(v) => Some(v),
            _ => None,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Attr<U> {
        match self {
            Attr::Value(v) => Attr::Value(f(v)),
            Attr::Unavailable => Attr::Unavailable,
            Attr::TempUnavailable => Attr::TempUnavailable,
        }
    }
}

/// The attribute names of XCLIENT and XFORWARD (XCLIENT_README,
/// XFORWARD_README), matched in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AttrName {
    /// `NAME`: the client's host name.
    Name,
    /// `REVERSE_NAME` (XCLIENT): the client's reverse-DNS name.
    ReverseName,
    /// `ADDR`: the client's address.
    Addr,
    /// `PORT`: the client's port.
    Port,
    /// `PROTO`: `SMTP` or `ESMTP` (XCLIENT); the protocol mail came in by
    /// (XFORWARD).
    Proto,
    /// `HELO`: the client's HELO/EHLO argument.
    Helo,
    /// `LOGIN` (XCLIENT): the SASL login name.
    Login,
    /// `DESTADDR` (XCLIENT): the server address the client reached.
    DestAddr,
    /// `DESTPORT` (XCLIENT): the server port the client reached.
    DestPort,
    /// `IDENT` (XFORWARD): the up-stream host's message id.
    Ident,
    /// `SOURCE` (XFORWARD): `LOCAL` or `REMOTE`.
    Source,
}

impl AttrName {
    const ALL: [AttrName; 11] = [
        AttrName::Name,
        AttrName::ReverseName,
        AttrName::Addr,
        AttrName::Port,
        AttrName::Proto,
        AttrName::Helo,
        AttrName::Login,
        AttrName::DestAddr,
        AttrName::DestPort,
        AttrName::Ident,
        AttrName::Source,
    ];

    /// The name as written (upper case).
    pub const fn as_str(self) -> &'static str {
        match self {
            AttrName::Name => "NAME",
            AttrName::ReverseName => "REVERSE_NAME",
            AttrName::Addr => "ADDR",
            AttrName::Port => "PORT",
            AttrName::Proto => "PROTO",
            AttrName::Helo => "HELO",
            AttrName::Login => "LOGIN",
            AttrName::DestAddr => "DESTADDR",
            AttrName::DestPort => "DESTPORT",
            AttrName::Ident => "IDENT",
            AttrName::Source => "SOURCE",
        }
    }

    /// Recognises a name in any case.
    pub fn parse(name: &str) -> Option<AttrName> {
        AttrName::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for AttrName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of attribute names: what a server's EHLO keyword lists, or what a
/// command carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AttrNames(u16);

impl AttrNames {
    /// No name.
    pub const EMPTY: AttrNames = AttrNames(0);

    /// Whether `name` is in the set.
    pub const fn contains(self, name: AttrName) -> bool {
        self.0 & name.bit() != 0
    }

    /// Whether every name of `other` is in this set.
    pub const fn contains_all(self, other: AttrNames) -> bool {
        other.0 & !self.0 == 0
    }

    /// The set with `name` added.
    pub const fn with(self, name: AttrName) -> Self {
        AttrNames(self.0 | name.bit())
    }

    /// The names, in the order they are written.
    pub fn iter(self) -> impl Iterator<Item = AttrName> {
        AttrName::ALL.into_iter().filter(move |a| self.contains(*a))
    }

    /// The names in an EHLO keyword's parameters (`NAME ADDR …`); names
    /// this crate does not know are left out.
    pub fn from_ehlo_params(params: &str) -> AttrNames {
        params
            .split(' ')
            .filter_map(AttrName::parse)
            .fold(AttrNames::default(), AttrNames::with)
    }
}

pub(crate) const fn arg_error(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

/// Splits `attribute-name "=" attribute-value` pairs, xtext-decodes each
/// value (XCLIENT_README Note 3: a lenient reader takes a value that is
/// not xtext as it is, as Postfix before 2.3 sent them) and hands them to
/// `each`.
pub(crate) fn for_each_attr<'a>(
    args: Option<&'a str>,
    opts: &ParseOptions,
    mut each: impl FnMut(AttrName, Cow<'a, str>) -> Result<(), SyntaxError>,
) -> Result<(), SyntaxError> {
    let args = args.unwrap_or_default();
    let mut any = false;
    for pair in args.split(' ').filter(|p| !p.is_empty()) {
        any = true;
        let (name, raw) = pair
            .split_once('=')
            .filter(|(_, v)| !v.is_empty())
            .ok_or(arg_error("attribute=value expected"))?;
        let name = AttrName::parse(name).ok_or(arg_error("unknown attribute name"))?;
        let value = if raw.bytes().all(is_xchar) {
            // Nothing to decode: the value is the wire text.
            Cow::Borrowed(raw)
        } else {
            match XText::decode(raw.as_bytes(), opts.lenient_mode()) {
                Ok(x) => Cow::Owned(x.as_str().to_owned()),
                Err(_) if opts.lenient_mode() => Cow::Borrowed(raw),
                Err(_) => return Err(arg_error("attribute value is not xtext")),
            }
        };
        // The value, not its encoding, is bounded: what is read can be
        // written back however it is encoded.
        if value.len() > MAX_VALUE {
            return Err(arg_error("attribute value too long"));
        }
        each(name, value)?;
    }
    if any {
        Ok(())
    } else {
        Err(arg_error("attribute=value expected"))
    }
}

/// Sets `slot` once: a repeated attribute is refused, so that the typed
/// value says exactly what was sent.
pub(crate) fn set_once<T>(
    slot: &mut Option<T>,
    value: Result<T, SyntaxError>,
) -> Result<(), SyntaxError> {
    if slot.is_some() {
        return Err(arg_error("attribute repeated"));
    }
    *slot = Some(value?);
    Ok(())
}

pub(crate) fn is_unavailable(v: &str) -> bool {
    v.eq_ignore_ascii_case(UNAVAILABLE)
}

/// `[UNAVAILABLE]`, `[TEMPUNAVAIL]` (when `temp`), or `f`'s value.
pub(crate) fn attr<'a, T>(
    v: Cow<'a, str>,
    temp: bool,
    f: impl FnOnce(Cow<'a, str>) -> Option<T>,
    detail: &'static str,
) -> Result<Attr<T>, SyntaxError> {
    if is_unavailable(&v) {
        Ok(Attr::Unavailable)
    } else if temp && v.eq_ignore_ascii_case(TEMPUNAVAIL) {
        Ok(Attr::TempUnavailable)
    } else {
        f(v).map(Attr::Value).ok_or(arg_error(detail))
    }
}

/// A host name as Postfix's `valid_hostname` takes it: letters, digits,
/// `-`, `_` and `.`, at most 255 octets.
pub(crate) fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_VALUE
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Printable ASCII without space (XFORWARD_README Note 1: no controls,
/// no non-ASCII, no whitespace), at most `max` octets, and not one of the
/// bracketed words that mean "no value".
pub(crate) fn is_word(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_graphic())
        && !is_unavailable(s)
        && !s.eq_ignore_ascii_case(TEMPUNAVAIL)
}

/// A SASL login name: any text without controls (it may be UTF-8), at
/// most 255 octets, not a bracketed "no value" word.
pub(crate) fn is_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_VALUE
        && !s.chars().any(char::is_control)
        && !is_unavailable(s)
        && !s.eq_ignore_ascii_case(TEMPUNAVAIL)
}

/// An IPv4 address, or an IPv6 one after `IPV6:` (any case; a lenient
/// reader also takes a bare IPv6 address). "Address information is not
/// enclosed with []".
pub(crate) fn parse_addr(v: &str, opts: &ParseOptions) -> Option<IpAddr> {
    let prefixed = v
        .get(..IPV6_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(IPV6_PREFIX))
        .and_then(|_| v.get(IPV6_PREFIX.len()..));
    if let Some(v6) = prefixed {
        return v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(v4) = v.parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    if opts.lenient_mode() {
        return v.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

/// A decimal port, at most five digits, at most 65535.
pub(crate) fn parse_port(v: &str) -> Option<u16> {
    if v.is_empty() || v.len() > 5 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A value as it goes on the wire (xtext where it may need it).
pub(crate) trait WireValue {
    /// Appends the value.
    fn put_value(&self, out: &mut Vec<u8>);
}

impl WireValue for Cow<'_, str> {
    fn put_value(&self, out: &mut Vec<u8>) {
        crate::values::encode_xtext(self.as_bytes(), out);
    }
}

/// IPv4 as it is, IPv6 after `IPV6:` ("Address information is not
/// enclosed with []").
impl WireValue for IpAddr {
    fn put_value(&self, out: &mut Vec<u8>) {
        let text = match self {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("{IPV6_PREFIX}{v6}"),
        };
        out.extend_from_slice(text.as_bytes());
    }
}

impl WireValue for u16 {
    fn put_value(&self, out: &mut Vec<u8>) {
        crate::values::push_decimal(out, u64::from(*self));
    }
}

/// Appends ` NAME=value` when the attribute is present.
pub(crate) fn put<T: WireValue>(out: &mut Vec<u8>, name: AttrName, value: &Option<Attr<T>>) {
    let Some(value) = value else {
        return;
    };
    out.push(b' ');
    out.extend_from_slice(name.as_str().as_bytes());
    out.push(b'=');
    match value {
        Attr::Value(v) => v.put_value(out),
        Attr::Unavailable => out.extend_from_slice(UNAVAILABLE.as_bytes()),
        Attr::TempUnavailable => out.extend_from_slice(TEMPUNAVAIL.as_bytes()),
    }
}

/// Checks a caller's value before it is written: what the parser would
/// refuse is refused here, so what is written reads back the same.
pub(crate) fn check_attr<T>(
    value: &Option<Attr<T>>,
    temp: bool,
    valid: impl Fn(&T) -> bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    match value {
        Some(Attr::Value(v)) if !valid(v) => Err(EncodeError::Invalid(field)),
        Some(Attr::TempUnavailable) if !temp => Err(EncodeError::Invalid(field)),
        _ => Ok(()),
    }
}

/// Checks a command as a client sends it (the verb and its attributes,
/// without CRLF): each value within 255 octets as encoded (Postfix counts
/// the wire form), the line within the 512 octets of a command line (RFC
/// 5321 §4.5.3.1.4; XCLIENT_README Note 1, XFORWARD_README Note 2).
pub(crate) fn check_for_sending(line: &[u8], field: &'static str) -> Result<(), EncodeError> {
    for pair in line.split(|&b| b == b' ').skip(1) {
        let value = pair.splitn(2, |&b| b == b'=').nth(1).unwrap_or_default();
        if value.len() > MAX_VALUE {
            return Err(EncodeError::TooLong {
                field,
                limit: MAX_VALUE,
            });
        }
    }
    if line.len() + 2 > MAX_LINE {
        return Err(EncodeError::TooLong {
            field,
            limit: MAX_LINE,
        });
    }
    Ok(())
}

fn own(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

pub(crate) fn own_attr(a: Option<Attr<Cow<'_, str>>>) -> Option<Attr<Cow<'static, str>>> {
    a.map(|a| a.map(own))
}
