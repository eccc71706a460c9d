//! MT-PRIORITY (RFC 6710): the MAIL `MT-PRIORITY=` parameter.

use std::borrow::Cow;

use super::seam::{offered, Extension, MailParamDef, Negotiation, Offer, ParamDef};
use nom::branch::alt;
use nom::character::streaming::{char, satisfy};
use nom::combinator::{map, opt, value};
use nom::sequence::pair;

use super::{invalid, reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{Terminated, VRes};
use crate::params::{key, set, MailParams};

/// The EHLO keyword (`MT-PRIORITY [priority-profile]`).
pub const EHLO_KEYWORD: &str = "MT-PRIORITY";
/// The MAIL parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;

/// A message priority, −9 (lowest) to 9 (highest); 0 is normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MtPriority(i8);

impl MtPriority {
    /// A priority, if within −9..=9.
    pub const fn new(p: i8) -> Option<Self> {
        if p >= -9 && p <= 9 {
            Some(MtPriority(p))
        } else {
            None
        }
    }

    /// The priority.
    pub const fn get(self) -> i8 {
        self.0
    }

    /// Parses `priority-value = (["-"] NZDIGIT) / "0"` (RFC 6710 §2):
    /// `+5`, `-0` and `05` are invalid (RFC 6710 §2).
    pub fn parse(value: &[u8]) -> Result<Self, SyntaxError> {
        Terminated::new(value)
            .parse(priority_value, invalid("MT-PRIORITY is not -9..9"))
            .map(MtPriority)
    }

    /// Appends the canonical form.
    pub fn write_to(self, out: &mut Vec<u8>) {
        if self.0 < 0 {
            out.push(b'-');
        }
        out.push(b'0' + self.0.unsigned_abs());
    }
}

/// `priority-value = (["-"] NZDIGIT) / "0"` (RFC 6710 §7).
fn priority_value(input: &[u8]) -> VRes<'_, i8> {
    let nzdigit = satisfy(|c| ('1'..='9').contains(&c));
    alt((
        value(0, char('0')),
        map(pair(opt(char('-')), nzdigit), |(minus, d)| {
            // One digit, 1..=9: the difference fits.
            let p = d as i8 - b'0' as i8;
            if minus.is_some() {
                -p
            } else {
                p
            }
        }),
    ))(input)
}

/// An invalid or repeated MT-PRIORITY (RFC 6710 §4.1 suggests 501 with
/// 5.5.2).
pub const INVALID: MandatedReply = reply(501, 5, 5, 2, "Invalid MT-PRIORITY parameter");

/// An MSA rejects a priority below what it currently accepts, permanently
/// (RFC 6710 §4.2: X.7.15 "MUST").
pub const PRIORITY_TOO_LOW: MandatedReply = reply(550, 5, 7, 15, "Priority level is too low");

/// The same, when the condition is temporary (RFC 6710 §4.2).
pub const PRIORITY_TOO_LOW_NOW: MandatedReply =
    reply(450, 4, 7, 15, "Priority level is too low at this time");

/// The message is too big for its priority (RFC 6710 §4.2: 552 X.7.16).
pub const TOO_BIG_FOR_PRIORITY: MandatedReply = reply(
    552,
    5,
    7,
    16,
    "Message is too big for the specified priority",
);

/// RFC 6710 `priority-profile = 1*20(ALPHA / DIGIT / "-" / "_" / ".")`.
pub(crate) fn is_profile(p: &[u8]) -> bool {
    (1..=20).contains(&p.len())
        && p.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// MT-PRIORITY: `MT-PRIORITY=` on MAIL, accepted when offered; configured
/// by [`Extensions::mt_priority`](crate::server::Extensions::mt_priority).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[MT_PRIORITY],
    advertise,
    check_mail,
    choose,
    ..Extension::NONE
};

const MT_PRIORITY: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.mt_priority, || MtPriority::parse(v.need()?)),
    write: |p, out| {
        if let Some(m) = p.mt_priority {
            key(out, PARAM);
            m.write_to(out);
        }
    },
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    if let Some(profile) = &o.ext().mt_priority {
        let _ = caps.set_mt_priority(profile.as_deref().map(Cow::Borrowed));
    }
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.mt_priority.is_some() {
        offered(o.ext().mt_priority.is_some())?;
    }
    Ok(())
}

fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if n.strip_unless(n.params.mt_priority.is_some(), Keyword::MtPriority)? {
        n.params.mt_priority = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_values_rfc6710_2() {
        for (s, p) in [("0", 0), ("9", 9), ("-9", -9), ("3", 3), ("-1", -1)] {
            let v = MtPriority::parse(s.as_bytes()).unwrap();
            assert_eq!(v.get(), p);
            let mut out = Vec::new();
            v.write_to(&mut out);
            assert_eq!(out, s.as_bytes());
        }
        for s in ["+5", "-0", "05", "10", "-10", "", "-", "a"] {
            assert!(MtPriority::parse(s.as_bytes()).is_err(), "{s}");
        }
        assert!(MtPriority::new(10).is_none());
        assert!(MtPriority::new(-9).is_some());
        assert_eq!(INVALID.enhanced().to_string(), "5.5.2");
        assert_eq!(TOO_BIG_FOR_PRIORITY.enhanced().to_string(), "5.7.16");
    }

    #[test]
    fn priority_value_streams_rfc6710_7() {
        crate::grammar::param::assert_streaming!(priority_value, &["0", "9", "-9", "-1"]);
    }
}
