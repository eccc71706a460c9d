//! VERB and ONEX, sendmail's EHLO keywords, registered with IANA without
//! an RFC ("Verbose" and "One message transaction only", both [Eric
//! Allman]). Their replies follow sendmail's: `250 Verbose mode` and
//! `250 Only one transaction`.

use super::seam::{advertise_if, Extension};
use super::{reply, MandatedReply};
use crate::ehlo::Keyword;

/// The EHLO keyword for VERB (verbose delivery reporting).
pub const EHLO_VERB: &str = "VERB";
/// The EHLO keyword for ONEX (one transaction per session).
pub const EHLO_ONEX: &str = "ONEX";

/// VERB accepted: the session is in verbose mode.
pub const VERBOSE_MODE: MandatedReply = reply(250, 2, 0, 0, "Verbose mode");

/// ONEX accepted: the client announced a single transaction.
pub const ONE_TRANSACTION: MandatedReply = reply(250, 2, 0, 0, "Only one transaction");

/// A MAIL after the one transaction ONEX announced: a command out of
/// sequence (RFC 5321 §4.2.4: 503).
pub const TRANSACTION_AFTER_ONEX: MandatedReply =
    reply(503, 5, 5, 1, "Only one transaction after ONEX");

/// VERB and ONEX: each advertised when the application turns it on
/// ([`Extensions::verb`](crate::server::Extensions::verb),
/// [`Extensions::onex`](crate::server::Extensions::onex)); the server
/// machine answers them itself. A client sends them on request, only to
/// a server that offers them ([`Client::verb`](crate::client::Client::verb),
/// [`Client::onex`](crate::client::Client::onex)).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        advertise_if(caps, Keyword::Verb, o.ext().verb);
        advertise_if(caps, Keyword::Onex, o.ext().onex);
    },
    ..Extension::NONE
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_follow_sendmail() {
        assert_eq!(VERBOSE_MODE.code().get(), 250);
        assert_eq!(ONE_TRANSACTION.text(), "Only one transaction");
        assert_eq!(TRANSACTION_AFTER_ONEX.code().get(), 503);
        assert_eq!(TRANSACTION_AFTER_ONEX.enhanced().to_string(), "5.5.1");
    }
}
