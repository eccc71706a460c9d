//! xtext (RFC 3461 §4) and the UTF-8 address forms of RFC 6533 §3.

use std::borrow::Cow;
use std::fmt;

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::octets::class::is_xchar;

const fn err(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::ParameterValue, detail)
}

/// A string carried as xtext: the value is kept decoded; writing encodes
/// every octet outside `xchar` as `+XX` with uppercase hex (RFC 3461 §4).
/// Decoding borrows when the wire form holds no `+XX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XText<'a>(Cow<'a, str>);

impl<'a> XText<'a> {
    /// A value to be xtext-encoded.
    pub fn new(decoded: impl Into<Cow<'a, str>>) -> Self {
        XText(decoded.into())
    }

    /// Decodes the wire form. Lowercase hex is accepted only when
    /// `lenient` (RFC 3461 says "upper case"; RFC 4954 §8 uses HEXDIG,
    /// RFC 3461 §4). The decoded octets must be UTF-8.
    pub fn decode(wire: &'a [u8], lenient: bool) -> Result<Self, SyntaxError> {
        if !wire.contains(&b'+') {
            if !wire.iter().all(|&b| is_xchar(b)) {
                return Err(err("invalid xtext character"));
            }
            let s = std::str::from_utf8(wire).map_err(|_| err("invalid xtext character"))?;
            return Ok(XText(Cow::Borrowed(s)));
        }
        let mut out = Vec::with_capacity(wire.len());
        let mut i = 0;
        while i < wire.len() {
            let b = wire[i];
            if b == b'+' {
                let hex = wire
                    .get(i + 1..i + 3)
                    .ok_or(err("truncated xtext hexchar"))?;
                let digit = |h: u8| match h {
                    b'0'..=b'9' => Some(h - b'0'),
                    b'A'..=b'F' => Some(h - b'A' + 10),
                    b'a'..=b'f' if lenient => Some(h - b'a' + 10),
                    _ => None,
                };
                match (digit(hex[0]), digit(hex[1])) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(err("invalid xtext hexchar")),
                }
                i += 3;
            } else if is_xchar(b) {
                out.push(b);
                i += 1;
            } else {
                return Err(err("invalid xtext character"));
            }
        }
        String::from_utf8(out)
            .map(|s| XText(Cow::Owned(s)))
            .map_err(|_| err("xtext does not decode to UTF-8"))
    }

    /// The decoded value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Appends the xtext encoding.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        encode_xtext(self.0.as_bytes(), out);
    }

    /// The encoded length in octets.
    pub fn encoded_len(&self) -> usize {
        self.0
            .bytes()
            .map(|b| if is_xchar(b) { 1 } else { 3 })
            .sum()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> XText<'static> {
        XText(Cow::Owned(self.0.into_owned()))
    }
}

impl fmt::Display for XText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `bytes` as xtext.
pub(crate) fn encode_xtext(bytes: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !is_xchar(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(&[b'+', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// `QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e` (RFC 6533 §3).
fn is_qchar(b: u8) -> bool {
    matches!(b, 0x21..=0x2a | 0x2c..=0x3c | 0x3e..=0x5b | 0x5d..=0x7e)
}

/// Decodes `utf-8-addr-xtext` or, when `unitext`, `utf-8-addr-unitext`
/// (RFC 6533 §3): `\x{HEX}` escapes for code points.
pub(crate) fn decode_utf8_addr(wire: &[u8], unitext: bool) -> Result<Cow<'_, str>, SyntaxError> {
    let s = std::str::from_utf8(wire).map_err(|_| err("invalid UTF-8 in address"))?;
    if !unitext && !s.is_ascii() {
        return Err(err("raw UTF-8 in utf-8-addr-xtext without SMTPUTF8"));
    }
    if s.is_empty() {
        return Err(err("empty address"));
    }
    let plain = |c: char| {
        if c.is_ascii() {
            is_qchar(c as u8)
        } else {
            unitext
        }
    };
    if !s.contains('\\') {
        return if s.chars().all(plain) {
            Ok(Cow::Borrowed(s))
        } else {
            Err(err("invalid character in utf-8 address"))
        };
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            let body = rest
                .strip_prefix("\\x{")
                .ok_or(err("invalid escape in utf-8 address"))?;
            let close = body.find('}').ok_or(err("unterminated \\x{ escape"))?;
            let hex = &body[..close];
            if hex.is_empty()
                || hex.len() > 6
                || !hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
            {
                return Err(err("invalid \\x{} code point"));
            }
            let cp = u32::from_str_radix(hex, 16).map_err(|_| err("invalid \\x{} code point"))?;
            out.push(char::from_u32(cp).ok_or(err("\\x{} is not a scalar value"))?);
            rest = &body[close + 1..];
        } else if plain(c) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            return Err(err("invalid character in utf-8 address"));
        }
    }
    Ok(Cow::Owned(out))
}

/// Appends `utf-8-addr-xtext` (ASCII only) or, when `unitext`,
/// `utf-8-addr-unitext` (raw UTF-8 kept), escaping what QCHAR excludes.
pub(crate) fn encode_utf8_addr(s: &str, unitext: bool, out: &mut Vec<u8>) {
    use std::io::Write;
    for c in s.chars() {
        let raw = if c.is_ascii() {
            is_qchar(c as u8)
        } else {
            unitext
        };
        if raw {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        } else {
            // HEXPOINT: uppercase, at least two digits, no leading zeros beyond.
            let _ = write!(out, "\\x{{{:02X}}}", c as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_rfc3461_4() {
        let x = XText::decode(b"a+2Bb+3Dc", false).unwrap();
        assert_eq!(x.as_str(), "a+b=c");
        let mut out = Vec::new();
        x.write_to(&mut out);
        assert_eq!(out, b"a+2Bb+3Dc");
        assert!(matches!(
            XText::decode(b"plain", false).unwrap().0,
            Cow::Borrowed(_)
        ));
        // RFC 3461 §4: lowercase hex only when lenient.
        assert!(XText::decode(b"a+2b", false).is_err());
        assert_eq!(XText::decode(b"a+2b", true).unwrap().as_str(), "a+");
        assert!(XText::decode(b"a+2", true).is_err());
        assert!(XText::decode(b"a=b", true).is_err());
        assert!(XText::decode(b"a b", true).is_err());
        let mut out = Vec::new();
        XText::new("a b").write_to(&mut out);
        assert_eq!(out, b"a+20b");
    }

    #[test]
    fn utf8_addr_forms_rfc6533_3() {
        assert_eq!(
            decode_utf8_addr(b"a\\x{E9}@x.org", false).unwrap(),
            "aé@x.org"
        );
        assert!(decode_utf8_addr("aé@x.org".as_bytes(), false).is_err());
        assert_eq!(
            decode_utf8_addr("aé@x.org".as_bytes(), true).unwrap(),
            "aé@x.org"
        );
        assert!(decode_utf8_addr(b"a+b@x.org", false).is_err());
        assert!(decode_utf8_addr(b"a\\x{D800}@x", false).is_err());
        let mut out = Vec::new();
        encode_utf8_addr("aé+=@x.org", false, &mut out);
        assert_eq!(out, b"a\\x{E9}\\x{2B}\\x{3D}@x.org");
        assert_eq!(decode_utf8_addr(&out, false).unwrap(), "aé+=@x.org");
    }
}
