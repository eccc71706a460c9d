//! REQUIRETLS (RFC 8689): a MAIL flag parameter with no value.

use super::{reply, MandatedReply};

/// The EHLO keyword (only after STARTTLS, RFC 8689 §4.1).
pub const EHLO_KEYWORD: &str = "REQUIRETLS";
/// The MAIL parameter keyword (no value).
pub const PARAM: &str = EHLO_KEYWORD;

/// The message cannot be relayed with REQUIRETLS honoured (RFC 8689 §5).
pub const SUPPORT_REQUIRED: MandatedReply = reply(550, 5, 7, 30, "REQUIRETLS support required");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_rfc8689_5() {
        assert_eq!(SUPPORT_REQUIRED.code().get(), 550);
        assert_eq!(SUPPORT_REQUIRED.enhanced().to_string(), "5.7.30");
    }
}
