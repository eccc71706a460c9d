//! ATRN (RFC 2645, On-Demand Mail Relay): the EHLO keyword and the replies
//! to the command; the role reversal lives in the machines.

use std::time::Duration;

use super::seam::{advertise_if, Extension};
use super::{reply, MandatedReply};
use crate::ehlo::Keyword;

/// The EHLO keyword (RFC 2645 §5).
pub const EHLO_KEYWORD: &str = "ATRN";

/// ATRN before AUTH (RFC 2645 §5: the client must authenticate first).
pub const NEEDS_AUTH: MandatedReply = reply(530, 5, 7, 0, "Authentication required");

/// The least time a client waits for the reply to ATRN: the provider may
/// run its queue before it answers (RFC 2645 §5.2.1: "at least 10
/// minutes").
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(600);

/// ATRN: offered when configured, never in LMTP.
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| advertise_if(caps, Keyword::Atrn, o.ext().atrn && !o.lmtp()),
    ..Extension::NONE
};
