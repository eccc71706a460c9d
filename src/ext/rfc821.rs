//! The RFC 821 optional services SEND, SOML, SAML (§3.4) and TURN (§3.5),
//! which RFC 5321 Appendix F deprecates: their EHLO keywords, and the
//! client's use of the first three.

use super::seam::{advertise_if, Extension, Negotiation};
use crate::client::MessageError;
use crate::command::SendMode;
use crate::ehlo::Keyword;

/// The EHLO keyword for SEND (RFC 5321 App. F.6).
pub const EHLO_SEND: &str = "SEND";
/// The EHLO keyword for SOML (RFC 5321 App. F.6).
pub const EHLO_SOML: &str = "SOML";
/// The EHLO keyword for SAML (RFC 5321 App. F.6).
pub const EHLO_SAML: &str = "SAML";
/// The EHLO keyword for TURN (RFC 5321 App. F.1).
pub const EHLO_TURN: &str = "TURN";

/// The EHLO keyword that offers a transaction verb.
pub const fn keyword(mode: SendMode) -> Keyword {
    match mode {
        SendMode::Send => Keyword::Send,
        SendMode::Soml => Keyword::Soml,
        SendMode::Saml => Keyword::Saml,
    }
}

/// TURN and SEND/SOML/SAML: offered when configured, never in LMTP. A
/// client starts a transaction with SEND, SOML or SAML when the caller's
/// envelope asks ([`Envelope::send`](crate::client::Envelope::send)) and
/// the server offers that verb, which it "MUST" when it implements it
/// (RFC 5321 App. F.6); otherwise the message fails whatever the
/// [`ParamPolicy`](crate::client::ParamPolicy): MAIL would deliver
/// elsewhere than asked.
pub(crate) const EXTENSION: Extension = Extension {
    require,
    advertise: |o, caps| {
        let smtp = !o.lmtp();
        advertise_if(caps, Keyword::Turn, o.ext().turn && smtp);
        for k in [Keyword::Send, Keyword::Soml, Keyword::Saml] {
            advertise_if(caps, k, o.ext().send && smtp);
        }
    },
    ..Extension::NONE
};

fn require(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    match n.envelope.send.map(keyword) {
        Some(k) if !n.has(k) => Err(MessageError::ExtensionUnsupported(k)),
        _ => Ok(()),
    }
}
