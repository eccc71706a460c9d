//! 8BITMIME (RFC 6152) and BINARYMIME (RFC 3030): the MAIL `BODY=`
//! parameter.

use super::seam::{advertise_if, offered, Extension, MailParamDef, Negotiation, Offer, ParamDef};
use nom::branch::alt;
use nom::bytes::streaming::tag_no_case;
use nom::combinator::value;

use super::{reply, unsupported, MandatedReply};
use crate::client::MessageError;
use crate::data::ContentKind;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{Terminated, VRes};
use crate::params::{key, set, MailParams};

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
        Terminated::new(value).parse(body_value, unsupported("unknown BODY value"))
    }

    /// The canonical (uppercase) wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Body::SevenBit => "7BIT",
            Body::EightBitMime => EHLO_8BITMIME,
            Body::BinaryMime => EHLO_BINARYMIME,
        }
    }

    /// Appends the wire form.
    pub fn write_to(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_str().as_bytes());
    }
}

/// `body-value = "7BIT" / "8BITMIME"` (RFC 6152 §2) `/ "BINARYMIME"`
/// (RFC 3030 §3).
fn body_value(input: &[u8]) -> VRes<'_, Body> {
    alt((
        value(Body::SevenBit, tag_no_case("7BIT")),
        value(Body::EightBitMime, tag_no_case(EHLO_8BITMIME)),
        value(Body::BinaryMime, tag_no_case(EHLO_BINARYMIME)),
    ))(input)
}

/// DATA after `MAIL … BODY=BINARYMIME` "MUST" get 503 (RFC 3030 §3).
pub const BINARYMIME_NEEDS_BDAT: MandatedReply =
    reply(503, 5, 5, 1, "BODY=BINARYMIME requires BDAT, not DATA");

/// 8BITMIME and BINARYMIME: `BODY=` on MAIL, accepted for what was
/// offered; the client labels the content it sends.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[BODY],
    advertise,
    check_mail,
    require,
    ..Extension::NONE
};

const BODY: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.body, || Body::parse(v.need()?)),
    write: |p, out| {
        if let Some(b) = p.body {
            key(out, PARAM);
            b.write_to(out);
        }
    },
};

/// BINARYMIME only with CHUNKING (RFC 3030 §3).
fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    let ext = o.ext();
    advertise_if(caps, Keyword::EightBitMime, ext.eight_bit_mime);
    advertise_if(caps, Keyword::BinaryMime, ext.binary_mime && ext.chunking);
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    let ext = o.ext();
    match p.body {
        Some(Body::EightBitMime) => offered(ext.eight_bit_mime),
        Some(Body::BinaryMime) => offered(ext.binary_mime && ext.chunking),
        _ => Ok(()),
    }
}

/// The label the content needs: BINARYMIME with BDAT (RFC 3030 §3),
/// 8BITMIME (RFC 6152 §3), or none; no MIME downgrade is implemented.
fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let chunking = n.config.chunking && n.has(Keyword::Chunking);
    let kind = match n.params.body {
        Some(Body::BinaryMime) => ContentKind::Binary,
        Some(Body::EightBitMime) => n.kind.max(ContentKind::EightBit),
        _ => n.kind,
    };
    n.params.body = match kind {
        ContentKind::Binary => {
            if !(chunking && n.has(Keyword::BinaryMime)) {
                return Err(MessageError::BinaryUnsupported);
            }
            n.bdat = true;
            Some(Body::BinaryMime)
        }
        ContentKind::EightBit if n.has(Keyword::EightBitMime) => Some(Body::EightBitMime),
        ContentKind::EightBit if n.config.allow_8bit_without_8bitmime => None,
        ContentKind::EightBit => return Err(MessageError::EightBitUnsupported),
        ContentKind::SevenBit => n.params.body.filter(|_| n.has(Keyword::EightBitMime)),
    };
    Ok(())
}

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

    #[test]
    fn body_value_streams_rfc6152_2() {
        crate::grammar::param::assert_streaming!(body_value, &["7BIT", "8bitmime", "BINARYMIME"]);
    }
}
