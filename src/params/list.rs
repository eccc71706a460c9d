//! The one shell both parameter lists share (RFC 5321 §4.1.2
//! `Mail-parameters` / `Rcpt-parameters`): splitting the list, handing
//! each known parameter to the extension that registered it, keeping the
//! unknown ones verbatim, and writing the list back.

use super::syntax::{check_eq, next_param, pack_keyword, push_other, Src, Value};
use super::{MailParams, Param, RcptParams};
use crate::error::SyntaxError;
use crate::ext::seam::{self, MailParamDef, ParamTable, RcptParamDef};
use crate::ext::REGISTRY;
use crate::options::ParseOptions;

/// What the shell needs of a parameter list: where its extensions'
/// definitions are, and where unknown parameters go.
pub(super) trait ParamList<'a>: Default {
    /// A registered parameter's definition.
    type Def: 'static;

    /// The registered definitions, by packed keyword.
    fn table() -> &'static ParamTable<Self::Def>;

    /// Whether the definition's value may hold `=`.
    fn eq_in_value(def: &Self::Def) -> bool;

    /// Reads a known parameter's value into its slot.
    fn parse(
        &mut self,
        def: &Self::Def,
        v: &Value<'a>,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError>;

    /// Appends every known parameter present, in registry order.
    fn write_known(&self, out: &mut Vec<u8>);

    /// Unknown parameters, in order.
    fn other(&self) -> &[Param<'a>];

    /// Unknown parameters, to add one (allocates the rare ones' box).
    fn other_mut(&mut self) -> &mut Vec<Param<'a>>;
}

/// Parses a whole list into a new value.
#[inline]
pub(super) fn parse<'a, L: ParamList<'a>>(
    src: Src<'a>,
    opts: &ParseOptions,
) -> Result<L, SyntaxError> {
    let mut list = L::default();
    fill(&mut list, src, opts)?;
    Ok(list)
}

/// Parses a whole list into `list`, an empty value that already sits where
/// it is wanted (in a `Command`), so that it is never moved.
#[inline]
pub(super) fn fill<'a, L: ParamList<'a>>(
    list: &mut L,
    src: Src<'a>,
    opts: &ParseOptions,
) -> Result<(), SyntaxError> {
    let mut rest = src.bytes;
    while let Some(raw) = next_param(&mut rest, opts)? {
        match seam::lookup(L::table(), pack_keyword(raw.keyword)) {
            Some(def) => {
                check_eq(&raw, L::eq_in_value(def))?;
                list.parse(def, &Value::new(raw, src), opts)?;
            }
            None => {
                // `=` in an unknown value only in lenient mode (RFC 5321
                // §4.1.2 `esmtp-value`).
                check_eq(&raw, opts.lenient_mode())?;
                push_other(list.other_mut(), src, raw.keyword, raw.value)?;
            }
        }
    }
    Ok(())
}

/// Writes each parameter preceded by one SP (nothing when empty): known
/// parameters first in registry order, uppercase, in their canonical
/// form, then the unknown ones as kept.
pub(super) fn write<'a, L: ParamList<'a>>(list: &L, out: &mut Vec<u8>) {
    list.write_known(out);
    for p in list.other() {
        p.write_to(out);
    }
}

impl<'a> ParamList<'a> for MailParams<'a> {
    type Def = MailParamDef;

    #[inline]
    fn table() -> &'static ParamTable<MailParamDef> {
        &seam::MAIL_PARAMS
    }

    #[inline]
    fn eq_in_value(def: &MailParamDef) -> bool {
        def.eq_in_value
    }

    #[inline]
    fn parse(
        &mut self,
        def: &MailParamDef,
        v: &Value<'a>,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        (def.parse)(self, v, opts)
    }

    fn write_known(&self, out: &mut Vec<u8>) {
        for e in REGISTRY {
            for def in e.mail {
                (def.write)(self, out);
            }
        }
    }

    fn other(&self) -> &[Param<'a>] {
        &self.extras().other
    }

    fn other_mut(&mut self) -> &mut Vec<Param<'a>> {
        &mut self.extras_mut().other
    }
}

impl<'a> ParamList<'a> for RcptParams<'a> {
    type Def = RcptParamDef;

    #[inline]
    fn table() -> &'static ParamTable<RcptParamDef> {
        &seam::RCPT_PARAMS
    }

    #[inline]
    fn eq_in_value(def: &RcptParamDef) -> bool {
        def.eq_in_value
    }

    #[inline]
    fn parse(
        &mut self,
        def: &RcptParamDef,
        v: &Value<'a>,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        (def.parse)(self, v, opts)
    }

    fn write_known(&self, out: &mut Vec<u8>) {
        for e in REGISTRY {
            for def in e.rcpt {
                (def.write)(self, out);
            }
        }
    }

    fn other(&self) -> &[Param<'a>] {
        &self.extras().other
    }

    fn other_mut(&mut self) -> &mut Vec<Param<'a>> {
        &mut self.extras_mut().other
    }
}

impl<'a> MailParams<'a> {
    /// Parses the parameter list. `input` is everything after the
    /// reverse-path and its single SP (may be empty).
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        parse(Src::bytes(input), opts)
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
        fill(self, Src::text(input), opts)
    }

    /// Writes each parameter preceded by one SP (nothing when empty):
    /// known parameters first in a fixed order, uppercase, in their
    /// canonical form, then the unknown ones as kept.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write(self, out);
    }
}

impl<'a> RcptParams<'a> {
    /// Parses the parameter list. `input` is everything after the
    /// forward-path and its single SP (may be empty).
    pub fn parse(input: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        parse(Src::bytes(input), opts)
    }

    /// [`RcptParams::parse`] for text already checked as UTF-8 (a command
    /// line); see [`MailParams::fill_str`].
    #[inline]
    pub(crate) fn fill_str(
        &mut self,
        input: &'a str,
        opts: &ParseOptions,
    ) -> Result<(), SyntaxError> {
        fill(self, Src::text(input), opts)
    }

    /// Writes each parameter preceded by one SP (nothing when empty):
    /// known parameters first in a fixed order, uppercase, in their
    /// canonical form, then the unknown ones as kept.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write(self, out);
    }
}
