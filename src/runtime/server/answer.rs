//! What a handler answers to a decision, and how the answer becomes the
//! machine's [`Decision`]: the part of the runtime that async and blocking
//! drivers share.

use bytes::Bytes;

use crate::reply::Reply;
use crate::sasl::scram::ScramCredentials;
use crate::server::{ApiError, Decision, DecisionKind, Server};
use crate::values::{EnhancedStatusCode, ReplyCode};

/// A handler's answer to one decision (HELO, MAIL, RCPT, end of message,
/// AUTH, VRFY …): maps to [`Decision::accept`], [`Decision::deny`] or
/// [`Decision::respond`].
///
/// `Accept` and `Deny` send the machine's default reply for the event
/// (each [`Event`](crate::server::Event) documents it); `Reply` sends the
/// given reply, a 2xx accepting and a 4xx or 5xx refusing. A `421` reply
/// also ends the session (RFC 5321 §3.8).
///
/// A 3xx reply cannot answer an event (the machine writes `334` and `354`
/// itself): the runtime then answers as if the handler had failed —
/// `451 4.3.0` at the end of a message, the event's refusal elsewhere —
/// so a handler bug never acknowledges a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// The event's default positive reply.
    Accept,
    /// The event's default refusal.
    Deny,
    /// This reply.
    Reply(Reply<'static>),
    /// To a MAIL whose `TRANSID=` names a transaction interrupted during
    /// its content (CHECKPOINT, RFC 1845 §3): take it up again with
    /// `recipients` restored, the client sending from octet `offset` on
    /// ([`Decision::restart`]). To any other event, a handler bug: the
    /// event's refusal.
    Restart {
        /// The canonical octets already stored (at the start of a line
        /// for content that came with DATA:
        /// [`resume_offset`](crate::ext::checkpoint::resume_offset)).
        offset: u64,
        /// The recipients the transaction had.
        recipients: u32,
    },
}

impl From<Reply<'static>> for Answer {
    fn from(reply: Reply<'static>) -> Self {
        Answer::Reply(reply)
    }
}

impl Answer {
    /// `451 4.3.0 <text>`: a temporary local failure (RFC 3463 §3.5), the
    /// usual answer when a message cannot be stored. Controls in `text`
    /// become spaces, and text too long for a reply line is cut.
    pub fn temporary_failure(text: &str) -> Answer {
        local_error(text).map_or(Answer::Deny, Answer::Reply)
    }
}

/// A handler's answer to a BURL (RFC 4468): the content its URL refers
/// to, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BurlAnswer {
    /// The content, whole. It reaches [`Session::content`](super::Session::content)
    /// next, checked against the size limit and the bare-CR/LF policy as
    /// BDAT content is; then the BURL is answered `250 2.5.0`, or with
    /// LAST the end of the message is asked for.
    Content(Bytes),
    /// Not resolved: `554 5.6.6` (RFC 4468 §5, "Message content not
    /// available").
    Unavailable,
    /// Not resolved, with this 4xx or 5xx reply (RFC 4468 §6: `451 4.4.1`
    /// server unavailable, `554 5.7.8` trust relationship required …).
    Refused(Reply<'static>),
}

/// The answer to an LMTP end of message (RFC 2033 §4.2), which owes one
/// reply per accepted recipient, in RCPT order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LmtpAnswer {
    /// The same answer for every recipient.
    All(Answer),
    /// One reply per accepted recipient, in RCPT order. A count other than
    /// [`MessageEnd::recipients`], or a 3xx reply, is a handler bug: every
    /// recipient then gets `451 4.3.0`, so nothing is acknowledged by
    /// mistake.
    Each(Vec<Reply<'static>>),
}

impl From<Answer> for LmtpAnswer {
    fn from(answer: Answer) -> Self {
        LmtpAnswer::All(answer)
    }
}

/// The answer to one step of a SASL mechanism the application runs itself
/// ([`Event::AuthStep`](crate::server::Event::AuthStep)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslAnswer {
    /// Send this challenge (`334`, base64-encoded) and wait for the
    /// client's next response.
    Challenge(Vec<u8>),
    /// The exchange is over: `Accept` authenticates the client (`235
    /// 2.7.0`), `Deny` fails it (`535 5.7.8`).
    Done(Answer),
}

impl From<Answer> for SaslAnswer {
    fn from(answer: Answer) -> Self {
        SaslAnswer::Done(answer)
    }
}

/// The end of a message: its content has been handed over in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageEnd {
    /// The message size in octets (RFC 1870 §5).
    pub size: u64,
    /// Recipients accepted in this transaction: in LMTP, the number of
    /// replies owed.
    pub recipients: u32,
}

impl MessageEnd {
    pub(crate) fn new(size: u64, recipients: u32) -> Self {
        MessageEnd { size, recipients }
    }
}

/// What the driver got from the handler for the pending decision.
#[derive(Debug)]
pub(crate) enum Verdict {
    Answer(Answer),
    Lmtp(LmtpAnswer),
    /// A SCRAM look-up: the stored credentials, if the user has them.
    Scram(Option<ScramCredentials>),
    /// A step of the application's mechanism.
    Sasl(SaslAnswer),
    /// The content of a BURL's URL, or why there is none.
    Burl(BurlAnswer),
}

/// Answers the machine's pending decision with `verdict`. A verdict the
/// machine refuses (a 3xx reply, a wrong LMTP reply count) falls back to a
/// safe refusal; the error is returned so that the driver can report it.
pub(crate) fn apply(server: &mut Server, verdict: Verdict) -> Result<(), ApiError> {
    let verdict = match verdict {
        Verdict::Burl(BurlAnswer::Content(content)) => {
            return match server.burl_content(content) {
                Ok(()) => server.accept(),
                // The machine refused the BURL itself.
                Err(ApiError::BurlRefused) => Ok(()),
                Err(e) => {
                    let _ = server.deny();
                    Err(e)
                }
            };
        }
        Verdict::Burl(BurlAnswer::Unavailable) => Verdict::Answer(Answer::Deny),
        Verdict::Burl(BurlAnswer::Refused(reply)) => Verdict::Answer(Answer::Reply(reply)),
        verdict => verdict,
    };
    let Some(decision) = server.decision() else {
        return Err(ApiError::NoPendingDecision);
    };
    let kind = decision.kind();
    let result = match verdict {
        Verdict::Answer(answer) => answer_decision(decision, answer),
        Verdict::Lmtp(LmtpAnswer::All(answer)) => answer_decision(decision, answer),
        Verdict::Burl(_) => Err(ApiError::NoBurl),
        Verdict::Lmtp(LmtpAnswer::Each(replies)) => match decision.lmtp() {
            Ok(end) => end.respond_each(&replies),
            // Per-recipient replies for something else: as for any
            // malformed answer, the safe fallback below.
            Err(_) => Err(ApiError::RecipientCount {
                expected: 1,
                given: replies.len(),
            }),
        },
        Verdict::Scram(found) => match (decision.scram_lookup(), found) {
            (Ok(lookup), Some(credentials)) => {
                lookup.credentials(credentials, &crate::runtime::sasl_nonce())
            }
            (Ok(lookup), None) => {
                lookup.deny();
                Ok(())
            }
            (Err(_), _) => Err(ApiError::NoPendingDecision),
        },
        Verdict::Sasl(SaslAnswer::Challenge(challenge)) => match decision.auth_step() {
            Ok(step) => {
                step.challenge(&challenge);
                Ok(())
            }
            Err(_) => Err(ApiError::NoPendingDecision),
        },
        Verdict::Sasl(SaslAnswer::Done(answer)) => answer_decision(decision, answer),
    };
    if result.is_err() {
        // The decision is still pending: never acknowledge a message by
        // mistake.
        if let Some(decision) = server.decision() {
            match local_error("Local error in processing") {
                Some(reply) if kind == DecisionKind::MessageEnd => {
                    let _ = decision.respond(&reply);
                }
                _ => decision.deny(),
            }
        }
    }
    result
}

fn answer_decision(decision: Decision<'_>, answer: Answer) -> Result<(), ApiError> {
    match answer {
        Answer::Accept => {
            decision.accept();
            Ok(())
        }
        Answer::Deny => {
            decision.deny();
            Ok(())
        }
        Answer::Reply(reply) => decision.respond(&reply),
        Answer::Restart { offset, recipients } => decision.restart(offset, recipients),
    }
}

/// `451 4.3.0 <text>` with `text` made safe for a reply line.
fn local_error(text: &str) -> Option<Reply<'static>> {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    // 512 octets with code, enhanced code, separators and CRLF.
    let mut cut = clean.len().min(490);
    while !clean.is_char_boundary(cut) {
        cut -= 1;
    }
    let esc = EnhancedStatusCode::new(4, 3, 0);
    Reply::new(ReplyCode::LOCAL_ERROR, esc, [clean[..cut].to_owned()]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{Event, ServerConfig};

    fn server_at_rcpt() -> Server {
        let mut server = Server::new(ServerConfig::new("mx.example.org").unwrap());
        server.receive(b"EHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\n");
        loop {
            match server.poll_event() {
                Some(Event::Rcpt { .. }) => return server,
                Some(e) if e.needs_decision() => server.accept().unwrap(),
                Some(_) => {}
                None => panic!("no RCPT"),
            }
        }
    }

    fn transmitted(server: &mut Server) -> String {
        let mut out = Vec::new();
        while let Some(b) = server.poll_transmit() {
            out.extend_from_slice(&b);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn intermediate_reply_falls_back_to_the_refusal_rfc5321_4_2_1() {
        let mut server = server_at_rcpt();
        let reply = Reply::single(ReplyCode::START_MAIL_INPUT, None, "go on").unwrap();
        assert_eq!(
            apply(&mut server, Verdict::Answer(Answer::Reply(reply))),
            Err(ApiError::IntermediateReply)
        );
        assert!(server.decision().is_none());
        let out = transmitted(&mut server);
        assert!(
            out.ends_with("\r\n550 5.1.1 Recipient rejected\r\n"),
            "{out}"
        );
    }

    /// RFC 2033 §4.2: one reply per accepted recipient. A handler that
    /// gives another count acknowledges nothing: each recipient gets 451.
    #[test]
    fn wrong_lmtp_reply_count_falls_back_to_451_each_rfc2033_4_2() {
        let mut server = Server::new(ServerConfig::new("lmtp.example.org").unwrap().lmtp());
        server.receive(
            b"LHLO c\r\nMAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nRCPT TO:<c@x.org>\r\n\
              DATA\r\nHi\r\n.\r\n",
        );
        loop {
            match server.poll_event() {
                Some(Event::MessageEnd { .. }) => break,
                Some(e) if e.needs_decision() => server.accept().unwrap(),
                Some(_) => {}
                None => panic!("no end of message"),
            }
        }
        let _ = transmitted(&mut server);
        let one = Reply::single(ReplyCode::OK, None, "stored").unwrap();
        assert_eq!(
            apply(&mut server, Verdict::Lmtp(LmtpAnswer::Each(vec![one]))),
            Err(ApiError::RecipientCount {
                expected: 2,
                given: 1
            })
        );
        assert_eq!(
            transmitted(&mut server),
            "451 4.3.0 Local error in processing\r\n451 4.3.0 Local error in processing\r\n"
        );
    }

    #[test]
    fn temporary_failure_text_cannot_inject_lines() {
        let Answer::Reply(reply) = Answer::temporary_failure("disk\r\n250 full") else {
            panic!("a reply")
        };
        assert_eq!(reply.code(), ReplyCode::LOCAL_ERROR);
        assert_eq!(reply.to_bytes(), b"451 4.3.0 disk  250 full\r\n");
        let Answer::Reply(long) = Answer::temporary_failure(&"é".repeat(400)) else {
            panic!("a reply")
        };
        assert!(long.to_bytes().len() <= 512);
    }
}
