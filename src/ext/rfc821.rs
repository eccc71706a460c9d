//! The RFC 821 optional services SEND, SOML, SAML (§3.4) and TURN (§3.5),
//! which RFC 5321 Appendix F deprecates: their EHLO keywords.

use super::seam::{advertise_if, Extension};
use crate::ehlo::Keyword;

/// The EHLO keyword for SEND (RFC 5321 App. F.6).
pub const EHLO_SEND: &str = "SEND";
/// The EHLO keyword for SOML (RFC 5321 App. F.6).
pub const EHLO_SOML: &str = "SOML";
/// The EHLO keyword for SAML (RFC 5321 App. F.6).
pub const EHLO_SAML: &str = "SAML";
/// The EHLO keyword for TURN (RFC 5321 App. F.1).
pub const EHLO_TURN: &str = "TURN";

/// TURN and SEND/SOML/SAML: offered when configured, never in LMTP.
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        let smtp = !o.lmtp();
        advertise_if(caps, Keyword::Turn, o.ext().turn && smtp);
        for k in [Keyword::Send, Keyword::Soml, Keyword::Saml] {
            advertise_if(caps, k, o.ext().send && smtp);
        }
    },
    ..Extension::NONE
};
