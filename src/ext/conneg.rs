//! CONPERM and CONNEG (RFC 4141): content conversion permission (a MAIL
//! flag), content negotiation (a RCPT flag) and the capability lines a
//! server adds to its RCPT reply (§5.2).

use super::seam::{
    advertise_if, Extension, MailParamDef, Negotiation, Offer, ParamDef, RcptParamDef,
};
use super::{reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::params::{flag_out, MailParams, RcptParams};
use crate::reply::{Reply, ReplyTextError};
use crate::values::{EnhancedStatusCode, ReplyCode};

/// The EHLO keyword for content conversion permission.
pub const EHLO_CONPERM: &str = "CONPERM";
/// The EHLO keyword for content negotiation.
pub const EHLO_CONNEG: &str = "CONNEG";
/// The MAIL flag parameter (no value).
pub const PARAM_CONPERM: &str = EHLO_CONPERM;
/// The RCPT flag parameter (no value).
pub const PARAM_CONNEG: &str = EHLO_CONNEG;

/// A server without CONPERM rejects MAIL … CONPERM with "a 504-CONPERM
/// reply" (RFC 4141 §4.2).
pub const CONPERM_NOT_SUPPORTED: MandatedReply = reply(504, 5, 5, 4, "CONPERM not supported");

/// A server without CONNEG rejects RCPT … CONNEG with 504 (RFC 4141 §5.2).
pub const CONNEG_NOT_SUPPORTED: MandatedReply = reply(504, 5, 5, 4, "CONNEG not supported");

/// Conversion is required but cannot be done along the path (RFC 4141
/// §3.3: the status a CONPERM relay returns, 5.6.3).
pub const CONVERSION_NOT_SUPPORTED: MandatedReply =
    reply(554, 5, 6, 3, "Conversion required but not supported");

/// A required conversion failed (RFC 4141 §3.2: 5.6.5).
pub const CONVERSION_FAILED: MandatedReply = reply(554, 5, 6, 5, "Conversion failed");

/// The successful reply to `RCPT … CONNEG` (RFC 4141 §5.2): a first line
/// of ordinary RCPT text, then one `CONNEG <capability>` line per
/// capability (an RFC 2533 feature-set filter), as the
/// `250-CONNEG …` / `250 CONNEG …` series the RFC gives. With
/// `enhanced`, every line carries the code (RFC 2034 §4); the client's
/// [`capabilities`] reads either form.
///
/// ```
/// use esmtp::ext::conneg::{capabilities, rcpt_reply};
///
/// let r = rcpt_reply(None, "Recipient OK", ["(&(type=image/tiff)(color=binary))"]).unwrap();
/// assert_eq!(
///     r.to_bytes(),
///     b"250-Recipient OK\r\n250 CONNEG (&(type=image/tiff)(color=binary))\r\n"
/// );
/// assert_eq!(capabilities(&r).collect::<Vec<_>>(), ["(&(type=image/tiff)(color=binary))"]);
/// ```
pub fn rcpt_reply<'c>(
    enhanced: Option<EnhancedStatusCode>,
    text: &str,
    capabilities: impl IntoIterator<Item = &'c str>,
) -> Result<Reply<'static>, ReplyTextError> {
    let mut lines = vec![text.to_owned()];
    for c in capabilities {
        if c.is_empty() {
            continue;
        }
        lines.push(format!("{EHLO_CONNEG} {c}"));
    }
    Reply::new(ReplyCode::OK, enhanced, lines)
}

/// The capabilities a server returned in its reply to `RCPT … CONNEG`
/// (RFC 4141 §5.2): the text after `CONNEG ` on each line but the first,
/// in order; none when the reply is not positive.
pub fn capabilities<'r>(reply: &'r Reply<'_>) -> impl Iterator<Item = &'r str> + 'r {
    let positive = reply.code().is_positive();
    reply
        .lines()
        .skip(1)
        .filter(move |_| positive)
        .filter_map(|line| {
            let n = EHLO_CONNEG.len();
            let (word, rest) = (line.get(..n)?, line.get(n..)?);
            let rest = rest.strip_prefix(b" ")?;
            if !word.eq_ignore_ascii_case(EHLO_CONNEG.as_bytes()) {
                return None;
            }
            std::str::from_utf8(rest).ok().map(str::trim)
        })
        .filter(|c| !c.is_empty())
}

/// CONPERM and CONNEG: each advertised when configured
/// ([`Extensions::conperm`](crate::server::Extensions::conperm),
/// [`Extensions::conneg`](crate::server::Extensions::conneg)), its flag
/// accepted then and handed over, else refused with the 504 RFC 4141
/// gives. A client never sends a CONPERM message to a server without
/// CONPERM (§4.2: "permanently rejected"), adds CONNEG to each RCPT of a
/// CONPERM message when offered (§5.2: "MUST issue"), and strips or
/// fails a caller's CONNEG per [`ParamPolicy`](crate::client::ParamPolicy)
/// when not.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[CONPERM],
    rcpt: &[CONNEG],
    advertise,
    check_mail,
    check_rcpt,
    require,
    choose,
    strip_rcpt: |p| p.conneg = false,
    amend_rcpt: |p| p.conneg = true,
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

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::ConPerm, o.ext().conperm);
    advertise_if(caps, Keyword::ConNeg, o.ext().conneg);
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.conperm && !o.ext().conperm {
        return Err(CONPERM_NOT_SUPPORTED);
    }
    Ok(())
}

fn check_rcpt(p: &RcptParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.conneg && !o.ext().conneg {
        return Err(CONNEG_NOT_SUPPORTED);
    }
    Ok(())
}

/// RFC 4141 §4.2 and §3.3: a message under CONPERM goes only to a server
/// that offers CONPERM (otherwise it is "permanently rejected", whatever
/// the policy); when that server also offers CONNEG, each RCPT asks for
/// the recipient's capabilities (§5.2).
fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if !n.params.conperm {
        return Ok(());
    }
    if !n.has(Keyword::ConPerm) {
        return Err(MessageError::ExtensionUnsupported(Keyword::ConPerm));
    }
    if n.has(Keyword::ConNeg) {
        n.amend_rcpt_params();
    }
    Ok(())
}

/// A caller's CONNEG without CONPERM is optional (RFC 4141 §5.2: MAY).
fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let conneg = n.any_rcpt(|p| p.conneg);
    if n.strip_unless(conneg, Keyword::ConNeg)? {
        n.strip_rcpt_params();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_rfc4141() {
        assert_eq!(CONPERM_NOT_SUPPORTED.code().get(), 504);
        assert_eq!(CONNEG_NOT_SUPPORTED.enhanced().to_string(), "5.5.4");
        assert_eq!(CONVERSION_NOT_SUPPORTED.enhanced().to_string(), "5.6.3");
        assert_eq!(CONVERSION_FAILED.enhanced().to_string(), "5.6.5");
    }

    /// RFC 4141 §5.2: lines "each beginning with 250-CONNEG, except for
    /// the last line, which is 250 CONNEG"; read back with or without
    /// enhanced codes.
    #[test]
    fn conneg_rcpt_reply_rfc4141_5_2() {
        let caps = ["(type=image/tiff)", "(color=binary)"];
        let r = rcpt_reply(None, "<b@example.org> OK", caps).unwrap();
        assert_eq!(
            r.to_bytes(),
            b"250-<b@example.org> OK\r\n250-CONNEG (type=image/tiff)\r\n\
              250 CONNEG (color=binary)\r\n"
        );
        assert_eq!(capabilities(&r).collect::<Vec<_>>(), caps);
        let esc = EnhancedStatusCode::new(2, 1, 5);
        let r = rcpt_reply(esc, "OK", caps).unwrap();
        assert!(r
            .to_bytes()
            .starts_with(b"250-2.1.5 OK\r\n250-2.1.5 CONNEG "));
        assert_eq!(capabilities(&r).collect::<Vec<_>>(), caps);
        let wire = b"250-2.1.5 OK\r\n250-2.1.5 conneg (a=1)\r\n250 2.1.5 CONNEG\r\n";
        let parsed = Reply::parse(
            wire,
            &crate::reply::ReplyParseOptions::new().with_enhanced(true),
        )
        .unwrap()
        .0;
        assert_eq!(capabilities(&parsed).collect::<Vec<_>>(), ["(a=1)"]);
        // The first line is never a capability; a refusal has none.
        let r = Reply::new(ReplyCode::OK, None, ["CONNEG (x=1)"]).unwrap();
        assert_eq!(capabilities(&r).count(), 0);
        let r = Reply::new(ReplyCode::new(550).unwrap(), None, ["no", "CONNEG (x=1)"]).unwrap();
        assert_eq!(capabilities(&r).count(), 0);
        assert!(rcpt_reply(None, "OK", ["a\r\nb"]).is_err());
    }
}
