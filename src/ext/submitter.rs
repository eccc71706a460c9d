//! SUBMITTER (RFC 4405, historic): the responsible submitter, on MAIL.

use super::{mailbox_from_cow, reply, write_xtext_mailbox, xtext_cow, MandatedReply};
use crate::error::SyntaxError;
use crate::options::ParseOptions;
use crate::values::Mailbox;

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "SUBMITTER";
/// The MAIL parameter keyword.
pub const PARAM: &str = "SUBMITTER";

/// Parses `"SUBMITTER=" Mailbox`, where SP, `+` and `=` "MUST be encoded
/// as xtext" (RFC 4405 §4): the whole value is xtext-decoded, then parsed
/// as a mailbox (UTF-8 only with `opts.utf8`).
pub fn parse_value<'a>(value: &'a [u8], opts: &ParseOptions) -> Result<Mailbox<'a>, SyntaxError> {
    let text = xtext_cow(value, opts)?;
    mailbox_from_cow(text, opts.utf8, "SUBMITTER is not a mailbox")
}

/// Appends the mailbox as xtext.
pub fn write_value(m: &Mailbox<'_>, out: &mut Vec<u8>) {
    write_xtext_mailbox(m, out);
}

/// The submitter is not authorised (RFC 4405 §4.2).
pub const NOT_ALLOWED: MandatedReply = reply(550, 5, 7, 1, "Submitter not allowed");

/// The submitter disagrees with the header fields (RFC 4405 §4.2).
pub const DOES_NOT_MATCH_HEADER: MandatedReply =
    reply(550, 5, 7, 1, "Submitter does not match header");

/// The submitter cannot be verified (RFC 4405 §4.2).
pub const CANNOT_VERIFY: MandatedReply = reply(554, 5, 7, 7, "Cannot verify submitter address");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submitter_rfc4405_4() {
        let o = ParseOptions::strict();
        // RFC 4405 §8 example.
        let m = parse_value(b"secretary@example.com", &o).unwrap();
        assert_eq!(m.to_string(), "secretary@example.com");
        let m = parse_value(b"a+2Bb@example.com", &o).unwrap();
        assert_eq!(m.local.as_str(), "a+b");
        let mut out = Vec::new();
        write_value(&m, &mut out);
        assert_eq!(out, b"a+2Bb@example.com");
        // A raw '+' must be encoded.
        assert!(parse_value(b"a+b@example.com", &o).is_err());
        assert!(parse_value(b"<>", &o).is_err());
        assert!(parse_value(b"+22a+20b+22@x.org", &o).is_ok());
        assert_eq!(CANNOT_VERIFY.enhanced().to_string(), "5.7.7");
    }
}
