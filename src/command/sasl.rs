//! SASL responses in AUTH (RFC 4954 §4, §8): the initial response and the
//! client's continuation lines.

use std::borrow::Cow;

use base64::Engine;

use crate::error::{DecodeError, SyntaxError, SyntaxErrorKind};
use crate::octets::line::frame_line;

/// One client response in a SASL exchange, kept as validated base64 text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SaslResponse<'a> {
    /// A zero-length response: `=` as an initial response, an empty line
    /// as a continuation (RFC 4954 §4).
    Empty,
    /// `*`: the client cancels the exchange; the server answers 501.
    Cancel,
    /// Base64 text, validated per RFC 4954 §8 (alphabet, padding only at
    /// the end, length a multiple of four).
    Data(Cow<'a, str>),
}

impl<'a> SaslResponse<'a> {
    /// A response carrying `bytes`, base64-encoded.
    pub fn encode(bytes: &[u8]) -> SaslResponse<'static> {
        if bytes.is_empty() {
            SaslResponse::Empty
        } else {
            SaslResponse::Data(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ))
        }
    }

    /// The decoded octets (`None` for a cancel).
    pub fn decode(&self) -> Option<Vec<u8>> {
        match self {
            SaslResponse::Empty => Some(Vec::new()),
            SaslResponse::Cancel => None,
            // Validated at construction, so decoding cannot fail.
            SaslResponse::Data(s) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .ok(),
        }
    }

    /// Validates base64 text (RFC 4954 §8: reject, do not ignore, characters
    /// outside the alphabet and `=` anywhere but at the end).
    pub fn from_base64(text: &'a str) -> Result<Self, SyntaxError> {
        validate_base64(text.as_bytes())?;
        Ok(SaslResponse::Data(Cow::Borrowed(text)))
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> SaslResponse<'static> {
        match self {
            SaslResponse::Empty => SaslResponse::Empty,
            SaslResponse::Cancel => SaslResponse::Cancel,
            SaslResponse::Data(s) => SaslResponse::Data(Cow::Owned(s.into_owned())),
        }
    }

    /// Parses a continuation line (without CRLF): base64, empty, or `*`.
    pub fn parse_continuation(line: &'a [u8]) -> Result<Self, SyntaxError> {
        match line {
            b"" => Ok(SaslResponse::Empty),
            b"*" => Ok(SaslResponse::Cancel),
            _ => parse_base64(line),
        }
    }

    /// Parses one continuation line from a buffer: `(response, consumed)`.
    /// `max_line` bounds the line (RFC 4954 §4 suggests 12288 octets; a
    /// longer one deserves `500 5.5.6`).
    pub fn parse_line(input: &'a [u8], max_line: usize) -> Result<(Self, usize), DecodeError> {
        let (line, used) = frame_line(input, max_line, false)?;
        Self::parse_continuation(line)
            .map(|r| (r, used))
            .map_err(|error| DecodeError::Syntax {
                error,
                consumed: used,
            })
    }

    /// Whether the response can be written: `Data` must be base64 as RFC
    /// 4954 §4 requires (anything else could carry a CRLF and a command).
    pub fn check(&self) -> Result<(), crate::error::EncodeError> {
        match self {
            SaslResponse::Data(s) => {
                validate_base64(s.as_bytes()).map_err(|_| crate::error::EncodeError::Base64)
            }
            _ => Ok(()),
        }
    }

    /// Appends the wire form without CRLF (`initial` writes an empty
    /// response as `=`); nothing when [`SaslResponse::check`] fails.
    pub fn write_to(
        &self,
        out: &mut Vec<u8>,
        initial: bool,
    ) -> Result<(), crate::error::EncodeError> {
        self.check()?;
        self.write_checked(out, initial);
        Ok(())
    }

    pub(crate) fn write_checked(&self, out: &mut Vec<u8>, initial: bool) {
        match self {
            SaslResponse::Empty if initial => out.push(b'='),
            SaslResponse::Empty => {}
            SaslResponse::Cancel => out.push(b'*'),
            SaslResponse::Data(s) => out.extend_from_slice(s.as_bytes()),
        }
    }
}

pub(crate) fn parse_base64(text: &[u8]) -> Result<SaslResponse<'_>, SyntaxError> {
    validate_base64(text)?;
    // The alphabet is ASCII, so this cannot fail.
    let s = std::str::from_utf8(text).map_err(|_| bad())?;
    Ok(SaslResponse::Data(Cow::Borrowed(s)))
}

const fn bad() -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Base64, "invalid base64")
}

fn validate_base64(text: &[u8]) -> Result<(), SyntaxError> {
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return Err(bad());
    }
    let pad = text.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return Err(bad());
    }
    let body = &text[..text.len() - pad];
    if !body
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return Err(bad());
    }
    // Canonical form: the bits that padding leaves over must be zero, or
    // two different strings would decode to the same octets.
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let spare_bits_clear = match (pad, body.last()) {
        (1, Some(&c)) => value(c) & 0b11 == 0,
        (2, Some(&c)) => value(c) & 0b1111 == 0,
        _ => true,
    };
    if spare_bits_clear {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rules_rfc4954_8() {
        assert!(SaslResponse::from_base64("AGZvbwBiYXI=").is_ok());
        assert!(SaslResponse::from_base64("=AAA").is_err());
        assert!(SaslResponse::from_base64("AA=A").is_err());
        assert!(SaslResponse::from_base64("AAA").is_err());
        assert!(SaslResponse::from_base64("AA A").is_err());
        assert!(SaslResponse::from_base64("AAA===").is_err());
        // Non-zero spare bits: "Zm9=" would decode like "Zm8=".
        assert!(SaslResponse::from_base64("Zm9=").is_err());
        assert!(SaslResponse::from_base64("Zm8=").is_ok());
        assert!(SaslResponse::from_base64("Zh==").is_err());
        assert!(SaslResponse::from_base64("Zg==").is_ok());
        assert_eq!(
            SaslResponse::from_base64("AGZvbwBiYXI=")
                .unwrap()
                .decode()
                .unwrap(),
            b"\0foo\0bar"
        );
    }

    #[test]
    fn continuation_lines_rfc4954_4() {
        assert_eq!(
            SaslResponse::parse_line(b"*\r\n", 100).unwrap(),
            (SaslResponse::Cancel, 3)
        );
        assert_eq!(
            SaslResponse::parse_line(b"\r\n", 100).unwrap(),
            (SaslResponse::Empty, 2)
        );
        assert_eq!(
            SaslResponse::parse_line(b"Zm9v", 100),
            Err(DecodeError::Incomplete)
        );
        assert!(matches!(
            SaslResponse::parse_line(b"Zm9v!\r\n", 100),
            Err(DecodeError::Syntax { consumed: 7, .. })
        ));
        assert_eq!(
            SaslResponse::parse_line(&[b'A'; 200], 100),
            Err(DecodeError::LineTooLong { limit: 100 })
        );
        let (r, _) = SaslResponse::parse_line(b"Zm9v\r\n", 100).unwrap();
        assert_eq!(r.decode().unwrap(), b"foo");
    }
}
