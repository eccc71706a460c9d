//! RRVS (RFC 7293): the RCPT `RRVS=` parameter.

use super::seam::{advertise_if, offered, Extension, Negotiation, Offer, ParamDef, RcptParamDef};
use nom::branch::alt;
use nom::character::streaming::{char, one_of};
use nom::combinator::{opt, peek, value};
use nom::sequence::{pair, preceded, terminated};

use super::{invalid, reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{field_until, Terminated, VRes};
use crate::params::{key, set, RcptParams};
use crate::values::DateTime;

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "RRVS";
/// The RCPT parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;

/// What the server does when it cannot perform the check (RFC 7293 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RrvsMode {
    /// `C`: continue (deliver anyway).
    Continue,
    /// `R`: reject (the default when absent).
    Reject,
}

/// `rrvs-param = "RRVS=" date-time [ ";" ( "C" / "R" ) ]` (RFC 7293 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rrvs {
    time: DateTime,
    mode: Option<RrvsMode>,
}

impl Rrvs {
    /// A value: the date-time must have no fractional second ("time-secfrac
    /// MUST NOT be used", RFC 7293 §3.1). `mode` `None` means absent.
    pub fn new(time: DateTime, mode: Option<RrvsMode>) -> Result<Self, SyntaxError> {
        if time.has_fraction() {
            return Err(invalid("RRVS date-time must not have a fraction"));
        }
        Ok(Rrvs { time, mode })
    }

    /// Parses the value; `C` / `R` in any case.
    pub fn parse(value: &[u8]) -> Result<Self, SyntaxError> {
        let whole = Terminated::new(value);
        let (time, mode) = whole.parse(rrvs_value, invalid("RRVS mode is not C or R"))?;
        Rrvs::new(DateTime::parse(whole.original(time))?, mode)
    }

    /// The time since which the mailbox must have been held.
    pub const fn time(&self) -> DateTime {
        self.time
    }

    /// The mode as written (`None`: absent).
    pub const fn mode(&self) -> Option<RrvsMode> {
        self.mode
    }

    /// The effective mode: absent means reject.
    pub fn effective_mode(&self) -> RrvsMode {
        self.mode.unwrap_or(RrvsMode::Reject)
    }

    /// Appends the canonical form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.time.write_to(out);
        match self.mode {
            None => {}
            Some(RrvsMode::Continue) => out.extend_from_slice(b";C"),
            Some(RrvsMode::Reject) => out.extend_from_slice(b";R"),
        }
    }
}

/// The value of `rrvs-param = "RRVS=" date-time [ ";" ( "C" / "R" ) ]`
/// (RFC 7293 §3.1): the date-time's octets (an RFC 3339 `date-time`, read
/// by [`DateTime`]) and the mode, in any case.
fn rrvs_value(input: &[u8]) -> VRes<'_, (&[u8], Option<RrvsMode>)> {
    let mode = alt((
        value(RrvsMode::Continue, one_of("Cc")),
        value(RrvsMode::Reject, one_of("Rr")),
    ));
    pair(
        field_until(b';'),
        opt(preceded(char(';'), terminated(mode, peek(char(' '))))),
    )(input)
}

/// The mailbox has changed hands since the given time (RFC 7293 §3.3).
pub const MAILBOX_OWNER_CHANGED: MandatedReply = reply(550, 5, 7, 17, "Mailbox owner has changed");

/// The domain has changed hands since the given time (RFC 7293 §3.3).
pub const DOMAIN_OWNER_CHANGED: MandatedReply = reply(550, 5, 7, 18, "Domain owner has changed");

/// The check cannot be completed in mode R (RFC 7293 §3.3).
pub const TEST_NOT_COMPLETED: MandatedReply = reply(550, 5, 7, 19, "RRVS test cannot be completed");

/// RRVS: `RRVS=` on RCPT, accepted when offered; configured by
/// [`Extensions::rrvs`](crate::server::Extensions::rrvs).
pub(crate) const EXTENSION: Extension = Extension {
    rcpt: &[RRVS],
    advertise,
    check_rcpt,
    choose,
    strip_rcpt: |p| {
        // Without allocating the rare parameters' box.
        if p.extras().rrvs.is_some() {
            p.extras_mut().rrvs = None;
        }
    },
    ..Extension::NONE
};

const RRVS: RcptParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.extras_mut().rrvs, || Rrvs::parse(v.need()?)),
    write: |p, out| {
        if let Some(r) = &p.extras().rrvs {
            key(out, PARAM);
            r.write_to(out);
        }
    },
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::Rrvs, o.ext().rrvs);
}

fn check_rcpt(p: &RcptParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.extras().rrvs.is_some() {
        offered(o.ext().rrvs)?;
    }
    Ok(())
}

fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let rrvs = n.any_rcpt(|p| p.extras().rrvs.is_some());
    if n.strip_unless(rrvs, Keyword::Rrvs)? {
        n.strip_rcpt_params();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(r: Rrvs) -> String {
        let mut v = Vec::new();
        r.write_to(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn rrvs_values_rfc7293_3_1() {
        // RFC 7293 §4 example.
        let r = Rrvs::parse(b"2014-04-03T23:01:00Z").unwrap();
        assert_eq!(r.mode(), None);
        assert_eq!(r.effective_mode(), RrvsMode::Reject);
        assert_eq!(w(r), "2014-04-03T23:01:00Z");
        let r = Rrvs::parse(b"2014-04-03T23:01:00-05:00;c").unwrap();
        assert_eq!(r.mode(), Some(RrvsMode::Continue));
        assert_eq!(w(r), "2014-04-03T23:01:00-05:00;C");
        assert!(Rrvs::parse(b"2014-04-03T23:01:00.5Z").is_err());
        assert!(Rrvs::parse(b"2014-04-03T23:01:00Z;").is_err());
        assert!(Rrvs::parse(b"2014-04-03T23:01:00Z;X").is_err());
        assert!(Rrvs::parse(b"2014-04-03T23:01:00Z;CR").is_err());
        assert!(Rrvs::parse(b"1396566060").is_err());
        assert_eq!(MAILBOX_OWNER_CHANGED.enhanced().to_string(), "5.7.17");
    }

    #[test]
    fn rrvs_value_streams_rfc7293_3_1() {
        crate::grammar::param::assert_streaming!(
            rrvs_value,
            &["2014-04-03T23:01:00Z", "2014-04-03T23:01:00-05:00;C", "x;r"],
        );
    }
}
