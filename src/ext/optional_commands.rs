//! The RFC 5321 commands an EHLO reply may list although every server
//! knows them: HELP (§4.1.1.8), EXPN (§4.1.1.7) and VRFY (§4.1.1.6).

use super::seam::{advertise_if, Extension};
use crate::ehlo::Keyword;

/// The EHLO keyword for HELP.
pub const EHLO_HELP: &str = "HELP";
/// The EHLO keyword for EXPN.
pub const EHLO_EXPN: &str = "EXPN";
/// The EHLO keyword for VRFY.
pub const EHLO_VRFY: &str = "VRFY";

/// VRFY always (RFC 5321 §3.5.2: a server answers it, if only with 252);
/// EXPN and HELP when configured.
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| {
        advertise_if(caps, Keyword::Vrfy, true);
        advertise_if(caps, Keyword::Expn, o.ext().expn);
        advertise_if(caps, Keyword::Help, o.ext().help);
    },
    ..Extension::NONE
};
