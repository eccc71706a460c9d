//! Errors, kept in separate classes: malformed peer input
//! ([`SyntaxError`], which names the reply a server owes), incomplete input
//! and overlong lines ([`DecodeError`]).

use crate::values::{EnhancedStatusCode, ReplyCode};

/// What kind of syntax problem a peer's line has; each kind maps to the
/// reply RFC 5321 §4.2.4 / §4.3.2 and the extension RFCs prescribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// The verb is not a command at all (`500 5.5.2`).
    Command,
    /// A character that may not appear in a command: a control, or 8-bit
    /// without SMTPUTF8 (RFC 5321 §2.4: `500 5.5.2`).
    Character,
    /// Arguments that do not match the command's grammar (`501 5.5.4`).
    Arguments,
    /// An AUTH response that is not valid base64 (RFC 4954 §4:
    /// `501 5.5.2`).
    Base64,
    /// A malformed forward path (`553 5.1.3`).
    RecipientAddress,
    /// A malformed reverse path (`553 5.1.7`).
    SenderAddress,
    /// A MAIL/RCPT parameter the grammar does not know (RFC 5321
    /// §4.1.1.11: `555 5.5.4`).
    UnknownParameter,
    /// A known parameter with an invalid or duplicated value (RFC 3461
    /// §4.5: `501 5.5.4`).
    ParameterValue,
    /// A known parameter with a value this implementation does not
    /// recognise, such as `BODY=9BIT` (RFC 5321 §4.1.1.11: `555 5.5.4`;
    /// 504 is for a command parameter, not a MAIL/RCPT one).
    UnsupportedParameterValue,
    /// The line exceeds the configured limit (`500 5.5.2`; X.5.6 is the
    /// AUTH exchange's own code, RFC 4954 §6).
    LineTooLong,
    /// Not a valid SMTP reply (client side; no reply is owed).
    Reply,
}

impl SyntaxErrorKind {
    /// The reply code and enhanced status code a server should send.
    pub const fn reply(self) -> (ReplyCode, EnhancedStatusCode) {
        use SyntaxErrorKind::*;
        let (code, sub, det) = match self {
            Command | Character => (500, 5, 2),
            Base64 => (501, 5, 2),
            Arguments | ParameterValue => (501, 5, 4),
            RecipientAddress => (553, 1, 3),
            SenderAddress => (553, 1, 7),
            UnknownParameter => (555, 5, 4),
            UnsupportedParameterValue => (555, 5, 4),
            LineTooLong => (500, 5, 2),
            Reply => (500, 5, 2),
        };
        (
            ReplyCode::new_unchecked(code),
            EnhancedStatusCode::new_unchecked(5, sub, det),
        )
    }

    const fn label(self) -> &'static str {
        use SyntaxErrorKind::*;
        match self {
            Command => "command not recognized",
            Character => "invalid character",
            Arguments => "syntax error in arguments",
            Base64 => "invalid base64",
            RecipientAddress => "bad recipient address syntax",
            SenderAddress => "bad sender address syntax",
            UnknownParameter => "parameter not recognized",
            ParameterValue => "invalid parameter value",
            UnsupportedParameterValue => "parameter value not supported",
            LineTooLong => "line too long",
            Reply => "malformed reply",
        }
    }
}

/// Malformed input, with the precise reason and the reply it deserves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{}: {detail}", kind.label())]
pub struct SyntaxError {
    kind: SyntaxErrorKind,
    detail: &'static str,
}

impl SyntaxError {
    /// A new error of `kind`; `detail` says precisely what was wrong and is
    /// safe to echo in a reply (static ASCII, no peer bytes).
    pub const fn new(kind: SyntaxErrorKind, detail: &'static str) -> Self {
        Self { kind, detail }
    }

    /// The class of problem.
    pub const fn kind(&self) -> SyntaxErrorKind {
        self.kind
    }

    /// What exactly was wrong, in a few words.
    pub const fn detail(&self) -> &'static str {
        self.detail
    }

    /// The reply code and enhanced status code a server should answer with.
    pub const fn reply(&self) -> (ReplyCode, EnhancedStatusCode) {
        self.kind.reply()
    }

    /// The same error reclassified (e.g. an address error seen in MAIL).
    pub(crate) const fn with_kind(self, kind: SyntaxErrorKind) -> Self {
        Self { kind, ..self }
    }
}

/// Why a buffer did not yield a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The buffer holds a prefix of a line; read more and call again.
    #[error("incomplete input")]
    Incomplete,
    /// No line end within `limit` octets. The caller must discard input up
    /// to and including the next CRLF and answer `500 5.5.2`.
    #[error("line longer than {limit} octets")]
    LineTooLong {
        /// The limit that was exceeded, counting the CRLF.
        limit: usize,
    },
    /// A complete line that is malformed; `consumed` octets (the whole
    /// line with its CRLF) may be skipped to resynchronise.
    #[error("{error}")]
    Syntax {
        /// What was wrong.
        error: SyntaxError,
        /// Octets of the input the bad line occupies, CRLF included.
        consumed: usize,
    },
}

impl DecodeError {
    /// The syntax error, if the input was a complete but malformed line.
    pub fn syntax(&self) -> Option<&SyntaxError> {
        match self {
            DecodeError::Syntax { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a caller-built value cannot be written as one protocol line.
///
/// Writers refuse rather than rewrite, so text with CR, LF or NUL can never
/// put a second command on the wire (RFC 5321 §2.3.8: a line ends at CRLF
/// and nowhere else).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A text field holds a control character (RFC 5321 §4.1.1: the
    /// arguments are printable text).
    #[error("{field} holds control character 0x{byte:02x}")]
    Control {
        /// Which field.
        field: &'static str,
        /// The offending octet.
        byte: u8,
    },
    /// A field that must not be empty is.
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A field that is one word holds a space (a BURL URI, RFC 4468 §3; a
    /// verb, RFC 5321 §4.1.1).
    #[error("{0} holds a space")]
    Space(&'static str),
    /// A verb that is not an `esmtp-keyword`: a letter or digit, then
    /// letters, digits and hyphens (RFC 5321 §4.1.2, §4.1.5).
    #[error("verb {0:?} is not a keyword")]
    Verb(String),
    /// A SASL response that is not base64 (RFC 4954 §4).
    #[error("SASL response is not base64")]
    Base64,
    /// A value its grammar refuses (an XCLIENT host name with a space, a
    /// login that would read back as `[UNAVAILABLE]` …).
    #[error("{0} is not valid")]
    Invalid(&'static str),
    /// A field or line over its length limit (a command line is 512
    /// octets, RFC 5321 §4.5.3.1.4).
    #[error("{field} is longer than {limit} octets")]
    TooLong {
        /// Which field or command.
        field: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The server's name is neither a domain nor an address literal, so it
    /// cannot start the 220 greeting or the EHLO reply (RFC 5321 §4.1.1.1,
    /// §4.3.1).
    #[error("hostname {0:?} is neither a domain nor an address literal")]
    Hostname(String),
}
