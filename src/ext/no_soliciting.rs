//! NO-SOLICITING (RFC 3865): the MAIL `SOLICIT=` parameter.

use std::borrow::Cow;

use super::seam::{refuse_if, Extension, MailParamDef, ParamDef, NOT_OFFERED};
use nom::bytes::streaming::take_while;
use nom::character::streaming::{char, satisfy};
use nom::combinator::recognize;
use nom::multi::many0_count;
use nom::sequence::{pair, preceded};

use super::{invalid, reply, MandatedReply};
use crate::error::SyntaxError;
use crate::grammar::param::{Terminated, VRes};
use crate::params::{key, set};

/// The EHLO keyword (`NO-SOLICITING [keywords]`).
pub const EHLO_KEYWORD: &str = "NO-SOLICITING";
/// The MAIL parameter keyword.
pub const PARAM: &str = "SOLICIT";
/// `Solicitation-keywords` is limited to 1000 characters (RFC 3865 §2).
pub const MAX_LEN: usize = 1000;

/// `Solicitation-keywords = word 0*("," word)` (RFC 3865 §2), kept as
/// written; keywords are conventionally `reversed.domain:NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Solicit<'a>(Cow<'a, str>);

/// Checks a keyword list: at most 1000 characters (RFC 3865 §2.2), then
/// the grammar.
fn check(s: &[u8]) -> Result<(), SyntaxError> {
    if s.len() > MAX_LEN {
        return Err(invalid("SOLICIT longer than 1000 characters"));
    }
    Terminated::new(s).parse(
        solicitation_keywords,
        invalid("invalid SOLICIT keyword list"),
    )?;
    Ok(())
}

/// `Solicitation-keywords = word *("," word)` (RFC 3865 §2.2).
fn solicitation_keywords(input: &[u8]) -> VRes<'_, &[u8]> {
    recognize(pair(word, many0_count(preceded(char(','), word))))(input)
}

/// `word = ALPHA 0*(wordchar)`, `wordchar = ("." / "-" / "_" / ":" /
/// ALPHA / DIGIT)` (RFC 3865 §2.2).
fn word(input: &[u8]) -> VRes<'_, &[u8]> {
    let wordchar = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':');
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic()),
        take_while(wordchar),
    ))(input)
}

impl<'a> Solicit<'a> {
    /// A keyword list, validated.
    pub fn new(list: impl Into<Cow<'a, str>>) -> Result<Self, SyntaxError> {
        let list = list.into();
        check(list.as_bytes())?;
        Ok(Solicit(list))
    }

    /// Parses the value.
    pub fn parse(value: &'a [u8]) -> Result<Self, SyntaxError> {
        check(value)?;
        std::str::from_utf8(value)
            .map(|s| Solicit(Cow::Borrowed(s)))
            .map_err(|_| invalid("invalid SOLICIT keyword list"))
    }

    /// The list as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The keywords.
    pub fn keywords(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.split(',')
    }

    /// Appends the wire form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.as_bytes());
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Solicit<'static> {
        Solicit(Cow::Owned(self.0.into_owned()))
    }
}

/// A refusal for a matched keyword; the text SHOULD also echo
/// `SOLICIT=<matched keywords>` (RFC 3865 §3, "usually 5.7.1").
pub const REFUSED: MandatedReply = reply(550, 5, 7, 1, "Solicitation refused");

/// An EHLO `NO-SOLICITING` value: the same `Solicitation-keywords`
/// (RFC 3865 §2.1).
pub(crate) fn is_keywords(k: &[u8]) -> bool {
    check(k).is_ok()
}

/// NO-SOLICITING: `SOLICIT=` on MAIL, parsed and typed; a server does not
/// offer it yet, so refuses it (RFC 5321 §4.1.1.11); a client sends it as
/// the caller gave it.
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[SOLICIT],
    check_mail: |p, _| refuse_if(p.extras().solicit.is_some(), NOT_OFFERED),
    ..Extension::NONE
};

const SOLICIT: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.extras_mut().solicit, || Solicit::parse(v.need()?)),
    write: |p, out| {
        if let Some(s) = &p.extras().solicit {
            key(out, PARAM);
            s.write_to(out);
        }
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicit_values_rfc3865_2() {
        let s = Solicit::parse(b"org.example:ADV:ADLT,net.example:ADV").unwrap();
        assert_eq!(
            s.keywords().collect::<Vec<_>>(),
            ["org.example:ADV:ADLT", "net.example:ADV"]
        );
        for v in ["", ",", "a,", "1abc", "a b", "a;b", "a,,b"] {
            assert!(Solicit::parse(v.as_bytes()).is_err(), "{v}");
        }
        assert!(Solicit::new("a".repeat(1001)).is_err());
        assert!(Solicit::new("a".repeat(1000)).is_ok());
        assert_eq!(REFUSED.enhanced().to_string(), "5.7.1");
    }

    #[test]
    fn solicitation_keywords_stream_rfc3865_2_2() {
        crate::grammar::param::assert_streaming!(
            solicitation_keywords,
            &["org.example:ADV:ADLT,net.example:ADV", "a", "a1.b-c_d:e"],
        );
    }
}
