//! SASL mechanism names (RFC 4422 §3.1), as advertised by the EHLO `AUTH`
//! keyword and named by the AUTH command (RFC 4954).

use core::fmt;

use crate::error::{SyntaxError, SyntaxErrorKind};

/// A SASL mechanism: `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA
/// / DIGIT / HYPHEN / UNDERSCORE` (RFC 4422 §3.1).
///
/// Parsed case-insensitively (RFC 4954 §8, RFC 5321 §2.4) and always
/// written in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login).
    Login,
    /// `CRAM-MD5` (RFC 2195).
    CramMd5,
    /// `XOAUTH2` (Google, Microsoft).
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
    /// `EXTERNAL` (RFC 4422 Appendix A).
    External,
    /// `SCRAM-SHA-1` (RFC 5802).
    ScramSha1,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `GSSAPI` (RFC 4752).
    Gssapi,
    /// `SCRAM-SHA-1-PLUS` (RFC 5802 §6): with channel binding.
    ScramSha1Plus,
    /// `SCRAM-SHA-256-PLUS` (RFC 7677): with channel binding.
    ScramSha256Plus,
    /// Any other valid mechanism name, in upper case.
    Other(MechanismName),
}

/// A valid mechanism name not otherwise known, stored in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MechanismName(Box<str>);

impl MechanismName {
    /// The name, in upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The known names packed by [`super::pack_const`], for one integer match.
mod packed {
    use crate::octets::pack::pack_const;
    pub(super) const PLAIN: u128 = pack_const("PLAIN");
    pub(super) const LOGIN: u128 = pack_const("LOGIN");
    pub(super) const CRAM_MD5: u128 = pack_const("CRAM-MD5");
    pub(super) const XOAUTH2: u128 = pack_const("XOAUTH2");
    pub(super) const OAUTHBEARER: u128 = pack_const("OAUTHBEARER");
    pub(super) const EXTERNAL: u128 = pack_const("EXTERNAL");
    pub(super) const SCRAM_SHA_1: u128 = pack_const("SCRAM-SHA-1");
    pub(super) const SCRAM_SHA_256: u128 = pack_const("SCRAM-SHA-256");
    pub(super) const GSSAPI: u128 = pack_const("GSSAPI");
    pub(super) const SCRAM_SHA_1_PLUS: u128 = pack_const("SCRAM-SHA-1-PLUS");
}

impl Mechanism {
    /// Parses a mechanism name, in any case. Fails unless it is 1–20
    /// letters, digits, hyphens and underscores (RFC 4422 §3.1).
    pub fn parse(name: &[u8]) -> Result<Self, SyntaxError> {
        // A known name first: matching one (same length, octets equal in
        // any case) also proves the name valid.
        if let Some(mech) = Self::from_packed(crate::octets::pack::pack_upper(name), name.len()) {
            return Ok(mech);
        }
        // Longer than a packed key holds.
        if name.eq_ignore_ascii_case(b"SCRAM-SHA-256-PLUS") {
            return Ok(Mechanism::ScramSha256Plus);
        }
        let mech_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if name.is_empty() || name.len() > 20 || !name.iter().all(|&b| mech_char(b)) {
            return Err(SyntaxError::new(
                SyntaxErrorKind::Arguments,
                "invalid SASL mechanism name",
            ));
        }
        let upper: String = name
            .iter()
            .map(|&b| char::from(b.to_ascii_uppercase()))
            .collect();
        Ok(Mechanism::Other(MechanismName(upper.into_boxed_str())))
    }

    /// The known mechanism whose name is `len` octets long and packs to
    /// `key` (upper-cased, [`crate::octets::pack::pack_upper`]), if any.
    #[inline]
    pub(crate) fn from_packed(key: u128, len: usize) -> Option<Self> {
        let known = match key {
            packed::PLAIN => Some(Mechanism::Plain),
            packed::LOGIN => Some(Mechanism::Login),
            packed::CRAM_MD5 => Some(Mechanism::CramMd5),
            packed::XOAUTH2 => Some(Mechanism::XOAuth2),
            packed::OAUTHBEARER => Some(Mechanism::OAuthBearer),
            packed::EXTERNAL => Some(Mechanism::External),
            packed::SCRAM_SHA_1 => Some(Mechanism::ScramSha1),
            packed::SCRAM_SHA_256 => Some(Mechanism::ScramSha256),
            packed::GSSAPI => Some(Mechanism::Gssapi),
            packed::SCRAM_SHA_1_PLUS => Some(Mechanism::ScramSha1Plus),
            _ => None,
        };
        // The key pads with NUL: `PLAIN\0` packs like `PLAIN`. Every
        // name here is at most 16 octets, so the key holds all of it
        // (SCRAM-SHA-256-PLUS, 18, is matched by name in `parse`).
        known.filter(|m| m.as_str().len() == len)
    }

    /// A bit of its own for each known mechanism, 0 for any other.
    pub(crate) fn known_bit(&self) -> u16 {
        match self {
            Mechanism::Plain => 1,
            Mechanism::Login => 1 << 1,
            Mechanism::CramMd5 => 1 << 2,
            Mechanism::XOAuth2 => 1 << 3,
            Mechanism::OAuthBearer => 1 << 4,
            Mechanism::External => 1 << 5,
            Mechanism::ScramSha1 => 1 << 6,
            Mechanism::ScramSha256 => 1 << 7,
            Mechanism::Gssapi => 1 << 8,
            Mechanism::ScramSha1Plus => 1 << 9,
            Mechanism::ScramSha256Plus => 1 << 10,
            Mechanism::Other(_) => 0,
        }
    }

    /// The name in upper case, as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::External => "EXTERNAL",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::Gssapi => "GSSAPI",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::Other(name) => name.as_str(),
        }
    }

    /// Appends the upper-case name.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_str().as_bytes());
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for Mechanism {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        Self::parse(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_parse_uppercase_write_rfc4954_8() {
        let table: &[(&[u8], Mechanism, &str)] = &[
            (b"PLAIN", Mechanism::Plain, "PLAIN"),
            (b"plain", Mechanism::Plain, "PLAIN"),
            (b"Login", Mechanism::Login, "LOGIN"),
            (b"cram-md5", Mechanism::CramMd5, "CRAM-MD5"),
            (b"XOAUTH2", Mechanism::XOAuth2, "XOAUTH2"),
            (b"OAuthBearer", Mechanism::OAuthBearer, "OAUTHBEARER"),
            (b"EXTERNAL", Mechanism::External, "EXTERNAL"),
            (b"scram-sha-1", Mechanism::ScramSha1, "SCRAM-SHA-1"),
            (b"SCRAM-SHA-256", Mechanism::ScramSha256, "SCRAM-SHA-256"),
            (b"gssapi", Mechanism::Gssapi, "GSSAPI"),
            (
                b"scram-sha-1-plus",
                Mechanism::ScramSha1Plus,
                "SCRAM-SHA-1-PLUS",
            ),
            (
                b"Scram-Sha-256-Plus",
                Mechanism::ScramSha256Plus,
                "SCRAM-SHA-256-PLUS",
            ),
        ];
        for (input, mech, wire) in table {
            assert_eq!(Mechanism::parse(input).as_ref(), Ok(mech));
            assert_eq!(mech.as_str(), *wire);
        }
        let other = Mechanism::parse(b"scram-sha-512-plus").unwrap();
        assert_eq!(other.as_str(), "SCRAM-SHA-512-PLUS");
        assert!(matches!(other, Mechanism::Other(_)));
        assert_eq!(other, "SCRAM-SHA-512-PLUS".parse().unwrap());
    }

    /// The known names are matched by a packed key; the key pads with NUL,
    /// so length and octets must still decide (RFC 4422 §3.1).
    #[test]
    fn known_names_need_exact_length_rfc4422_3_1() {
        for bad in [
            &b"PLAIN\0"[..],
            b"PLAI",
            b"PLAINS",
            b"\0",
            b"PL\xc1IN",
            b"plain ",
        ] {
            assert!(
                !matches!(Mechanism::parse(bad), Ok(Mechanism::Plain)),
                "{bad:?}"
            );
        }
        assert!(Mechanism::parse(b"PLAIN\0").is_err());
        assert_eq!(
            Mechanism::parse(b"scram-sha-256x").map(|m| m.as_str().to_owned()),
            Ok("SCRAM-SHA-256X".to_owned())
        );
        assert!(matches!(
            Mechanism::parse(b"OAUTHBEARER-EXTRA-XX"),
            Ok(Mechanism::Other(_))
        ));
    }

    #[test]
    fn mech_char_and_length_rfc4422_3_1() {
        assert!(Mechanism::parse(b"A_B-9").is_ok());
        assert!(Mechanism::parse(&[b'X'; 20]).is_ok());
        for bad in [
            &b""[..],
            &[b'X'; 21],
            b"A B",
            b"A=B",
            b"A.B",
            b"\xc3\xa9",
            b"A\0",
        ] {
            assert!(Mechanism::parse(bad).is_err(), "{bad:?}");
        }
    }
}
