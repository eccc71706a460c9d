//! What is negotiated: the transaction a message gets given what the
//! server offered (MAIL/RCPT parameters, BODY, SMTPUTF8, BDAT or DATA).

use super::config::{ParamPolicy, TlsPolicy};
use super::content::{ContentPhase, LineEnds};
use super::event::MessageError;
use super::{Client, Message, Tx};
use crate::data::ContentKind;
use crate::ehlo::{Capabilities, Keyword};
use crate::ext::body::Body;

impl Client {
    /// Decides the MAIL parameters from what is offered and allowed; an
    /// error fails the message before anything is sent.
    pub(super) fn negotiate(&self, msg: &Message) -> Result<Tx, MessageError> {
        let empty;
        let caps = match &self.caps {
            Some(c) => c,
            None => {
                empty = Capabilities::new("none").map_err(|_| MessageError::SessionEnded(None))?;
                &empty
            }
        };
        let has = |k| caps.supports(k);
        let strip = self.config.unsupported_params == ParamPolicy::Strip;
        let env = &msg.envelope;
        let mut p = env.params.clone();

        if self.config.tls == TlsPolicy::Required && !self.tls {
            return Err(MessageError::TlsRequired);
        }
        // RFC 1870 §6: do not send what the server said it will refuse.
        if let (Some(size), Some(limit)) = (msg.size, caps.max_size()) {
            if size > limit {
                return Err(MessageError::TooLarge { size, limit });
            }
        }
        p.size = if has(Keyword::Size) {
            msg.size.or(p.size)
        } else {
            None
        };
        let chunking = self.config.chunking && has(Keyword::Chunking);
        let mut bdat = chunking;
        let kind = match p.body {
            Some(Body::BinaryMime) => ContentKind::Binary,
            Some(Body::EightBitMime) => msg.kind.max(ContentKind::EightBit),
            _ => msg.kind,
        };
        p.body = match kind {
            ContentKind::Binary => {
                if !(chunking && has(Keyword::BinaryMime)) {
                    return Err(MessageError::BinaryUnsupported);
                }
                bdat = true;
                Some(Body::BinaryMime)
            }
            ContentKind::EightBit if has(Keyword::EightBitMime) => Some(Body::EightBitMime),
            ContentKind::EightBit if self.config.allow_8bit_without_8bitmime => None,
            ContentKind::EightBit => return Err(MessageError::EightBitUnsupported),
            ContentKind::SevenBit => p.body.filter(|_| has(Keyword::EightBitMime)),
        };
        // RFC 6531 §3.4: SMTPUTF8 when an address needs it.
        let utf8 =
            p.smtputf8 || !env.from.is_ascii() || env.recipients.iter().any(|r| !r.to.is_ascii());
        if utf8 && !has(Keyword::SmtpUtf8) {
            return Err(MessageError::SmtpUtf8Unsupported);
        }
        p.smtputf8 = utf8;
        // RFC 8689 §4.1: never strip REQUIRETLS, never send it in clear.
        if p.requiretls && !(self.tls && has(Keyword::RequireTls)) {
            return Err(MessageError::RequireTls);
        }
        let check = |present: bool, k: Keyword| -> Result<bool, MessageError> {
            if !present || has(k) {
                Ok(false)
            } else if strip {
                Ok(true)
            } else {
                Err(MessageError::ExtensionUnsupported(k))
            }
        };
        let rcpt_dsn = env
            .recipients
            .iter()
            .any(|r| r.params.notify.is_some() || r.params.orcpt.is_some());
        let strip_dsn = check(
            p.ret.is_some() || p.envid.is_some() || rcpt_dsn,
            Keyword::Dsn,
        )?;
        if strip_dsn {
            p.ret = None;
            p.envid = None;
        }
        if check(p.by.is_some(), Keyword::DeliverBy)? {
            p.by = None;
        }
        if check(p.mt_priority.is_some(), Keyword::MtPriority)? {
            p.mt_priority = None;
        }
        if check(p.extras().hold.is_some(), Keyword::FutureRelease)? {
            p.extras_mut().hold = None;
        }
        let rrvs = env
            .recipients
            .iter()
            .any(|r| r.params.extras().rrvs.is_some());
        let strip_rrvs = check(rrvs, Keyword::Rrvs)?;
        // RFC 4954 §5: AUTH= only to a server that offers AUTH.
        if !has(Keyword::Auth) && p.extras().auth.is_some() {
            p.extras_mut().auth = None;
        }
        Ok(Tx {
            params: p,
            strip_dsn,
            strip_rrvs,
            bdat,
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
        })
    }
}
