//! BURL (RFC 4468): the EHLO keyword and its URL-scheme arguments.

use super::seam::Extension;

/// The EHLO keyword (`BURL [imap / imap://authority]`, RFC 4468 §3).
pub const EHLO_KEYWORD: &str = "BURL";

/// RFC 5321 `ehlo-param = 1*(%d33-126)`, the form every BURL argument
/// takes.
pub(crate) fn is_argument(p: &[u8]) -> bool {
    crate::ehlo::is_ehlo_param(p)
}

/// BURL: parsed in an EHLO reply; neither side uses it yet.
pub(crate) const EXTENSION: Extension = Extension::NONE;
