//! Reverse and forward paths (RFC 5321 §4.1.2, §3.3).

use std::fmt;

use super::domain::DomainRules;
use super::mailbox::{Mailbox, MAX_LOCAL_PART_LEN};
use crate::error::{SyntaxError, SyntaxErrorKind};

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets, brackets included.
pub const MAX_PATH_LEN: usize = 256;

const fn err(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

/// The MAIL FROM argument: the null path `<>` or a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// `<>`: no bounces (notifications, RFC 5321 §4.5.5).
    Null,
    /// A mailbox.
    Mailbox(Mailbox<'a>),
}

/// The RCPT TO argument: a mailbox or the domain-less `<Postmaster>`,
/// which "MUST be supported" (RFC 5321 §4.5.1). `<>` is not a forward
/// path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<'a> {
    /// `<Postmaster>` without a domain (any case).
    Postmaster,
    /// A mailbox (`<Postmaster@domain>` is an ordinary mailbox).
    Mailbox(Mailbox<'a>),
}

impl ReversePath<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }

    /// The mailbox, unless null.
    pub fn mailbox(&self) -> Option<&Mailbox<'_>> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }

    /// True unless the mailbox needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.mailbox().is_none_or(Mailbox::is_ascii)
    }

    /// Appends `<…>`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(b'<');
        if let ReversePath::Mailbox(m) = self {
            m.write_to(out);
        }
        out.push(b'>');
    }
}

impl ForwardPath<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> ForwardPath<'static> {
        match self {
            ForwardPath::Postmaster => ForwardPath::Postmaster,
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }

    /// The mailbox, unless the bare `Postmaster`.
    pub fn mailbox(&self) -> Option<&Mailbox<'_>> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }

    /// True unless the mailbox needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.mailbox().is_none_or(Mailbox::is_ascii)
    }

    /// Appends `<…>`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.push(b'<');
        match self {
            ForwardPath::Postmaster => out.extend_from_slice(b"Postmaster"),
            ForwardPath::Mailbox(m) => m.write_to(out),
        }
        out.push(b'>');
    }
}

impl<'a> From<Mailbox<'a>> for ReversePath<'a> {
    fn from(m: Mailbox<'a>) -> Self {
        ReversePath::Mailbox(m)
    }
}

impl<'a> From<Mailbox<'a>> for ForwardPath<'a> {
    fn from(m: Mailbox<'a>) -> Self {
        ForwardPath::Mailbox(m)
    }
}

impl fmt::Display for ReversePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

impl fmt::Display for ForwardPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// How a path argument may be written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathRules {
    pub utf8: bool,
    /// Accept a path without `<` `>` (lenient; RFC 5321 §4.1.2 requires them).
    pub bare: bool,
    /// Enforce the 256-octet limit (strict) or a looser one.
    pub max_len: usize,
    /// Enforce the 64-octet local-part limit (RFC 5321 §4.5.3.1.1).
    pub local_limit: bool,
}

/// A parsed path argument: `None` for `<>`.
pub(crate) fn parse_path<'a>(
    input: &'a str,
    rules: PathRules,
) -> Result<Option<Mailbox<'a>>, SyntaxError> {
    if input.len() > rules.max_len {
        return Err(err("path too long"));
    }
    let bytes = input.as_bytes();
    // The brackets are ASCII, so the slices below fall on char boundaries.
    let inner = match bytes {
        [b'<', .., b'>'] => input.get(1..input.len() - 1).unwrap_or_default(),
        [b'<', ..] => return Err(err("path without closing '>'")),
        _ if rules.bare && !input.is_empty() => input,
        _ => return Err(err("path without angle brackets")),
    };
    if inner.is_empty() {
        return Ok(None);
    }
    let mailbox = if inner.as_bytes().first() == Some(&b'@') {
        let rest = strip_source_route(inner.as_bytes(), rules.utf8)?;
        inner.get(inner.len() - rest.len()..).unwrap_or_default()
    } else {
        inner
    };
    let mailbox = Mailbox::parse_str(mailbox, rules.utf8)?;
    if rules.local_limit && mailbox.local.wire_len() > MAX_LOCAL_PART_LEN {
        return Err(err("local part longer than 64 octets"));
    }
    // The limit is on the path as it will be written: a bare lenient path
    // gains its brackets. (Written quoting never outgrows valid input.)
    if rules.bare {
        let mut written = Vec::with_capacity(input.len() + 4);
        mailbox.write_to(&mut written);
        if written.len() + 2 > rules.max_len {
            return Err(err("path too long"));
        }
    }
    Ok(Some(mailbox))
}

/// `[ A-d-l ":" ]`: "MUST BE accepted, SHOULD NOT be generated, and
/// SHOULD be ignored" (RFC 5321 §4.1.2, App. C). Each `At-domain` must be
/// a valid domain (no address literals).
fn strip_source_route(inner: &[u8], utf8: bool) -> Result<&[u8], SyntaxError> {
    if inner.first() != Some(&b'@') {
        return Ok(inner);
    }
    let colon = inner
        .iter()
        .position(|&b| b == b':')
        .ok_or(err("source route without ':'"))?;
    for hop in inner[..colon].split(|&b| b == b',') {
        let domain = hop
            .strip_prefix(b"@")
            .ok_or(err("source route hop without '@'"))?;
        super::domain::Domain::parse_with(
            domain,
            DomainRules {
                utf8,
                underscore: false,
            },
        )?;
    }
    Ok(&inner[colon + 1..])
}

/// Parses a MAIL FROM path.
pub(crate) fn parse_reverse_path<'a>(
    input: &'a str,
    rules: PathRules,
) -> Result<ReversePath<'a>, SyntaxError> {
    parse_path(input, rules)
        .map(|m| m.map_or(ReversePath::Null, ReversePath::Mailbox))
        .map_err(|e| e.with_kind(SyntaxErrorKind::SenderAddress))
}

/// Parses a RCPT TO path.
pub(crate) fn parse_forward_path<'a>(
    input: &'a str,
    rules: PathRules,
) -> Result<ForwardPath<'a>, SyntaxError> {
    let bytes = input.as_bytes();
    let inner = bytes.strip_prefix(b"<").and_then(|s| s.strip_suffix(b">"));
    let bare_postmaster = match inner {
        Some(s) => s.eq_ignore_ascii_case(b"postmaster"),
        None => rules.bare && bytes.eq_ignore_ascii_case(b"postmaster"),
    };
    if bare_postmaster {
        return Ok(ForwardPath::Postmaster);
    }
    match parse_path(input, rules) {
        Ok(Some(m)) => Ok(ForwardPath::Mailbox(m)),
        Ok(None) => Err(SyntaxError::new(
            SyntaxErrorKind::RecipientAddress,
            "null path is not a forward path",
        )),
        Err(e) => Err(e.with_kind(SyntaxErrorKind::RecipientAddress)),
    }
}

impl<'a> ReversePath<'a> {
    /// Parses `<>` or `<mailbox>` (strict syntax, UTF-8 allowed).
    pub fn parse(s: &'a str) -> Result<Self, SyntaxError> {
        parse_reverse_path(s, PathRules::api())
    }
}

impl<'a> ForwardPath<'a> {
    /// Parses `<Postmaster>` or `<mailbox>` (strict syntax, UTF-8 allowed).
    pub fn parse(s: &'a str) -> Result<Self, SyntaxError> {
        parse_forward_path(s, PathRules::api())
    }
}

impl ReversePath<'static> {
    /// An address as people write it: with or without its angle brackets
    /// (`jane@example.net`); `<>` or an empty string is the null reverse
    /// path (RFC 5321 §4.5.5). Strict syntax, UTF-8 allowed.
    pub fn parse_address(s: &str) -> Result<Self, SyntaxError> {
        match s {
            "" => Ok(ReversePath::Null),
            s if s.starts_with('<') => ReversePath::parse(s).map(ReversePath::into_owned),
            s => ReversePath::parse(&format!("<{s}>")).map(ReversePath::into_owned),
        }
    }
}

impl ForwardPath<'static> {
    /// An address as people write it: with or without its angle brackets
    /// (`bob@example.org`, `Postmaster`). Strict syntax, UTF-8 allowed.
    pub fn parse_address(s: &str) -> Result<Self, SyntaxError> {
        match s.starts_with('<') {
            true => ForwardPath::parse(s).map(ForwardPath::into_owned),
            false => ForwardPath::parse(&format!("<{s}>")).map(ForwardPath::into_owned),
        }
    }
}

impl PathRules {
    const fn api() -> Self {
        PathRules {
            utf8: true,
            bare: false,
            max_len: MAX_PATH_LEN,
            local_limit: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_people_write_them_rfc5321_4_1_2() {
        let from = |s| ReversePath::parse_address(s).map(|p| p.to_string());
        assert_eq!(from("jane@example.net").unwrap(), "<jane@example.net>");
        assert_eq!(from("<jane@example.net>").unwrap(), "<jane@example.net>");
        // The null reverse path (RFC 5321 §4.5.5).
        assert_eq!(from("").unwrap(), "<>");
        assert_eq!(from("<>").unwrap(), "<>");
        assert!(from("jane@").is_err());
        assert!(from("<jane@example.net").is_err());
        let to = |s| ForwardPath::parse_address(s).map(|p| p.to_string());
        assert_eq!(to("bob@example.org").unwrap(), "<bob@example.org>");
        assert_eq!(to("postmaster").unwrap(), "<Postmaster>");
        assert!(to("").is_err());
        assert!(to("a@b>").is_err());
    }

    #[test]
    fn null_and_postmaster_rfc5321_4_1_1_3() {
        assert_eq!(ReversePath::parse("<>").unwrap(), ReversePath::Null);
        assert_eq!(
            ForwardPath::parse("<Postmaster>").unwrap(),
            ForwardPath::Postmaster
        );
        assert_eq!(
            ForwardPath::parse("<POSTMASTER>").unwrap(),
            ForwardPath::Postmaster
        );
        // RFC 5321 §4.1.1.3: `RCPT TO:<>` is invalid.
        assert_eq!(
            ForwardPath::parse("<>").unwrap_err().kind(),
            SyntaxErrorKind::RecipientAddress
        );
        // <Postmaster@domain> is a mailbox.
        assert!(matches!(
            ForwardPath::parse("<postmaster@x.org>").unwrap(),
            ForwardPath::Mailbox(_)
        ));
    }

    #[test]
    fn source_routes_are_dropped_rfc5321_4_1_2() {
        let p = ReversePath::parse("<@a.org,@b.net:user@c.com>").unwrap();
        assert_eq!(p.to_string(), "<user@c.com>");
        assert!(ReversePath::parse("<@[1.2.3.4]:user@c.com>").is_err());
        assert!(ReversePath::parse("<@a.org user@c.com>").is_err());
    }

    #[test]
    fn path_length_rfc5321_4_5_3_1_3() {
        let local = "a".repeat(64);
        let domain = format!(
            "{}.{}.{}.{}",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(50),
            "e"
        );
        let ok = format!("<{local}@{domain}>");
        assert!(ok.len() <= MAX_PATH_LEN, "{}", ok.len());
        assert!(ReversePath::parse(&ok).is_ok());
        let long = format!("<{local}@{domain}{}>", ".f".repeat(10));
        assert!(long.len() > MAX_PATH_LEN);
        assert!(ReversePath::parse(&long).is_err());
    }
}
