//! PIPELINING (RFC 2920): the EHLO keyword; the batching itself is the
//! client's pipeline queue and the server's in-order replies.

use super::seam::{advertise_if, Extension};
use crate::ehlo::Keyword;

/// The EHLO keyword (RFC 2920 §3).
pub const EHLO_KEYWORD: &str = "PIPELINING";

/// PIPELINING: offered when configured, and always in LMTP (RFC 2033 §5).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| advertise_if(caps, Keyword::Pipelining, o.ext().pipelining || o.lmtp()),
    ..Extension::NONE
};
