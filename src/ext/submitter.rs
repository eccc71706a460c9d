//! SUBMITTER (RFC 4405, historic): the responsible submitter, on MAIL,
//! and the replies a receiver that checks it sends (§4.2).

use super::seam::{advertise_if, offered, Extension, MailParamDef, Negotiation, Offer, ParamDef};
use super::{mailbox_from_cow, reply, write_xtext_mailbox, xtext_cow, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::Keyword;
use crate::error::SyntaxError;
use crate::options::ParseOptions;
use crate::params::{key, set, MailParams};
use crate::values::Mailbox;

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "SUBMITTER";
/// The MAIL parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;

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

/// SUBMITTER: advertised when [`Extensions::submitter`](crate::server::Extensions::submitter)
/// is set, `SUBMITTER=` on MAIL accepted then and handed to the
/// application, which checks it and refuses with the §4.2 replies
/// ([`NOT_ALLOWED`] at MAIL, [`DOES_NOT_MATCH_HEADER`] or
/// [`CANNOT_VERIFY`] after the content); a client sends it only to a
/// server that offers SUBMITTER, and to any other always without it
/// (§4.3), whatever the [`ParamPolicy`](crate::client::ParamPolicy).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[SUBMITTER],
    advertise: |o, caps| advertise_if(caps, Keyword::Submitter, o.ext().submitter),
    check_mail,
    choose,
    ..Extension::NONE
};

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.extras().submitter.is_some() {
        offered(o.ext().submitter)?;
    }
    Ok(())
}

/// RFC 4405 §4.3: to a server without SUBMITTER "the forwarding MTA MUST
/// transmit the message without the SUBMITTER parameter" (no information
/// is lost: it comes from the header fields).
fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if n.params.extras().submitter.is_some() && !n.has(Keyword::Submitter) {
        n.params.extras_mut().submitter = None;
    }
    Ok(())
}

const SUBMITTER: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, opts| {
        set(&mut p.extras_mut().submitter, || {
            parse_value(v.need()?, opts)
        })
    },
    write: |p, out| {
        if let Some(m) = &p.extras().submitter {
            key(out, PARAM);
            write_value(m, out);
        }
    },
};

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
