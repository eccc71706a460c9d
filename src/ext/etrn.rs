//! ETRN (RFC 1985): the EHLO keyword and the replies to the command,
//! those naming the node included.

use super::seam::{advertise_if, Extension};
use super::{reply, MandatedReply};
use crate::ehlo::Keyword;
use crate::reply::Reply;
use crate::values::{EnhancedStatusCode, ReplyCode};

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

/// How a server answers ETRN for a node (RFC 1985 §5.1), each a reply
/// naming the node as the RFC's texts do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// `250 OK, queuing for node X started`.
    Started,
    /// `251 OK, no messages waiting for node X`.
    NoMessages,
    /// `252 OK, pending messages for node X started`: a run for it was
    /// under way already.
    AlreadyStarted,
    /// `253 OK, N pending messages for node X started`.
    StartedCount(usize),
    /// `458 Unable to queue messages for node X`.
    Unable,
    /// `459 Node X not allowed`: not a node this server queues for.
    NotAllowed,
}

impl Response {
    /// The reply for `node` (as the client named it: `example.org`,
    /// `@example.org`, `#queue`), with `: reason` after the RFC's text
    /// when given. Enhanced codes per RFC 3463: `2.0.0`, `4.3.0` (a
    /// system problem), `4.7.1` (not allowed). Controls in `node` or
    /// `reason` become spaces, and the text is cut to fit a reply line
    /// ([`Reply::sanitized`]).
    pub fn reply(self, node: &str, reason: Option<&str>) -> Reply<'static> {
        use Response::*;
        let (code, esc, text) = match self {
            Started => (250, (0, 0), format!("OK, queuing for node {node} started")),
            NoMessages => (
                251,
                (0, 0),
                format!("OK, no messages waiting for node {node}"),
            ),
            AlreadyStarted => (
                252,
                (0, 0),
                format!("OK, pending messages for node {node} started"),
            ),
            StartedCount(n) => (
                253,
                (0, 0),
                format!("OK, {n} pending messages for node {node} started"),
            ),
            Unable => (
                458,
                (3, 0),
                format!("Unable to queue messages for node {node}"),
            ),
            NotAllowed => (459, (7, 1), format!("Node {node} not allowed")),
        };
        let text = match reason {
            Some(reason) => format!("{text}: {reason}"),
            None => text,
        };
        let esc = EnhancedStatusCode::new((code / 100) as u8, esc.0, esc.1);
        let code = ReplyCode::new(code).unwrap_or(ReplyCode::LOCAL_ERROR);
        Reply::sanitized(code, esc, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: Response, node: &str, reason: Option<&str>) -> String {
        r.reply(node, reason).to_string()
    }

    #[test]
    fn etrn_replies_name_the_node_rfc1985_5_1() {
        use Response::*;
        let cases = [
            (Started, "250 2.0.0 OK, queuing for node #q started"),
            (NoMessages, "251 2.0.0 OK, no messages waiting for node #q"),
            (
                AlreadyStarted,
                "252 2.0.0 OK, pending messages for node #q started",
            ),
            (
                StartedCount(3),
                "253 2.0.0 OK, 3 pending messages for node #q started",
            ),
            (Unable, "458 4.3.0 Unable to queue messages for node #q"),
            (NotAllowed, "459 4.7.1 Node #q not allowed"),
        ];
        for (response, want) in cases {
            assert_eq!(wire(response, "#q", None), format!("{want}\r\n"));
        }
        assert_eq!(
            wire(NotAllowed, "x.example", Some("not held here")),
            "459 4.7.1 Node x.example not allowed: not held here\r\n"
        );
    }

    #[test]
    fn etrn_reply_text_is_one_clean_line_rfc5321_4_5_3_1_5() {
        let long = "x".repeat(2000);
        let r = wire(Response::Unable, "a\r\nb", Some(&long));
        assert!(r.starts_with("458 4.3.0 Unable to queue messages for node a  b: xxx"));
        assert!(r.len() <= 512 && r.matches("\r\n").count() == 1, "{r}");
    }
}
