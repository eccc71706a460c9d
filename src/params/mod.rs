//! MAIL and RCPT parameters (RFC 5321 §4.1.2 `Mail-parameters` /
//! `Rcpt-parameters`): where their values are kept ([`MailParams`],
//! [`RcptParams`]), the `esmtp-param` grammar (`syntax.rs`) and the one
//! shell both lists share (`list.rs`), which hands each known parameter
//! to the extension module in [`crate::ext`] that registered it.
//!
//! Rules applied here, for every parameter:
//! - parameters are separated by one SP; lenient mode also takes runs of
//!   SP/HTAB and leading or trailing white space;
//! - a parameter splits at the *first* `=` (`esmtp-value` has none, RFC 5321 §4.1.2);
//! - `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`, matched
//!   case-insensitively (RFC 5321 §2.4);
//! - `esmtp-value = 1*(%d33-60 / %d62-126)`, plus UTF-8 when
//!   [`ParseOptions::utf8`](crate::options::ParseOptions::utf8) (RFC 6531 §3.3). `=` inside a value is allowed
//!   only for MTRK (base64 padding) and, in lenient mode, for unknown
//!   parameters;
//! - a flag parameter given a value, a valued parameter without one, and a
//!   repeated parameter (known or unknown, any case) are errors;
//! - an unknown parameter is kept in `other`, verbatim: a server answers
//!   it with `555 5.5.4` (RFC 5321 §4.1.1.11), or ignores it by policy.
//!
//! Errors: a broken `esmtp-param` is [`SyntaxErrorKind::Arguments`](crate::error::SyntaxErrorKind::Arguments); a
//! control or 8-bit octet without SMTPUTF8 is [`SyntaxErrorKind::Character`](crate::error::SyntaxErrorKind::Character);
//! an invalid or repeated value of a known parameter is
//! [`SyntaxErrorKind::ParameterValue`](crate::error::SyntaxErrorKind::ParameterValue) (`501 5.5.4`, RFC 3461 §4.5); a
//! well-formed value this implementation does not know, such as `BODY=9BIT`,
//! is [`SyntaxErrorKind::UnsupportedParameterValue`](crate::error::SyntaxErrorKind::UnsupportedParameterValue) (`555 5.5.4`, RFC 5321
//! §4.1.1.11).
//!
//! Parsing allocates nothing unless a value holds escapes, an unknown
//! parameter is present, or a rare parameter needs its boxed
//! [`MailExtras`] / [`RcptExtras`] (which keeps a `Command` small to move).

use std::borrow::Cow;

use syntax::check_keyword;

use crate::ext::auth::AuthParam;
use crate::ext::body::Body;
use crate::ext::checkpoint::TransId;
use crate::ext::deliverby::By;
use crate::ext::dsn::{Notify, Orcpt, Ret};
use crate::ext::future_release::Hold;
use crate::ext::mt_priority::MtPriority;
use crate::ext::mtrk::Mtrk;
use crate::ext::no_soliciting::Solicit;
use crate::ext::rrvs::Rrvs;
use crate::octets::class::is_esmtp_value;
use crate::values::{Mailbox, XText};

mod list;
mod syntax;

pub(crate) use syntax::{flag_out, key, set, write_xtext, Value};
#[cfg(test)]
mod tests;

/// An unknown (or `X-`) parameter, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param<'a> {
    /// The `esmtp-keyword`, as written.
    pub keyword: Cow<'a, str>,
    /// The `esmtp-value`, as written, if any.
    pub value: Option<Cow<'a, str>>,
}

impl Param<'_> {
    /// True when this can be written as an `esmtp-param`: a valid keyword
    /// and a non-empty value without SP or control characters. Invalid
    /// parameters are not written, so caller text can never inject a
    /// space, CR or LF into a command.
    pub fn is_valid(&self) -> bool {
        check_keyword(self.keyword.as_bytes()).is_ok()
            && match &self.value {
                None => true,
                Some(v) => {
                    !v.is_empty()
                        && v.bytes()
                            .all(|b| is_esmtp_value(b) || b == b'=' || b >= 0x80)
                }
            }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Param<'static> {
        Param {
            keyword: Cow::Owned(self.keyword.into_owned()),
            value: self.value.map(|v| Cow::Owned(v.into_owned())),
        }
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        if !self.is_valid() {
            return;
        }
        out.push(b' ');
        out.extend_from_slice(self.keyword.as_bytes());
        if let Some(v) = &self.value {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
}

/// The parameters of a MAIL command, typed where an extension defines
/// them. The common ones are fields; the rare ones are in
/// [`MailExtras`], boxed and allocated only when one is present.
///
/// Build one with `MailParams::default()` and set what you need; the
/// struct is `#[non_exhaustive]` so new extensions can be added.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MailParams<'a> {
    /// `SIZE=` declared message size in octets (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// `CONPERM` (RFC 4141).
    pub conperm: bool,
    /// `ENVID=`, decoded (RFC 3461). An empty value is not written.
    pub envid: Option<XText<'a>>,
    /// `BY=` (RFC 2852).
    pub by: Option<By>,
    /// `MT-PRIORITY=` (RFC 6710).
    pub mt_priority: Option<MtPriority>,
    pub(crate) extras: Option<Box<MailExtras<'a>>>,
}

/// The rarer MAIL parameters, behind [`MailParams::extras`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MailExtras<'a> {
    /// `AUTH=` (RFC 4954 §5).
    pub auth: Option<AuthParam<'a>>,
    /// `HOLDFOR=` or `HOLDUNTIL=` (RFC 4865); an out-of-range
    /// [`Hold::For`] is written clamped to 1..=999,999,999.
    pub hold: Option<Hold>,
    /// `SOLICIT=` (RFC 3865).
    pub solicit: Option<Solicit<'a>>,
    /// `MTRK=` (RFC 3885).
    pub mtrk: Option<Mtrk<'a>>,
    /// `SUBMITTER=` (RFC 4405).
    pub submitter: Option<Mailbox<'a>>,
    /// `TRANSID=` (RFC 1845).
    pub transid: Option<TransId<'a>>,
    /// `ALT-ADDRESS=`, decoded (RFC 5336). An empty value is not written.
    pub alt_address: Option<XText<'a>>,
    /// Unknown parameters, in order.
    pub other: Vec<Param<'a>>,
}

static NO_MAIL_EXTRAS: MailExtras<'static> = MailExtras {
    auth: None,
    hold: None,
    solicit: None,
    mtrk: None,
    submitter: None,
    transid: None,
    alt_address: None,
    other: Vec::new(),
};

impl<'a> MailParams<'a> {
    /// The rarer parameters (all absent unless one was set).
    pub fn extras(&self) -> &MailExtras<'a> {
        self.extras.as_deref().unwrap_or(&NO_MAIL_EXTRAS)
    }

    /// The rarer parameters, to set one (allocates them on first use).
    pub fn extras_mut(&mut self) -> &mut MailExtras<'a> {
        self.extras.get_or_insert_with(Box::default)
    }

    /// True when no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.size.is_none()
            && self.body.is_none()
            && !self.smtputf8
            && self.ret.is_none()
            && !self.requiretls
            && !self.conperm
            && self.envid.is_none()
            && self.by.is_none()
            && self.mt_priority.is_none()
            && self.extras().is_empty()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> MailParams<'static> {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            requiretls: self.requiretls,
            conperm: self.conperm,
            envid: self.envid.map(XText::into_owned),
            by: self.by,
            mt_priority: self.mt_priority,
            extras: self.extras.map(|x| Box::new(x.into_owned())),
        }
    }
}

impl PartialEq for MailParams<'_> {
    fn eq(&self, other: &Self) -> bool {
        // Absent extras and allocated-but-empty extras are the same list.
        self.size == other.size
            && self.body == other.body
            && self.smtputf8 == other.smtputf8
            && self.ret == other.ret
            && self.requiretls == other.requiretls
            && self.conperm == other.conperm
            && self.envid == other.envid
            && self.by == other.by
            && self.mt_priority == other.mt_priority
            && self.extras() == other.extras()
    }
}

impl Eq for MailParams<'_> {}

impl<'a> MailExtras<'a> {
    /// True when none of these parameters is present.
    pub fn is_empty(&self) -> bool {
        self == &NO_MAIL_EXTRAS
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> MailExtras<'static> {
        MailExtras {
            auth: self.auth.map(AuthParam::into_owned),
            hold: self.hold,
            solicit: self.solicit.map(Solicit::into_owned),
            mtrk: self.mtrk.map(Mtrk::into_owned),
            submitter: self.submitter.map(Mailbox::into_owned),
            transid: self.transid.map(TransId::into_owned),
            alt_address: self.alt_address.map(XText::into_owned),
            other: self.other.into_iter().map(Param::into_owned).collect(),
        }
    }
}

/// The parameters of a RCPT command, typed where an extension defines
/// them. The common ones are fields; the rare ones are in
/// [`RcptExtras`], boxed and allocated only when one is present.
///
/// Build one with `RcptParams::default()` and set what you need; the
/// struct is `#[non_exhaustive]` so new extensions can be added.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RcptParams<'a> {
    /// `NOTIFY=` (RFC 3461).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461, RFC 6533).
    pub orcpt: Option<Orcpt<'a>>,
    /// `CONNEG` (RFC 4141).
    pub conneg: bool,
    pub(crate) extras: Option<Box<RcptExtras<'a>>>,
}

/// The rarer RCPT parameters, behind [`RcptParams::extras`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RcptExtras<'a> {
    /// `RRVS=` (RFC 7293).
    pub rrvs: Option<Rrvs>,
    /// `ALT-ADDRESS=`, decoded (RFC 5336). An empty value is not written.
    pub alt_address: Option<XText<'a>>,
    /// Unknown parameters, in order.
    pub other: Vec<Param<'a>>,
}

static NO_RCPT_EXTRAS: RcptExtras<'static> = RcptExtras {
    rrvs: None,
    alt_address: None,
    other: Vec::new(),
};

impl<'a> RcptParams<'a> {
    /// The rarer parameters (all absent unless one was set).
    pub fn extras(&self) -> &RcptExtras<'a> {
        self.extras.as_deref().unwrap_or(&NO_RCPT_EXTRAS)
    }

    /// The rarer parameters, to set one (allocates them on first use).
    pub fn extras_mut(&mut self) -> &mut RcptExtras<'a> {
        self.extras.get_or_insert_with(Box::default)
    }

    /// True when no parameter is present.
    pub fn is_empty(&self) -> bool {
        self.notify.is_none() && self.orcpt.is_none() && !self.conneg && self.extras().is_empty()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> RcptParams<'static> {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(Orcpt::into_owned),
            conneg: self.conneg,
            extras: self.extras.map(|x| Box::new(x.into_owned())),
        }
    }
}

impl PartialEq for RcptParams<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.notify == other.notify
            && self.orcpt == other.orcpt
            && self.conneg == other.conneg
            && self.extras() == other.extras()
    }
}

impl Eq for RcptParams<'_> {}

impl<'a> RcptExtras<'a> {
    /// True when none of these parameters is present.
    pub fn is_empty(&self) -> bool {
        self == &NO_RCPT_EXTRAS
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> RcptExtras<'static> {
        RcptExtras {
            rrvs: self.rrvs,
            alt_address: self.alt_address.map(XText::into_owned),
            other: self.other.into_iter().map(Param::into_owned).collect(),
        }
    }
}
