//! RCPT parameters (RFC 5321 §4.1.2 `Rcpt-parameters`): recognising each
//! keyword, parsing its value through its extension module, and writing
//! the list back in canonical form.

use super::syntax::{
    check_eq, flag, flag_out, key, need, next_param, pack_keyword, packed, push_other, set,
    write_xtext, xtext_value, RawParam, Src,
};
use super::RcptParams;
use crate::error::SyntaxError;
use crate::ext::dsn::{Notify, Orcpt};
use crate::ext::rrvs::Rrvs;
use crate::ext::{conneg, dsn, rrvs, utf8smtp};
use crate::options::ParseOptions;

#[derive(Clone, Copy, PartialEq, Eq)]
enum RcptKw {
    Notify,
    Orcpt,
    Rrvs,
    Conneg,
    AltAddress,
}

fn rcpt_keyword(k: &[u8]) -> Option<RcptKw> {
    const RRVS: u128 = packed(rrvs::PARAM);
    const ORCPT: u128 = packed(dsn::PARAM_ORCPT);
    const NOTIFY: u128 = packed(dsn::PARAM_NOTIFY);
    const CONNEG: u128 = packed(conneg::PARAM_CONNEG);
    const ALT_ADDRESS: u128 = packed(utf8smtp::PARAM);
    Some(match pack_keyword(k) {
        NOTIFY => RcptKw::Notify,
        ORCPT => RcptKw::Orcpt,
        RRVS => RcptKw::Rrvs,
        CONNEG => RcptKw::Conneg,
        ALT_ADDRESS => RcptKw::AltAddress,
        _ => return None,
    })
}

impl<'a> RcptParams<'a> {
    /// Parses the parameter list. `input` is everything after the
    /// forward-path and its single SP (may be empty).
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        Self::parse_in(Src::bytes(input), opts)
    }

    /// [`RcptParams::parse`] for text already checked as UTF-8 (a command
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
        let mut p = RcptParams::default();
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
        let Some(kw) = rcpt_keyword(k) else {
            check_eq(&raw, opts.lenient_mode())?;
            return push_other(&mut self.extras_mut().other, src, k, v);
        };
        check_eq(&raw, false)?;
        match kw {
            RcptKw::Notify => set(&mut self.notify, || Notify::parse(need(v)?, opts)),
            RcptKw::Orcpt => set(&mut self.orcpt, || {
                let v = need(v)?;
                // Every octet an xchar (the scan saw no '+', '=', 8-bit or
                // control): the common `rfc822;addr` needs no second look.
                if raw.class == 0 {
                    if let Some(o) = src.str_of(v).and_then(Orcpt::parse_xchars) {
                        return Ok(o);
                    }
                }
                Orcpt::parse(v, opts)
            }),
            RcptKw::Rrvs => set(&mut self.extras_mut().rrvs, || Rrvs::parse(need(v)?)),
            RcptKw::Conneg => flag(&mut self.conneg, v),
            RcptKw::AltAddress => set(&mut self.extras_mut().alt_address, || {
                xtext_value(&raw, src, opts)
            }),
        }
    }

    /// Writes each parameter preceded by one SP (nothing when empty):
    /// known parameters first in a fixed order, uppercase, in their
    /// canonical form, then the unknown ones as kept.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let x = self.extras();
        if let Some(n) = self.notify {
            key(out, dsn::PARAM_NOTIFY);
            n.write_to(out);
        }
        if let Some(o) = &self.orcpt {
            key(out, dsn::PARAM_ORCPT);
            o.write_to(out);
        }
        if let Some(r) = &x.rrvs {
            key(out, rrvs::PARAM);
            r.write_to(out);
        }
        flag_out(out, self.conneg, conneg::PARAM_CONNEG);
        write_xtext(out, utf8smtp::PARAM, &x.alt_address);
        for p in &x.other {
            p.write_to(out);
        }
    }
}
