//! What the session offers and checks against it: the EHLO/LHLO reply
//! (RFC 5321 §4.1.1.1, RFC 1869 §4.3), HELP, and MAIL/RCPT parameters
//! against the extensions advertised (RFC 5321 §4.1.1.11). Each
//! extension's part is its own (`ext/<name>.rs`), reached through the
//! registry.

use super::event::HelloVerb;
use super::output::sanitize;
use super::replies::PARAMS_NEED_EHLO;
use super::Core;
use crate::ehlo::{Capabilities, Keyword};
use crate::ext::seam::{Offer, NOT_OFFERED};
use crate::ext::{MandatedReply, REGISTRY};
use crate::params::{MailParams, RcptParams};
use crate::values::{ForwardPath, ReversePath};

impl Core {
    /// What this session offers, as the extensions see it.
    fn offer(&self) -> Offer<'_> {
        Offer {
            config: &self.config,
            tls: self.session.tls,
            auth_offered: self.auth_offered(),
            authenticated: self.session.authenticated,
            smtputf8: self.transaction.as_ref().is_some_and(|t| t.smtputf8),
            xclient_authorized: self.forwarding.xclient,
            xforward_authorized: self.forwarding.xforward,
            ehlo: self.ehlo_done(),
        }
    }

    /// Builds the EHLO/LHLO reply: every extension adds what the
    /// configuration and the session offer.
    pub(super) fn capabilities(&mut self) {
        let offer = self.offer();
        let mut caps = match Capabilities::new(self.config.hostname()) {
            Ok(c) => c,
            Err(_) => {
                self.plain_hello();
                return;
            }
        };
        for e in REGISTRY {
            (e.advertise)(&offer, &mut caps);
        }
        let mut out = Vec::with_capacity(256);
        if caps.write_to(&mut out).is_ok() {
            self.tx.extend_from_slice(&out);
        } else {
            self.plain_hello();
        }
    }

    /// `250 <hostname>`: the HELO reply, and the EHLO reply when the
    /// configured hostname cannot carry a capability list.
    pub(super) fn plain_hello(&mut self) {
        let line = format!("250 {}\r\n", self.config.hostname());
        self.tx.extend_from_slice(sanitize(&line).as_bytes());
    }

    pub(super) fn auth_offered(&self) -> bool {
        !self.config.extensions.auth.is_empty()
            && (self.session.tls || !self.config.extensions.auth_requires_tls)
    }

    pub(super) fn ehlo_done(&self) -> bool {
        matches!(self.session.hello, Some(HelloVerb::Ehlo | HelloVerb::Lhlo))
    }

    /// A one-line 214 naming the commands this session serves (RFC 5321
    /// §4.1.1.8), so it never lists what would be refused.
    pub(super) fn help(&mut self) {
        let ext = &self.config.extensions;
        let lmtp = self.config.lmtp;
        let mut line = String::from("Commands:");
        let hello: &[&str] = if lmtp { &["LHLO"] } else { &["EHLO", "HELO"] };
        // The verbs of extensions are spelled by their keywords.
        let optional = [
            ("BDAT", ext.chunking),
            (Keyword::StartTls.name(), ext.starttls && !self.session.tls),
            (Keyword::Auth.name(), self.auth_offered()),
            (Keyword::Etrn.name(), ext.etrn && !lmtp),
            (Keyword::Atrn.name(), ext.atrn && !lmtp),
            (Keyword::Turn.name(), ext.turn && !lmtp),
        ];
        let verbs = hello
            .iter()
            .copied()
            .chain(["MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT"])
            .chain([Keyword::Help, Keyword::Vrfy, Keyword::Expn].map(Keyword::name))
            .chain(optional.iter().filter(|(_, on)| *on).map(|(v, _)| *v))
            .chain(self.private_verbs_listed());
        for verb in verbs {
            line.push(' ');
            line.push_str(verb);
        }
        self.tx.extend_from_slice(b"214 ");
        if self.enhanced() {
            self.tx.extend_from_slice(b"2.0.0 ");
        }
        self.tx.extend_from_slice(line.as_bytes());
        self.tx.extend_from_slice(b"\r\n");
    }

    /// The private verbs HELP names: those shaped as a verb can be (an
    /// `esmtp-keyword`), so that configured text cannot break the line.
    fn private_verbs_listed(&self) -> impl Iterator<Item = &str> {
        self.config
            .private_verbs
            .iter()
            .map(String::as_str)
            .filter(|v| {
                v.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    }

    /// Every parameter must belong to an extension that was offered
    /// (RFC 5321 §4.1.1.11: otherwise 555), and pass its checks; the
    /// first refusal, in registry order, is the reply.
    pub(super) fn check_mail_params(&self, p: &MailParams<'_>) -> Result<(), MandatedReply> {
        if !p.is_empty() && !self.ehlo_done() {
            return Err(PARAMS_NEED_EHLO);
        }
        if !p.extras().other.is_empty() {
            return Err(NOT_OFFERED);
        }
        let offer = self.offer();
        REGISTRY.iter().try_for_each(|e| (e.check_mail)(p, &offer))
    }

    /// [`Self::check_mail_params`] for RCPT.
    pub(super) fn check_rcpt_params(&self, p: &RcptParams<'_>) -> Result<(), MandatedReply> {
        if !p.is_empty() && !self.ehlo_done() {
            return Err(PARAMS_NEED_EHLO);
        }
        if !p.extras().other.is_empty() {
            return Err(NOT_OFFERED);
        }
        let offer = self.offer();
        REGISTRY.iter().try_for_each(|e| (e.check_rcpt)(p, &offer))
    }

    /// A MAIL whose parameters passed [`Self::check_mail_params`]: each
    /// extension's rules on the path, and what it changes before the
    /// application sees the command.
    pub(super) fn accept_mail(
        &self,
        from: &ReversePath<'_>,
        p: &mut MailParams<'_>,
    ) -> Result<(), MandatedReply> {
        let offer = self.offer();
        REGISTRY
            .iter()
            .try_for_each(|e| (e.accept_mail)(from, p, &offer))
    }

    /// A RCPT whose parameters passed [`Self::check_rcpt_params`]: each
    /// extension's rules on the path.
    pub(super) fn accept_rcpt(
        &self,
        to: &ForwardPath<'_>,
        p: &RcptParams<'_>,
    ) -> Result<(), MandatedReply> {
        let offer = self.offer();
        REGISTRY
            .iter()
            .try_for_each(|e| (e.accept_rcpt)(to, p, &offer))
    }
}
