//! The RFC 5321 commands an EHLO reply may list although every server
//! knows them: HELP (§4.1.1.8), EXPN (§4.1.1.7) and VRFY (§4.1.1.6).

/// The EHLO keyword for HELP.
pub const EHLO_HELP: &str = "HELP";
/// The EHLO keyword for EXPN.
pub const EHLO_EXPN: &str = "EXPN";
/// The EHLO keyword for VRFY.
pub const EHLO_VRFY: &str = "VRFY";
