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

/// ATRN accepted: the roles reverse (RFC 2645 §5.2.1).
pub const REVERSING: MandatedReply = reply(250, 2, 0, 0, "OK now reversing the connection");

/// ATRN for a domain the client may not retrieve, or refused for policy
/// (RFC 2645 §5.2.1: 450).
pub const REFUSED: MandatedReply = reply(450, 4, 7, 1, "ATRN request refused");

/// ATRN cannot be processed now, e.g. a queue run holds the domain's
/// queue (RFC 2645 §5.2.1: 451).
pub const UNABLE_NOW: MandatedReply = reply(451, 4, 3, 0, "Unable to process ATRN request now");

/// No mail waits for the client's domains (RFC 2645 §5.2.1: 453).
pub const NO_MAIL: MandatedReply = reply(453, 4, 0, 0, "You have no mail");

/// The least time a client waits for the reply to ATRN: the provider may
/// run its queue before it answers (RFC 2645 §5.2.1: "at least 10
/// minutes").
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(600);

/// ATRN: offered when configured, never in LMTP.
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| advertise_if(caps, Keyword::Atrn, o.ext().atrn && !o.lmtp()),
    ..Extension::NONE
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atrn_replies_rfc2645_5_2_1() {
        let wire = |m: MandatedReply| m.to_reply().to_string();
        assert_eq!(
            wire(REVERSING),
            "250 2.0.0 OK now reversing the connection\r\n"
        );
        assert_eq!(wire(REFUSED), "450 4.7.1 ATRN request refused\r\n");
        assert_eq!(
            wire(UNABLE_NOW),
            "451 4.3.0 Unable to process ATRN request now\r\n"
        );
        assert_eq!(wire(NO_MAIL), "453 4.0.0 You have no mail\r\n");
        assert_eq!(wire(NEEDS_AUTH), "530 5.7.0 Authentication required\r\n");
    }
}
