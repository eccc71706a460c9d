//! MTRK (RFC 3885): the MAIL `MTRK=` message-tracking parameter.

use std::borrow::Cow;

use super::seam::{refuse_if, Extension, MailParamDef, ParamDef, NOT_OFFERED};
use super::{invalid, parse_digits};
use crate::error::SyntaxError;
use crate::params::{key, set};
use crate::values::push_decimal;

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

/// Base64 characters (RFC 3885 §2) then at most two `=`; with padding the
/// length must be a multiple of four (RFC 4648 §4). Case-sensitive.
fn check_certifier(c: &[u8]) -> Result<(), SyntaxError> {
    let body = c.iter().take_while(|&&b| b != b'=').count();
    let pad = c.len() - body;
    let ok = body > 0
        && c[..body]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && c[body..].iter().all(|&b| b == b'=')
        && pad <= 2
        && (pad == 0 || c.len() % 4 == 0);
    if ok {
        Ok(())
    } else {
        Err(invalid("MTRK certifier is not base64"))
    }
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
        let (cert, timeout) = match memchr::memchr(b':', value) {
            None => (value, None),
            Some(i) => {
                let t = parse_digits(&value[i + 1..], 9)
                    .ok_or(invalid("MTRK timeout is not 1*9DIGIT"))?;
                // Nine digits fit a u32.
                let t = u32::try_from(t).map_err(|_| invalid("MTRK timeout out of range"))?;
                (&value[..i], Some(t))
            }
        };
        check_certifier(cert)?;
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

/// MTRK: `MTRK=` on MAIL, parsed and typed; a server does not offer it
/// yet, so refuses it (RFC 5321 §4.1.1.11); a client sends it as the
/// caller gave it.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[MTRK],
    check_mail: |p, _| refuse_if(p.extras().mtrk.is_some(), NOT_OFFERED),
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
}
