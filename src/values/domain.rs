//! Domains (RFC 5321 §4.1.2) and address literals (§4.1.3).

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::octets::class::{is_ldh, table};

/// RFC 5321 §4.5.3.1.2: at most 255 octets.
pub const MAX_DOMAIN_LEN: usize = 255;
/// RFC 1035 §2.3.4: a label is at most 63 octets.
pub const MAX_LABEL_LEN: usize = 63;

const fn err(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::Arguments, detail)
}

/// A domain name: `sub-domain *("." sub-domain)` with LDH labels, or
/// U-labels where SMTPUTF8 allows them (RFC 6531 §3.3). Case is kept as
/// given; compare with [`Domain::eq_ignore_ascii_case`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain<'a>(Cow<'a, str>);

/// Which characters a domain may hold beyond LDH.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DomainRules {
    /// U-labels (any non-ASCII UTF-8) are allowed.
    pub utf8: bool,
    /// `_` is tolerated (lenient HELO names of misconfigured hosts).
    pub underscore: bool,
}

impl<'a> Domain<'a> {
    /// Validates `bytes` as a domain.
    pub(crate) fn parse_with(bytes: &'a [u8], rules: DomainRules) -> Result<Self, SyntaxError> {
        if !is_valid(bytes, rules) {
            validate(bytes, rules)?;
        }
        let s = std::str::from_utf8(bytes).map_err(|_| err("domain is not valid UTF-8"))?;
        check_u_labels(s, rules)?;
        Ok(Domain(Cow::Borrowed(s)))
    }

    /// [`Domain::parse_with`] for text already known to be UTF-8: one
    /// pass, no second UTF-8 check.
    #[inline]
    pub(crate) fn parse_str(s: &'a str, rules: DomainRules) -> Result<Self, SyntaxError> {
        if is_valid(s.as_bytes(), rules) {
            check_u_labels(s, rules)?;
            return Ok(Domain(Cow::Borrowed(s)));
        }
        // The slow path names the first fault exactly as it always did.
        validate(s.as_bytes(), rules)?;
        check_u_labels(s, rules)?;
        Ok(Domain(Cow::Borrowed(s)))
    }

    /// Validates `s` as an ASCII (LDH) or internationalised domain.
    pub fn parse(s: &'a str) -> Result<Self, SyntaxError> {
        Self::parse_str(
            s,
            DomainRules {
                utf8: true,
                underscore: false,
            },
        )
    }

    /// A domain from text the caller has checked as [`Domain::parse_str`]
    /// would (the command fast path).
    #[inline(always)]
    pub(crate) fn from_valid(s: &'a str) -> Self {
        Domain(Cow::Borrowed(s))
    }

    /// The domain as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when every label is LDH (no U-label).
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// Compares two domains as DNS does, ignoring ASCII case.
    pub fn eq_ignore_ascii_case(&self, other: &Domain<'_>) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Domain<'static> {
        Domain(Cow::Owned(self.0.into_owned()))
    }

    /// Borrows this value.
    pub fn borrow(&self) -> Domain<'_> {
        Domain(Cow::Borrowed(&self.0))
    }
}

/// Octet classes for the one-pass domain check.
const LETDIG: u8 = 1;
const HYPHEN: u8 = 2;
const DOT: u8 = 4;
const HIGH: u8 = 8;
const UNDERSCORE: u8 = 16;

const fn domain_class(b: u8) -> u8 {
    match b {
        b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => LETDIG,
        b'-' => HYPHEN,
        b'.' => DOT,
        b'_' => UNDERSCORE,
        0x80..=0xff => HIGH,
        _ => 0,
    }
}

static DOMAIN_CLASS: [u8; 256] = table!(domain_class);

/// Whether [`validate`] accepts `bytes`, in a single pass that tracks the
/// current label's length and its first and last octet. Only the yes/no
/// answer: the error of a rejected domain comes from [`validate`].
#[inline]
fn is_valid(bytes: &[u8], rules: DomainRules) -> bool {
    if bytes.is_empty() || bytes.len() > MAX_DOMAIN_LEN {
        return false;
    }
    // Octets allowed inside a label besides LDH.
    let extra =
        (if rules.utf8 { HIGH } else { 0 }) | (if rules.underscore { UNDERSCORE } else { 0 });
    let inner = LETDIG | HYPHEN | extra;
    let mut label_start = 0;
    // The class of the previous octet; DOT before the first one, so a
    // leading '.' or '-' is caught like one after a dot.
    let mut prev = DOT;
    for (i, &b) in bytes.iter().enumerate() {
        let c = DOMAIN_CLASS[b as usize];
        if c & inner != 0 {
            // Let-dig (or an allowed extra) must start a label.
            if c == HYPHEN && prev == DOT {
                return false;
            }
        } else if c == DOT {
            if prev & (DOT | HYPHEN) != 0 || i - label_start > MAX_LABEL_LEN {
                return false;
            }
            label_start = i + 1;
        } else {
            return false;
        }
        prev = c;
    }
    prev & (DOT | HYPHEN) == 0 && bytes.len() - label_start <= MAX_LABEL_LEN
}

/// U-labels may not hide controls or bidi overrides (RFC 5891 §4.2,
/// RFC 5893 §2): checked only where non-ASCII is allowed at all.
#[inline]
fn check_u_labels(s: &str, rules: DomainRules) -> Result<(), SyntaxError> {
    if rules.utf8 && !s.is_ascii() && crate::octets::class::has_deceptive_char(s) {
        return Err(err("control or bidi override in domain"));
    }
    Ok(())
}

fn validate(bytes: &[u8], rules: DomainRules) -> Result<(), SyntaxError> {
    if bytes.is_empty() {
        return Err(err("empty domain"));
    }
    if bytes.len() > MAX_DOMAIN_LEN {
        return Err(err("domain longer than 255 octets"));
    }
    for label in bytes.split(|&b| b == b'.') {
        validate_label(label, rules)?;
    }
    Ok(())
}

fn validate_label(label: &[u8], rules: DomainRules) -> Result<(), SyntaxError> {
    let (first, last) = match (label.first(), label.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => return Err(err("empty domain label")),
    };
    if label.len() > MAX_LABEL_LEN {
        return Err(err("domain label longer than 63 octets"));
    }
    let ok = |b: u8| is_ldh(b) || (rules.utf8 && b >= 0x80) || (rules.underscore && b == b'_');
    // Let-dig at both ends (RFC 5321 §4.1.2 `sub-domain = Let-dig [Ldh-str]`).
    if first == b'-' || last == b'-' {
        return Err(err("domain label starts or ends with '-'"));
    }
    if !label.iter().all(|&b| ok(b)) {
        return Err(if label.iter().any(|&b| b >= 0x80) {
            SyntaxError::new(
                SyntaxErrorKind::Character,
                "non-ASCII domain without SMTPUTF8",
            )
        } else {
            err("invalid character in domain")
        });
    }
    Ok(())
}

impl<'a> TryFrom<&'a str> for Domain<'a> {
    type Error = SyntaxError;
    fn try_from(s: &'a str) -> Result<Self, SyntaxError> {
        Domain::parse(s)
    }
}

impl TryFrom<String> for Domain<'static> {
    type Error = SyntaxError;
    fn try_from(s: String) -> Result<Self, SyntaxError> {
        Domain::parse(&s)?;
        Ok(Domain(Cow::Owned(s)))
    }
}

impl fmt::Display for Domain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address literal (RFC 5321 §4.1.3): `[192.0.2.1]` or
/// `[IPv6:2001:db8::1]`. The general `tag:content` form is rejected:
/// IANA has registered no tag but `IPv6`, so `[2001:db8::1]` (tag `2001`)
/// is not an address (RFC 5321 §4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressLiteral {
    /// `IPv4-address-literal`.
    Ipv4(Ipv4Addr),
    /// `IPv6-address-literal`, written in its canonical compressed form.
    Ipv6(Ipv6Addr),
}

impl AddressLiteral {
    /// Parses the bracketed form, `[` and `]` included.
    pub fn parse(bytes: &[u8]) -> Result<Self, SyntaxError> {
        let inner = match bytes {
            [b'[', inner @ .., b']'] => inner,
            _ => return Err(err("address literal without brackets")),
        };
        if let Some(v6) = strip_prefix_ignore_case(inner, b"IPv6:") {
            return parse_ipv6(v6).map(AddressLiteral::Ipv6);
        }
        if let Some(v4) = parse_ipv4(inner) {
            return Ok(AddressLiteral::Ipv4(v4));
        }
        if inner.contains(&b':') {
            Err(err("unregistered address literal tag"))
        } else {
            Err(err("invalid IPv4 address literal"))
        }
    }

    /// Appends the bracketed form.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing to a Vec cannot fail.
        let _ = match self {
            AddressLiteral::Ipv4(a) => write!(out, "[{a}]"),
            AddressLiteral::Ipv6(a) => write!(out, "[IPv6:{a}]"),
        };
    }
}

impl fmt::Display for AddressLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressLiteral::Ipv4(a) => write!(f, "[{a}]"),
            AddressLiteral::Ipv6(a) => write!(f, "[IPv6:{a}]"),
        }
    }
}

impl From<std::net::IpAddr> for AddressLiteral {
    fn from(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(a) => AddressLiteral::Ipv4(a),
            std::net::IpAddr::V6(a) => AddressLiteral::Ipv6(a),
        }
    }
}

pub(crate) fn strip_prefix_ignore_case<'b>(s: &'b [u8], prefix: &[u8]) -> Option<&'b [u8]> {
    if s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// `Snum 3("." Snum)`, `Snum = 1*3DIGIT` in 0–255; leading zeros are
/// decimal (RFC 5321 §4.1.3).
fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for o in octets.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = p.iter().fold(0u16, |n, &d| n * 10 + (d - b'0') as u16);
        *o = u8::try_from(n).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// RFC 5321 §4.1.3 IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp,
/// including the prose limits on the number of groups around `::`.
fn parse_ipv6(s: &[u8]) -> Result<Ipv6Addr, SyntaxError> {
    let bad = || err("invalid IPv6 address literal");
    // An embedded IPv4 address takes the place of two groups.
    let (head, v4) = match s.iter().rposition(|&b| b == b':') {
        Some(i) if s[i + 1..].contains(&b'.') => {
            (&s[..=i], Some(parse_ipv4(&s[i + 1..]).ok_or_else(bad)?))
        }
        _ => (s, None),
    };
    // Split around "::" (at most one).
    let text = std::str::from_utf8(head).map_err(|_| bad())?;
    let (left, right, compressed) = match text.find("::") {
        Some(i) => {
            let (l, r) = (&text[..i], &text[i + 2..]);
            if r.contains("::") {
                return Err(bad());
            }
            (l, r, true)
        }
        None => (text, "", false),
    };
    let groups = |part: &str, trailing_colon_ok: bool| -> Result<Vec<u16>, SyntaxError> {
        let part = if trailing_colon_ok {
            part.strip_suffix(':').unwrap_or(part)
        } else {
            part
        };
        if part.is_empty() {
            return Ok(Vec::new());
        }
        part.split(':')
            .map(|g| {
                if g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Err(bad())
                } else {
                    u16::from_str_radix(g, 16).map_err(|_| bad())
                }
            })
            .collect()
    };
    let (l, r) = if compressed {
        // With an IPv4 tail the right side keeps its ':' before the IPv4 part.
        (groups(left, false)?, groups(right, v4.is_some())?)
    } else {
        if v4.is_some() && !left.ends_with(':') {
            return Err(bad());
        }
        (groups(left, v4.is_some())?, Vec::new())
    };
    let v4_groups = if v4.is_some() { 2 } else { 0 };
    let total = l.len() + r.len() + v4_groups;
    let ok = if compressed {
        // "No more than 6 (4 with IPv4) groups in addition to the '::'".
        l.len() + r.len() <= 6 - v4_groups && total <= 6
    } else {
        total == 8
    };
    if !ok {
        return Err(bad());
    }
    let mut words = [0u16; 8];
    words[..l.len()].copy_from_slice(&l);
    let tail_start = 8 - v4_groups - r.len();
    words[tail_start..8 - v4_groups].copy_from_slice(&r);
    if let Some(v4) = v4 {
        let o = v4.octets();
        words[6] = u16::from_be_bytes([o[0], o[1]]);
        words[7] = u16::from_be_bytes([o[2], o[3]]);
    }
    Ok(Ipv6Addr::from(words))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Result<AddressLiteral, SyntaxError> {
        AddressLiteral::parse(s.as_bytes())
    }

    #[test]
    fn domains_rfc5321_4_1_2() {
        assert!(Domain::parse("example.com").is_ok());
        assert!(Domain::parse("a-b.c0").is_ok());
        assert!(Domain::parse("localhost").is_ok());
        assert!(Domain::parse("-a.com").is_err());
        assert!(Domain::parse("a-.com").is_err());
        assert!(Domain::parse("a..com").is_err());
        assert!(Domain::parse("a.com.").is_err());
        assert!(Domain::parse("under_score.com").is_err());
        assert!(Domain::parse("").is_err());
        // §4.5.3.1.2 and RFC 1035 label limit, counted in octets.
        assert!(Domain::parse(&"a".repeat(63)).is_ok());
        assert!(Domain::parse(&"a".repeat(64)).is_err());
        let long = vec!["abcdefg"; 32].join(".");
        assert_eq!(long.len(), 255);
        assert!(Domain::parse(&long).is_ok());
        assert!(Domain::parse(&format!("{long}x")).is_err());
        // RFC 6531 §3.3 U-labels.
        assert!(Domain::parse("bücher.example").is_ok());
        let ascii_only = DomainRules::default();
        assert_eq!(
            Domain::parse_with("bücher.example".as_bytes(), ascii_only)
                .unwrap_err()
                .kind(),
            SyntaxErrorKind::Character
        );
    }

    proptest::proptest! {
        /// The one-pass check accepts exactly what the label-by-label
        /// validation accepts (which also names the fault).
        #[test]
        fn one_pass_check_matches_validate(
            s in "[a-zA-Z0-9._é-]{0,70}",
            utf8: bool,
            underscore: bool,
        ) {
            let rules = DomainRules { utf8, underscore };
            proptest::prop_assert_eq!(
                is_valid(s.as_bytes(), rules),
                validate(s.as_bytes(), rules).is_ok()
            );
        }
    }

    #[test]
    fn one_pass_check_label_limits_rfc1035_2_3_4() {
        let rules = DomainRules::default();
        let ok = format!("{}.{}", "a".repeat(63), "b".repeat(63));
        assert!(is_valid(ok.as_bytes(), rules));
        let long = format!("{}.b", "a".repeat(64));
        assert!(!is_valid(long.as_bytes(), rules));
        let long_last = format!("b.{}", "a".repeat(64));
        assert!(!is_valid(long_last.as_bytes(), rules));
        for bad in ["-a", "a-", "a.-b", "a-.b", ".a", "a.", "a..b", "a_b", ""] {
            assert!(!is_valid(bad.as_bytes(), rules), "{bad}");
        }
    }

    #[test]
    fn ipv4_literals_rfc5321_4_1_3() {
        assert_eq!(
            lit("[192.0.2.1]").unwrap(),
            AddressLiteral::Ipv4([192, 0, 2, 1].into())
        );
        assert_eq!(
            lit("[010.0.0.1]").unwrap(),
            AddressLiteral::Ipv4([10, 0, 0, 1].into())
        );
        assert!(lit("[256.0.0.1]").is_err());
        assert!(lit("[1.2.3]").is_err());
        assert!(lit("[1.2.3.4.5]").is_err());
        assert!(lit("1.2.3.4").is_err());
    }

    #[test]
    fn ipv6_literals_rfc5321_4_1_3() {
        let v6 = |s: &str| match lit(s) {
            Ok(AddressLiteral::Ipv6(a)) => Some(a),
            _ => None,
        };
        assert_eq!(v6("[IPv6:2001:db8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(v6("[ipv6:2001:DB8::1]"), "2001:db8::1".parse().ok());
        assert_eq!(v6("[IPv6:1:2:3:4:5:6:7:8]"), "1:2:3:4:5:6:7:8".parse().ok());
        assert_eq!(v6("[IPv6:::]"), Some(Ipv6Addr::UNSPECIFIED));
        assert_eq!(
            v6("[IPv6:::ffff:192.0.2.1]"),
            "::ffff:192.0.2.1".parse().ok()
        );
        assert_eq!(
            v6("[IPv6:1:2:3:4:5:6:1.2.3.4]"),
            "1:2:3:4:5:6:1.2.3.4".parse().ok()
        );
        // More than 6 groups beside "::" is over the prose limit.
        assert_eq!(v6("[IPv6:1:2:3:4:5:6:7::]"), None);
        assert_eq!(v6("[IPv6:1:2:3:4::5:6:7]"), None);
        assert_eq!(v6("[IPv6:1:2:3:4:5::1.2.3.4]"), None);
        assert_eq!(v6("[IPv6:1:2:3:4:5:6:7]"), None);
        assert_eq!(v6("[IPv6:1::2::3]"), None);
        assert_eq!(v6("[IPv6:12345::]"), None);
        // Untagged IPv6 is a general literal with the unregistered tag "2001".
        assert!(lit("[2001:db8::1]").is_err());
        assert!(lit("[x400:foo]").is_err());
    }

    #[test]
    fn literal_round_trip() {
        for s in [
            "[192.0.2.1]",
            "[IPv6:2001:db8::1]",
            "[IPv6:::ffff:192.0.2.1]",
        ] {
            let a = lit(s).unwrap();
            let mut out = Vec::new();
            a.write_to(&mut out);
            assert_eq!(AddressLiteral::parse(&out).unwrap(), a);
        }
    }
}
