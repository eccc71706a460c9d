//! MTRK (RFC 3885): the MAIL `MTRK=` message-tracking parameter, and its
//! dependency on DSN's `ENVID=` (§3.2).

use std::borrow::Cow;

use super::seam::{advertise_if, offered, Extension, MailParamDef, Negotiation, Offer, ParamDef};
use nom::bytes::streaming::{take_while1, take_while_m_n};
use nom::character::streaming::{char, one_of};
use nom::combinator::{map_opt, opt, peek, recognize, verify};
use nom::sequence::{pair, preceded, terminated};

use super::{invalid, reply, MandatedReply};
use crate::client::{ApiError, Envelope, MessageError};
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{digits, field_until, Terminated, VRes};
use crate::params::{key, set, MailParams};
use crate::values::{push_decimal, XText};

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "MTRK";
/// The MAIL parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;
/// The largest `mtrk-timeout` (`1*9DIGIT`).
pub const MAX_TIMEOUT: u32 = 999_999_999;

/// `mtrk-parameter = "MTRK=" mtrk-certifier [ ":" mtrk-timeout ]`
/// (RFC 3885 §3.1).
///
/// The certifier is base64 (of SHA-1 of a secret, so 28 characters ending
/// in `=`). That padding breaks RFC 5321 `esmtp-value`, so this is the one
/// known parameter whose value may contain `=` (RFC 5321 §4.1.2 `esmtp-value`, RFC 3885 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mtrk<'a> {
    certifier: Cow<'a, str>,
    timeout: Option<u32>,
}

/// Checks a whole certifier (for [`Mtrk::new`]).
fn check_certifier(c: &[u8]) -> Result<(), SyntaxError> {
    let certifier = terminated(mtrk_certifier, peek(char(' ')));
    Terminated::new(c).parse(certifier, invalid("MTRK certifier is not base64"))?;
    Ok(())
}

/// The value of `mtrk-parameter = "MTRK=" mtrk-certifier [ ":"
/// mtrk-timeout ]` (RFC 3885 §3.1), as the certifier's octets (checked
/// after the timeout by [`mtrk_certifier`]) and the timeout. ":" is not a
/// base64 character, so the first one starts the timeout.
fn mtrk_value(input: &[u8]) -> VRes<'_, (&[u8], Option<u32>)> {
    pair(field_until(b':'), opt(preceded(char(':'), mtrk_timeout)))(input)
}

/// `mtrk-timeout = 1*9DIGIT` (RFC 3885 §3.1).
fn mtrk_timeout(input: &[u8]) -> VRes<'_, u32> {
    // Nine digits fit a u32.
    map_opt(digits(9), |n| u32::try_from(n).ok())(input)
}

/// `mtrk-certifier = base64` (RFC 3885 §3.1): base64 characters (RFC 4648
/// §4), then at most two "=", the whole a multiple of four octets when
/// padded; case-sensitive. Up to the ":" or SP after it.
fn mtrk_certifier(input: &[u8]) -> VRes<'_, &[u8]> {
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let padding = take_while_m_n(0, 2, |b| b == b'=');
    terminated(
        verify(
            recognize(pair(take_while1(alphabet), padding)),
            |c: &[u8]| !c.ends_with(b"=") || c.len().is_multiple_of(4),
        ),
        peek(one_of(": ")),
    )(input)
}

impl<'a> Mtrk<'a> {
    /// A value: a base64 certifier and an optional timeout ≤ 999,999,999.
    pub fn new(
        certifier: impl Into<Cow<'a, str>>,
        timeout: Option<u32>,
    ) -> Result<Self, SyntaxError> {
        let certifier = certifier.into();
        check_certifier(certifier.as_bytes())?;
        if timeout.is_some_and(|t| t > MAX_TIMEOUT) {
            return Err(invalid("MTRK timeout out of range"));
        }
        Ok(Mtrk { certifier, timeout })
    }

    /// Parses the value; `:` is not a base64 character, so the first one
    /// starts the timeout.
    pub fn parse(value: &'a [u8]) -> Result<Self, SyntaxError> {
        let whole = Terminated::new(value);
        let (cert, timeout) = whole.parse(mtrk_value, invalid("MTRK timeout is not 1*9DIGIT"))?;
        // The certifier is the first field, whatever follows it.
        match mtrk_certifier(whole.input()) {
            Ok((_, c)) if c.len() == cert.len() => {}
            _ => return Err(invalid("MTRK certifier is not base64")),
        }
        let cert = whole.original(cert);
        let cert =
            std::str::from_utf8(cert).map_err(|_| invalid("MTRK certifier is not base64"))?;
        Ok(Mtrk {
            certifier: Cow::Borrowed(cert),
            timeout,
        })
    }

    /// The base64 certifier, as written.
    pub fn certifier(&self) -> &str {
        &self.certifier
    }

    /// Seconds until tracking times out, if given.
    pub const fn timeout(&self) -> Option<u32> {
        self.timeout
    }

    /// Appends the wire form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.certifier.as_bytes());
        if let Some(t) = self.timeout {
            out.push(b':');
            push_decimal(out, u64::from(t));
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Mtrk<'static> {
        Mtrk {
            certifier: Cow::Owned(self.certifier.into_owned()),
            timeout: self.timeout,
        }
    }
}

/// Whether an `ENVID=` value is a `unique-envid = local-envid "@" fqhn`,
/// the form MTRK gives it (RFC 3885 §3.2): text on both sides of an "@".
pub fn is_unique_envid(envid: &XText<'_>) -> bool {
    envid
        .as_str()
        .rsplit_once('@')
        .is_some_and(|(local, host)| !local.is_empty() && !host.is_empty())
}

/// `MTRK=` without `ENVID=`: "if the MTRK parameter is given, an ENVID
/// parameter MUST be included" (RFC 3885 §3.2); a parameter the command
/// needs is missing (RFC 5321 §4.1.1.11: 501, X.5.4).
pub const NEEDS_ENVID: MandatedReply = reply(501, 5, 5, 4, "MTRK requires ENVID");

/// `MTRK=` with an `ENVID=` not of the form `local-envid "@" fqhn` (RFC
/// 3885 §3.2).
pub const ENVID_NOT_UNIQUE: MandatedReply =
    reply(501, 5, 5, 4, "MTRK requires ENVID of the form local@host");

/// MTRK: advertised with DSN when [`Extensions::mtrk`](crate::server::Extensions::mtrk)
/// is set, `MTRK=` accepted with a unique `ENVID=` and handed over; a
/// client sends it only to a server that offers MTRK, and only with the
/// `ENVID=` it needs (RFC 3885 §3.2, §3.3: else it is deleted, or the
/// message fails per [`ParamPolicy`](crate::client::ParamPolicy)).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[MTRK],
    advertise,
    check_mail,
    check_envelope,
    choose,
    ..Extension::NONE
};

const MTRK: MailParamDef = ParamDef {
    keyword: PARAM,
    // The certifier's base64 padding (RFC 3885 §3.1).
    eq_in_value: true,
    parse: |p, v, _| set(&mut p.extras_mut().mtrk, || Mtrk::parse(v.need()?)),
    write: |p, out| {
        if let Some(m) = &p.extras().mtrk {
            key(out, PARAM);
            m.write_to(out);
        }
    },
};

/// MTRK is offered with DSN only: "ORCPT MUST be supported" and ENVID
/// must be accepted (RFC 3885 §3.2).
fn offers(o: &Offer<'_>) -> bool {
    o.ext().mtrk && o.ext().dsn
}

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::Mtrk, offers(o));
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.extras().mtrk.is_some() {
        offered(offers(o))?;
        match &p.envid {
            None => return Err(NEEDS_ENVID),
            Some(e) if !is_unique_envid(e) => return Err(ENVID_NOT_UNIQUE),
            Some(_) => {}
        }
    }
    Ok(())
}

/// RFC 3885 §3.2, checked before anything is queued: `MTRK=` comes with
/// an `ENVID=local@host`.
fn check_envelope(e: &Envelope) -> Result<(), ApiError> {
    if e.params.extras().mtrk.is_none() {
        return Ok(());
    }
    match &e.params.envid {
        Some(envid) if is_unique_envid(envid) => Ok(()),
        _ => Err(ApiError::ParamDependency(
            "MTRK needs ENVID=local@host (RFC 3885 §3.2)",
        )),
    }
}

/// RFC 3885 §3.3: to a server without MTRK the parameter "MUST be
/// deleted" (a relay uses [`ParamPolicy::Strip`](crate::client::ParamPolicy::Strip));
/// nor is it sent when DSN's choice left ENVID off.
fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let present = n.params.extras().mtrk.is_some();
    let strip = n.strip_unless(present, Keyword::Mtrk)? || (present && n.params.envid.is_none());
    if strip {
        n.params.extras_mut().mtrk = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtrk_values_rfc3885_3_1() {
        let m = Mtrk::parse(b"2aAb+/c9Q2hZrH0E5XvuBb8YLqY=:3600").unwrap();
        assert_eq!(m.certifier(), "2aAb+/c9Q2hZrH0E5XvuBb8YLqY=");
        assert_eq!(m.timeout(), Some(3600));
        let m = Mtrk::parse(b"QUJD").unwrap();
        assert_eq!(m.timeout(), None);
        let mut out = Vec::new();
        Mtrk::parse(b"QQ==:007").unwrap().write_to(&mut out);
        assert_eq!(out, b"QQ==:7");
        for v in [
            "",
            "=",
            "QQ=",
            "Q===",
            "QQ==x",
            "Q=Q=",
            "QUJD:",
            "QUJD:1000000000",
            "QU-D",
            ":5",
        ] {
            assert!(Mtrk::parse(v.as_bytes()).is_err(), "{v}");
        }
        assert!(Mtrk::new("QUJD", Some(MAX_TIMEOUT + 1)).is_err());
    }

    #[test]
    fn unique_envid_rfc3885_3_2() {
        for ok in ["QQ@mx.example", "a@b", "x@y@z"] {
            assert!(is_unique_envid(&XText::new(ok)), "{ok}");
        }
        for bad in ["QQ", "@mx.example", "QQ@", ""] {
            assert!(!is_unique_envid(&XText::new(bad)), "{bad}");
        }
        assert_eq!(NEEDS_ENVID.code().get(), 501);
        assert_eq!(ENVID_NOT_UNIQUE.enhanced().to_string(), "5.5.4");
    }

    #[test]
    fn mtrk_productions_stream_rfc3885_3_1() {
        use crate::grammar::param::assert_streaming;
        assert_streaming!(
            mtrk_value,
            &["2aAb+/c9Q2hZrH0E5XvuBb8YLqY=:3600", "QUJD", "QQ==:7"]
        );
        assert_streaming!(mtrk_certifier, &["QUJD", "QQ==", "QUI="]);
        assert_streaming!(mtrk_timeout, &["7", "999999999"]);
    }
}
