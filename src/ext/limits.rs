//! LIMITS (RFC 9422): the limits a server advertises on its EHLO line.

use std::borrow::Cow;
use std::ops::Range;

use super::parse_digits;
use super::seam::{Extension, Offer};
use crate::ehlo::{own, piece, Capabilities, CapabilityError};

/// The EHLO keyword (`LIMITS 1*(SP limit-name ["=" limit-value])`).
pub const EHLO_KEYWORD: &str = "LIMITS";

/// The LIMITS advertised (RFC 9422). Registered limits are typed; others
/// are kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Limits<'a> {
    mail_max: Option<u32>,
    rcpt_max: Option<u32>,
    rcpt_domain_max: Option<u32>,
    other: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
}
impl<'a> Limits<'a> {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// MAIL commands per session (RFC 9422 §4.1).
    pub fn mail_max(&self) -> Option<u32> {
        self.mail_max
    }

    /// RCPT commands per transaction (RFC 9422 §4.2).
    pub fn rcpt_max(&self) -> Option<u32> {
        self.rcpt_max
    }

    /// Distinct recipient domains (RFC 9422 §4.3).
    pub fn rcpt_domain_max(&self) -> Option<u32> {
        self.rcpt_domain_max
    }

    /// Unregistered limits, name and optional value, as advertised.
    pub fn unknown(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.other.iter().map(|(n, v)| (&**n, v.as_deref()))
    }

    /// These limits with MAILMAX set; values are 1–999999 (RFC 9422 §4).
    pub fn with_mail_max(mut self, n: u32) -> Result<Self, CapabilityError> {
        self.mail_max = Some(limit_value(n)?);
        Ok(self)
    }

    /// These limits with RCPTMAX set (1–999999).
    pub fn with_rcpt_max(mut self, n: u32) -> Result<Self, CapabilityError> {
        self.rcpt_max = Some(limit_value(n)?);
        Ok(self)
    }

    /// These limits with RCPTDOMAINMAX set (1–999999).
    pub fn with_rcpt_domain_max(mut self, n: u32) -> Result<Self, CapabilityError> {
        self.rcpt_domain_max = Some(limit_value(n)?);
        Ok(self)
    }

    /// These limits with an unregistered limit added (RFC 9422 §3
    /// `limit-name ["=" limit-value]`).
    pub fn with_unknown(
        mut self,
        name: impl Into<Cow<'a, str>>,
        value: Option<Cow<'a, str>>,
    ) -> Result<Self, CapabilityError> {
        let name = name.into();
        if !is_limit_name(name.as_bytes()) || known_limit(name.as_bytes()).is_some() {
            return Err(CapabilityError::new("invalid or registered limit name"));
        }
        if let Some(v) = &value {
            if !is_limit_value(v.as_bytes()) {
                return Err(CapabilityError::new("invalid limit value"));
            }
        }
        self.other.push((name, value));
        Ok(self)
    }

    /// Calls `param` with each EHLO parameter, registered limits first
    /// (RFC 9422 §3 `limit-name ["=" limit-value]`).
    pub(crate) fn for_each_ehlo_param(&self, mut param: impl FnMut(&str)) {
        for (name, v) in [
            ("MAILMAX", self.mail_max),
            ("RCPTMAX", self.rcpt_max),
            ("RCPTDOMAINMAX", self.rcpt_domain_max),
        ] {
            if let Some(v) = v {
                param(&format!("{name}={v}"));
            }
        }
        for (name, v) in &self.other {
            match v {
                Some(v) => param(&format!("{name}={v}")),
                None => param(name),
            }
        }
    }

    pub(crate) fn into_owned(self) -> Limits<'static> {
        Limits {
            mail_max: self.mail_max,
            rcpt_max: self.rcpt_max,
            rcpt_domain_max: self.rcpt_domain_max,
            other: self
                .other
                .into_iter()
                .map(|(n, v)| (own(n), v.map(own)))
                .collect(),
        }
    }
}
fn limit_value(n: u32) -> Result<u32, CapabilityError> {
    if (1..=999_999).contains(&n) {
        Ok(n)
    } else {
        Err(CapabilityError::new("limit out of range 1-999999"))
    }
}
#[derive(Clone, Copy)]
enum KnownLimit {
    Mail,
    Rcpt,
    RcptDomain,
}
impl KnownLimit {
    fn of<'l>(self, limits: &'l mut Limits<'_>) -> &'l mut Option<u32> {
        match self {
            KnownLimit::Mail => &mut limits.mail_max,
            KnownLimit::Rcpt => &mut limits.rcpt_max,
            KnownLimit::RcptDomain => &mut limits.rcpt_domain_max,
        }
    }
}
fn known_limit(name: &[u8]) -> Option<KnownLimit> {
    if name.eq_ignore_ascii_case(b"MAILMAX") {
        Some(KnownLimit::Mail)
    } else if name.eq_ignore_ascii_case(b"RCPTMAX") {
        Some(KnownLimit::Rcpt)
    } else if name.eq_ignore_ascii_case(b"RCPTDOMAINMAX") {
        Some(KnownLimit::RcptDomain)
    } else {
        None
    }
}
/// RFC 9422 `limit-name = 1*(ALPHA / DIGIT / "-" / "_")`.
fn is_limit_name(n: &[u8]) -> bool {
    !n.is_empty()
        && n.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
/// RFC 9422 `limit-value = 1*(%x21-3A / %x3C-7E)`.
fn is_limit_value(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b';')
}

/// RFC 9422 §3.7: a malformed parameter voids LIMITS (`None`); a bad
/// registered limit is ignored; unknown ones are kept.
pub(crate) fn parse_ehlo<'a>(line: &'a [u8], params: &[Range<usize>]) -> Option<Limits<'a>> {
    let mut limits = Limits::new();
    for r in params {
        let text = line.get(r.clone())?;
        let (name, value) = match text.iter().position(|&b| b == b'=') {
            Some(eq) => (&text[..eq], Some(&text[eq + 1..])),
            None => (text, None),
        };
        if !is_limit_name(name) {
            return None;
        }
        if let Some(v) = value {
            if !is_limit_value(v) {
                return None;
            }
        }
        match known_limit(name) {
            Some(slot) => {
                let n = value.and_then(|v| match v.first() {
                    Some(b'1'..=b'9') => parse_digits(v, 6),
                    _ => None,
                });
                if let Some(n) = n.and_then(|n| u32::try_from(n).ok()) {
                    *slot.of(&mut limits) = Some(n);
                }
            }
            None => {
                let name_end = r.start + name.len();
                let v = value.map(|_| piece(line, name_end + 1..r.end));
                limits.other.push((piece(line, r.start..name_end), v));
            }
        }
    }
    Some(limits)
}
/// LIMITS: advertised, when configured, from the server's recipient and
/// transaction limits (RFC 9422 §4.1, §4.2).
pub(crate) const EXTENSION: Extension = Extension {
    advertise,
    ..Extension::NONE
};

fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    if !o.ext().limits {
        return;
    }
    let config = &o.config.limits;
    let mut limits = Limits::new();
    if let Ok(l) = limits.clone().with_rcpt_max(config.recipients) {
        limits = l;
    }
    if let Some(m) = config.transactions {
        if let Ok(l) = limits.clone().with_mail_max(m) {
            limits = l;
        }
    }
    caps.set_limits(limits);
}
