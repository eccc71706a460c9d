//! The text of an EHLO reply's first line (RFC 5321 §4.1.1.1, `Domain [
//! SP ehlo-greet ]`) as a capability set keeps it.

use std::borrow::Cow;
use std::fmt;

use crate::octets::scan;

/// Text of an EHLO reply's first line, held as octets that are valid
/// UTF-8 (checked or repaired when stored). A first line in ASCII, as
/// nearly every server sends, is stored after an ASCII check alone; the
/// `&str` view is made when the text is read.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Text<'a>(pub(super) Cow<'a, [u8]>);

impl<'a> Text<'a> {
    pub(super) fn from_str(s: Cow<'a, str>) -> Self {
        Text(match s {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        })
    }

    /// `bytes`, repaired as [`String::from_utf8_lossy`] does if need be.
    pub(super) fn from_octets(bytes: &'a [u8]) -> Self {
        if bytes.is_ascii() {
            return Text(Cow::Borrowed(bytes));
        }
        Self::from_str(String::from_utf8_lossy(bytes))
    }

    pub(super) fn as_str(&self) -> &str {
        // Valid by construction: never the empty fallback.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub(super) fn into_owned(self) -> Text<'static> {
        Text(Cow::Owned(self.0.into_owned()))
    }

    /// The text of a first line from its domain on (`octets`, its domain
    /// the first `domain_len` of them), and the domain's length in it.
    /// Repair replaces octets that are not UTF-8, never an SP, so a
    /// repaired domain still ends at the first SP.
    pub(super) fn first_line(octets: &'a [u8], domain_len: usize) -> (Self, usize) {
        let text = Self::from_octets(octets);
        let domain_len = match &text.0 {
            Cow::Borrowed(_) => domain_len,
            Cow::Owned(o) => scan::find(o, b' ').unwrap_or(o.len()),
        };
        (text, domain_len)
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
