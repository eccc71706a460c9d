//! ENHANCEDSTATUSCODES (RFC 2034): the EHLO keyword; the codes themselves
//! are [`crate::values::EnhancedStatusCode`] (RFC 3463).

use super::seam::{advertise_if, Extension};
use crate::ehlo::Keyword;

/// The EHLO keyword (RFC 2034 §3).
pub const EHLO_KEYWORD: &str = "ENHANCEDSTATUSCODES";

/// ENHANCEDSTATUSCODES: offered when configured, and always in LMTP,
/// whose per-recipient replies carry the codes.
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        let on = o.ext().enhanced_status_codes || o.lmtp();
        advertise_if(caps, Keyword::EnhancedStatusCodes, on);
    },
    ..Extension::NONE
};
