//! What the caller submits: the envelope of a message and its checks.

use super::event::ApiError;
use crate::command::{Command, SendMode};
use crate::error::{DecodeError, EncodeError, SyntaxError, SyntaxErrorKind};
use crate::ext::checkpoint::TransId;
use crate::options::ParseOptions;
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
    /// Start the transaction with SEND, SOML or SAML instead of MAIL (RFC
    /// 821 §3.4: deliver to the recipients' terminals, or else, or also,
    /// to their mailboxes). Only to a server that offers the verb (RFC
    /// 5321 App. F.6); otherwise the message fails with
    /// [`MessageError::ExtensionUnsupported`](super::MessageError::ExtensionUnsupported).
    pub send: Option<SendMode>,
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
            send: None,
        }
    }

    /// An envelope from addresses as people write them, angle brackets
    /// optional ([`ReversePath::parse_address`],
    /// [`ForwardPath::parse_address`]): `""` or `<>` is the null reverse
    /// path.
    ///
    /// ```
    /// let envelope = esmtp::client::Envelope::parse("jane@example.net", ["bob@example.org"])?;
    /// assert_eq!(envelope.recipients[0].to.to_string(), "<bob@example.org>");
    /// # Ok::<(), esmtp::SyntaxError>(())
    /// ```
    pub fn parse<I>(from: &str, to: I) -> Result<Self, SyntaxError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let envelope = Envelope::new(ReversePath::parse_address(from)?);
        to.into_iter().try_fold(envelope, |envelope, to| {
            Ok(envelope.to(ForwardPath::parse_address(to.as_ref())?))
        })
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

    /// Appends the envelope as the command lines that carry it (RFC 5321
    /// §4.1.1.2, §4.1.1.3) — `MAIL FROM:` with the MAIL parameters, a
    /// `RCPT TO:` per recipient with its own — then an empty line: the
    /// form a queue stores in front of a message it holds (for ETRN or
    /// ATRN, say), read back by [`Envelope::parse_spooled`]. A parameter
    /// that cannot be written is an error, as on the wire.
    pub fn write_spooled(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let (from, params) = (self.from.clone(), self.params.clone());
        Command::Mail { from, params }.write_to(out)?;
        for r in &self.recipients {
            let (to, params) = (r.to.clone(), r.params.clone());
            Command::Rcpt { to, params }.write_to(out)?;
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Reads the envelope [`Envelope::write_spooled`] wrote at the start of
    /// `input` (UTF-8 addresses allowed, RFC 6531 §3.3), and where what
    /// follows its empty line starts. A line that is not the `MAIL` first,
    /// then `RCPT`s, is [`DecodeError::Syntax`]; input that ends before the
    /// empty line is [`DecodeError::Incomplete`].
    pub fn parse_spooled(input: &[u8]) -> Result<(Envelope, usize), DecodeError> {
        let opts = ParseOptions::strict().with_utf8(true);
        let unexpected = |consumed, detail| DecodeError::Syntax {
            error: SyntaxError::new(SyntaxErrorKind::Command, detail),
            consumed,
        };
        let (mut envelope, mut at) = match Command::parse(input, &opts)? {
            (Command::Mail { from, params }, used) => (
                Envelope::new(from.into_owned()).with_params(params.into_owned()),
                used,
            ),
            (_, used) => return Err(unexpected(used, "a spooled envelope starts with MAIL")),
        };
        loop {
            match input.get(at..at + 2) {
                Some(b"\r\n") => return Ok((envelope, at + 2)),
                None if input.len() <= at + 1 => return Err(DecodeError::Incomplete),
                _ => {}
            }
            match Command::parse(&input[at..], &opts)? {
                (Command::Rcpt { to, params }, used) => {
                    envelope = envelope.to_with(to.into_owned(), params.into_owned());
                    at += used;
                }
                (_, used) => return Err(unexpected(used, "only RCPT may follow MAIL")),
            }
        }
    }

    /// Names the transaction for CHECKPOINT (RFC 1845 §3): `TRANSID=` is
    /// sent when the server offers it (else [`ParamPolicy`](super::ParamPolicy)
    /// applies). After a lost connection, submit the same envelope and
    /// content again: a server that stored part of the content answers
    /// `355` with its offset, and only the rest is sent.
    pub fn with_transid(mut self, transid: TransId<'static>) -> Self {
        self.params.extras_mut().transid = Some(transid);
        self
    }

    /// Starts the transaction with SEND, SOML or SAML instead of MAIL
    /// ([`Envelope::send`]).
    pub fn with_send_mode(mut self, mode: SendMode) -> Self {
        self.send = Some(mode);
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
    crate::ext::seam::check_envelope(env)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{ForwardPath, ReversePath};

    fn envelope() -> Envelope {
        let from = ReversePath::parse("<jöran@example.net>")
            .unwrap()
            .into_owned();
        let mut envelope = Envelope::new(from)
            .to(ForwardPath::parse("<a@example.org>").unwrap().into_owned())
            .to(ForwardPath::parse("<b@example.org>").unwrap().into_owned());
        envelope.params.smtputf8 = true;
        envelope
    }

    #[test]
    fn spooled_envelope_is_mail_and_rcpt_lines_rfc5321_4_1_1_2() {
        let mut out = Vec::new();
        envelope().write_spooled(&mut out).unwrap();
        out.extend_from_slice(b"Subject: x\r\n");
        let text = "MAIL FROM:<jöran@example.net> SMTPUTF8\r\nRCPT TO:<a@example.org>\r\n\
                    RCPT TO:<b@example.org>\r\n\r\nSubject: x\r\n";
        assert_eq!(std::str::from_utf8(&out).unwrap(), text);
        let (read, at) = Envelope::parse_spooled(&out).unwrap();
        assert_eq!(&out[at..], b"Subject: x\r\n");
        assert_eq!(read.from, envelope().from);
        assert!(read.params.smtputf8);
        let to: Vec<String> = read.recipients.iter().map(|r| r.to.to_string()).collect();
        assert_eq!(to, ["<a@example.org>", "<b@example.org>"]);
    }

    #[test]
    fn spooled_envelope_errors_are_typed_not_panics() {
        let err = |input: &[u8]| Envelope::parse_spooled(input).unwrap_err();
        assert!(matches!(
            err(b"RCPT TO:<a@b>\r\n\r\n"),
            DecodeError::Syntax { .. }
        ));
        assert!(matches!(
            err(b"MAIL FROM:<a@b>\r\nQUIT\r\n\r\n"),
            DecodeError::Syntax { .. }
        ));
        assert_eq!(
            err(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"),
            DecodeError::Incomplete
        );
        assert_eq!(err(b"MAIL FROM:<a@b>\r\n\r"), DecodeError::Incomplete);
        assert_eq!(err(b"MAIL FROM:<a"), DecodeError::Incomplete);
        assert_eq!(err(b""), DecodeError::Incomplete);
    }
}
