//! VERB and ONEX, sendmail's IANA-registered EHLO keywords without an RFC.

use super::seam::Extension;

/// The EHLO keyword for VERB (verbose delivery reporting).
pub const EHLO_VERB: &str = "VERB";
/// The EHLO keyword for ONEX (one transaction per session).
pub const EHLO_ONEX: &str = "ONEX";

/// VERB and ONEX: parsed in an EHLO reply; neither side uses them yet.
pub(crate) const EXTENSION: Extension = Extension::NONE;
