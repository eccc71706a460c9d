//! The reconnect policy: when a message whose session ended under it is
//! sent again on a new connection, and when it must not be, so that no
//! message the server accepted is ever sent twice.

use std::time::Duration;

use crate::client::{AuthError, MessageError, MessageOutcome};

use super::error::{Error, Interrupted, TlsError};

/// When a message is sent again on a new connection.
///
/// Before each message a transport checks, without waiting, whether the
/// server closed the connection or sent `421` since the last one (RFC 5321
/// §3.8), and if so connects again first: nothing was sent, so this is not
/// a retry.
///
/// A message whose session ends under it (`421`, the connection lost, a
/// reply not in time, RFC 5321 §4.5.3.2) is sent again on a new connection
/// only when the server cannot have accepted it:
///
/// - no recipient got a positive reply to the content (in LMTP, none of
///   its per-recipient replies, RFC 2033 §4.2), and
/// - either the end of the content (the final `.` or `BDAT … LAST`) was
///   never sent, or a reply proves the transaction went no further: a
///   refused MAIL, a `421` answering a RCPT, a negative reply in place of
///   each final reply owed.
///
/// A message sent in full whose final reply never came fails with
/// [`Error::Interrupted`] and [`Interrupted::maybe_accepted`] set: the
/// server may have taken it, and only the application can decide to risk
/// a duplicate (RFC 1047). A message refused by the server's limit of
/// transactions per session (LIMITS MAILMAX, RFC 9422) is sent again on a
/// new connection too.
///
/// Connecting again (resolving, TCP, TLS, the greeting, EHLO, AUTH) counts
/// as part of the retry: a failure there is retried in the same way. At
/// most [`retries`](Self::retries) retries are made per message; the first
/// follows at once, each later one after [`delay`](Self::delay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// Retries per message (default 2); 0 never sends a message again.
    pub retries: u32,
    /// The wait before each retry but the first (default 500 ms): a server
    /// that sent `421` is often restarting or overloaded.
    pub delay: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            retries: 2,
            delay: Duration::from_millis(500),
        }
    }
}

impl Reconnect {
    /// Never send a message again.
    pub fn never() -> Self {
        Self {
            retries: 0,
            ..Self::default()
        }
    }

    /// `retries` retries, `delay` apart after the first.
    pub fn new(retries: u32, delay: Duration) -> Self {
        Self { retries, delay }
    }

    /// The wait before retry number `n` (1-based).
    fn wait_before(&self, n: u32) -> Duration {
        if n <= 1 {
            Duration::ZERO
        } else {
            self.delay
        }
    }
}

/// The retries left to one message.
#[derive(Debug)]
pub(super) struct Attempts {
    policy: Reconnect,
    retries: u32,
}

/// What a transport does next with a message.
#[derive(Debug)]
pub(super) enum Next {
    /// Hand this back.
    Return(Result<MessageOutcome, Error>),
    /// Drop the connection, wait this long, and send it again on a new
    /// one.
    Retry(Duration),
}

impl Attempts {
    pub(super) fn new(policy: Reconnect) -> Self {
        Self { policy, retries: 0 }
    }

    /// After an attempt on a connection.
    pub(super) fn after(&mut self, verdict: Verdict) -> Next {
        match verdict {
            Verdict::Done(result) => Next::Return(result),
            Verdict::Retry(error) => self.retry(error),
        }
    }

    /// After a failure to connect or set the session up. Only a retry
    /// connects again on such a failure: the first connection's error is
    /// the caller's to see.
    pub(super) fn setup_failed(&mut self, error: Error) -> Next {
        if self.retries > 0 && setup_retryable(&error) {
            self.retry(error)
        } else {
            Next::Return(Err(error))
        }
    }

    fn retry(&mut self, error: Error) -> Next {
        if self.retries >= self.policy.retries {
            return Next::Return(Err(error));
        }
        self.retries += 1;
        Next::Retry(self.policy.wait_before(self.retries))
    }
}

/// What becomes of a message given its outcome on one connection.
#[derive(Debug)]
pub(super) enum Verdict {
    /// The result to hand back.
    Done(Result<MessageOutcome, Error>),
    /// Send it again on a new connection, if retries are left; the error
    /// is the result otherwise.
    Retry(Error),
}

/// Whether the server may have accepted a message whose session ended
/// before its outcome was complete.
pub(super) fn maybe_accepted(outcome: &MessageOutcome) -> bool {
    if !outcome.content_end_sent {
        return false;
    }
    // The last transaction's MAIL was refused: it accepted nothing.
    if outcome.mail.last().is_some_and(|r| !r.code().is_positive()) {
        return false;
    }
    // A 421 answered a RCPT: replies come in order (RFC 2920 §3.1), so
    // the server closed before it reached the end of the content.
    if outcome
        .recipients
        .iter()
        .any(|r| r.rcpt.as_ref().is_some_and(|r| r.code().get() == 421))
    {
        return false;
    }
    // A recipient not refused whose final reply never came.
    outcome
        .recipients
        .iter()
        .any(|r| r.content.is_none() && r.rcpt.as_ref().is_none_or(|r| r.code().is_positive()))
}

/// Classifies the outcome of one attempt, given how its session ended.
pub(super) fn verdict(outcome: MessageOutcome, ended: Ended) -> Verdict {
    let delivered_to_some = outcome
        .recipients
        .iter()
        .any(|r| r.content.as_ref().is_some_and(|c| c.code().is_positive()));
    let Some(error) = outcome.error.clone() else {
        return Verdict::Done(if outcome.all_delivered() {
            Ok(outcome)
        } else {
            Err(Error::Rejected(Box::new(outcome)))
        });
    };
    match error {
        MessageError::SessionLimit => Verdict::Retry(Error::Message(error)),
        MessageError::SessionEnded(_) | MessageError::Timeout => {
            let maybe = maybe_accepted(&outcome);
            let retry = !maybe && !delivered_to_some;
            let interrupted = Error::Interrupted(Box::new(Interrupted {
                outcome,
                maybe_accepted: maybe,
                reason: ended.reason,
                source: ended.source,
            }));
            if retry {
                Verdict::Retry(interrupted)
            } else {
                Verdict::Done(Err(interrupted))
            }
        }
        MessageError::Auth(error) => Verdict::Done(Err(Error::Auth {
            error,
            reply: ended.auth_reply,
        })),
        MessageError::TlsRequired => Verdict::Done(Err(Error::Tls(TlsError::NotOffered))),
        _ if delivered_to_some => Verdict::Done(Err(Error::Rejected(Box::new(outcome)))),
        other => Verdict::Done(Err(Error::Message(other))),
    }
}

/// What the driver knows about how a session ended, beyond the outcome.
#[derive(Debug, Default)]
pub(super) struct Ended {
    pub(super) reason: Option<crate::client::CloseReason>,
    pub(super) source: Option<std::io::Error>,
    pub(super) auth_reply: Option<crate::reply::Reply<'static>>,
}

/// Whether a failure to set a session up again may be retried: not a
/// permanent refusal (a `5yz` greeting, RFC 5321 §3.1), nor a TLS policy
/// or credentials the server will refuse again.
pub(super) fn setup_retryable(error: &Error) -> bool {
    match error {
        Error::Connect { .. } => true,
        Error::Protocol { reply, .. } => reply.as_ref().is_none_or(|r| r.code().get() < 500),
        Error::Tls(TlsError::Handshake(_)) => true,
        Error::Auth { error, .. } => *error == AuthError::Temporary,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{MessageId, RecipientOutcome};
    use crate::reply::Reply;
    use crate::values::ReplyCode;

    fn r(code: u16) -> Option<Reply<'static>> {
        ReplyCode::new(code).and_then(|c| Reply::single(c, None, "x").ok())
    }

    fn outcome(
        mail: &[u16],
        recipients: &[(Option<u16>, Option<u16>)],
        end_sent: bool,
        error: Option<MessageError>,
    ) -> MessageOutcome {
        MessageOutcome {
            id: MessageId(0),
            mail: mail.iter().filter_map(|&c| r(c)).collect(),
            recipients: recipients
                .iter()
                .map(|&(rcpt, content)| RecipientOutcome {
                    rcpt: rcpt.and_then(r),
                    content: content.and_then(r),
                    restored: false,
                })
                .collect(),
            error,
            content_end_sent: end_sent,
        }
    }

    fn retried(o: MessageOutcome) -> bool {
        matches!(verdict(o, Ended::default()), Verdict::Retry(_))
    }

    const LOST: Option<MessageError> = Some(MessageError::SessionEnded(None));

    #[test]
    fn lost_before_the_content_end_is_retried_rfc5321_4_1_1_4() {
        // Pipelined MAIL, RCPT, DATA, then the connection went.
        assert!(retried(outcome(&[250], &[(Some(250), None)], false, LOST)));
        assert!(retried(outcome(&[], &[(None, None)], false, LOST)));
        let timeout = Some(MessageError::Timeout);
        assert!(retried(outcome(&[], &[(None, None)], false, timeout)));
    }

    #[test]
    fn lost_after_the_content_end_is_in_doubt_rfc5321_4_1_1_4() {
        let o = outcome(&[250], &[(Some(250), None)], true, LOST);
        assert!(maybe_accepted(&o));
        let Verdict::Done(Err(Error::Interrupted(i))) = verdict(o, Ended::default()) else {
            panic!("not an interrupted message");
        };
        assert!(i.maybe_accepted);
        // BDAT pipelined with MAIL (RFC 3030 §4), no reply at all: in doubt.
        assert!(!retried(outcome(&[], &[(None, None)], true, LOST)));
    }

    #[test]
    fn replies_that_prove_nothing_was_accepted_rfc2920_3_1() {
        let ended = |r| Some(MessageError::SessionEnded(r));
        // The 421 answered MAIL: the rest of the group was not processed.
        assert!(retried(outcome(
            &[421],
            &[(None, None)],
            true,
            ended(r(421))
        )));
        // The 421 answered the second RCPT.
        let o = outcome(
            &[250],
            &[(Some(250), None), (Some(421), None)],
            true,
            ended(r(421)),
        );
        assert!(retried(o));
        // The 421 answered the end of the content itself (SMTP: one reply).
        let o = outcome(&[250], &[(Some(250), Some(421))], true, ended(r(421)));
        assert!(retried(o));
        // Every recipient refused: nothing could be accepted.
        assert!(retried(outcome(&[250], &[(Some(550), None)], true, LOST)));
    }

    #[test]
    fn delivered_to_some_is_never_sent_again_rfc2033_4_2() {
        // LMTP: the first recipient's 250 came, then the session ended.
        let o = outcome(
            &[250],
            &[(Some(250), Some(250)), (Some(250), None)],
            true,
            LOST,
        );
        assert!(!retried(o));
        // Even when the end was not in doubt (a second transaction, RFC
        // 5321 §4.5.3.1.10, lost before its content).
        let o = outcome(
            &[250, 250],
            &[(Some(250), Some(250)), (Some(250), None)],
            true,
            LOST,
        );
        assert!(!retried(o));
    }

    #[test]
    fn server_refusals_and_local_refusals_are_final() {
        let o = outcome(
            &[250],
            &[(Some(250), Some(250)), (Some(550), None)],
            true,
            None,
        );
        assert!(matches!(
            verdict(o, Ended::default()),
            Verdict::Done(Err(Error::Rejected(_)))
        ));
        let o = outcome(&[250], &[(Some(250), Some(250))], true, None);
        assert!(matches!(verdict(o, Ended::default()), Verdict::Done(Ok(_))));
        let too_large = Some(MessageError::TooLarge { size: 2, limit: 1 });
        let o = outcome(&[], &[(None, None)], false, too_large);
        assert!(matches!(
            verdict(o, Ended::default()),
            Verdict::Done(Err(Error::Message(MessageError::TooLarge { .. })))
        ));
        // LIMITS MAILMAX reached (RFC 9422 §4.1): a new session takes it.
        let o = outcome(
            &[],
            &[(None, None)],
            false,
            Some(MessageError::SessionLimit),
        );
        assert!(retried(o));
    }

    #[test]
    fn attempts_are_bounded_and_the_first_connection_is_not_retried() {
        let lost = || outcome(&[], &[(None, None)], false, LOST);
        let connect = || Error::Connect {
            host: "h".into(),
            port: 25,
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        let mut a = Attempts::new(Reconnect::new(2, Duration::from_millis(5)));
        // The first connection's failure is the caller's to see.
        assert!(matches!(a.setup_failed(connect()), Next::Return(Err(_))));
        let v = verdict(lost(), Ended::default());
        assert!(matches!(a.after(v), Next::Retry(d) if d.is_zero()));
        // Connecting again failed: retried, after the delay.
        assert!(matches!(a.setup_failed(connect()), Next::Retry(d) if !d.is_zero()));
        let v = verdict(lost(), Ended::default());
        assert!(matches!(
            a.after(v),
            Next::Return(Err(Error::Interrupted(_)))
        ));
        // A 5yz greeting is not worth another connection.
        let mut a = Attempts::new(Reconnect::default());
        let _ = a.after(verdict(lost(), Ended::default()));
        let refused = Error::Protocol {
            reason: crate::client::CloseReason::Refused,
            reply: r(554),
            source: None,
        };
        assert!(matches!(a.setup_failed(refused), Next::Return(Err(_))));
    }

    #[test]
    fn retry_waits() {
        let p = Reconnect::new(3, Duration::from_millis(7));
        assert_eq!(p.wait_before(1), Duration::ZERO);
        assert_eq!(p.wait_before(2), Duration::from_millis(7));
        assert_eq!(Reconnect::never().retries, 0);
    }
}
