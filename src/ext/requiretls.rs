//! REQUIRETLS (RFC 8689): a MAIL flag parameter with no value.

use super::seam::{
    advertise_if, Extension, MailParamDef, Negotiation, Offer, ParamDef, NOT_OFFERED,
};
use super::{reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::params::{flag_out, MailParams};

/// The EHLO keyword (only after STARTTLS, RFC 8689 §4.1).
pub const EHLO_KEYWORD: &str = "REQUIRETLS";
/// The MAIL parameter keyword (no value).
pub const PARAM: &str = EHLO_KEYWORD;

/// The message cannot be relayed with REQUIRETLS honoured (RFC 8689 §5).
pub const SUPPORT_REQUIRED: MandatedReply = reply(550, 5, 7, 30, "REQUIRETLS support required");

/// `MAIL … REQUIRETLS` outside TLS (RFC 8689 §4.1: the option is offered,
/// and may be used, only over TLS; X.7.10 "encryption needed").
pub const NEEDS_TLS: MandatedReply = reply(530, 5, 7, 10, "REQUIRETLS needs a TLS session");

/// REQUIRETLS: the `REQUIRETLS` flag on MAIL, offered and accepted only
/// under TLS; the client never strips it and never sends it in clear
/// (RFC 8689 §4.1).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[REQUIRETLS],
    advertise,
    check_mail,
    require,
    ..Extension::NONE
};

const REQUIRETLS: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| v.flag(&mut p.requiretls),
    write: |p, out| flag_out(out, p.requiretls, PARAM),
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::RequireTls, o.ext().requiretls && o.tls);
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.requiretls {
        if !o.ext().requiretls {
            return Err(NOT_OFFERED);
        }
        if !o.tls {
            return Err(NEEDS_TLS);
        }
    }
    Ok(())
}

fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if n.params.requiretls && !(n.tls && n.has(Keyword::RequireTls)) {
        return Err(MessageError::RequireTls);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_rfc8689_5() {
        assert_eq!(SUPPORT_REQUIRED.code().get(), 550);
        assert_eq!(SUPPORT_REQUIRED.enhanced().to_string(), "5.7.30");
        assert_eq!(NEEDS_TLS.code().get(), 530);
        assert_eq!(NEEDS_TLS.enhanced().to_string(), "5.7.10");
    }
}
