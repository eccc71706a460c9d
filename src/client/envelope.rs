//! What the caller submits: the envelope of a message and its checks.

use super::event::ApiError;
use crate::params::{MailParams, RcptParams};
use crate::values::{ForwardPath, ReversePath};

/// The envelope of one message (RFC 5321 §2.3.1): the reverse path, the
/// recipients and the MAIL parameters the caller wants. The session adds
/// `SIZE`, `BODY` and `SMTPUTF8` itself.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The reverse path (`<>` for notifications).
    pub from: ReversePath<'static>,
    /// The recipients, in order.
    pub recipients: Vec<Recipient>,
    /// MAIL parameters (DSN `RET`/`ENVID`, `BY`, `MT-PRIORITY`, `HOLDFOR`,
    /// `REQUIRETLS`, …).
    pub params: MailParams<'static>,
}

/// One recipient and its RCPT parameters.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The forward path.
    pub to: ForwardPath<'static>,
    /// RCPT parameters (DSN `NOTIFY`/`ORCPT`, `RRVS`, …).
    pub params: RcptParams<'static>,
}

impl Envelope {
    /// An envelope from `from` with no recipients yet.
    pub fn new(from: impl Into<ReversePath<'static>>) -> Self {
        Self {
            from: from.into(),
            recipients: Vec::new(),
            params: MailParams::default(),
        }
    }

    /// Adds a recipient without parameters.
    pub fn to(mut self, to: impl Into<ForwardPath<'static>>) -> Self {
        self.recipients.push(Recipient {
            to: to.into(),
            params: RcptParams::default(),
        });
        self
    }

    /// Adds a recipient with parameters.
    pub fn to_with(
        mut self,
        to: impl Into<ForwardPath<'static>>,
        params: RcptParams<'static>,
    ) -> Self {
        self.recipients.push(Recipient {
            to: to.into(),
            params,
        });
        self
    }

    /// Sets the MAIL parameters.
    pub fn with_params(mut self, params: MailParams<'static>) -> Self {
        self.params = params;
        self
    }
}

pub(super) fn check_envelope(env: &Envelope) -> Result<(), ApiError> {
    if env.recipients.is_empty() {
        return Err(ApiError::NoRecipient);
    }
    // A parameter that cannot be written is refused here rather than left
    // off the wire, so the caller knows what the server was (not) told
    // (RFC 5321 §4.1.2 esmtp-keyword / esmtp-value).
    let mut params = env.params.extras().other.iter().chain(
        env.recipients
            .iter()
            .flat_map(|r| r.params.extras().other.iter()),
    );
    if params.any(|p| !p.is_valid()) {
        return Err(ApiError::InvalidParam);
    }
    Ok(())
}

/// Text the caller puts on a command line can never carry CR, LF or
/// another control (no command injection).
pub(super) fn checked_text(s: &str) -> Result<&str, ApiError> {
    if s.is_empty() || s.bytes().any(|b| b < b' ' || b == 0x7f) {
        Err(ApiError::InvalidText)
    } else {
        Ok(s)
    }
}
