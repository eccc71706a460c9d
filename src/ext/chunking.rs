//! CHUNKING (RFC 3030): the EHLO keyword of the BDAT command; BDAT framing
//! lives in the machines, `BODY=BINARYMIME` in [`super::body`].

/// The EHLO keyword (RFC 3030 §2).
pub const EHLO_KEYWORD: &str = "CHUNKING";
