//! The ORCPT parameter of DSN (RFC 3461 §4.2, RFC 6533 §3 for UTF-8
//! addresses): the original recipient's address type and address.

use std::borrow::Cow;

use nom::bytes::streaming::take_while1;
use nom::character::streaming::char;
use nom::combinator::peek;
use nom::sequence::{pair, preceded, separated_pair, terminated};

use crate::error::SyntaxError;
use crate::ext::{invalid, xtext_cow};
use crate::grammar::param::{fail_with, field_until, rest_of_value, Terminated, VRes};
use crate::octets::class::is_atext;
use crate::options::ParseOptions;
use crate::values::{decode_utf8_addr, encode_utf8_addr, encode_xtext};

/// The `addr-type` of an ORCPT (RFC 3461 §4.2): an IANA address type,
/// compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddrType<'a> {
    /// `rfc822`: the address is an xtext.
    Rfc822,
    /// `utf-8` (RFC 6533 §3): `utf-8-addr-xtext`, or `utf-8-addr-unitext`
    /// with SMTPUTF8.
    Utf8,
    /// Another registered type, kept as written (an `atom`); its address
    /// is an xtext.
    Other(Cow<'a, str>),
}

impl<'a> AddrType<'a> {
    /// Parses an `atom`.
    pub fn parse(s: &'a [u8]) -> Result<Self, SyntaxError> {
        if s.eq_ignore_ascii_case(b"rfc822") {
            Ok(AddrType::Rfc822)
        } else if s.eq_ignore_ascii_case(b"utf-8") {
            Ok(AddrType::Utf8)
        } else if !s.is_empty() && s.iter().all(|&b| is_atext(b)) {
            std::str::from_utf8(s)
                .map(|s| AddrType::Other(Cow::Borrowed(s)))
                .map_err(|_| invalid("invalid ORCPT addr-type"))
        } else {
            Err(invalid("invalid ORCPT addr-type"))
        }
    }

    /// The wire form (`rfc822` and `utf-8` in their registered case).
    pub fn as_str(&self) -> &str {
        match self {
            AddrType::Rfc822 => "rfc822",
            AddrType::Utf8 => "utf-8",
            AddrType::Other(s) => s,
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> AddrType<'static> {
        match self {
            AddrType::Rfc822 => AddrType::Rfc822,
            AddrType::Utf8 => AddrType::Utf8,
            AddrType::Other(s) => AddrType::Other(Cow::Owned(s.into_owned())),
        }
    }
}

/// `ORCPT=addr-type;address` (RFC 3461 §4.2, RFC 6533 §3), the address
/// kept decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt<'a> {
    addr_type: AddrType<'a>,
    address: Cow<'a, str>,
}

impl<'a> Orcpt<'a> {
    /// An ORCPT from its decoded parts. The address must not be empty,
    /// and an `Other` addr-type must be an `atom`.
    pub fn new(
        addr_type: AddrType<'a>,
        address: impl Into<Cow<'a, str>>,
    ) -> Result<Self, SyntaxError> {
        let address = address.into();
        if address.is_empty() {
            return Err(invalid("empty ORCPT address"));
        }
        if let AddrType::Other(t) = &addr_type {
            if t.is_empty()
                || !t.bytes().all(is_atext)
                || t.eq_ignore_ascii_case("rfc822")
                || t.eq_ignore_ascii_case("utf-8")
            {
                return Err(invalid("invalid ORCPT addr-type"));
            }
        }
        Ok(Orcpt { addr_type, address })
    }

    /// Parses the value. `rfc822` and other types carry an xtext;
    /// `utf-8` carries `utf-8-addr-xtext`, or `utf-8-addr-unitext` when
    /// `opts.utf8` (RFC 6533 §3).
    pub fn parse(value: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let whole = Terminated::new(value);
        let (addr_type, wire) =
            whole.parse(original_recipient_address, invalid("invalid ORCPT"))?;
        let addr_type = AddrType::parse(whole.original(addr_type))?;
        let wire = whole.original(wire);
        let address = match addr_type {
            AddrType::Utf8 => decode_utf8_addr(wire, opts.utf8)?,
            _ => xtext_cow(wire, opts)?,
        };
        if address.is_empty() {
            return Err(invalid("empty ORCPT address"));
        }
        Ok(Orcpt { addr_type, address })
    }

    /// [`Orcpt::parse`] of a value whose every octet is an `xchar` (the
    /// parameter scan has seen to it): the common `rfc822;address` is
    /// borrowed as is, since an xtext without `+` decodes to itself.
    /// `None` for anything else, which [`Orcpt::parse`] then reads.
    #[inline]
    pub(crate) fn parse_xchars(value: &'a str) -> Option<Self> {
        let (ty, address) = value.split_once(';')?;
        if ty.eq_ignore_ascii_case("rfc822") && !address.is_empty() {
            Some(Orcpt {
                addr_type: AddrType::Rfc822,
                address: Cow::Borrowed(address),
            })
        } else {
            None
        }
    }

    /// `rfc822;address` of an address whose every octet is an `xchar`
    /// (so it decodes to itself), checked by the caller.
    #[inline(always)]
    pub(crate) fn rfc822(address: &'a str) -> Self {
        Orcpt {
            addr_type: AddrType::Rfc822,
            address: Cow::Borrowed(address),
        }
    }

    /// The address type.
    pub fn addr_type(&self) -> &AddrType<'a> {
        &self.addr_type
    }

    /// The decoded address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Appends the canonical form: xtext with uppercase hex, or for
    /// `utf-8` the 7-bit `utf-8-addr-xtext`, which is safe whether or not
    /// the server offers SMTPUTF8 (RFC 6533 §3).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.addr_type.as_str().as_bytes());
        out.push(b';');
        match self.addr_type {
            AddrType::Utf8 => encode_utf8_addr(&self.address, false, out),
            _ => encode_xtext(self.address.as_bytes(), out),
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Orcpt<'static> {
        Orcpt {
            addr_type: self.addr_type.into_owned(),
            address: Cow::Owned(self.address.into_owned()),
        }
    }
}

/// `original-recipient-address = addr-type ";" xtext` (RFC 3461 §4.2),
/// `addr-type = atom`, as the type and the still encoded address (whose
/// grammar depends on the type: xtext, or RFC 6533 §3's for `utf-8`).
/// The ";" is looked for first: without one, the value is not an ORCPT.
fn original_recipient_address(input: &[u8]) -> VRes<'_, (&[u8], &[u8])> {
    let semicolon = peek(pair(field_until(b';'), char(';')));
    preceded(
        fail_with(invalid("ORCPT without ';'"), semicolon),
        separated_pair(
            fail_with(invalid("invalid ORCPT addr-type"), addr_type),
            char(';'),
            rest_of_value,
        ),
    )(input)
}

/// `addr-type = atom` (RFC 3461 §4.2), up to its ";".
fn addr_type(input: &[u8]) -> VRes<'_, &[u8]> {
    terminated(take_while1(is_atext), peek(char(';')))(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: ParseOptions = ParseOptions::strict();
    const LENIENT: ParseOptions = ParseOptions::lenient();

    fn w(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn orcpt_xchar_path_matches_parse_rfc3461_4_2() {
        for v in [
            "rfc822;a@b.org",
            "RFC822;Bob@Example.COM",
            "rfc822;",
            ";a@b",
            "utf-8;a@b",
            "x-type;abc",
            "rfc822",
            "rfc822;a;b",
        ] {
            if let Some(fast) = Orcpt::parse_xchars(v) {
                assert_eq!(Ok(fast), Orcpt::parse(v.as_bytes(), &STRICT), "{v}");
            }
        }
        assert!(Orcpt::parse_xchars("rfc822;a@b.org").is_some());
        assert!(Orcpt::parse_xchars("rfc822;").is_none());
    }

    #[test]
    fn orcpt_rfc3461_4_2_and_rfc6533_3() {
        // RFC 3461 §6.2 example.
        let o = Orcpt::parse(b"rfc822;Bob@Example.COM", &STRICT).unwrap();
        assert_eq!(o.addr_type(), &AddrType::Rfc822);
        assert_eq!(o.address(), "Bob@Example.COM");
        let o = Orcpt::parse(b"RFC822;a+2Bb@x.org", &STRICT).unwrap();
        assert_eq!(o.address(), "a+b@x.org");
        assert_eq!(w(|out| o.write_to(out)), "rfc822;a+2Bb@x.org");
        let o = Orcpt::parse(b"utf-8;a\\x{E9}@x.org", &STRICT).unwrap();
        assert_eq!(o.address(), "aé@x.org");
        assert_eq!(w(|out| o.write_to(out)), "utf-8;a\\x{E9}@x.org");
        // Raw UTF-8 only as utf-8-addr-unitext with SMTPUTF8.
        let raw = "utf-8;aé@x.org".as_bytes();
        assert!(Orcpt::parse(raw, &STRICT).is_err());
        assert_eq!(
            Orcpt::parse(raw, &STRICT.with_utf8(true))
                .unwrap()
                .address(),
            "aé@x.org"
        );
        let o = Orcpt::parse(b"x400;c=us", &STRICT);
        assert!(o.is_err(), "'=' is not xtext");
        let o = Orcpt::parse(b"X-Type;abc", &STRICT).unwrap();
        assert_eq!(o.addr_type().as_str(), "X-Type");
        assert!(Orcpt::parse(b"rfc822", &STRICT).is_err());
        assert!(Orcpt::parse(b"rfc822;", &STRICT).is_err());
        assert!(Orcpt::parse(b";a@b", &STRICT).is_err());
        assert!(Orcpt::parse(b"rfc822;a+2bb@x", &STRICT).is_err());
        assert!(Orcpt::parse(b"rfc822;a+2bb@x", &LENIENT).is_ok());
        assert!(Orcpt::new(AddrType::Other("a b".into()), "x").is_err());
        assert!(Orcpt::new(AddrType::Rfc822, "").is_err());
    }

    #[test]
    fn original_recipient_address_streams_rfc3461_4_2() {
        crate::grammar::param::assert_streaming!(
            original_recipient_address,
            &["rfc822;Bob@Example.COM", "utf-8;a\\x{E9}@x.org", "x400;"],
        );
    }
}
