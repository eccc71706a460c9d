//! ENHANCEDSTATUSCODES (RFC 2034): the EHLO keyword; the codes themselves
//! are [`crate::values::EnhancedStatusCode`] (RFC 3463).

/// The EHLO keyword (RFC 2034 §3).
pub const EHLO_KEYWORD: &str = "ENHANCEDSTATUSCODES";
