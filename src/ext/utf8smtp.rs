//! UTF8SMTP (RFC 5336, experimental, obsoleted by RFC 6531), for legacy
//! peers: the EHLO keyword, the `ALT-ADDRESS=` parameter on MAIL and RCPT
//! (an xtext holding an all-ASCII fallback address, §3.4), and the UTF-8
//! envelope without a parameter that a session offering UTF8SMTP takes
//! (§3.2).

use super::seam::{
    advertise_if, offered, Extension, MailParamDef, Negotiation, Offer, ParamDef, RcptParamDef,
};
use super::{reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::params::{set, write_xtext, MailParams, RcptParams};
use crate::values::{Mailbox, XText};

/// The deprecated EHLO keyword (not the RFC 6531 §4.3 trace keyword).
pub const EHLO_KEYWORD: &str = "UTF8SMTP";
/// The MAIL and RCPT parameter keyword.
pub const PARAM: &str = "ALT-ADDRESS";

/// MAIL needs an ALT-ADDRESS it did not get: 550 with X.6.7 (RFC 5336
/// §3.5).
pub const MAIL_ALT_ADDRESS_REQUIRED: MandatedReply =
    reply(550, 5, 6, 7, "ALT-ADDRESS is required but not specified");

/// RCPT needs an ALT-ADDRESS it did not get: 553 with X.6.7 (RFC 5336
/// §3.5).
pub const RCPT_ALT_ADDRESS_REQUIRED: MandatedReply =
    reply(553, 5, 6, 7, "ALT-ADDRESS is required but not specified");

/// Downgrade failed after the final dot: 554 with X.6.9 (RFC 5336 §3.5).
pub const DOWNGRADE_FAILED: MandatedReply = reply(554, 5, 6, 9, "UTF8SMTP downgrade failed");

/// An `ALT-ADDRESS=` whose decoded value is not an all-ASCII mailbox (RFC
/// 5336 §3.4: it "MUST be an all-ASCII email address before xtext
/// encoding"): a parameter value that breaks its grammar (501, X.5.4).
pub const INVALID_ALT_ADDRESS: MandatedReply =
    reply(501, 5, 5, 4, "ALT-ADDRESS is not an ASCII mailbox");

/// Whether a decoded `ALT-ADDRESS=` value is what RFC 5336 §3.4 asks
/// for: an all-ASCII mailbox.
pub fn is_alt_address(value: &XText<'_>) -> bool {
    Mailbox::parse_bytes(value.as_str().as_bytes(), false).is_ok()
}

/// UTF8SMTP: advertised beside SMTPUTF8 when
/// [`Extensions::utf8smtp`](crate::server::Extensions::utf8smtp) is set
/// (with 8BITMIME, RFC 5336 §3.1 item 7); `ALT-ADDRESS=` accepted then
/// and handed over; a UTF-8 envelope accepted without the SMTPUTF8
/// parameter (§3.2, applied by [`smtputf8`](super::smtputf8)). A client
/// talking to a server that offers only UTF8SMTP sends a UTF-8 envelope
/// without the parameter, and `ALT-ADDRESS=` only to a server that offers
/// UTF8SMTP (else per [`ParamPolicy`](crate::client::ParamPolicy)).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[MAIL_ALT_ADDRESS],
    rcpt: &[RCPT_ALT_ADDRESS],
    advertise,
    check_mail,
    check_rcpt,
    choose,
    strip_rcpt: |p| {
        // Without allocating the rare parameters' box.
        if p.extras().alt_address.is_some() {
            p.extras_mut().alt_address = None;
        }
    },
    ..Extension::NONE
};

const MAIL_ALT_ADDRESS: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, opts| set(&mut p.extras_mut().alt_address, || v.xtext(opts)),
    write: |p, out| write_xtext(out, PARAM, &p.extras().alt_address),
};

const RCPT_ALT_ADDRESS: RcptParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, opts| set(&mut p.extras_mut().alt_address, || v.xtext(opts)),
    write: |p, out| write_xtext(out, PARAM, &p.extras().alt_address),
};

/// UTF8SMTP is offered: configured, and with 8BITMIME (RFC 5336 §3.1
/// item 7).
fn offers(o: &Offer<'_>) -> bool {
    o.ext().utf8smtp && o.ext().eight_bit_mime
}

/// The session advertised UTF8SMTP, so it takes a UTF-8 string wherever a
/// mailbox can appear, with no parameter to announce it (RFC 5336 §3.2).
pub(crate) fn legacy_utf8(o: &Offer<'_>) -> bool {
    offers(o) && o.ehlo
}

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::Utf8Smtp, offers(o));
}

/// `ALT-ADDRESS=` only when UTF8SMTP was offered (RFC 5336 §3.4, RFC 5321
/// §4.1.1.11), and holding an ASCII mailbox.
fn check_alt(alt: &Option<XText<'_>>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if let Some(a) = alt {
        offered(offers(o))?;
        if !is_alt_address(a) {
            return Err(INVALID_ALT_ADDRESS);
        }
    }
    Ok(())
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    check_alt(&p.extras().alt_address, o)
}

fn check_rcpt(p: &RcptParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    check_alt(&p.extras().alt_address, o)
}

/// `ALT-ADDRESS=` means something to a UTF8SMTP server only (RFC 5336
/// §3.4; RFC 6531 has no such parameter).
fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let mail = n.params.extras().alt_address.is_some();
    let rcpt = n.any_rcpt(|p| p.extras().alt_address.is_some());
    if n.strip_unless(mail || rcpt, Keyword::Utf8Smtp)? {
        if mail {
            n.params.extras_mut().alt_address = None;
        }
        n.strip_rcpt_params();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_rfc5336_3_5() {
        assert_eq!(MAIL_ALT_ADDRESS_REQUIRED.code().get(), 550);
        assert_eq!(RCPT_ALT_ADDRESS_REQUIRED.code().get(), 553);
        assert_eq!(RCPT_ALT_ADDRESS_REQUIRED.enhanced().to_string(), "5.6.7");
        assert_eq!(DOWNGRADE_FAILED.code().get(), 554);
        assert_eq!(DOWNGRADE_FAILED.enhanced().to_string(), "5.6.9");
        assert_eq!(INVALID_ALT_ADDRESS.enhanced().to_string(), "5.5.4");
    }

    #[test]
    fn alt_address_is_an_ascii_mailbox_rfc5336_3_4() {
        assert!(is_alt_address(&XText::new("jane@example.org")));
        assert!(is_alt_address(&XText::new("\"a b\"@example.org")));
        for bad in [
            "jäne@example.org",
            "jane@exämple.org",
            "jane",
            "<jane@example.org>",
            "",
        ] {
            assert!(!is_alt_address(&XText::new(bad)), "{bad}");
        }
    }
}
