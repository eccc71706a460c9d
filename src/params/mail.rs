//! MAIL parameters (RFC 5321 §4.1.2 `Mail-parameters`): recognising each
//! keyword, parsing its value through its extension module, and writing
//! the list back in canonical form.

use super::syntax::{
    check_eq, flag, flag_out, key, need, next_param, pack_keyword, packed, push_other, set,
    write_xtext, xtext_value, RawParam, Src,
};
use super::MailParams;
use crate::error::SyntaxError;
use crate::ext::auth::AuthParam;
use crate::ext::body::Body;
use crate::ext::checkpoint::TransId;
use crate::ext::deliverby::By;
use crate::ext::dsn::Ret;
use crate::ext::future_release::{Hold, MAX_HOLD_FOR};
use crate::ext::mt_priority::MtPriority;
use crate::ext::mtrk::Mtrk;
use crate::ext::no_soliciting::Solicit;
use crate::ext::{
    auth, body, checkpoint, conneg, deliverby, dsn, future_release, mt_priority, mtrk,
    no_soliciting, requiretls, size, smtputf8, submitter, utf8smtp,
};
use crate::options::ParseOptions;
use crate::values::push_decimal;

#[derive(Clone, Copy, PartialEq, Eq)]
enum MailKw {
    Size,
    Body,
    Smtputf8,
    Ret,
    Envid,
    Auth,
    By,
    MtPriority,
    HoldFor,
    HoldUntil,
    RequireTls,
    Solicit,
    Mtrk,
    Submitter,
    Conperm,
    Transid,
    AltAddress,
}

/// Recognises a MAIL keyword.
fn mail_keyword(k: &[u8]) -> Option<MailKw> {
    const BY: u128 = packed(deliverby::PARAM);
    const RET: u128 = packed(dsn::PARAM_RET);
    const SIZE: u128 = packed(size::PARAM);
    const BODY: u128 = packed(body::PARAM);
    const AUTH: u128 = packed(auth::PARAM);
    const MTRK: u128 = packed(mtrk::PARAM);
    const ENVID: u128 = packed(dsn::PARAM_ENVID);
    const HOLDFOR: u128 = packed(future_release::PARAM_HOLDFOR);
    const SOLICIT: u128 = packed(no_soliciting::PARAM);
    const CONPERM: u128 = packed(conneg::PARAM_CONPERM);
    const TRANSID: u128 = packed(checkpoint::PARAM);
    const SMTPUTF8: u128 = packed(smtputf8::PARAM);
    const HOLDUNTIL: u128 = packed(future_release::PARAM_HOLDUNTIL);
    const SUBMITTER: u128 = packed(submitter::PARAM);
    const REQUIRETLS: u128 = packed(requiretls::PARAM);
    const MT_PRIORITY: u128 = packed(mt_priority::PARAM);
    const ALT_ADDRESS: u128 = packed(utf8smtp::PARAM);
    Some(match pack_keyword(k) {
        SIZE => MailKw::Size,
        BODY => MailKw::Body,
        SMTPUTF8 => MailKw::Smtputf8,
        RET => MailKw::Ret,
        ENVID => MailKw::Envid,
        AUTH => MailKw::Auth,
        BY => MailKw::By,
        MT_PRIORITY => MailKw::MtPriority,
        HOLDFOR => MailKw::HoldFor,
        HOLDUNTIL => MailKw::HoldUntil,
        REQUIRETLS => MailKw::RequireTls,
        SOLICIT => MailKw::Solicit,
        MTRK => MailKw::Mtrk,
        SUBMITTER => MailKw::Submitter,
        CONPERM => MailKw::Conperm,
        TRANSID => MailKw::Transid,
        ALT_ADDRESS => MailKw::AltAddress,
        _ => return None,
    })
}

impl<'a> MailParams<'a> {
    /// Parses the parameter list. `input` is everything after the
    /// reverse-path and its single SP (may be empty).
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        Self::parse_in(Src::bytes(input), opts)
    }

    /// [`MailParams::parse`] for text already checked as UTF-8 (a command
    /// line), into an empty value that already sits where it is wanted
    /// (in a `Command`), so the large struct is never moved; values are
    /// borrowed without a second UTF-8 check.
    #[inline]
    pub(crate) fn fill_str(
        &mut self,
        input: &'a str,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        self.fill(Src::text(input), opts)
    }

    #[inline]
    fn parse_in(src: Src<'a>, opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let mut p = MailParams::default();
        p.fill(src, opts)?;
        Ok(p)
    }

    #[inline]
    fn fill(&mut self, src: Src<'a>, opts: &ParseOptions) -> Result<(), SyntaxError> {
        let mut rest = src.bytes;
        while let Some(raw) = next_param(&mut rest, opts)? {
            self.apply(raw, src, opts)?;
        }
        Ok(())
    }

    #[inline]
    fn apply(
        &mut self,
        raw: RawParam<'a>,
        src: Src<'a>,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        let (k, v) = (raw.keyword, raw.value);
        let kw = mail_keyword(k);
        let Some(kw) = kw else {
            check_eq(&raw, opts.lenient_mode())?;
            return push_other(&mut self.extras_mut().other, src, k, v);
        };
        check_eq(&raw, kw == MailKw::Mtrk)?;
        match kw {
            MailKw::Size => set(&mut self.size, || size::parse_value(need(v)?)),
            MailKw::Body => set(&mut self.body, || Body::parse(need(v)?)),
            MailKw::Smtputf8 => flag(&mut self.smtputf8, v),
            MailKw::Ret => set(&mut self.ret, || Ret::parse(need(v)?)),
            MailKw::Envid => set(&mut self.envid, || xtext_value(&raw, src, opts)),
            MailKw::Auth => set(&mut self.extras_mut().auth, || {
                AuthParam::parse(need(v)?, opts)
            }),
            MailKw::By => set(&mut self.by, || By::parse(need(v)?)),
            MailKw::MtPriority => set(&mut self.mt_priority, || MtPriority::parse(need(v)?)),
            // RFC 4865 §4 item 9: more than one hold-param is an error.
            MailKw::HoldFor => set(&mut self.extras_mut().hold, || Hold::parse_for(need(v)?)),
            MailKw::HoldUntil => set(&mut self.extras_mut().hold, || Hold::parse_until(need(v)?)),
            MailKw::RequireTls => flag(&mut self.requiretls, v),
            MailKw::Solicit => set(&mut self.extras_mut().solicit, || Solicit::parse(need(v)?)),
            MailKw::Mtrk => set(&mut self.extras_mut().mtrk, || Mtrk::parse(need(v)?)),
            MailKw::Submitter => set(&mut self.extras_mut().submitter, || {
                submitter::parse_value(need(v)?, opts)
            }),
            MailKw::Conperm => flag(&mut self.conperm, v),
            MailKw::Transid => set(&mut self.extras_mut().transid, || TransId::parse(need(v)?)),
            MailKw::AltAddress => set(&mut self.extras_mut().alt_address, || {
                xtext_value(&raw, src, opts)
            }),
        }
    }

    /// Writes each parameter preceded by one SP (nothing when empty):
    /// known parameters first in a fixed order, uppercase, in their
    /// canonical form, then the unknown ones as kept.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let x = self.extras();
        if let Some(s) = self.size {
            key(out, size::PARAM);
            size::write_value(s, out);
        }
        if let Some(b) = self.body {
            key(out, body::PARAM);
            b.write_to(out);
        }
        flag_out(out, self.smtputf8, smtputf8::PARAM);
        if let Some(r) = self.ret {
            key(out, dsn::PARAM_RET);
            r.write_to(out);
        }
        write_xtext(out, dsn::PARAM_ENVID, &self.envid);
        if let Some(a) = &x.auth {
            key(out, auth::PARAM);
            a.write_to(out);
        }
        if let Some(b) = &self.by {
            key(out, deliverby::PARAM);
            b.write_to(out);
        }
        if let Some(p) = self.mt_priority {
            key(out, mt_priority::PARAM);
            p.write_to(out);
        }
        match &x.hold {
            Some(Hold::For(n)) => {
                key(out, future_release::PARAM_HOLDFOR);
                push_decimal(out, u64::from((*n).clamp(1, MAX_HOLD_FOR)));
            }
            Some(h @ Hold::Until(_)) => {
                key(out, h.keyword());
                h.write_to(out);
            }
            None => {}
        }
        flag_out(out, self.requiretls, requiretls::PARAM);
        if let Some(s) = &x.solicit {
            key(out, no_soliciting::PARAM);
            s.write_to(out);
        }
        if let Some(m) = &x.mtrk {
            key(out, mtrk::PARAM);
            m.write_to(out);
        }
        if let Some(m) = &x.submitter {
            key(out, submitter::PARAM);
            submitter::write_value(m, out);
        }
        flag_out(out, self.conperm, conneg::PARAM_CONPERM);
        if let Some(t) = &x.transid {
            key(out, checkpoint::PARAM);
            t.write_to(out);
        }
        write_xtext(out, utf8smtp::PARAM, &x.alt_address);
        for p in &x.other {
            p.write_to(out);
        }
    }
}
