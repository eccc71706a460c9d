//! UTF8SMTP (RFC 5336, experimental, obsoleted by RFC 6531): the
//! `ALT-ADDRESS=` parameter on MAIL and RCPT, an xtext holding an ASCII
//! fallback address ([`XText`](crate::values::XText)).

use super::{smtputf8, MandatedReply};

/// The deprecated EHLO keyword (not the RFC 6531 §4.3 trace keyword).
pub const EHLO_KEYWORD: &str = "UTF8SMTP";
/// The MAIL and RCPT parameter keyword.
pub const PARAM: &str = "ALT-ADDRESS";

/// MAIL needs an ALT-ADDRESS it did not get (RFC 5336 §3.5). X.6.7 is used
/// with its registry meaning (the IANA enhanced status code registry, RFC 3463 §2), which makes this the
/// same reply as RFC 6531's.
pub const MAIL_ALT_ADDRESS_REQUIRED: MandatedReply = smtputf8::NON_ASCII_SENDER;

/// RCPT needs an ALT-ADDRESS it did not get (RFC 5336 §3.5).
pub const RCPT_ALT_ADDRESS_REQUIRED: MandatedReply = smtputf8::NON_ASCII_RECIPIENT;

/// Downgrade failed after the final dot (RFC 5336 §3.5), X.6.9 with its
/// registry meaning.
pub const DOWNGRADE_FAILED: MandatedReply = smtputf8::CANNOT_TRANSFER;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_rfc5336_3_5() {
        assert_eq!(MAIL_ALT_ADDRESS_REQUIRED.code().get(), 550);
        assert_eq!(RCPT_ALT_ADDRESS_REQUIRED.code().get(), 553);
        assert_eq!(DOWNGRADE_FAILED.enhanced().to_string(), "5.6.9");
    }
}
