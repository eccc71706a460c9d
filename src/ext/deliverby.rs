//! DELIVERBY (RFC 2852): the MAIL `BY=` parameter.

use super::seam::{Extension, MailParamDef, Negotiation, Offer, ParamDef, NOT_OFFERED};
use nom::branch::alt;
use nom::character::streaming::{char, one_of};
use nom::combinator::{map, map_opt, opt, peek, value};
use nom::sequence::{pair, preceded, terminated, tuple};

use super::{invalid, reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{digits, fail_with, field_until, Terminated, VRes};
use crate::params::{key, set, MailParams};
use crate::values::push_decimal;

/// The largest min-by-time the EHLO keyword can carry (RFC 2852 §4:
/// `1*9DIGIT`).
pub const MAX_MIN_BY_TIME: u32 = 999_999_999;

/// The EHLO keyword (`DELIVERBY [min-by-time]`).
pub const EHLO_KEYWORD: &str = "DELIVERBY";
/// The MAIL parameter keyword.
pub const PARAM: &str = "BY";

/// The largest by-time magnitude: `1*9digit` (RFC 2852 §4).
pub const MAX_BY_TIME: i32 = 999_999_999;

/// What to do when the by-time passes (RFC 2852 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByMode {
    /// `N`: deliver anyway and send a delayed DSN.
    Notify,
    /// `R`: return the message as undeliverable.
    Return,
}

/// `by-value = by-time ";" by-mode [by-trace]` (RFC 2852 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct By {
    time: i32,
    mode: ByMode,
    trace: bool,
}

impl By {
    /// A by-value: `time` within ±999,999,999 seconds, and positive when
    /// `mode` is `Return` (RFC 2852 §4: "a negative or zero value is not
    /// allowed with a by-mode of R").
    pub fn new(time: i32, mode: ByMode, trace: bool) -> Result<Self, SyntaxError> {
        if !(-MAX_BY_TIME..=MAX_BY_TIME).contains(&time) {
            return Err(invalid("BY time out of range"));
        }
        if mode == ByMode::Return && time <= 0 {
            return Err(invalid("BY time must be positive with mode R"));
        }
        Ok(By { time, mode, trace })
    }

    /// Parses `["-" / "+"] 1*9digit ";" ("N" / "R") ["T"]`, letters in
    /// any case.
    pub fn parse(value: &[u8]) -> Result<Self, SyntaxError> {
        let (time, mode, trace) =
            Terminated::new(value).parse(by_value, invalid("invalid BY mode"))?;
        By::new(time, mode, trace)
    }

    /// Seconds within which to deliver (may be ≤ 0 in mode `N`).
    pub const fn time(&self) -> i32 {
        self.time
    }

    /// The by-mode.
    pub const fn mode(&self) -> ByMode {
        self.mode
    }

    /// Whether `T` (trace) was requested.
    pub const fn trace(&self) -> bool {
        self.trace
    }

    /// Appends the canonical form: no `+`, no leading zeros, uppercase.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if self.time < 0 {
            out.push(b'-');
        }
        push_decimal(out, u64::from(self.time.unsigned_abs()));
        out.push(b';');
        out.push(match self.mode {
            ByMode::Notify => b'N',
            ByMode::Return => b'R',
        });
        if self.trace {
            out.push(b'T');
        }
    }
}

/// `by-value = by-time ";" by-mode [by-trace]` (RFC 2852 §4). The ";" is
/// looked for first: without one, the value is not a by-value.
fn by_value(input: &[u8]) -> VRes<'_, (i32, ByMode, bool)> {
    let semicolon = peek(pair(field_until(b';'), char(';')));
    preceded(
        fail_with(invalid("BY without ';'"), semicolon),
        tuple((
            fail_with(
                invalid("BY time is not 1*9DIGIT"),
                terminated(by_time, char(';')),
            ),
            fail_with(invalid("invalid BY mode"), by_mode),
            map(opt(by_trace), |t| t.is_some()),
        )),
    )(input)
}

/// `by-time = ["-" / "+"] 1*9digit` (RFC 2852 §4): within ±999,999,999.
fn by_time(input: &[u8]) -> VRes<'_, i32> {
    map_opt(pair(opt(one_of("-+")), digits(9)), |(sign, n)| {
        let n = i32::try_from(n).ok()?;
        Some(if sign == Some('-') { -n } else { n })
    })(input)
}

/// `by-mode = "N" / "R"` (RFC 2852 §4), in any case.
fn by_mode(input: &[u8]) -> VRes<'_, ByMode> {
    alt((
        value(ByMode::Notify, one_of("Nn")),
        value(ByMode::Return, one_of("Rr")),
    ))(input)
}

/// `by-trace = "T"` (RFC 2852 §4), in any case.
fn by_trace(input: &[u8]) -> VRes<'_, char> {
    one_of("Tt")(input)
}

/// Mode R with a by-time of zero or less (RFC 2852 §4).
pub const TIME_NOT_POSITIVE: MandatedReply =
    reply(501, 5, 5, 4, "BY time must be positive with mode R");

/// Mode R with a by-time below the advertised min-by-time: "permanent
/// failure (55z)" (RFC 2852 §3).
pub const BELOW_MINIMUM: MandatedReply = reply(
    555,
    5,
    5,
    4,
    "BY time is below the minimum this server supports",
);

/// A valid by-time the server cannot honour for now (RFC 2852 §4: 455).
pub const CANNOT_HONOUR_NOW: MandatedReply =
    reply(455, 4, 3, 0, "BY time cannot be honoured at this time");

/// DELIVERBY: `BY=` on MAIL, accepted when offered and, in mode R, not
/// below the advertised minimum (RFC 2852 §3, §4); configured by
/// [`Extensions::deliver_by`](crate::server::Extensions::deliver_by).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[BY],
    advertise,
    check_mail,
    choose,
    ..Extension::NONE
};

const BY: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.by, || By::parse(v.need()?)),
    write: |p, out| {
        if let Some(b) = &p.by {
            key(out, PARAM);
            b.write_to(out);
        }
    },
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    if let Some(min) = o.ext().deliver_by {
        let _ = caps.set_deliver_by(Some(min.min(MAX_MIN_BY_TIME)));
    }
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    let Some(by) = &p.by else {
        return Ok(());
    };
    let min = o.ext().deliver_by.ok_or(NOT_OFFERED)?;
    // Compared as i64: a configured u32 must not wrap negative.
    let min = i64::from(min.min(MAX_MIN_BY_TIME));
    if by.mode() == ByMode::Return && i64::from(by.time()) < min {
        return Err(BELOW_MINIMUM);
    }
    Ok(())
}

fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if n.strip_unless(n.params.by.is_some(), Keyword::DeliverBy)? {
        n.params.by = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SyntaxErrorKind;

    fn w(b: By) -> String {
        let mut v = Vec::new();
        b.write_to(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn by_values_rfc2852_4() {
        let b = By::parse(b"120;R").unwrap();
        assert_eq!(
            (b.time(), b.mode(), b.trace()),
            (120, ByMode::Return, false)
        );
        let b = By::parse(b"-60;nt").unwrap();
        assert_eq!((b.time(), b.mode(), b.trace()), (-60, ByMode::Notify, true));
        assert_eq!(w(b), "-60;NT");
        assert_eq!(w(By::parse(b"+0005;N").unwrap()), "5;N");
        assert_eq!(w(By::parse(b"-999999999;N").unwrap()), "-999999999;N");
        assert!(By::parse(b"1000000000;N").is_err());
        assert!(By::parse(b";N").is_err());
        assert!(By::parse(b"5").is_err());
        assert!(By::parse(b"5;").is_err());
        assert!(By::parse(b"5;X").is_err());
        assert!(By::parse(b"5;NTT").is_err());
        assert!(By::parse(b"--5;N").is_err());
        assert!(By::parse(b"+-5;N").is_err());
        // §4: zero or negative with R is a 501 5.5.4 error; fine with N.
        for v in [&b"0;R"[..], b"-0;R", b"-1;RT"] {
            assert_eq!(
                By::parse(v).unwrap_err().kind(),
                SyntaxErrorKind::ParameterValue
            );
        }
        assert_eq!(By::parse(b"0;N").unwrap().time(), 0);
        assert!(By::new(1_000_000_000, ByMode::Notify, false).is_err());
        assert_eq!(TIME_NOT_POSITIVE.enhanced().to_string(), "5.5.4");
        assert_eq!(BELOW_MINIMUM.code().get(), 555);
    }

    #[test]
    fn by_value_streams_rfc2852_4() {
        crate::grammar::param::assert_streaming!(by_value, &["120;R", "-60;nt", "+0005;N", "0;N"]);
        crate::grammar::param::assert_streaming!(by_time, &["120", "-999999999"]);
    }
}
