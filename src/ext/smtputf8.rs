//! SMTPUTF8 (RFC 6531): internationalised addresses and headers. The MAIL
//! parameter is a flag; the grammar changes (UTF-8 in addresses and
//! `esmtp-value`, §3.3) are applied by the parsers when
//! [`ParseOptions::utf8`](crate::options::ParseOptions::utf8) is set.

use super::seam::{
    advertise_if, offered, refuse_if, Extension, MailParamDef, Negotiation, Offer, ParamDef,
};
use super::utf8smtp::legacy_utf8;
use super::{reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::params::{flag_out, MailParams};

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

/// SMTPUTF8: the `SMTPUTF8` flag on MAIL, offered only with 8BITMIME
/// (RFC 6531 §3.1 item 8); the client sends it when an address needs it.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[SMTPUTF8],
    advertise,
    check_mail,
    // RFC 6531 §3.4: a non-ASCII address only in a transaction whose MAIL
    // carried SMTPUTF8 (§3.5 gives the replies), or in a session that
    // offered the legacy UTF8SMTP, which has no parameter (RFC 5336 §3.2).
    accept_mail: |from, p, o| {
        refuse_if(
            !from.is_ascii() && !p.smtputf8 && !legacy_utf8(o),
            NON_ASCII_SENDER,
        )
    },
    accept_rcpt: |to, _, o| {
        refuse_if(
            !to.is_ascii() && !o.smtputf8 && !legacy_utf8(o),
            NON_ASCII_RECIPIENT,
        )
    },
    require,
    ..Extension::NONE
};

const SMTPUTF8: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| v.flag(&mut p.smtputf8),
    write: |p, out| flag_out(out, p.smtputf8, PARAM),
};

fn offers(o: &Offer<'_>) -> bool {
    o.ext().smtputf8 && o.ext().eight_bit_mime
}

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::SmtpUtf8, offers(o));
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.smtputf8 {
        offered(offers(o))?;
    }
    Ok(())
}

/// RFC 6531 §3.4: SMTPUTF8 when the caller asks or an address needs it,
/// and then only to a server that offers it — unless the non-ASCII is only
/// in domains, which then travel as A-labels (feature `idna`); to a
/// server that offers only the legacy UTF8SMTP, the same message without
/// the parameter, which RFC 5336 does not have (§3.2, §3.6).
fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let env = n.envelope;
    let utf8 = n.params.smtputf8
        || !env.from.is_ascii()
        || env.recipients.iter().any(|r| !r.to.is_ascii());
    if utf8 && !n.has(Keyword::SmtpUtf8) {
        if !n.params.smtputf8 && a_labels_suffice(n) {
            n.a_labels = true;
            return Ok(());
        }
        if !n.has(Keyword::Utf8Smtp) {
            return Err(MessageError::SmtpUtf8Unsupported);
        }
        n.params.smtputf8 = false;
        return Ok(());
    }
    n.params.smtputf8 = utf8;
    Ok(())
}

/// RFC 6531 §3.2, RFC 5891 §4: a U-label domain has an ASCII form, its
/// A-label, which a server without SMTPUTF8 takes; a non-ASCII local part
/// has none. With [`ClientConfig::idna`](crate::client::ClientConfig::idna).
#[cfg(feature = "idna")]
fn a_labels_suffice(n: &Negotiation<'_>) -> bool {
    use crate::values::{forward_path_ascii, reverse_path_ascii};
    n.config.idna
        && reverse_path_ascii(&n.envelope.from).is_some()
        && n.envelope
            .recipients
            .iter()
            .all(|r| forward_path_ascii(&r.to).is_some())
}

/// Without the `idna` feature a U-label domain needs SMTPUTF8.
#[cfg(not(feature = "idna"))]
fn a_labels_suffice(_: &Negotiation<'_>) -> bool {
    false
}

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
