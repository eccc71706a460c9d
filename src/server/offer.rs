//! What the session offers and checks against it: the EHLO/LHLO reply
//! (RFC 5321 §4.1.1.1, RFC 1869 §4.3), HELP, and MAIL/RCPT parameters
//! against the extensions advertised (RFC 5321 §4.1.1.11).

use super::event::HelloVerb;
use super::output::sanitize;
use super::replies::{PARAMS_NEED_EHLO, REQUIRETLS_NEEDS_TLS, UNKNOWN_PARAM};
use super::Core;
use crate::ehlo::{Capabilities, FutureRelease, Keyword, Limits as EhloLimits};
use crate::ext;
use crate::ext::body::Body;
use crate::ext::deliverby::ByMode;
use crate::ext::MandatedReply;
use crate::params::{MailParams, RcptParams};

impl Core {
    /// Builds the EHLO/LHLO reply from the configuration and the session.
    pub(super) fn capabilities(&mut self) {
        let ext = &self.config.extensions;
        let tls = self.session.tls;
        let mut caps = match Capabilities::new(self.config.hostname()) {
            Ok(c) => c,
            Err(_) => {
                self.plain_hello();
                return;
            }
        };
        let mut add = |k: Keyword, on: bool| {
            if on {
                let _ = caps.insert(k);
            }
        };
        add(Keyword::Pipelining, ext.pipelining || self.config.lmtp);
        add(Keyword::EightBitMime, ext.eight_bit_mime);
        add(Keyword::Chunking, ext.chunking);
        add(Keyword::BinaryMime, ext.binary_mime && ext.chunking);
        add(Keyword::SmtpUtf8, ext.smtputf8 && ext.eight_bit_mime);
        add(Keyword::Dsn, ext.dsn);
        add(Keyword::EnhancedStatusCodes, self.enhanced());
        add(Keyword::StartTls, ext.starttls && !tls);
        add(Keyword::Rrvs, ext.rrvs);
        add(Keyword::RequireTls, ext.requiretls && tls);
        add(Keyword::Vrfy, true);
        add(Keyword::Expn, ext.expn);
        add(Keyword::Help, ext.help);
        add(Keyword::Etrn, ext.etrn && !self.config.lmtp);
        add(Keyword::Atrn, ext.atrn && !self.config.lmtp);
        add(Keyword::Turn, ext.turn && !self.config.lmtp);
        for k in [Keyword::Send, Keyword::Soml, Keyword::Saml] {
            add(k, ext.send && !self.config.lmtp);
        }
        caps.set_size(self.config.limits.message_size.or(Some(0)));
        if self.auth_offered() {
            for m in &ext.auth {
                caps.add_auth_mechanism(m.clone());
            }
        }
        if let Some(min) = ext.deliver_by {
            let _ = caps.set_deliver_by(Some(min.min(ext::deliverby::MAX_MIN_BY_TIME)));
        }
        if let Some(profile) = &ext.mt_priority {
            let _ = caps.set_mt_priority(profile.as_deref().map(std::borrow::Cow::Borrowed));
        }
        if let Some(limits) = &ext.future_release {
            if let Ok(fr) = FutureRelease::new(limits.max_interval(), limits.latest().to_string()) {
                caps.set_future_release(fr);
            }
        }
        if ext.limits {
            let mut limits = EhloLimits::new();
            if let Ok(l) = limits.clone().with_rcpt_max(self.config.limits.recipients) {
                limits = l;
            }
            if let Some(m) = self.config.limits.transactions {
                if let Ok(l) = limits.clone().with_mail_max(m) {
                    limits = l;
                }
            }
            caps.set_limits(limits);
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
        let optional = [
            ("BDAT", ext.chunking),
            ("STARTTLS", ext.starttls && !self.session.tls),
            ("AUTH", self.auth_offered()),
            ("ETRN", ext.etrn && !lmtp),
            ("ATRN", ext.atrn && !lmtp),
            ("TURN", ext.turn && !lmtp),
        ];
        let verbs = hello
            .iter()
            .copied()
            .chain([
                "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "HELP", "VRFY", "EXPN",
            ])
            .chain(optional.iter().filter(|(_, on)| *on).map(|(v, _)| *v));
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

    /// Every parameter must belong to an extension that was offered
    /// (RFC 5321 §4.1.1.11: otherwise 555).
    pub(super) fn check_mail_params(&self, p: &MailParams<'_>) -> Result<(), MandatedReply> {
        let ext = &self.config.extensions;
        if !p.is_empty() && !self.ehlo_done() {
            return Err(PARAMS_NEED_EHLO);
        }
        if !p.extras().other.is_empty() {
            return Err(UNKNOWN_PARAM);
        }
        let refuse = |on: bool| if on { Ok(()) } else { Err(UNKNOWN_PARAM) };
        if p.size.is_some() {
            refuse(true)?;
        }
        match p.body {
            Some(Body::EightBitMime) => refuse(ext.eight_bit_mime)?,
            Some(Body::BinaryMime) => refuse(ext.binary_mime && ext.chunking)?,
            _ => {}
        }
        if p.smtputf8 {
            refuse(ext.smtputf8 && ext.eight_bit_mime)?;
        }
        if p.ret.is_some() || p.envid.is_some() {
            refuse(ext.dsn)?;
        }
        if p.extras().auth.is_some() {
            refuse(!ext.auth.is_empty())?;
        }
        if let Some(by) = &p.by {
            let Some(min) = ext.deliver_by else {
                return Err(UNKNOWN_PARAM);
            };
            // Compared as i64: a configured u32 must not wrap negative.
            let min = i64::from(min.min(ext::deliverby::MAX_MIN_BY_TIME));
            if by.mode() == ByMode::Return && i64::from(by.time()) < min {
                return Err(ext::deliverby::BELOW_MINIMUM);
            }
        }
        if p.mt_priority.is_some() {
            refuse(ext.mt_priority.is_some())?;
        }
        if let Some(hold) = &p.extras().hold {
            let Some(limits) = &ext.future_release else {
                return Err(UNKNOWN_PARAM);
            };
            if !limits.allows(hold) {
                return Err(ext::future_release::INVALID);
            }
        }
        if p.requiretls {
            if !ext.requiretls {
                return Err(UNKNOWN_PARAM);
            }
            if !self.session.tls {
                return Err(REQUIRETLS_NEEDS_TLS);
            }
        }
        if p.conperm {
            return Err(ext::conneg::CONPERM_NOT_SUPPORTED);
        }
        if p.extras().solicit.is_some()
            || p.extras().mtrk.is_some()
            || p.extras().submitter.is_some()
            || p.extras().transid.is_some()
            || p.extras().alt_address.is_some()
        {
            return Err(UNKNOWN_PARAM);
        }
        Ok(())
    }

    pub(super) fn check_rcpt_params(&self, p: &RcptParams<'_>) -> Result<(), MandatedReply> {
        let ext = &self.config.extensions;
        if !p.is_empty() && !self.ehlo_done() {
            return Err(PARAMS_NEED_EHLO);
        }
        if !p.extras().other.is_empty() || p.extras().alt_address.is_some() {
            return Err(UNKNOWN_PARAM);
        }
        if (p.notify.is_some() || p.orcpt.is_some()) && !ext.dsn {
            return Err(UNKNOWN_PARAM);
        }
        if p.extras().rrvs.is_some() && !ext.rrvs {
            return Err(UNKNOWN_PARAM);
        }
        if p.conneg {
            return Err(ext::conneg::CONNEG_NOT_SUPPORTED);
        }
        Ok(())
    }
}
