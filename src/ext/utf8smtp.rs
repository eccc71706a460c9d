//! UTF8SMTP (RFC 5336, experimental, obsoleted by RFC 6531): the
//! `ALT-ADDRESS=` parameter on MAIL and RCPT, an xtext holding an ASCII
//! fallback address ([`XText`](crate::values::XText)).

use super::seam::{refuse_if, Extension, MailParamDef, ParamDef, RcptParamDef, NOT_OFFERED};
use super::{smtputf8, MandatedReply};
use crate::params::{set, write_xtext};

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

/// UTF8SMTP: `ALT-ADDRESS=` on MAIL and RCPT, parsed and kept decoded; a
/// server does not offer the legacy extension yet, so refuses it (RFC 5321
/// §4.1.1.11); a client sends it as the caller gave it.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[MAIL_ALT_ADDRESS],
    rcpt: &[RCPT_ALT_ADDRESS],
    check_mail: |p, _| refuse_if(p.extras().alt_address.is_some(), NOT_OFFERED),
    check_rcpt: |p, _| refuse_if(p.extras().alt_address.is_some(), NOT_OFFERED),
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
