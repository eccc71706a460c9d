//! What is negotiated: the transaction a message gets given what the
//! server offered. The shell here settles what is the session's (TLS
//! policy, a missing capability set); every MAIL/RCPT parameter, BODY,
//! SMTPUTF8 and BDAT is the choice of its extension (`ext/<name>.rs`),
//! reached through the registry.

use super::config::TlsPolicy;
use super::content::{ContentPhase, LineEnds, Source};
use super::event::MessageError;
use super::{Client, Message, Tx};
use crate::ehlo::Capabilities;
use crate::ext::seam::Negotiation;

impl Client {
    /// Decides the MAIL parameters from what is offered and allowed; an
    /// error fails the message before anything is sent.
    pub(super) fn negotiate(&self, msg: &Message) -> Result<Tx, MessageError> {
        let empty;
        let caps = match self.caps.as_deref() {
            Some(c) => c,
            None => {
                empty = Capabilities::new("none").map_err(|_| MessageError::SessionEnded(None))?;
                &empty
            }
        };
        if self.config.tls == TlsPolicy::Required && !self.tls {
            return Err(MessageError::TlsRequired);
        }
        let parts = match &msg.source {
            Source::Parts(parts) => &parts[..],
            _ => &[],
        };
        let (mut params, bdat, rcpt_strip, a_labels) = Negotiation::new(
            caps,
            &self.config,
            self.tls,
            &msg.envelope,
            msg.kind,
            msg.size,
        )
        .with_parts(parts)
        .run()?;
        if params.extras().transid.is_some() && !msg.outcome.mail.is_empty() {
            // A TRANSID names one transaction (RFC 1845 §3): the first of
            // a message whose recipients need more than one.
            params.extras_mut().transid = None;
        }
        Ok(Tx {
            params,
            rcpt_strip,
            bdat,
            a_labels,
            rcpts: Vec::new(),
            sent_rcpts: 0,
            mail_sent: false,
            mail_ok: None,
            rcpt_replies: 0,
            accepted: Vec::new(),
            retry: Vec::new(),
            content: ContentPhase::NotStarted,
            offset: 0,
            bdat_failed: false,
            line_ends: LineEnds::default(),
            bdat_carry: None,
            part: 0,
            resume: None,
        })
    }
}
