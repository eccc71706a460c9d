//! ATRN (RFC 2645, On-Demand Mail Relay): the EHLO keyword and the replies
//! to the command; the role reversal lives in the machines.

use super::{reply, MandatedReply};

/// The EHLO keyword (RFC 2645 §5).
pub const EHLO_KEYWORD: &str = "ATRN";

/// ATRN before AUTH (RFC 2645 §5: the client must authenticate first).
pub const NEEDS_AUTH: MandatedReply = reply(530, 5, 7, 0, "Authentication required");
