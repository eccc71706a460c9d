//! FUTURERELEASE (RFC 4865): `HOLDFOR=` / `HOLDUNTIL=` on MAIL.

use std::borrow::Cow;

use super::seam::{Extension, MailParamDef, Negotiation, Offer, ParamDef, NOT_OFFERED};
use nom::bytes::streaming::take_while_m_n;
use nom::character::streaming::satisfy;
use nom::combinator::{map_opt, recognize};
use nom::sequence::pair;

use super::{invalid, reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, CapabilityError, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{Terminated, VRes};
use crate::params::{key, set, MailParams};
use crate::values::{is_rfc3339_date_time, push_decimal, DateTime};

/// The EHLO keyword (`FUTURERELEASE max-interval max-date-time`).
pub const EHLO_KEYWORD: &str = "FUTURERELEASE";
/// The MAIL parameter for an interval.
pub const PARAM_HOLDFOR: &str = "HOLDFOR";
/// The MAIL parameter for a date-time.
pub const PARAM_HOLDUNTIL: &str = "HOLDUNTIL";

/// The largest `future-release-integer` (RFC 4865 §3).
pub const MAX_HOLD_FOR: u32 = 999_999_999;

/// The single hold-param of a MAIL: "more than one hold-param" is an
/// error (RFC 4865 §4, item 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hold {
    /// `HOLDFOR=`: seconds, 1..=999,999,999.
    For(u32),
    /// `HOLDUNTIL=`: an RFC 3339 date-time (RFC 4865 §3: not an
    /// integer). RFC 4865 asks clients to normalise it to UTC; the offset
    /// given is kept, so a server can check [`DateTime::is_utc`].
    Until(DateTime),
}

impl Hold {
    /// Parses `future-release-integer = %x31-39 *8DIGIT` (no leading zero).
    pub fn parse_for(value: &[u8]) -> Result<Self, SyntaxError> {
        Terminated::new(value)
            .parse(
                future_release_integer,
                invalid("HOLDFOR is not 1..999999999"),
            )
            .map(Hold::For)
    }

    /// Parses an RFC 3339 date-time.
    pub fn parse_until(value: &[u8]) -> Result<Self, SyntaxError> {
        DateTime::parse(value).map(Hold::Until)
    }

    /// True when the value can be written (`For` in range).
    pub fn is_valid(&self) -> bool {
        match self {
            Hold::For(n) => (1..=MAX_HOLD_FOR).contains(n),
            Hold::Until(_) => true,
        }
    }

    /// The parameter keyword for this value.
    pub const fn keyword(&self) -> &'static str {
        match self {
            Hold::For(_) => PARAM_HOLDFOR,
            Hold::Until(_) => PARAM_HOLDUNTIL,
        }
    }

    /// Appends the value (without keyword).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Hold::For(n) => push_decimal(out, u64::from(*n)),
            Hold::Until(d) => d.write_to(out),
        }
    }
}

/// `future-release-integer = %x31-39 *8DIGIT` (RFC 4865 §3).
fn future_release_integer(input: &[u8]) -> VRes<'_, u32> {
    let first = satisfy(|c| ('1'..='9').contains(&c));
    let rest = take_while_m_n(0, 8, |b: u8| b.is_ascii_digit());
    map_opt(recognize(pair(first, rest)), |d: &[u8]| {
        d.iter().try_fold(0u32, |n, &b| {
            n.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        })
    })(input)
}

/// An invalid, too-late or repeated hold-param (RFC 4865 §4, items 7–11).
pub const INVALID: MandatedReply = reply(501, 5, 5, 4, "Invalid future release parameter");

/// Per-user future-release quota exceeded. RFC 4865 §5.3 asks for 552 with
/// X.7.16, but the registry gives X.7.16 to RFC 6710 (the IANA enhanced status code registry, RFC 3463 §2);
/// X.2.2 (per-mailbox quota) is the registered meaning.
pub const USER_QUOTA_EXCEEDED: MandatedReply = reply(
    552,
    5,
    2,
    2,
    "Future release per-user message quota exceeded",
);

/// System future-release quota exceeded (RFC 4865 §5.3 says X.7.17, which
/// the registry gives to RFC 7293; X.3.1 "mail system full" instead).
pub const SYSTEM_QUOTA_EXCEEDED: MandatedReply =
    reply(552, 5, 3, 1, "Future release system message quota exceeded");

/// What a server configures under FUTURERELEASE (RFC 4865 §3): the longest
/// `HOLDFOR=` interval and the latest `HOLDUNTIL=` time it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HoldLimits {
    max_interval: u32,
    latest: DateTime,
}

impl HoldLimits {
    /// Holds of up to `max_interval` seconds (1–999,999,999, RFC 4865 §3
    /// `max-future-release-interval`) and until at most `latest`.
    pub fn new(max_interval: u32, latest: DateTime) -> Result<Self, CapabilityError> {
        if !(1..=MAX_HOLD_FOR).contains(&max_interval) {
            return Err(CapabilityError::new("FUTURERELEASE interval out of range"));
        }
        Ok(HoldLimits {
            max_interval,
            latest,
        })
    }

    /// The longest `HOLDFOR=` interval, in seconds.
    pub fn max_interval(&self) -> u32 {
        self.max_interval
    }

    /// The latest `HOLDUNTIL=` date-time.
    pub fn latest(&self) -> DateTime {
        self.latest
    }

    /// Whether a MAIL's hold is within these limits (RFC 4865 §4).
    pub fn allows(&self, hold: &Hold) -> bool {
        match hold {
            Hold::For(secs) => (1..=self.max_interval).contains(secs),
            Hold::Until(date) => date.unix_timestamp() <= self.latest.unix_timestamp(),
        }
    }
}

/// The FUTURERELEASE limits a server advertises (RFC 4865 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FutureRelease<'a> {
    max_interval: u32,
    max_date_time: Cow<'a, str>,
}
impl<'a> FutureRelease<'a> {
    /// The longest hold in seconds (1–999999999) and the latest release
    /// time, an RFC 3339 `date-time`.
    pub fn new(
        max_interval: u32,
        max_date_time: impl Into<Cow<'a, str>>,
    ) -> Result<Self, CapabilityError> {
        let max_date_time = max_date_time.into();
        if !(1..=999_999_999).contains(&max_interval) {
            return Err(CapabilityError::new("FUTURERELEASE interval out of range"));
        }
        if !is_rfc3339_date_time(max_date_time.as_bytes()) {
            return Err(CapabilityError::new(
                "FUTURERELEASE date-time is not RFC 3339",
            ));
        }
        Ok(Self {
            max_interval,
            max_date_time,
        })
    }

    /// The longest `HOLDFOR=` interval accepted, in seconds.
    pub fn max_interval(&self) -> u32 {
        self.max_interval
    }

    /// The latest `HOLDUNTIL=` date-time accepted, as advertised (RFC 3339).
    pub fn max_date_time(&self) -> &str {
        &self.max_date_time
    }

    /// Calls `param` with each EHLO parameter, in order (RFC 4865 §3:
    /// `max-future-release-interval max-future-release-date-time`).
    pub(crate) fn for_each_ehlo_param(&self, mut param: impl FnMut(&str)) {
        param(&self.max_interval.to_string());
        param(&self.max_date_time);
    }

    pub(crate) fn into_owned(self) -> FutureRelease<'static> {
        FutureRelease {
            max_interval: self.max_interval,
            max_date_time: Cow::Owned(self.max_date_time.into_owned()),
        }
    }
}

/// FUTURERELEASE: one hold-param on MAIL (`HOLDFOR=` or `HOLDUNTIL=`),
/// accepted within the advertised limits (RFC 4865 §4); configured by
/// [`Extensions::future_release`](crate::server::Extensions::future_release).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[HOLDFOR, HOLDUNTIL],
    advertise,
    check_mail,
    choose,
    ..Extension::NONE
};

// RFC 4865 §4 item 9: more than one hold-param is an error, so both
// keywords fill the one slot.
const HOLDFOR: MailParamDef = ParamDef {
    keyword: PARAM_HOLDFOR,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.extras_mut().hold, || Hold::parse_for(v.need()?)),
    write: |p, out| {
        if let Some(Hold::For(n)) = p.extras().hold {
            key(out, PARAM_HOLDFOR);
            push_decimal(out, u64::from(n.clamp(1, MAX_HOLD_FOR)));
        }
    },
};

const HOLDUNTIL: MailParamDef = ParamDef {
    keyword: PARAM_HOLDUNTIL,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.extras_mut().hold, || Hold::parse_until(v.need()?)),
    write: |p, out| {
        if let Some(h @ Hold::Until(_)) = &p.extras().hold {
            key(out, PARAM_HOLDUNTIL);
            h.write_to(out);
        }
    },
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    if let Some(limits) = &o.ext().future_release {
        if let Ok(fr) = FutureRelease::new(limits.max_interval(), limits.latest().to_string()) {
            caps.set_future_release(fr);
        }
    }
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    let Some(hold) = &p.extras().hold else {
        return Ok(());
    };
    let limits = o.ext().future_release.as_ref().ok_or(NOT_OFFERED)?;
    if !limits.allows(hold) {
        return Err(INVALID);
    }
    Ok(())
}

fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let held = n.params.extras().hold.is_some();
    if n.strip_unless(held, Keyword::FutureRelease)? {
        n.params.extras_mut().hold = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_values_rfc4865_3() {
        assert_eq!(Hold::parse_for(b"1").unwrap(), Hold::For(1));
        assert_eq!(
            Hold::parse_for(b"999999999").unwrap(),
            Hold::For(999_999_999)
        );
        for v in ["0", "01", "1000000000", "-1", "", "1s"] {
            assert!(Hold::parse_for(v.as_bytes()).is_err(), "{v}");
        }
        // RFC 4865 §3: HOLDUNTIL is a date-time, not an integer.
        assert!(Hold::parse_until(b"1234567890").is_err());
        let h = Hold::parse_until(b"2026-11-05T09:00:00Z").unwrap();
        let mut out = Vec::new();
        h.write_to(&mut out);
        assert_eq!(out, b"2026-11-05T09:00:00Z");
        assert!(!Hold::For(0).is_valid());
        assert_eq!(USER_QUOTA_EXCEEDED.code().get(), 552);
        assert_eq!(INVALID.enhanced().to_string(), "5.5.4");
    }

    #[test]
    fn future_release_integer_streams_rfc4865_3() {
        crate::grammar::param::assert_streaming!(
            future_release_integer,
            &["1", "86400", "999999999"]
        );
    }
}
