//! CONPERM and CONNEG (RFC 4141): content conversion permission (a MAIL
//! flag) and content negotiation (a RCPT flag).

use super::seam::{refuse_if, Extension, MailParamDef, ParamDef, RcptParamDef};
use super::{reply, MandatedReply};
use crate::params::flag_out;

/// The EHLO keyword for content conversion permission.
pub const EHLO_CONPERM: &str = "CONPERM";
/// The EHLO keyword for content negotiation.
pub const EHLO_CONNEG: &str = "CONNEG";
/// The MAIL flag parameter (no value).
pub const PARAM_CONPERM: &str = EHLO_CONPERM;
/// The RCPT flag parameter (no value).
pub const PARAM_CONNEG: &str = EHLO_CONNEG;

/// A server without CONPERM rejects MAIL … CONPERM with "a 504-CONPERM
/// reply" (RFC 4141 §4).
pub const CONPERM_NOT_SUPPORTED: MandatedReply = reply(504, 5, 5, 4, "CONPERM not supported");

/// A server without CONNEG rejects RCPT … CONNEG with 504 (RFC 4141 §5).
pub const CONNEG_NOT_SUPPORTED: MandatedReply = reply(504, 5, 5, 4, "CONNEG not supported");

/// CONPERM and CONNEG: the flags are parsed; a server does not offer
/// either yet, so refuses them with the 504 RFC 4141 gives; a client sends
/// them as the caller gave them.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[CONPERM],
    rcpt: &[CONNEG],
    check_mail: |p, _| refuse_if(p.conperm, CONPERM_NOT_SUPPORTED),
    check_rcpt: |p, _| refuse_if(p.conneg, CONNEG_NOT_SUPPORTED),
    ..Extension::NONE
};

const CONPERM: MailParamDef = ParamDef {
    keyword: PARAM_CONPERM,
    eq_in_value: false,
    parse: |p, v, _| v.flag(&mut p.conperm),
    write: |p, out| flag_out(out, p.conperm, PARAM_CONPERM),
};

const CONNEG: RcptParamDef = ParamDef {
    keyword: PARAM_CONNEG,
    eq_in_value: false,
    parse: |p, v, _| v.flag(&mut p.conneg),
    write: |p, out| flag_out(out, p.conneg, PARAM_CONNEG),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_rfc4141() {
        assert_eq!(CONPERM_NOT_SUPPORTED.code().get(), 504);
        assert_eq!(CONNEG_NOT_SUPPORTED.enhanced().to_string(), "5.5.4");
    }
}
