//! CHUNKING (RFC 3030): the EHLO keyword of the BDAT command; BDAT framing
//! lives in the machines, `BODY=BINARYMIME` in [`super::body`].

use super::seam::{advertise_if, Extension};
use crate::ehlo::Keyword;

/// The EHLO keyword (RFC 3030 §2).
pub const EHLO_KEYWORD: &str = "CHUNKING";

/// CHUNKING: offered when configured; a client sends BDAT when it is
/// offered and allowed by [`ClientConfig::chunking`](crate::client::ClientConfig::chunking).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| advertise_if(caps, Keyword::Chunking, o.ext().chunking),
    require: |n| {
        if n.config.chunking && n.has(Keyword::Chunking) {
            n.bdat = true;
        }
        Ok(())
    },
    ..Extension::NONE
};
