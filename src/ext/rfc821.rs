//! The RFC 821 optional services SEND, SOML, SAML (§3.4) and TURN (§3.5),
//! which RFC 5321 Appendix F deprecates: their EHLO keywords.

/// The EHLO keyword for SEND (RFC 5321 App. F.6).
pub const EHLO_SEND: &str = "SEND";
/// The EHLO keyword for SOML (RFC 5321 App. F.6).
pub const EHLO_SOML: &str = "SOML";
/// The EHLO keyword for SAML (RFC 5321 App. F.6).
pub const EHLO_SAML: &str = "SAML";
/// The EHLO keyword for TURN (RFC 5321 App. F.1).
pub const EHLO_TURN: &str = "TURN";
