//! ETRN (RFC 1985): the EHLO keyword and the replies to the command.

use super::seam::{advertise_if, Extension};
use super::{reply, MandatedReply};
use crate::ehlo::Keyword;

/// The EHLO keyword (RFC 1985 §3).
pub const EHLO_KEYWORD: &str = "ETRN";

/// Queuing for the node started (RFC 1985 §5: 250).
pub const QUEUING_STARTED: MandatedReply = reply(250, 2, 0, 0, "Queuing started");

/// The queue cannot be started now (RFC 1985 §5: 458).
pub const UNABLE_TO_QUEUE: MandatedReply = reply(458, 4, 0, 0, "Unable to queue messages");

/// ETRN inside a mail transaction is out of sequence (RFC 1985 §3 allows
/// it only outside one).
pub const IN_TRANSACTION: MandatedReply =
    reply(503, 5, 5, 1, "ETRN not permitted during a mail transaction");

/// ETRN: offered when configured, never in LMTP (RFC 2033 §4.2 lists no
/// queue commands).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| advertise_if(caps, Keyword::Etrn, o.ext().etrn && !o.lmtp()),
    ..Extension::NONE
};
