//! SIZE (RFC 1870): the declared message size on MAIL.

use super::{invalid, parse_digits, reply, MandatedReply};
use crate::error::SyntaxError;
use crate::values::push_decimal;

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "SIZE";
/// The MAIL parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;

/// Parses `size-value ::= 1*20DIGIT` (RFC 1870 §3). Twenty digits can
/// exceed `u64::MAX`; such a value is an error, never wrapped.
pub fn parse_value(value: &[u8]) -> Result<u64, SyntaxError> {
    parse_digits(value, 20).ok_or(invalid("SIZE is not 1*20DIGIT within 64 bits"))
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
}
