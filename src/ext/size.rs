//! SIZE (RFC 1870): the declared message size on MAIL.

use super::seam::{Extension, MailParamDef, Negotiation, Offer, ParamDef};
use super::{invalid, reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{digits, Terminated, VRes};
use crate::params::{key, set};
use crate::values::push_decimal;

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "SIZE";
/// The MAIL parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;

/// Parses `size-value ::= 1*20DIGIT` (RFC 1870 §3). Twenty digits can
/// exceed `u64::MAX`; such a value is an error, never wrapped.
pub fn parse_value(value: &[u8]) -> Result<u64, SyntaxError> {
    Terminated::new(value).parse(size_value, invalid("SIZE is not 1*20DIGIT within 64 bits"))
}

/// `size-value ::= 1*20DIGIT` (RFC 1870 §3), within 64 bits.
fn size_value(input: &[u8]) -> VRes<'_, u64> {
    digits(20)(input)
}

/// Appends the decimal value.
pub fn write_value(size: u64, out: &mut Vec<u8>) {
    push_decimal(out, size);
}

/// The declared size exceeds the fixed maximum (RFC 1870 §6.1; X.3.4 per
/// RFC 5248).
pub const EXCEEDS_FIXED_MAXIMUM: MandatedReply = reply(
    552,
    5,
    3,
    4,
    "Message size exceeds fixed maximum message size",
);

/// Not enough storage for a message of this size now (RFC 1870 §6.1).
pub const INSUFFICIENT_STORAGE: MandatedReply = reply(452, 4, 3, 1, "Insufficient system storage");

/// SIZE: `SIZE=` on MAIL, always accepted (the limit is the machine's to
/// enforce, RFC 1870 §6.1); the server advertises its limit; the client
/// declares the content's size.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[SIZE],
    advertise,
    require,
    ..Extension::NONE
};

const SIZE: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.size, || parse_value(v.need()?)),
    write: |p, out| {
        if let Some(s) = p.size {
            key(out, PARAM);
            write_value(s, out);
        }
    },
};

/// `SIZE n`, 0 meaning no fixed maximum (RFC 1870 §4).
fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    caps.set_size(o.config.limits.message_size.or(Some(0)));
}

/// RFC 1870 §6: never send what the server said it will refuse; declare
/// the size only to a server that offers SIZE.
fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if let (Some(size), Some(limit)) = (n.size, n.caps.max_size()) {
        if size > limit {
            return Err(MessageError::TooLarge { size, limit });
        }
    }
    n.params.size = if n.has(Keyword::Size) {
        n.size.or(n.params.size)
    } else {
        None
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_values_rfc1870_3() {
        assert_eq!(parse_value(b"0").unwrap(), 0);
        assert_eq!(parse_value(b"500000").unwrap(), 500_000);
        assert_eq!(parse_value(b"00012").unwrap(), 12);
        assert_eq!(parse_value(b"18446744073709551615").unwrap(), u64::MAX);
        // Twenty digits may overflow: checked, never wrapped.
        assert!(parse_value(b"99999999999999999999").is_err());
        assert!(parse_value(b"000000000000000000001").is_err());
        assert!(parse_value(b"-1").is_err());
        assert!(parse_value(b"1k").is_err());
        let mut out = Vec::new();
        write_value(u64::MAX, &mut out);
        assert_eq!(out, b"18446744073709551615");
    }

    #[test]
    fn replies_rfc1870_6_1() {
        assert_eq!(EXCEEDS_FIXED_MAXIMUM.code().get(), 552);
        assert_eq!(EXCEEDS_FIXED_MAXIMUM.enhanced().to_string(), "5.3.4");
        assert_eq!(INSUFFICIENT_STORAGE.code().get(), 452);
        assert_eq!(INSUFFICIENT_STORAGE.enhanced().to_string(), "4.3.1");
    }

    #[test]
    fn size_value_streams_rfc1870_3() {
        crate::grammar::param::assert_streaming!(
            size_value,
            &["0", "500000", "18446744073709551615"]
        );
    }
}
