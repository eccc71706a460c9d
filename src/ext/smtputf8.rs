//! SMTPUTF8 (RFC 6531): internationalised addresses and headers. The MAIL
//! parameter is a flag; the grammar changes (UTF-8 in addresses and
//! `esmtp-value`, §3.3) are applied by the parsers when
//! [`ParseOptions::utf8`](crate::options::ParseOptions::utf8) is set.

use super::{reply, MandatedReply};

/// The EHLO keyword (no parameters, RFC 6531 §3.2).
pub const EHLO_KEYWORD: &str = "SMTPUTF8";
/// The MAIL parameter keyword (no value, RFC 6531 §3.4).
pub const PARAM: &str = EHLO_KEYWORD;

/// MAIL whose non-ASCII sender cannot be accepted (RFC 6531 §3.5).
pub const NON_ASCII_SENDER: MandatedReply = reply(
    550,
    5,
    6,
    7,
    "Non-ASCII addresses not permitted for that sender",
);

/// RCPT whose non-ASCII recipient cannot be accepted (RFC 6531 §3.5).
pub const NON_ASCII_RECIPIENT: MandatedReply = reply(
    553,
    5,
    6,
    7,
    "Non-ASCII addresses not permitted for that recipient",
);

/// After the final dot, when the message cannot be delivered without
/// SMTPUTF8 downstream (RFC 6531 §3.5).
pub const CANNOT_TRANSFER: MandatedReply = reply(
    554,
    5,
    6,
    9,
    "UTF-8 header message cannot be transferred to one or more recipients",
);

/// VRFY/EXPN whose answer needs UTF-8 the client did not ask for
/// (RFC 6531 §3.7.4.2).
pub const UTF8_REPLY_REQUIRED: MandatedReply = reply(
    550,
    5,
    6,
    8,
    "UTF-8 string reply is required, but not permitted by the client",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_rfc6531_3_5() {
        assert_eq!(NON_ASCII_SENDER.code().get(), 550);
        assert_eq!(NON_ASCII_RECIPIENT.code().get(), 553);
        assert_eq!(NON_ASCII_RECIPIENT.enhanced().to_string(), "5.6.7");
        assert_eq!(CANNOT_TRANSFER.enhanced().to_string(), "5.6.9");
        assert_eq!(UTF8_REPLY_REQUIRED.enhanced().to_string(), "5.6.8");
    }
}
