//! CHECKPOINT (RFC 1845, experimental): the MAIL `TRANSID=` parameter and
//! the `355` restart reply.

use std::borrow::Cow;

use nom::bytes::streaming::take_while1;
use nom::character::streaming::char;
use nom::combinator::{cut, peek, recognize, verify};
use nom::multi::many0_count;
use nom::sequence::{delimited, pair, preceded, separated_pair};

use super::invalid;
use super::seam::{refuse_if, Extension, MailParamDef, ParamDef, NOT_OFFERED};
use crate::error::SyntaxError;
use crate::grammar::param::{fail_with, field_until, rest_of_value, Terminated, VRes};
use crate::params::{key, set};
use crate::values::{push_decimal, ReplyCode};

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "CHECKPOINT";
/// The MAIL parameter keyword.
pub const PARAM: &str = "TRANSID";
/// "transid-value may not be longer than 80 characters" (RFC 1845 §3).
pub const MAX_LEN: usize = 80;

/// `transid-value = "<" transid-local "@" transid-domain ">"` (RFC 1845
/// §3): opaque and case-sensitive (unlike keywords, RFC 5321 §2.4), kept without the
/// angle brackets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransId<'a>(Cow<'a, str>);

/// `transid-atom ::= 1*<any (ASCII) CHAR except SPACE, CTLs, tspecials,
/// or ".">` (RFC 1845 §3; `tspecials` of RFC 2045 §5.1).
fn is_atom_char(b: u8) -> bool {
    (33..127).contains(&b) && !b"()<>@,;:\\\"/[]?=.".contains(&b)
}

/// `transid-token ::= transid-atom *("." transid-atom)` (RFC 1845 §3).
fn transid_token(input: &[u8]) -> VRes<'_, &[u8]> {
    let atom = |i| take_while1(is_atom_char)(i);
    // A "." must start another atom.
    recognize(pair(atom, many0_count(preceded(char('.'), cut(atom)))))(input)
}

/// `transid-spec ::= transid-local "@" transid-domain` (RFC 1845 §3), both
/// `transid-token`s. The "@" is looked for first: without one, the value
/// is not a transaction id.
fn transid_spec(input: &[u8]) -> VRes<'_, &[u8]> {
    let at = peek(pair(field_until(b'@'), char('@')));
    preceded(
        fail_with(invalid("TRANSID without '@'"), at),
        recognize(separated_pair(transid_token, char('@'), transid_token)),
    )(input)
}

/// `transid-value ::= "<" transid-spec ">"` (RFC 1845 §3), at most 80
/// characters. The brackets and the length are looked at first, as what
/// the value is before what is inside.
fn transid_value(input: &[u8]) -> VRes<'_, &[u8]> {
    let bracketed = verify(rest_of_value, |v: &[u8]| {
        v.len() >= 2 && v.starts_with(b"<") && v.ends_with(b">")
    });
    let short = verify(rest_of_value, |v: &[u8]| v.len() <= MAX_LEN);
    preceded(
        pair(
            fail_with(invalid("TRANSID without angle brackets"), peek(bracketed)),
            fail_with(invalid("TRANSID longer than 80 characters"), peek(short)),
        ),
        delimited(char('<'), transid_spec, char('>')),
    )(input)
}

/// Checks a `local@domain` spec (for [`TransId::new`]).
fn check(spec: &[u8]) -> Result<(), SyntaxError> {
    if spec.len() + 2 > MAX_LEN {
        return Err(invalid("TRANSID longer than 80 characters"));
    }
    Terminated::new(spec).parse(transid_spec, invalid("invalid TRANSID"))?;
    Ok(())
}

impl<'a> TransId<'a> {
    /// A transaction id from its `local@domain` spec.
    pub fn new(spec: impl Into<Cow<'a, str>>) -> Result<Self, SyntaxError> {
        let spec = spec.into();
        check(spec.as_bytes())?;
        Ok(TransId(spec))
    }

    /// Parses `<local@domain>`.
    pub fn parse(value: &'a [u8]) -> Result<Self, SyntaxError> {
        let whole = Terminated::new(value);
        let spec = whole.original(whole.parse(transid_value, invalid("invalid TRANSID"))?);
        std::str::from_utf8(spec)
            .map(|s| TransId(Cow::Borrowed(s)))
            .map_err(|_| invalid("invalid TRANSID"))
    }

    /// The `local@domain` spec.
    pub fn spec(&self) -> &str {
        &self.0
    }

    /// Appends `<spec>`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(b'<');
        out.extend_from_slice(self.0.as_bytes());
        out.push(b'>');
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> TransId<'static> {
        TransId(Cow::Owned(self.0.into_owned()))
    }
}

/// The code a server answers a re-sent MAIL with when it holds part of
/// the transaction (RFC 1845 §3); a 3xx reply carries no enhanced code.
pub const RESTART_CODE: ReplyCode = ReplyCode::new_unchecked(355);

/// Appends the text of the 355 reply: `<octet-offset> is the transaction
/// offset` (RFC 1845 §3).
pub fn write_restart_text(offset: u64, out: &mut Vec<u8>) {
    push_decimal(out, offset);
    out.extend_from_slice(b" is the transaction offset");
}

/// CHECKPOINT: `TRANSID=` on MAIL, parsed and typed; a server does not
/// offer it yet, so refuses it (RFC 5321 §4.1.1.11); a client sends it as
/// the caller gave it.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[TRANSID],
    check_mail: |p, _| refuse_if(p.extras().transid.is_some(), NOT_OFFERED),
    ..Extension::NONE
};

const TRANSID: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.extras_mut().transid, || TransId::parse(v.need()?)),
    write: |p, out| {
        if let Some(t) = &p.extras().transid {
            key(out, PARAM);
            t.write_to(out);
        }
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transid_rfc1845_3() {
        // RFC 1845 §5 example.
        let t = TransId::parse(b"<12345@host.example.com>").unwrap();
        assert_eq!(t.spec(), "12345@host.example.com");
        let mut out = Vec::new();
        t.write_to(&mut out);
        assert_eq!(out, b"<12345@host.example.com>");
        // Case-sensitive: kept as written.
        assert_ne!(
            TransId::parse(b"<Ab@x>").unwrap(),
            TransId::parse(b"<ab@x>").unwrap()
        );
        for v in [
            "12345@host",
            "<12345>",
            "<@x>",
            "<a@>",
            "<a..b@x>",
            "<a@b@c>",
            "<a b@x>",
            "<a=b@x>",
        ] {
            assert!(TransId::parse(v.as_bytes()).is_err(), "{v}");
        }
        let long = format!("<{}@x>", "a".repeat(77));
        assert!(TransId::parse(long.as_bytes()).is_err());
        let max = format!("<{}@x>", "a".repeat(76));
        assert!(TransId::parse(max.as_bytes()).is_ok());
        let mut out = Vec::new();
        write_restart_text(4096, &mut out);
        assert_eq!(out, b"4096 is the transaction offset");
        assert_eq!(RESTART_CODE.get(), 355);
    }

    #[test]
    fn transid_productions_stream_rfc1845_3() {
        use crate::grammar::param::assert_streaming;
        assert_streaming!(transid_value, &["<12345@host.example.com>", "<a@b>"]);
        assert_streaming!(transid_spec, &["12345@host.example.com"]);
        assert_streaming!(transid_token, &["host.example.com", "a"]);
    }
}
