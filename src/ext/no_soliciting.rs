//! NO-SOLICITING (RFC 3865): the EHLO keyword list, the MAIL `SOLICIT=`
//! parameter, and the refusal a receiver whose policy matches sends.

use std::borrow::Cow;

use super::seam::{offered, Extension, MailParamDef, Negotiation, Offer, ParamDef};
use nom::bytes::streaming::take_while;
use nom::character::streaming::{char, satisfy};
use nom::combinator::recognize;
use nom::multi::many0_count;
use nom::sequence::{pair, preceded};

use super::{invalid, reply, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{Terminated, VRes};
use crate::params::{key, set, MailParams};
use crate::reply::{Reply, ReplyTextError};

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

    /// The keywords of this list that `policy` names too, in this list's
    /// order: what a receiver refuses the message for (RFC 3865 §2.3).
    /// Keywords begin with a reversed domain name, so they are compared
    /// in any case.
    pub fn matching<'s>(&'s self, policy: &'s Solicit<'_>) -> impl Iterator<Item = &'s str> + 's {
        self.keywords()
            .filter(move |k| policy.keywords().any(|p| p.eq_ignore_ascii_case(k)))
    }

    /// The keywords of this list that `policy` names too, as a list
    /// ([`Solicit::matching`]); `None` when none matches.
    pub fn matched_by(&self, policy: &Solicit<'_>) -> Option<Solicit<'static>> {
        let mut list = String::new();
        for k in self.matching(policy) {
            if !list.is_empty() {
                list.push(',');
            }
            list.push_str(k);
        }
        // Words of a valid list, joined by commas: a valid list, no
        // longer than this one.
        (!list.is_empty()).then_some(Solicit(Cow::Owned(list)))
    }
}

/// The longest keyword list a refusal echoes: a reply line is at most 512
/// octets (RFC 5321 §4.5.3.1.5), with room for the code, the enhanced code
/// and the text around the list.
const MAX_ECHO: usize = 440;

/// The reply refusing a message for the solicitation keywords it matched
/// (RFC 3865 §2.4): `550 5.7.1` ("usually 5.7.1"), echoing
/// `SOLICIT=<matched>` as the RFC says it SHOULD. Use it to answer the
/// MAIL (the EHLO keywords apply to every message) or a RCPT (a
/// recipient's own keywords, §2.3). Keywords that would make the line
/// longer than 512 octets are left out of the echo.
///
/// ```
/// use esmtp::ext::no_soliciting::{refusal, Solicit};
///
/// let sent = Solicit::parse(b"org.example:ADV:ADLT,net.example:ADV").unwrap();
/// let policy = Solicit::new("net.example:ADV").unwrap();
/// let matched = sent.matched_by(&policy).expect("the policy matches");
/// let reply = refusal(&matched).unwrap();
/// assert_eq!(reply.to_bytes(), b"550 5.7.1 SOLICIT=net.example:ADV Solicitation refused\r\n");
/// ```
pub fn refusal(matched: &Solicit<'_>) -> Result<Reply<'static>, ReplyTextError> {
    let mut echo = String::from(PARAM);
    echo.push('=');
    let mut first = true;
    for k in matched.keywords() {
        if echo.len() + k.len() + 1 > MAX_ECHO {
            break;
        }
        if !first {
            echo.push(',');
        }
        echo.push_str(k);
        first = false;
    }
    if first {
        // Not even one keyword fits: the refusal without its echo.
        echo.clear();
    } else {
        echo.push(' ');
    }
    echo.push_str(REFUSED.text());
    Reply::new(REFUSED.code(), Some(REFUSED.enhanced()), [echo])
}

/// A refusal for a matched keyword: 550, "usually 5.7.1" (RFC 3865 §2.4);
/// [`refusal`] adds the `SOLICIT=<matched keywords>` echo the RFC says the
/// text SHOULD hold.
pub const REFUSED: MandatedReply = reply(550, 5, 7, 1, "Solicitation refused");

/// An EHLO `NO-SOLICITING` value: the same `Solicitation-keywords`
/// (RFC 3865 §2.1).
pub(crate) fn is_keywords(k: &[u8]) -> bool {
    check(k).is_ok()
}

/// NO-SOLICITING: advertised with the keywords of
/// [`Extensions::no_soliciting`](crate::server::Extensions::no_soliciting);
/// `SOLICIT=` on MAIL accepted when offered and handed to the application,
/// whose policy refuses with [`refusal`]; a client sends `SOLICIT=` only
/// to a server that offers it, else strips or fails it per
/// [`ParamPolicy`](crate::client::ParamPolicy).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[SOLICIT],
    advertise,
    check_mail,
    choose,
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

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    if let Some(keywords) = &o.ext().no_soliciting {
        // A `Solicit` is a valid list, so this cannot fail.
        let _ = caps.set_no_soliciting(keywords.as_ref().map(|k| Cow::Borrowed(k.as_str())));
    }
}

/// RFC 5321 §4.1.1.11: `SOLICIT=` only when NO-SOLICITING was offered.
fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.extras().solicit.is_some() {
        offered(o.ext().no_soliciting.is_some())?;
    }
    Ok(())
}

fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let present = n.params.extras().solicit.is_some();
    if n.strip_unless(present, Keyword::NoSoliciting)? {
        n.params.extras_mut().solicit = None;
    }
    Ok(())
}

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
    fn matching_keywords_rfc3865_2_3() {
        let sent = Solicit::parse(b"org.example:ADV:ADLT,net.example:ADV").unwrap();
        let policy = Solicit::new("NET.example:ADV,com.example:X").unwrap();
        assert_eq!(
            sent.matching(&policy).collect::<Vec<_>>(),
            ["net.example:ADV"]
        );
        assert_eq!(
            sent.matched_by(&policy).unwrap().as_str(),
            "net.example:ADV"
        );
        let none = Solicit::new("com.example:X").unwrap();
        assert!(sent.matched_by(&none).is_none());
    }

    /// RFC 3865 §2.4: 550 with "usually 5.7.1", and the matched keywords
    /// echoed as a `Mail-From-Solicit-Parameter`.
    #[test]
    fn refusal_echoes_the_matched_keywords_rfc3865_2_4() {
        let matched = Solicit::new("org.example:ADV:ADLT,net.example:ADV").unwrap();
        let r = refusal(&matched).unwrap();
        assert_eq!(r.code().get(), 550);
        assert_eq!(r.enhanced().unwrap().to_string(), "5.7.1");
        assert_eq!(
            r.text(),
            "SOLICIT=org.example:ADV:ADLT,net.example:ADV Solicitation refused"
        );
        // A list too long for one reply line is echoed as far as it fits.
        let long = vec!["a".repeat(99); 10].join(",");
        let r = refusal(&Solicit::new(long).unwrap()).unwrap();
        assert!(r.to_bytes().len() <= 512, "{}", r.to_bytes().len());
        assert!(r.text().starts_with("SOLICIT=aaa"));
        let one = Solicit::new("a".repeat(999)).unwrap();
        assert_eq!(refusal(&one).unwrap().text(), "Solicitation refused");
    }

    #[test]
    fn solicitation_keywords_stream_rfc3865_2_2() {
        crate::grammar::param::assert_streaming!(
            solicitation_keywords,
            &["org.example:ADV:ADLT,net.example:ADV", "a", "a1.b-c_d:e"],
        );
    }
}
