//! Reply codes (RFC 5321 §4.2) and enhanced status codes (RFC 3463,
//! RFC 5248).

use core::fmt;

use crate::error::{SyntaxError, SyntaxErrorKind};

/// A three-digit reply code: first digit 2–5, second 0–5, third 0–9
/// (RFC 5321 §4.2 `Reply-code = %x32-35 %x30-35 %x30-39`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

/// The class of a reply, from its first digit (RFC 5321 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// 2yz: positive completion.
    PositiveCompletion,
    /// 3yz: positive intermediate (354, 334, 355).
    PositiveIntermediate,
    /// 4yz: transient negative completion.
    TransientNegative,
    /// 5yz: permanent negative completion.
    PermanentNegative,
}

impl ReplyCode {
    /// `220` service ready.
    pub const SERVICE_READY: Self = Self(220);
    /// `221` closing.
    pub const CLOSING: Self = Self(221);
    /// `211` system status or help reply.
    pub const SYSTEM_STATUS: Self = Self(211);
    /// `214` help message.
    pub const HELP: Self = Self(214);
    /// `235` authentication succeeded (RFC 4954 §6).
    pub const AUTH_SUCCEEDED: Self = Self(235);
    /// `250` OK.
    pub const OK: Self = Self(250);
    /// `251` user not local; will forward.
    pub const WILL_FORWARD: Self = Self(251);
    /// `252` cannot verify.
    pub const CANNOT_VERIFY: Self = Self(252);
    /// `334` AUTH continuation.
    pub const AUTH_CONTINUE: Self = Self(334);
    /// `354` start mail input.
    pub const START_MAIL_INPUT: Self = Self(354);
    /// `421` service not available, closing.
    pub const SERVICE_NOT_AVAILABLE: Self = Self(421);
    /// `450` mailbox unavailable (busy or temporarily blocked).
    pub const MAILBOX_BUSY: Self = Self(450);
    /// `451` local error in processing.
    pub const LOCAL_ERROR: Self = Self(451);
    /// `452` insufficient system storage (also: too many recipients,
    /// RFC 5321 §4.5.3.1.10).
    pub const INSUFFICIENT_STORAGE: Self = Self(452);
    /// `454` temporary authentication failure or TLS not available
    /// (RFC 4954 §6, RFC 3207 §4).
    pub const TEMPORARY_AUTH_FAILURE: Self = Self(454);
    /// `455` server unable to accommodate parameters (RFC 5321 §4.2.3).
    pub const PARAMETERS_NOT_ACCOMMODATED: Self = Self(455);
    /// `500` syntax error, command unrecognized.
    pub const SYNTAX_ERROR: Self = Self(500);
    /// `501` syntax error in parameters.
    pub const PARAMETER_SYNTAX_ERROR: Self = Self(501);
    /// `502` command not implemented.
    pub const NOT_IMPLEMENTED: Self = Self(502);
    /// `503` bad sequence of commands.
    pub const BAD_SEQUENCE: Self = Self(503);
    /// `504` parameter not implemented.
    pub const PARAMETER_NOT_IMPLEMENTED: Self = Self(504);
    /// `530` authentication required (RFC 4954 §6) or must issue
    /// STARTTLS first (RFC 3207 §4).
    pub const AUTH_REQUIRED: Self = Self(530);
    /// `535` authentication credentials invalid (RFC 4954 §6).
    pub const AUTH_INVALID: Self = Self(535);
    /// `550` mailbox unavailable (not found, no access, policy).
    pub const MAILBOX_UNAVAILABLE: Self = Self(550);
    /// `551` user not local.
    pub const USER_NOT_LOCAL: Self = Self(551);
    /// `552` exceeded storage allocation.
    pub const STORAGE_EXCEEDED: Self = Self(552);
    /// `553` mailbox name not allowed.
    pub const MAILBOX_NAME_NOT_ALLOWED: Self = Self(553);
    /// `554` transaction failed (or, as a greeting, no SMTP service here).
    pub const TRANSACTION_FAILED: Self = Self(554);

    /// `555` MAIL FROM/RCPT TO parameters not recognized or not implemented
    /// (RFC 5321 §4.2.3).
    pub const PARAMETERS_NOT_RECOGNIZED: Self = Self(555);

    /// A code, if it is in the RFC 5321 range.
    pub const fn new(code: u16) -> Option<Self> {
        let (a, b) = (code / 100, code / 10 % 10);
        if a >= 2 && a <= 5 && b <= 5 {
            Some(Self(code))
        } else {
            None
        }
    }

    /// For constants known to be valid.
    pub(crate) const fn new_unchecked(code: u16) -> Self {
        Self(code)
    }

    /// The numeric value.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The class, from the first digit.
    pub const fn class(self) -> ReplyClass {
        match self.0 / 100 {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// 2yz.
    pub const fn is_positive(self) -> bool {
        self.0 / 100 == 2
    }

    /// 3yz.
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }

    /// 4yz.
    pub const fn is_transient(self) -> bool {
        self.0 / 100 == 4
    }

    /// 5yz.
    pub const fn is_permanent(self) -> bool {
        self.0 / 100 == 5
    }

    /// The three ASCII digits.
    pub const fn to_ascii(self) -> [u8; 3] {
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }

    /// Parses exactly three digits in range.
    pub fn from_ascii(digits: &[u8]) -> Option<Self> {
        match digits {
            [a @ b'2'..=b'5', b @ b'0'..=b'5', c @ b'0'..=b'9'] => Some(Self(
                (a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16,
            )),
            _ => None,
        }
    }
}

impl TryFrom<u16> for ReplyCode {
    type Error = SyntaxError;
    fn try_from(code: u16) -> Result<Self, SyntaxError> {
        Self::new(code).ok_or(SyntaxError::new(
            SyntaxErrorKind::Reply,
            "reply code out of range",
        ))
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An enhanced status code `class.subject.detail` (RFC 3463 §2): class 2,
/// 4 or 5; subject and detail 0–999 written without leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnhancedStatusCode {
    class: u8,
    subject: u16,
    detail: u16,
}

macro_rules! esc_consts {
    ($($(#[$m:meta])* $name:ident = ($c:literal, $s:literal, $d:literal);)*) => {
        $( $(#[$m])* pub const $name: Self = Self { class: $c, subject: $s, detail: $d }; )*
    };
}

impl EnhancedStatusCode {
    esc_consts! {
        /// 2.0.0 success.
        OK = (2, 0, 0);
        /// 2.1.0 sender OK.
        SENDER_OK = (2, 1, 0);
        /// 2.1.5 destination address valid.
        RECIPIENT_OK = (2, 1, 5);
        /// 2.6.0 message accepted.
        MESSAGE_OK = (2, 6, 0);
        /// 2.7.0 authentication succeeded.
        AUTH_OK = (2, 7, 0);
        /// 5.5.1 invalid command.
        INVALID_COMMAND = (5, 5, 1);
        /// 5.5.2 syntax error.
        SYNTAX_ERROR = (5, 5, 2);
        /// 5.5.4 invalid command arguments.
        INVALID_ARGUMENTS = (5, 5, 4);
    }

    /// A code, if the class is 2, 4 or 5 and both numbers are below 1000.
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<Self> {
        if matches!(class, 2 | 4 | 5) && subject < 1000 && detail < 1000 {
            Some(Self {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    pub(crate) const fn new_unchecked(class: u8, subject: u16, detail: u16) -> Self {
        Self {
            class,
            subject,
            detail,
        }
    }

    /// 2, 4 or 5.
    pub const fn class(self) -> u8 {
        self.class
    }

    /// The subject (RFC 3463 §3): 0 other, 1 addressing, 2 mailbox, 3 mail
    /// system, 4 network, 5 protocol, 6 content, 7 security.
    pub const fn subject(self) -> u16 {
        self.subject
    }

    /// The detail number.
    pub const fn detail(self) -> u16 {
        self.detail
    }

    /// The same subject and detail in another class (e.g. 4.x.y for 5.x.y).
    pub const fn with_class(self, class: u8) -> Option<Self> {
        Self::new(class, self.subject, self.detail)
    }

    /// Parses `d.d.d` exactly, with no leading zeros (RFC 3463 §2).
    pub fn parse(text: &[u8]) -> Option<Self> {
        let mut parts = text.splitn(3, |&b| b == b'.');
        let class = parts.next()?;
        let subject = parts.next()?;
        let detail = parts.next()?;
        let class = match class {
            [c @ (b'2' | b'4' | b'5')] => c - b'0',
            _ => return None,
        };
        Self::new(class, number(subject)?, number(detail)?)
    }

    /// Appends the code as ASCII.
    pub fn write_to(self, out: &mut Vec<u8>) {
        out.push(b'0' + self.class);
        out.push(b'.');
        push_decimal(out, self.subject as u64);
        out.push(b'.');
        push_decimal(out, self.detail as u64);
    }
}

/// 1–3 digits, no leading zero unless the number is 0.
fn number(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut n = 0u16;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (d - b'0') as u16;
    }
    Some(n)
}

/// Appends `n` in decimal without allocating.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

impl fmt::Display for EnhancedStatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl core::str::FromStr for EnhancedStatusCode {
    type Err = SyntaxError;
    fn from_str(s: &str) -> Result<Self, SyntaxError> {
        Self::parse(s.as_bytes()).ok_or(SyntaxError::new(
            SyntaxErrorKind::Reply,
            "not an enhanced status code",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_code_range_rfc5321_4_2() {
        assert!(ReplyCode::new(250).is_some());
        assert!(ReplyCode::new(559).is_some());
        assert!(ReplyCode::new(160).is_none());
        assert!(ReplyCode::new(260).is_none());
        assert!(ReplyCode::new(600).is_none());
        assert_eq!(ReplyCode::from_ascii(b"354"), ReplyCode::new(354));
        assert_eq!(ReplyCode::from_ascii(b"364"), None);
        assert_eq!(&ReplyCode::OK.to_ascii(), b"250");
    }

    #[test]
    fn enhanced_code_no_leading_zeros_rfc3463_2() {
        assert_eq!(
            EnhancedStatusCode::parse(b"5.1.10"),
            EnhancedStatusCode::new(5, 1, 10)
        );
        assert_eq!(EnhancedStatusCode::parse(b"5.01.1"), None);
        assert_eq!(EnhancedStatusCode::parse(b"3.1.1"), None);
        assert_eq!(EnhancedStatusCode::parse(b"2.1.1000"), None);
        assert_eq!(EnhancedStatusCode::parse(b"2.1"), None);
        assert_eq!(EnhancedStatusCode::parse(b"2.1.1.4"), None);
        let mut out = Vec::new();
        EnhancedStatusCode::new(4, 7, 12)
            .unwrap()
            .write_to(&mut out);
        assert_eq!(out, b"4.7.12");
    }
}
