//! STARTTLS (RFC 3207): the EHLO keyword and the replies to the command.

use super::seam::{advertise_if, Extension};
use super::{reply, MandatedReply};
use crate::ehlo::Keyword;

/// The EHLO keyword (RFC 3207 §4).
pub const EHLO_KEYWORD: &str = "STARTTLS";

/// The server is ready for the TLS handshake (RFC 3207 §4).
pub const READY: MandatedReply = reply(220, 2, 0, 0, "Ready to start TLS");

/// STARTTLS inside a TLS session: a second negotiation is refused (RFC 3207
/// §4.2 forbids offering STARTTLS again).
pub const ALREADY_ACTIVE: MandatedReply = reply(503, 5, 5, 1, "TLS already active");

/// A policy requires TLS before this command (RFC 3207 §4).
pub const REQUIRED_FIRST: MandatedReply =
    reply(530, 5, 7, 0, "Must issue a STARTTLS command first");

/// STARTTLS: offered when configured, and never again on a TLS session
/// (RFC 3207 §4.2).
pub(crate) const EXTENSION: Extension = Extension {
    advertise: |o, caps| advertise_if(caps, Keyword::StartTls, o.ext().starttls && !o.tls),
    ..Extension::NONE
};
