//! PIPELINING (RFC 2920): the EHLO keyword; the batching itself is the
//! client's pipeline queue and the server's in-order replies.

/// The EHLO keyword (RFC 2920 §3).
pub const EHLO_KEYWORD: &str = "PIPELINING";
