//! Local parts and mailboxes (RFC 5321 §4.1.2; RFC 6531 §3.3 for UTF-8).

use std::borrow::Cow;
use std::fmt;

use super::domain::{AddressLiteral, Domain, DomainRules};
use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::octets::class::{is_atext, is_quotable};

/// RFC 5321 §4.5.3.1.1: a local part is at most 64 octets (counted here
/// on the wire form, quotes included, RFC 5321 §4.1.2).
pub const MAX_LOCAL_PART_LEN: usize = 64;

const fn err(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

/// A local part, kept unquoted: `"a b"@x` and `a b` (quoted on the wire)
/// are the same value, since "all quoted forms MUST be treated as
/// equivalent" (RFC 5321 §2.4). It is written back with the minimum
/// quoting possible. Case is preserved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalPart<'a>(Cow<'a, str>);

impl<'a> LocalPart<'a> {
    /// A local part from its unquoted text: printable ASCII and space, or
    /// non-ASCII UTF-8 (which needs SMTPUTF8 on the wire).
    pub fn new(text: &'a str) -> Result<Self, SyntaxError> {
        check_unquoted(text)?;
        Ok(LocalPart(Cow::Borrowed(text)))
    }

    /// A local part from text the caller has checked to be a
    /// `Dot-string` (the command fast path).
    #[inline(always)]
    pub(crate) fn from_valid(text: &'a str) -> Self {
        LocalPart(Cow::Borrowed(text))
    }

    /// The unquoted text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True unless the text holds non-ASCII characters.
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// Whether it can be written as a `Dot-string`, without quotes.
    pub fn is_dot_string(&self) -> bool {
        is_dot_string(self.0.as_bytes())
    }

    /// The length of the wire form in octets.
    pub fn wire_len(&self) -> usize {
        if self.is_dot_string() {
            self.0.len()
        } else {
            2 + self.0.len() + self.0.bytes().filter(|&b| b == b'"' || b == b'\\').count()
        }
    }

    /// Appends the wire form, quoting only when needed (RFC 5321 §4.1.2).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if self.is_dot_string() {
            out.extend_from_slice(self.0.as_bytes());
            return;
        }
        out.push(b'"');
        for &b in self.0.as_bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> LocalPart<'static> {
        LocalPart(Cow::Owned(self.0.into_owned()))
    }

    /// Parses a wire-form local part at the start of `input`, returning it
    /// and the number of octets used.
    pub(crate) fn parse_prefix(input: &'a [u8], utf8: bool) -> Result<(Self, usize), SyntaxError> {
        if input.first() == Some(&b'"') {
            return parse_quoted(input, utf8);
        }
        let end = input
            .iter()
            .position(|&b| !(is_atext(b) || b == b'.' || (utf8 && b >= 0x80)))
            .unwrap_or(input.len());
        let text = &input[..end];
        if !is_dot_string_with(text, utf8) {
            return Err(if !utf8 && input.get(end).is_some_and(|&b| b >= 0x80) {
                SyntaxError::new(
                    SyntaxErrorKind::Character,
                    "non-ASCII address without SMTPUTF8",
                )
            } else {
                err("invalid local part")
            });
        }
        let s = std::str::from_utf8(text).map_err(|_| err("local part is not valid UTF-8"))?;
        check_utf8_local(s)?;
        Ok((LocalPart(Cow::Borrowed(s)), end))
    }
}

/// `DQUOTE *QcontentSMTP DQUOTE`; borrowed when there is no quoted-pair.
fn parse_quoted(input: &[u8], utf8: bool) -> Result<(LocalPart<'_>, usize), SyntaxError> {
    let mut i = 1;
    let mut escapes = false;
    loop {
        match input.get(i) {
            None => return Err(err("unterminated quoted local part")),
            Some(b'"') => break,
            Some(b'\\') => match input.get(i + 1) {
                // quoted-pairSMTP = %d92 %d32-126
                Some(&c) if is_quotable(c) => {
                    escapes = true;
                    i += 2;
                }
                _ => return Err(err("invalid quoted-pair in local part")),
            },
            Some(&c) if is_quotable(c) || (utf8 && c >= 0x80) => i += 1,
            Some(&c) if c >= 0x80 => {
                return Err(SyntaxError::new(
                    SyntaxErrorKind::Character,
                    "non-ASCII address without SMTPUTF8",
                ))
            }
            Some(_) => return Err(err("invalid character in quoted local part")),
        }
    }
    let inner = &input[1..i];
    let text = if escapes {
        let mut v = Vec::with_capacity(inner.len());
        let mut it = inner.iter();
        while let Some(&b) = it.next() {
            if b == b'\\' {
                if let Some(&n) = it.next() {
                    v.push(n);
                }
            } else {
                v.push(b);
            }
        }
        Cow::Owned(String::from_utf8(v).map_err(|_| err("local part is not valid UTF-8"))?)
    } else {
        Cow::Borrowed(std::str::from_utf8(inner).map_err(|_| err("local part is not valid UTF-8"))?)
    };
    check_utf8_local(&text)?;
    Ok((LocalPart(text), i + 1))
}

/// No C1 control or bidi override in a UTF-8 local part (RFC 6531 §3.3
/// extends atext and qtext with UTF-8 non-ASCII, RFC 5198 §2 keeps
/// controls out of network text).
#[inline]
fn check_utf8_local(s: &str) -> Result<(), SyntaxError> {
    if !s.is_ascii() && crate::octets::class::has_deceptive_char(s) {
        return Err(err("control or bidi override in local part"));
    }
    Ok(())
}

fn check_unquoted(text: &str) -> Result<(), SyntaxError> {
    if text
        .chars()
        .all(|c| (' '..='~').contains(&c) || (!c.is_ascii() && !c.is_control()))
    {
        Ok(())
    } else {
        Err(err("control character in local part"))
    }
}

fn is_dot_string(b: &[u8]) -> bool {
    is_dot_string_with(b, true)
}

/// `Atom *("." Atom)`, with UTF-8 atext when allowed.
#[inline]
fn is_dot_string_with(b: &[u8], utf8: bool) -> bool {
    dot_string_len(b, utf8) == Some(b.len())
}

/// The length of the `Dot-string` at the start of `b`, in one pass: it
/// ends at the first octet that is neither atext nor `.` (nor UTF-8 when
/// allowed). `None` unless that prefix is a valid `Atom *("." Atom)`.
#[inline]
fn dot_string_len(b: &[u8], utf8: bool) -> Option<usize> {
    // After a dot (and at the start) an atom must begin.
    let mut after_dot = true;
    let mut n = b.len();
    for (i, &c) in b.iter().enumerate() {
        if is_atext(c) || (utf8 && c >= 0x80) {
            after_dot = false;
        } else if c == b'.' {
            if after_dot {
                return None;
            }
            after_dot = true;
        } else {
            n = i;
            break;
        }
    }
    if after_dot {
        None
    } else {
        Some(n)
    }
}

/// The part after `@`: a domain or an address literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Host<'a> {
    /// A domain name.
    Domain(Domain<'a>),
    /// An address literal such as `[192.0.2.1]`.
    Literal(AddressLiteral),
}

impl Host<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(d.into_owned()),
            Host::Literal(l) => Host::Literal(l),
        }
    }

    /// Appends the wire form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Host::Domain(d) => out.extend_from_slice(d.as_str().as_bytes()),
            Host::Literal(l) => l.write_to(out),
        }
    }

    /// True unless a U-label is present.
    pub fn is_ascii(&self) -> bool {
        match self {
            Host::Domain(d) => d.is_ascii(),
            Host::Literal(_) => true,
        }
    }

    pub(crate) fn parse_with(bytes: &[u8], rules: DomainRules) -> Result<Host<'_>, SyntaxError> {
        if bytes.first() == Some(&b'[') {
            AddressLiteral::parse(bytes).map(Host::Literal)
        } else {
            Domain::parse_with(bytes, rules).map(Host::Domain)
        }
    }

    /// [`Host::parse_with`] for text already known to be UTF-8.
    #[inline]
    pub(crate) fn parse_str(s: &str, rules: DomainRules) -> Result<Host<'_>, SyntaxError> {
        if s.as_bytes().first() == Some(&b'[') {
            AddressLiteral::parse(s.as_bytes()).map(Host::Literal)
        } else {
            Domain::parse_str(s, rules).map(Host::Domain)
        }
    }

    /// Parses a domain or a bracketed address literal.
    pub fn parse(s: &str) -> Result<Host<'_>, SyntaxError> {
        Self::parse_str(
            s,
            DomainRules {
                utf8: true,
                underscore: false,
            },
        )
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => d.fmt(f),
            Host::Literal(l) => l.fmt(f),
        }
    }
}

impl<'a> From<Domain<'a>> for Host<'a> {
    fn from(d: Domain<'a>) -> Self {
        Host::Domain(d)
    }
}

impl From<AddressLiteral> for Host<'_> {
    fn from(l: AddressLiteral) -> Self {
        Host::Literal(l)
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<'a> {
    /// The unquoted local part.
    pub local: LocalPart<'a>,
    /// The domain or address literal.
    pub host: Host<'a>,
}

impl<'a> Mailbox<'a> {
    /// A mailbox from its parts.
    pub fn new(local: LocalPart<'a>, host: impl Into<Host<'a>>) -> Self {
        Mailbox {
            local,
            host: host.into(),
        }
    }

    /// Parses the wire form (`local@domain`, local part possibly quoted).
    pub fn parse(s: &'a str) -> Result<Self, SyntaxError> {
        Self::parse_str(s, true)
    }

    /// [`Mailbox::parse_bytes`] for text already known to be UTF-8. The
    /// common `dot-string@domain` takes one pass over each part and no
    /// UTF-8 re-check; anything else (quoted local parts, errors) takes
    /// the general path, so the result is always the same.
    #[inline]
    pub(crate) fn parse_str(s: &'a str, utf8: bool) -> Result<Self, SyntaxError> {
        let b = s.as_bytes();
        if let Some(n) = dot_string_len(b, utf8) {
            if b.get(n) == Some(&b'@') {
                // `n` and `n + 1` sit beside an ASCII '@': char boundaries.
                if let (Some(local), Some(rest)) = (s.get(..n), s.get(n + 1..)) {
                    if rest.as_bytes().first() != Some(&b'[') {
                        let rules = DomainRules {
                            utf8,
                            underscore: false,
                        };
                        check_utf8_local(local)?;
                        return Ok(Mailbox {
                            local: LocalPart(Cow::Borrowed(local)),
                            host: Host::Domain(Domain::parse_str(rest, rules)?),
                        });
                    }
                }
            }
        }
        Self::parse_bytes(b, utf8)
    }

    /// Parses the wire form from octets (UTF-8 checked part by part).
    pub(crate) fn parse_bytes(bytes: &'a [u8], utf8: bool) -> Result<Self, SyntaxError> {
        let (local, n) = LocalPart::parse_prefix(bytes, utf8)?;
        let rest = match bytes.get(n) {
            Some(b'@') => &bytes[n + 1..],
            _ => return Err(err("missing '@' in mailbox")),
        };
        let host = Host::parse_with(
            rest,
            DomainRules {
                utf8,
                underscore: false,
            },
        )?;
        Ok(Mailbox { local, host })
    }

    /// True unless the local part or domain is internationalised (which
    /// needs SMTPUTF8, RFC 6531 §3.3).
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.host.is_ascii()
    }

    /// Appends the wire form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.local.write_to(out);
        out.push(b'@');
        self.host.write_to(out);
    }

    /// The wire form as a string.
    pub fn to_wire_string(&self) -> String {
        let mut v = Vec::new();
        self.write_to(&mut v);
        // Built from validated UTF-8 parts.
        String::from_utf8(v).unwrap_or_default()
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            local: self.local.into_owned(),
            host: self.host.into_owned(),
        }
    }
}

impl fmt::Display for Mailbox<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_wire_string())
    }
}

impl<'a> TryFrom<&'a str> for Mailbox<'a> {
    type Error = SyntaxError;
    fn try_from(s: &'a str) -> Result<Self, SyntaxError> {
        Mailbox::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(m: &Mailbox<'_>) -> String {
        m.to_wire_string()
    }

    #[test]
    fn quoted_forms_are_equivalent_rfc5321_2_4() {
        let a = Mailbox::parse("\"joe\"@example.com").unwrap();
        let b = Mailbox::parse("joe@example.com").unwrap();
        assert_eq!(a, b);
        assert_eq!(wire(&a), "joe@example.com");
        // "Joe\,Smith" is a single 9-character name (§4.1.2).
        let c = Mailbox::parse(r#""Joe\,Smith"@example.com"#).unwrap();
        assert_eq!(c.local.as_str(), "Joe,Smith");
        assert_eq!(wire(&c), r#""Joe,Smith"@example.com"#);
        let d = Mailbox::parse(r#""a \"b\" \\c"@x.org"#).unwrap();
        assert_eq!(d.local.as_str(), r#"a "b" \c"#);
        assert_eq!(wire(&d), r#""a \"b\" \\c"@x.org"#);
        assert_eq!(Mailbox::parse(&wire(&d)).unwrap(), d);
        assert_eq!(wire(&Mailbox::parse("\"\"@x.org").unwrap()), "\"\"@x.org");
    }

    #[test]
    fn local_part_syntax_rfc5321_4_1_2() {
        assert!(Mailbox::parse("a.b@x.org").is_ok());
        assert!(Mailbox::parse(".a@x.org").is_err());
        assert!(Mailbox::parse("a..b@x.org").is_err());
        assert!(Mailbox::parse("a.@x.org").is_err());
        assert!(Mailbox::parse("a b@x.org").is_err());
        assert!(Mailbox::parse("\"a\tb\"@x.org").is_err());
        assert!(Mailbox::parse("\"a\\\tb\"@x.org").is_err());
        assert!(Mailbox::parse("user@[192.0.2.1]").is_ok());
        assert!(Mailbox::parse("user@[IPv6:::1]").is_ok());
        assert!(Mailbox::parse("user").is_err());
        assert!(Mailbox::parse("user@").is_err());
        // RFC 6531 §3.3: UTF-8 only where allowed.
        assert!(Mailbox::parse("用户@例子.广告").is_ok());
        assert_eq!(
            Mailbox::parse_bytes("用户@x.org".as_bytes(), false)
                .unwrap_err()
                .kind(),
            SyntaxErrorKind::Character
        );
        assert!(!Mailbox::parse("用户@x.org").unwrap().is_ascii());
    }

    proptest::proptest! {
        /// The one-pass path for `dot-string@domain` gives the same value
        /// or error as the general parser, on any text.
        #[test]
        fn str_fast_path_matches_general_parser(
            s in "[a-z.@\"\\ \\[\\]0-9é_-]{0,40}",
            utf8: bool,
        ) {
            proptest::prop_assert_eq!(
                Mailbox::parse_str(&s, utf8),
                Mailbox::parse_bytes(s.as_bytes(), utf8)
            );
        }

        /// The one-pass dot-string check agrees with `Atom *("." Atom)`
        /// checked atom by atom.
        #[test]
        fn dot_string_matches_atom_split(s in "[a-z.!é@ -]{0,20}", utf8: bool) {
            let by_atoms = !s.is_empty()
                && s.split('.').all(|a| {
                    !a.is_empty() && a.bytes().all(|c| is_atext(c) || (utf8 && c >= 0x80))
                });
            proptest::prop_assert_eq!(is_dot_string_with(s.as_bytes(), utf8), by_atoms);
        }
    }

    #[test]
    fn local_part_new_rejects_controls() {
        assert!(LocalPart::new("a b").is_ok());
        assert!(LocalPart::new("a\r\nb").is_err());
        assert!(LocalPart::new("a\u{7f}").is_err());
        assert_eq!(LocalPart::new("a b").unwrap().wire_len(), 5);
    }
}
