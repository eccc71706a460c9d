//! Layer 4: one module per service extension, each owning its part of
//! the protocol end to end: its EHLO keyword (the only place the string is
//! spelled) and value, its MAIL/RCPT parameters (grammar, value type,
//! where the value is kept, parse and write), the check a server makes of
//! them against what it offered, what it adds to a server's EHLO reply,
//! the choice a client makes given what a server offered, and the replies
//! its RFC mandates.
//!
//! The rest of the crate reaches an extension only through the
//! `Extension` (a table of `fn` pointers, `seam.rs`) each module exports
//! and the registry below lists: [`crate::ehlo::Keyword`], the parameter
//! lists of [`crate::params`], the server's EHLO reply and checks, and
//! the client's negotiation all iterate it. The crate docs, "Adding an
//! extension", walk through one.
//!
//! Parameter values arrive already checked for `esmtp-value` characters
//! (RFC 5321 §4.1.2; UTF-8 only with SMTPUTF8, RFC 6531 §3.3), so each
//! module checks its own grammar, written with nom's streaming
//! combinators. Writers always emit the strict canonical form.

use std::borrow::Cow;

use crate::error::{SyntaxError, SyntaxErrorKind};
use crate::octets::class::is_xchar;
use crate::options::ParseOptions;
use crate::reply::Reply;
use crate::values::{EnhancedStatusCode, Mailbox, ReplyCode, XText};

pub mod atrn;
pub mod auth;
pub mod body;
pub mod burl;
pub mod checkpoint;
pub mod chunking;
pub mod conneg;
pub mod custom;
pub mod deliverby;
pub mod dsn;
pub mod enhanced_status_codes;
pub mod etrn;
pub mod future_release;
pub mod limits;
pub mod mt_priority;
pub mod mtrk;
pub mod no_soliciting;
pub mod optional_commands;
pub mod pipelining;
pub mod requiretls;
pub mod rfc821;
pub mod rrvs;
pub(crate) mod seam;
pub mod sendmail;
pub mod size;
pub mod smtputf8;
pub mod starttls;
pub mod submitter;
pub mod utf8smtp;
pub mod xclient;
pub mod xforward;

/// The registration table: one entry per extension module (beside its
/// `mod` line above), naming the EHLO keywords it defines. An entry is
/// `module { Variant = position [=> CONSTANT], … }`:
///
/// - the module exports `EXTENSION`, its [`seam::Extension`];
/// - each `Variant` becomes a [`crate::ehlo::Keyword`], spelled by the
///   module's `CONSTANT` (`EHLO_KEYWORD` when omitted); `position` is its
///   place in an EHLO reply, which [`Keyword::ALL`](crate::ehlo::Keyword::ALL)
///   and the written capability list follow (a new keyword takes the next
///   free number);
/// - the entries' order is the order MAIL and RCPT parameters are written,
///   the server checks them and the client negotiates them.
///
/// Each consumer passes its own macro as `$callback`, which receives the
/// whole table (an X-macro).
macro_rules! registry {
    ($callback:ident) => {
        $callback! {
            size {
                /// `SIZE [n]` (RFC 1870).
                Size = 0,
            }
            body {
                /// `8BITMIME` (RFC 6152).
                EightBitMime = 2 => EHLO_8BITMIME,
                /// `BINARYMIME` (RFC 3030).
                BinaryMime = 5 => EHLO_BINARYMIME,
            }
            smtputf8 {
                /// `SMTPUTF8` (RFC 6531).
                SmtpUtf8 = 9,
            }
            dsn {
                /// `DSN` (RFC 3461).
                Dsn = 6,
            }
            auth {
                /// `AUTH mech…` (RFC 4954).
                Auth = 1,
            }
            deliverby {
                /// `DELIVERBY [min-by-time]` (RFC 2852).
                DeliverBy = 10,
            }
            mt_priority {
                /// `MT-PRIORITY [profile]` (RFC 6710).
                MtPriority = 11,
            }
            future_release {
                /// `FUTURERELEASE interval date-time` (RFC 4865).
                FutureRelease = 12,
            }
            requiretls {
                /// `REQUIRETLS` (RFC 8689).
                RequireTls = 24,
            }
            no_soliciting {
                /// `NO-SOLICITING [keywords]` (RFC 3865).
                NoSoliciting = 15,
            }
            mtrk {
                /// `MTRK` (RFC 3885).
                Mtrk = 22,
            }
            submitter {
                /// `SUBMITTER` (RFC 4405, historic).
                Submitter = 34,
            }
            rrvs {
                /// `RRVS` (RFC 7293).
                Rrvs = 23,
            }
            conneg {
                /// `CONPERM` (RFC 4141).
                ConPerm = 25 => EHLO_CONPERM,
                /// `CONNEG` (RFC 4141).
                ConNeg = 26 => EHLO_CONNEG,
            }
            checkpoint {
                /// `CHECKPOINT` (RFC 1845).
                Checkpoint = 21,
            }
            utf8smtp {
                /// `UTF8SMTP` (RFC 5336, obsoleted by RFC 6531).
                Utf8Smtp = 27,
            }
            pipelining {
                /// `PIPELINING` (RFC 2920).
                Pipelining = 3,
            }
            chunking {
                /// `CHUNKING` (RFC 3030).
                Chunking = 4,
            }
            enhanced_status_codes {
                /// `ENHANCEDSTATUSCODES` (RFC 2034).
                EnhancedStatusCodes = 7,
            }
            starttls {
                /// `STARTTLS` (RFC 3207).
                StartTls = 8,
            }
            limits {
                /// `LIMITS name=value…` (RFC 9422).
                Limits = 13,
            }
            burl {
                /// `BURL [imap…]` (RFC 4468).
                Burl = 14,
            }
            etrn {
                /// `ETRN` (RFC 1985).
                Etrn = 16,
            }
            atrn {
                /// `ATRN` (RFC 2645).
                Atrn = 17,
            }
            optional_commands {
                /// `HELP` (RFC 5321 §4.1.1.8).
                Help = 18 => EHLO_HELP,
                /// `EXPN` (RFC 5321 §4.1.1.7).
                Expn = 19 => EHLO_EXPN,
                /// `VRFY` (RFC 5321 §4.1.1.6).
                Vrfy = 20 => EHLO_VRFY,
            }
            rfc821 {
                /// `SEND` (RFC 821; deprecated by RFC 5321 App. F.6).
                Send = 28 => EHLO_SEND,
                /// `SOML` (RFC 821; deprecated by RFC 5321 App. F.6).
                Soml = 29 => EHLO_SOML,
                /// `SAML` (RFC 821; deprecated by RFC 5321 App. F.6).
                Saml = 30 => EHLO_SAML,
                /// `TURN` (RFC 821; deprecated by RFC 5321 App. F.1).
                Turn = 31 => EHLO_TURN,
            }
            sendmail {
                /// `VERB` (sendmail; IANA-registered without an RFC).
                Verb = 32 => EHLO_VERB,
                /// `ONEX` (sendmail; IANA-registered without an RFC).
                Onex = 33 => EHLO_ONEX,
            }
            // Postfix's XCLIENT and XFORWARD are not registered keywords:
            // their lines (with attribute lists) stay among a reply's
            // unknown keywords, read by `xclient::offered` and
            // `xforward::offered`.
            xclient {}
            xforward {}
            // The application's own keywords, last.
            custom {}
        }
    };
}
pub(crate) use registry;

/// Builds [`REGISTRY`] from the table.
macro_rules! extension_list {
    ($( $module:ident { $($keywords:tt)* } )*) => {
        /// Every registered extension, in registration order.
        pub(crate) const REGISTRY: &[&seam::Extension] = &[$( &$module::EXTENSION, )*];
    };
}
registry!(extension_list);

/// A reply an RFC tells a server to send: code, enhanced status code and a
/// suggested text. Built only from this crate's constants, so the text is
/// static ASCII without controls and always writes one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MandatedReply {
    code: ReplyCode,
    enhanced: EnhancedStatusCode,
    text: &'static str,
}

impl MandatedReply {
    /// Crate-only: `text` must be static ASCII without controls.
    pub(crate) const fn new(
        code: ReplyCode,
        enhanced: EnhancedStatusCode,
        text: &'static str,
    ) -> Self {
        MandatedReply {
            code,
            enhanced,
            text,
        }
    }

    /// The reply code.
    pub const fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code (RFC 3463), written when ENHANCEDSTATUSCODES
    /// is on and the reply is not 3xx (RFC 2034 §4).
    pub const fn enhanced(&self) -> EnhancedStatusCode {
        self.enhanced
    }

    /// The suggested text.
    pub const fn text(&self) -> &'static str {
        self.text
    }

    /// The reply, to send as it is (a runtime handler's answer, say).
    pub fn to_reply(&self) -> Reply<'static> {
        Reply::sanitized(self.code, Some(self.enhanced), self.text)
    }
}

/// Builds a [`MandatedReply`] from constants checked by the unit tests.
pub(crate) const fn reply(
    code: u16,
    class: u8,
    subject: u16,
    detail: u16,
    text: &'static str,
) -> MandatedReply {
    MandatedReply::new(
        ReplyCode::new_unchecked(code),
        EnhancedStatusCode::new_unchecked(class, subject, detail),
        text,
    )
}

/// A known parameter whose value breaks its grammar (`501 5.5.4`).
pub(crate) const fn invalid(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::ParameterValue, detail)
}

/// A well-formed value this implementation does not know (`555 5.5.4`,
/// RFC 5321 §4.1.1.11).
pub(crate) const fn unsupported(detail: &'static str) -> SyntaxError {
    SyntaxError::new(SyntaxErrorKind::UnsupportedParameterValue, detail)
}

/// `1*max DIGIT` as an unsigned number; `None` on anything else or on
/// overflow (checked arithmetic, never wrapped).
pub(crate) fn parse_digits(value: &[u8], max: usize) -> Option<u64> {
    if value.is_empty() || value.len() > max {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Decodes an xtext to its text, borrowing when the wire form has no
/// `+XX` (then the decoded text is the wire text itself).
pub(crate) fn xtext_cow<'a>(
    value: &'a [u8],
    opts: &ParseOptions,
) -> Result<Cow<'a, str>, SyntaxError> {
    if !value.contains(&b'+') {
        return if value.iter().all(|&b| is_xchar(b)) {
            std::str::from_utf8(value)
                .map(Cow::Borrowed)
                .map_err(|_| invalid("invalid xtext character"))
        } else {
            Err(invalid("invalid xtext character"))
        };
    }
    // `XText` does not hand out its `Cow`; this path only runs for escaped
    // values.
    XText::decode(value, opts.lenient_mode()).map(|x| Cow::Owned(x.as_str().to_owned()))
}

/// Parses the decoded text of an xtext mailbox, borrowing when possible.
pub(crate) fn mailbox_from_cow<'a>(
    text: Cow<'a, str>,
    utf8: bool,
    detail: &'static str,
) -> Result<Mailbox<'a>, SyntaxError> {
    let bad = |_| invalid(detail);
    match text {
        Cow::Borrowed(s) => Mailbox::parse_bytes(s.as_bytes(), utf8).map_err(bad),
        Cow::Owned(s) => Mailbox::parse_bytes(s.as_bytes(), utf8)
            .map(Mailbox::into_owned)
            .map_err(bad),
    }
}

/// Appends a mailbox as xtext (RFC 4954 §5, RFC 4405 §4.1).
pub(crate) fn write_xtext_mailbox(m: &Mailbox<'_>, out: &mut Vec<u8>) {
    let mut wire = Vec::with_capacity(64);
    m.write_to(&mut wire);
    crate::values::encode_xtext(&wire, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_checked_never_wrapped() {
        assert_eq!(parse_digits(b"0", 20), Some(0));
        assert_eq!(parse_digits(b"18446744073709551615", 20), Some(u64::MAX));
        assert_eq!(parse_digits(b"18446744073709551616", 20), None);
        assert_eq!(parse_digits(b"99999999999999999999", 20), None);
        assert_eq!(parse_digits(b"123456789012345678901", 30), None);
        assert_eq!(parse_digits(b"", 20), None);
        assert_eq!(parse_digits(b"1a", 20), None);
        assert_eq!(parse_digits(b"+1", 20), None);
    }
}
