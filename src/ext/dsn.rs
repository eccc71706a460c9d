//! DSN (RFC 3461, with RFC 6533 §3 for UTF-8 addresses): `RET=` and
//! `ENVID=` on MAIL, `NOTIFY=` and `ORCPT=` on RCPT.
//!
//! RFC 3461 §4.5 says a duplicated or invalid RET or ENVID "MUST" get 501
//! (and NOTIFY or ORCPT SHOULD): those are
//! [`SyntaxErrorKind::ParameterValue`](crate::error::SyntaxErrorKind::ParameterValue)
//! errors. Unknown keywords in RET or NOTIFY are
//! [`UnsupportedParameterValue`](crate::error::SyntaxErrorKind::UnsupportedParameterValue).

use nom::branch::alt;
use nom::bytes::streaming::{tag_no_case, take_till};
use nom::character::streaming::{char, one_of};
use nom::combinator::{map, peek, value};
use nom::sequence::terminated;

use super::seam::{
    advertise_if, offered, Extension, MailParamDef, Negotiation, Offer, ParamDef, RcptParamDef,
};
use super::{invalid, unsupported, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::grammar::param::{Fail, Terminated, VRes};
use crate::options::ParseOptions;
use crate::params::{key, set, write_xtext, MailParams, RcptParams};
use crate::values::XText;

mod orcpt;

pub use orcpt::{AddrType, Orcpt};

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "DSN";
/// The MAIL parameter `RET=`.
pub const PARAM_RET: &str = "RET";
/// The MAIL parameter `ENVID=` (an xtext, [`XText`]).
pub const PARAM_ENVID: &str = "ENVID";
/// The RCPT parameter `NOTIFY=`.
pub const PARAM_NOTIFY: &str = "NOTIFY";
/// The RCPT parameter `ORCPT=`.
pub const PARAM_ORCPT: &str = "ORCPT";

/// `RET=FULL` / `RET=HDRS` (RFC 3461 §4.3; any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// Return the full message in failure DSNs.
    Full,
    /// Return only the headers.
    Hdrs,
}

impl Ret {
    /// Parses `FULL` or `HDRS` in any case; other words are unsupported
    /// values (`555 5.5.4`).
    pub fn parse(value: &[u8]) -> Result<Self, SyntaxError> {
        Terminated::new(value).parse(ret_value, unsupported("RET is neither FULL nor HDRS"))
    }

    /// The canonical wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Hdrs => "HDRS",
        }
    }

    /// Appends the wire form.
    pub fn write_to(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_str().as_bytes());
    }
}

/// `ret-value = "FULL" / "HDRS"` (RFC 3461 §4.3, "in any combination of
/// upper and lower case").
fn ret_value(input: &[u8]) -> VRes<'_, Ret> {
    alt((
        value(Ret::Full, tag_no_case("FULL")),
        value(Ret::Hdrs, tag_no_case("HDRS")),
    ))(input)
}

/// Decodes `ENVID=` (RFC 3461 §4.4): an xtext, kept decoded.
pub fn parse_envid<'a>(value: &'a [u8], opts: &ParseOptions) -> Result<XText<'a>, SyntaxError> {
    XText::decode(value, opts.lenient_mode())
}

/// `NOTIFY=` (RFC 3461 §4.1): `NEVER`, or a non-empty set of `SUCCESS`,
/// `FAILURE` and `DELAY`. The set with no member is `NEVER`, so "NEVER
/// MUST appear by itself" holds by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// Notify on successful delivery.
    pub success: bool,
    /// Notify on failure.
    pub failure: bool,
    /// Notify on delay.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };

    /// True for `NEVER`.
    pub const fn is_never(self) -> bool {
        !(self.success || self.failure || self.delay)
    }

    /// Parses the value, keywords in any case (RFC 3461 §4.1).
    ///
    /// `1#notify-list-element` is an RFC 822 list, which admits empty
    /// elements (RFC 3461 §4.1). Strict mode rejects empty elements
    /// and repeated keywords; lenient mode skips empty elements and
    /// ignores repeats, but still needs one keyword. `NEVER` with anything
    /// else is invalid (`501`); an unknown keyword is unsupported (`504`).
    pub fn parse(value: &[u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        let value = Terminated::new(value);
        let never = terminated(tag_no_case("NEVER"), peek(char(' ')));
        if value.parse(never, invalid("")).is_ok() {
            return Ok(Notify::NEVER);
        }
        let lenient = opts.lenient_mode();
        let mut n = Notify::NEVER;
        let mut input = value.input();
        loop {
            // Neither production fails: an item is anything up to the next
            // "," or the end, which its reason below rejects.
            let (rest, item) = list_item(input).map_err(|_| invalid("empty NOTIFY list"))?;
            if rest.len() > 1 && rest.first() != Some(&b',') {
                // A SP inside the value: no keyword holds one.
                return Err(unsupported("unknown NOTIFY keyword"));
            }
            match item {
                Ok(element) => {
                    let slot = match element {
                        Element::Success => &mut n.success,
                        Element::Failure => &mut n.failure,
                        Element::Delay => &mut n.delay,
                    };
                    if *slot && !lenient {
                        return Err(invalid("repeated NOTIFY keyword"));
                    }
                    *slot = true;
                }
                Err([]) => {
                    if !lenient {
                        return Err(invalid("empty NOTIFY list element"));
                    }
                }
                Err(other) if other.eq_ignore_ascii_case(b"NEVER") => {
                    return Err(invalid("NOTIFY=NEVER must appear by itself"));
                }
                Err(_) => return Err(unsupported("unknown NOTIFY keyword")),
            }
            match char::<_, Fail>(',')(rest) {
                Ok((after, _)) => input = after,
                Err(_) => break,
            }
        }
        if n.is_never() {
            return Err(invalid("empty NOTIFY list"));
        }
        Ok(n)
    }

    /// Appends the canonical form: `NEVER`, or the members in the order
    /// SUCCESS, FAILURE, DELAY.
    pub fn write_to(self, out: &mut Vec<u8>) {
        if self.is_never() {
            out.extend_from_slice(b"NEVER");
            return;
        }
        let mut first = true;
        for (on, word) in [
            (self.success, &b"SUCCESS"[..]),
            (self.failure, b"FAILURE"),
            (self.delay, b"DELAY"),
        ] {
            if on {
                if !first {
                    out.push(b',');
                }
                out.extend_from_slice(word);
                first = false;
            }
        }
    }
}

/// `notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"` (RFC 3461
/// §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    Success,
    Failure,
    Delay,
}

/// `notify-list-element`, whole: up to the "," or SP after it.
fn notify_list_element(input: &[u8]) -> VRes<'_, Element> {
    terminated(
        alt((
            value(Element::Success, tag_no_case("SUCCESS")),
            value(Element::Failure, tag_no_case("FAILURE")),
            value(Element::Delay, tag_no_case("DELAY")),
        )),
        peek(one_of(", ")),
    )(input)
}

/// One item of the `1#notify-list-element` list as written (RFC 822 §2.7):
/// an element, or the other octets up to the next "," (empty for an
/// empty item), which the list refuses with their reason.
fn list_item(input: &[u8]) -> VRes<'_, Result<Element, &[u8]>> {
    alt((
        map(notify_list_element, Ok),
        map(take_till(|b| b == b',' || b == b' '), Err),
    ))(input)
}

/// DSN: `RET=` and `ENVID=` on MAIL, `NOTIFY=` and `ORCPT=` on RCPT, all
/// accepted when offered; the client keeps them when offered, else
/// strips or fails them together ([`ParamPolicy`](crate::client::ParamPolicy)).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[RET, ENVID],
    rcpt: &[NOTIFY, ORCPT],
    advertise,
    check_mail,
    check_rcpt,
    choose,
    strip_rcpt: |p| {
        p.notify = None;
        p.orcpt = None;
    },
    ..Extension::NONE
};

const RET: MailParamDef = ParamDef {
    keyword: PARAM_RET,
    eq_in_value: false,
    parse: |p, v, _| set(&mut p.ret, || Ret::parse(v.need()?)),
    write: |p, out| {
        if let Some(r) = p.ret {
            key(out, PARAM_RET);
            r.write_to(out);
        }
    },
};

const ENVID: MailParamDef = ParamDef {
    keyword: PARAM_ENVID,
    eq_in_value: false,
    parse: |p, v, opts| set(&mut p.envid, || v.xtext(opts)),
    write: |p, out| write_xtext(out, PARAM_ENVID, &p.envid),
};

const NOTIFY: RcptParamDef = ParamDef {
    keyword: PARAM_NOTIFY,
    eq_in_value: false,
    parse: |p, v, opts| set(&mut p.notify, || Notify::parse(v.need()?, opts)),
    write: |p, out| {
        if let Some(n) = p.notify {
            key(out, PARAM_NOTIFY);
            n.write_to(out);
        }
    },
};

const ORCPT: RcptParamDef = ParamDef {
    keyword: PARAM_ORCPT,
    eq_in_value: false,
    parse: |p, v, opts| {
        set(&mut p.orcpt, || {
            let value = v.need()?;
            // Every octet an xchar: the common `rfc822;addr` needs no
            // second look.
            if v.is_xchars() {
                if let Some(o) = v.str_of(value).and_then(Orcpt::parse_xchars) {
                    return Ok(o);
                }
            }
            Orcpt::parse(value, opts)
        })
    },
    write: |p, out| {
        if let Some(o) = &p.orcpt {
            key(out, PARAM_ORCPT);
            o.write_to(out);
        }
    },
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    advertise_if(caps, Keyword::Dsn, o.ext().dsn);
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.ret.is_some() || p.envid.is_some() {
        offered(o.ext().dsn)?;
    }
    Ok(())
}

fn check_rcpt(p: &RcptParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.notify.is_some() || p.orcpt.is_some() {
        offered(o.ext().dsn)?;
    }
    Ok(())
}

/// RFC 3461 §4.1: without DSN downstream the relay behaves as a non-DSN
/// one, which stripping the parameters reproduces.
fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    let rcpt = n.any_rcpt(|p| p.notify.is_some() || p.orcpt.is_some());
    let mail = n.params.ret.is_some() || n.params.envid.is_some();
    if n.strip_unless(mail || rcpt, Keyword::Dsn)? {
        n.params.ret = None;
        n.params.envid = None;
        n.strip_rcpt_params();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SyntaxErrorKind;

    const STRICT: ParseOptions = ParseOptions::strict();
    const LENIENT: ParseOptions = ParseOptions::lenient();

    fn w(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn ret_rfc3461_4_3() {
        assert_eq!(Ret::parse(b"hdrs").unwrap(), Ret::Hdrs);
        assert_eq!(Ret::parse(b"FULL").unwrap(), Ret::Full);
        assert_eq!(
            Ret::parse(b"PARTIAL").unwrap_err().kind(),
            SyntaxErrorKind::UnsupportedParameterValue
        );
    }

    #[test]
    fn notify_rfc3461_4_1() {
        let sf = Notify {
            success: true,
            failure: true,
            delay: false,
        };
        assert_eq!(Notify::parse(b"SUCCESS,FAILURE", &STRICT).unwrap(), sf);
        assert_eq!(Notify::parse(b"failure,Success", &STRICT).unwrap(), sf);
        assert_eq!(Notify::parse(b"never", &STRICT).unwrap(), Notify::NEVER);
        assert_eq!(
            Notify::parse(b"NEVER,SUCCESS", &LENIENT)
                .unwrap_err()
                .kind(),
            SyntaxErrorKind::ParameterValue
        );
        assert_eq!(
            Notify::parse(b"SOMETIMES", &LENIENT).unwrap_err().kind(),
            SyntaxErrorKind::UnsupportedParameterValue
        );
        // Empty elements: strict rejects, lenient skips.
        assert!(Notify::parse(b"SUCCESS,,DELAY", &STRICT).is_err());
        assert!(Notify::parse(b"SUCCESS,", &STRICT).is_err());
        assert_eq!(
            Notify::parse(b"SUCCESS,,DELAY", &LENIENT).unwrap(),
            Notify {
                success: true,
                failure: false,
                delay: true
            }
        );
        assert!(Notify::parse(b",", &LENIENT).is_err());
        assert!(Notify::parse(b"DELAY,DELAY", &STRICT).is_err());
        assert!(Notify::parse(b"DELAY,DELAY", &LENIENT).is_ok());
        assert_eq!(w(|o| Notify::NEVER.write_to(o)), "NEVER");
        assert_eq!(
            w(|o| Notify {
                success: true,
                failure: true,
                delay: true
            }
            .write_to(o)),
            "SUCCESS,FAILURE,DELAY"
        );
    }

    #[test]
    fn notify_words_are_whole_rfc3461_4_1() {
        // A prefix or an extension of a word is not the word (RFC 3461
        // §4.1 lists whole keywords).
        for v in [
            "SUCCES",
            "SUCCESSS",
            "DELA",
            "DELAYY",
            "FAILURE\0",
            "NEVERR",
        ] {
            assert!(Notify::parse(v.as_bytes(), &LENIENT).is_err(), "{v}");
        }
        assert_eq!(
            Notify::parse(b"delay", &STRICT).unwrap(),
            Notify {
                success: false,
                failure: false,
                delay: true
            }
        );
    }

    #[test]
    fn productions_stream_rfc3461_4() {
        use crate::grammar::param::assert_streaming;
        assert_streaming!(ret_value, &["FULL", "hdrs"]);
        assert_streaming!(notify_list_element, &["SUCCESS", "failure", "Delay"]);
        assert_streaming!(list_item, &["SUCCESS", "x-other", ""]);
    }
}
