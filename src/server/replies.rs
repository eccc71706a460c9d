//! The mandated one-line replies the server machine writes itself
//! (RFC 5321 §4.2.2, §4.3.2; enhanced codes RFC 3463, RFC 2034 §4).

use crate::ext::MandatedReply;

/// Shorthand for a reply the machine writes itself.
pub(super) use crate::ext::reply as r;

pub(super) const OK: MandatedReply = r(250, 2, 0, 0, "OK");

pub(super) const SENDER_OK: MandatedReply = r(250, 2, 1, 0, "Sender OK");

pub(super) const RECIPIENT_OK: MandatedReply = r(250, 2, 1, 5, "Recipient OK");

pub(super) const MESSAGE_OK: MandatedReply = r(250, 2, 0, 0, "Message accepted for delivery");

pub(super) const AUTH_OK: MandatedReply = r(235, 2, 7, 0, "Authentication successful");

pub(super) const CANNOT_VRFY: MandatedReply = r(
    252,
    2,
    5,
    0,
    "Cannot VRFY user, but will accept message and attempt delivery",
);

pub(super) const CANNOT_EXPN: MandatedReply = r(
    252,
    2,
    5,
    0,
    "Cannot EXPN list, but will accept message and attempt delivery",
);

pub(super) const NEED_EHLO_FOR_AUTH: MandatedReply = r(503, 5, 5, 1, "AUTH requires EHLO");

pub(super) use crate::ext::etrn::QUEUING_STARTED as ETRN_OK;

pub(super) const BAD_SEQUENCE: MandatedReply = r(503, 5, 5, 1, "Bad sequence of commands");

pub(super) const NEED_HELLO: MandatedReply = r(503, 5, 5, 1, "Send HELO/EHLO first");

pub(super) const NEED_LHLO: MandatedReply = r(503, 5, 5, 1, "Send LHLO first");

pub(super) const NESTED_MAIL: MandatedReply = r(503, 5, 5, 1, "Nested MAIL command");

pub(super) const NEED_MAIL: MandatedReply = r(503, 5, 5, 1, "Need MAIL command first");

pub(super) const NEED_RCPT: MandatedReply = r(503, 5, 5, 1, "Need RCPT command first");

pub(super) const NO_VALID_RCPT: MandatedReply = r(554, 5, 5, 1, "No valid recipients");

pub(super) const DATA_AFTER_BDAT: MandatedReply = r(503, 5, 5, 1, "DATA not allowed after BDAT");

pub(super) const BDAT_AFTER_FAILURE: MandatedReply =
    r(503, 5, 5, 1, "RSET required after a failed BDAT");

pub(super) const NOT_IMPLEMENTED: MandatedReply = r(502, 5, 5, 1, "Command not implemented");

pub(super) const UNRECOGNIZED: MandatedReply = r(500, 5, 5, 1, "Command not recognized");

// X.5.2 (syntax error), not X.5.6: RFC 4954 §6 / RFC 5248 register 5.5.6
// as "authentication exchange line is too long" only.
pub(super) const LINE_TOO_LONG: MandatedReply = r(500, 5, 5, 2, "Line too long");

pub(super) const AUTH_LINE_TOO_LONG: MandatedReply =
    r(500, 5, 5, 6, "Authentication Exchange line is too long");

pub(super) const TOO_MANY_RCPTS: MandatedReply = r(452, 4, 5, 3, "Too many recipients");

pub(super) const TOO_MANY_MAILS: MandatedReply =
    r(452, 4, 5, 3, "Too many transactions in this session");

pub(super) const PARAMS_NEED_EHLO: MandatedReply = r(555, 5, 5, 4, "Parameters require EHLO");

pub(super) const AUTH_REQUIRED: MandatedReply = r(530, 5, 7, 0, "Authentication required");

pub(super) use crate::ext::starttls::REQUIRED_FIRST as TLS_FIRST;

pub(super) const ALREADY_AUTH: MandatedReply = r(503, 5, 5, 1, "Already authenticated");

pub(super) const AUTH_IN_TRANSACTION: MandatedReply =
    r(503, 5, 5, 1, "AUTH not permitted during a mail transaction");

pub(super) const AUTH_MECH_UNKNOWN: MandatedReply =
    r(504, 5, 5, 4, "Unrecognized authentication type");

pub(super) const AUTH_CANCELLED: MandatedReply = r(501, 5, 7, 0, "Authentication cancelled");

pub(super) const AUTH_FAILED: MandatedReply = r(535, 5, 7, 8, "Authentication credentials invalid");

pub(super) const BAD_BASE64: MandatedReply = r(501, 5, 5, 2, "Invalid base64 data");

pub(super) const SERVER_FIRST_INITIAL: MandatedReply = r(
    501,
    5,
    7,
    0,
    "Initial response not allowed for this mechanism",
);

pub(super) use crate::ext::starttls::READY as TLS_READY;

pub(super) use crate::ext::starttls::ALREADY_ACTIVE as TLS_ACTIVE;

pub(super) use crate::ext::etrn::IN_TRANSACTION as ETRN_IN_TRANSACTION;

pub(super) use crate::ext::atrn::NEEDS_AUTH as ATRN_NEEDS_AUTH;

pub(super) const TOO_MANY_ERRORS: MandatedReply =
    r(421, 4, 7, 0, "Too many errors, closing connection");

pub(super) const TOO_MANY_AUTH: MandatedReply = r(
    421,
    4,
    7,
    0,
    "Too many authentication failures, closing connection",
);

pub(super) const TIMEOUT: MandatedReply = r(421, 4, 4, 2, "Timeout exceeded, closing connection");

pub(super) const OVERRUN: MandatedReply =
    r(421, 4, 7, 0, "Too much pipelined input, closing connection");

// A BDAT line that cannot be framed leaves an unknown number of octets
// to skip, so the session ends; a closing server answers 421 (RFC 5321
// §3.8).
pub(super) const BAD_CHUNK_SIZE: MandatedReply =
    r(421, 4, 5, 2, "Invalid BDAT command, closing connection");

pub(super) const MESSAGE_REJECTED: MandatedReply = r(554, 5, 6, 0, "Message rejected");

pub(super) const SENDER_REJECTED: MandatedReply = r(550, 5, 7, 1, "Sender rejected");

pub(super) const RECIPIENT_REJECTED: MandatedReply = r(550, 5, 1, 1, "Recipient rejected");

pub(super) const HELLO_REJECTED: MandatedReply = r(550, 5, 7, 1, "Hello rejected");

pub(super) const CONNECT_REFUSED: MandatedReply = r(554, 5, 3, 2, "No SMTP service here");

pub(super) const VRFY_REJECTED: MandatedReply = r(550, 5, 1, 1, "User unknown");

pub(super) use crate::ext::etrn::UNABLE_TO_QUEUE as ETRN_REJECTED;

pub(super) const REVERSE_REJECTED: MandatedReply = r(450, 4, 7, 1, "Request refused");

pub(super) const COMMAND_REJECTED: MandatedReply = r(550, 5, 7, 1, "Command rejected");
