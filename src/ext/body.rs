//! 8BITMIME (RFC 6152) and BINARYMIME (RFC 3030): the MAIL `BODY=`
//! parameter.

use super::{reply, unsupported, MandatedReply};
use crate::error::SyntaxError;

/// The EHLO keyword of RFC 6152.
pub const EHLO_8BITMIME: &str = "8BITMIME";
/// The EHLO keyword of RFC 3030 §3 (only valid with CHUNKING).
pub const EHLO_BINARYMIME: &str = "BINARYMIME";
/// The MAIL parameter keyword.
pub const PARAM: &str = "BODY";

/// `body-value = "7BIT" / "8BITMIME" / "BINARYMIME"` (RFC 6152 §2,
/// RFC 3030 §3); case-insensitive as ABNF literals are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
    /// `BINARYMIME`: content must be sent with BDAT.
    BinaryMime,
}

impl Body {
    /// Parses a body-value; anything else is a value this implementation
    /// does not support (`555 5.5.4`, RFC 5321 §4.1.1.11), such as
    /// `BODY=9BIT`.
    pub fn parse(value: &[u8]) -> Result<Self, SyntaxError> {
        if value.eq_ignore_ascii_case(b"8BITMIME") {
            Ok(Body::EightBitMime)
        } else if value.eq_ignore_ascii_case(b"7BIT") {
            Ok(Body::SevenBit)
        } else if value.eq_ignore_ascii_case(b"BINARYMIME") {
            Ok(Body::BinaryMime)
        } else {
            Err(unsupported("unknown BODY value"))
        }
    }

    /// The canonical (uppercase) wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => "8BITMIME",
            Body::BinaryMime => "BINARYMIME",
        }
    }

    /// Appends the wire form.
    pub fn write_to(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_str().as_bytes());
    }
}

/// DATA after `MAIL … BODY=BINARYMIME` "MUST" get 503 (RFC 3030 §3).
pub const BINARYMIME_NEEDS_BDAT: MandatedReply =
    reply(503, 5, 5, 1, "BODY=BINARYMIME requires BDAT, not DATA");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SyntaxErrorKind;

    #[test]
    fn body_values_rfc6152_2_rfc3030_3() {
        assert_eq!(Body::parse(b"8BITMIME").unwrap(), Body::EightBitMime);
        assert_eq!(Body::parse(b"8bitmime").unwrap(), Body::EightBitMime);
        assert_eq!(Body::parse(b"7Bit").unwrap(), Body::SevenBit);
        assert_eq!(Body::parse(b"BINARYMIME").unwrap(), Body::BinaryMime);
        assert_eq!(
            Body::parse(b"9BIT").unwrap_err().kind(),
            SyntaxErrorKind::UnsupportedParameterValue
        );
        assert!(Body::parse(b"8BIT").is_err());
        for b in [Body::SevenBit, Body::EightBitMime, Body::BinaryMime] {
            assert_eq!(Body::parse(b.as_str().as_bytes()).unwrap(), b);
        }
        assert_eq!(BINARYMIME_NEEDS_BDAT.code().get(), 503);
    }
}
