//! The command writer: always the strict RFC form, uppercase verbs (RFC
//! 5321 §2.4: some servers require them), CRLF at the end.

use super::{Command, Etrn, Utf8Reply};
use crate::error::EncodeError;
use crate::ext;
use crate::values::push_decimal;

/// A free-text argument: not empty, no control but HT-free printable text
/// and UTF-8 (RFC 5321 §4.1.1 `String`, RFC 6531 §3.3).
fn check_text(field: &'static str, text: &str) -> Result<(), EncodeError> {
    if text.is_empty() {
        return Err(EncodeError::Empty(field));
    }
    match text.bytes().find(|&b| b < b' ' || b == 0x7f) {
        Some(byte) => Err(EncodeError::Control { field, byte }),
        None => Ok(()),
    }
}

/// One word: free text without a space.
fn check_word(field: &'static str, text: &str) -> Result<(), EncodeError> {
    check_text(field, text)?;
    if text.contains(' ') {
        return Err(EncodeError::Space(field));
    }
    Ok(())
}

impl Command<'_> {
    /// Whether the command can be written as one line: every caller text
    /// (VRFY/EXPN targets, HELP/NOOP strings, ETRN queue names, BURL URIs,
    /// other verbs and their arguments, SASL responses) is checked, as
    /// [`Command::write_to`] does before writing anything.
    pub fn check(&self) -> Result<(), EncodeError> {
        match self {
            Command::Vrfy { target, .. } => check_text("VRFY target", target),
            Command::Expn { target, .. } => check_text("EXPN target", target),
            Command::Help(Some(t)) => check_text("HELP topic", t),
            Command::Noop(Some(t)) => check_text("NOOP string", t),
            Command::Etrn(Etrn::Queue(q)) => check_word("ETRN queue", q),
            Command::Burl { url, .. } => check_word("BURL URI", url),
            Command::Auth {
                initial: Some(r), ..
            } => r.check(),
            Command::Xclient(x) => x.check(),
            Command::Xforward(x) => x.check(),
            Command::Other { verb, args } => {
                // The parser's rule for an unknown verb (RFC 5321 §4.1.5
                // `esmtp-keyword` shape), so what parses can be written.
                let keyword = verb
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_alphanumeric)
                    && verb.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !keyword {
                    return Err(EncodeError::Verb(verb.to_string()));
                }
                match args {
                    Some(a) => check_text("arguments", a),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// Appends the command line, CRLF included; nothing when
    /// [`Command::check`] fails.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.check()?;
        self.write_checked(out);
        Ok(())
    }

    /// The command line as bytes, CRLF included.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// [`Command::write_to`] for a command known to pass the check: one
    /// the crate built from validated values.
    pub(crate) fn write_checked(&self, out: &mut Vec<u8>) {
        let verb = |out: &mut Vec<u8>| {
            if let Some(v) = self.verb().as_str() {
                out.extend_from_slice(v.as_bytes());
            }
        };
        match self {
            Command::Helo(h) | Command::Ehlo(h) | Command::Lhlo(h) => {
                verb(out);
                out.push(b' ');
                h.write_to(out);
            }
            Command::Mail { from, params } | Command::Send { from, params, .. } => {
                verb(out);
                out.extend_from_slice(b" FROM:");
                from.write_to(out);
                params.write_to(out);
            }
            Command::Rcpt { to, params } => {
                out.extend_from_slice(b"RCPT TO:");
                to.write_to(out);
                params.write_to(out);
            }
            Command::Bdat { size, last } => {
                out.extend_from_slice(b"BDAT ");
                push_decimal(out, *size);
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Vrfy { target, utf8 } | Command::Expn { target, utf8 } => {
                verb(out);
                out.push(b' ');
                out.extend_from_slice(target.as_bytes());
                match utf8 {
                    Utf8Reply::No => {}
                    Utf8Reply::SmtpUtf8 => {
                        out.push(b' ');
                        out.extend_from_slice(ext::smtputf8::EHLO_KEYWORD.as_bytes());
                    }
                    Utf8Reply::Utf8Reply => out.extend_from_slice(b" UTF8REPLY"),
                }
            }
            Command::Help(text) | Command::Noop(text) => {
                verb(out);
                if let Some(t) = text {
                    out.push(b' ');
                    out.extend_from_slice(t.as_bytes());
                }
            }
            Command::Auth { mechanism, initial } => {
                verb(out);
                out.push(b' ');
                out.extend_from_slice(mechanism.as_str().as_bytes());
                if let Some(r) = initial {
                    out.push(b' ');
                    r.write_checked(out, true);
                }
            }
            Command::Etrn(e) => {
                verb(out);
                out.push(b' ');
                match e {
                    Etrn::Domain(d) => out.extend_from_slice(d.as_str().as_bytes()),
                    Etrn::Subdomains(d) => {
                        out.push(b'@');
                        out.extend_from_slice(d.as_str().as_bytes());
                    }
                    Etrn::Queue(q) => {
                        out.push(b'#');
                        out.extend_from_slice(q.as_bytes());
                    }
                }
            }
            Command::Atrn(domains) => {
                verb(out);
                for (i, d) in domains.iter().enumerate() {
                    out.push(if i == 0 { b' ' } else { b',' });
                    out.extend_from_slice(d.as_str().as_bytes());
                }
            }
            Command::Burl { url, last } => {
                verb(out);
                out.push(b' ');
                out.extend_from_slice(url.as_bytes());
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Xclient(x) => x.write_checked(out),
            Command::Xforward(x) => x.write_checked(out),
            Command::Other { verb, args } => {
                out.extend_from_slice(verb.as_bytes());
                if let Some(a) = args {
                    out.push(b' ');
                    out.extend_from_slice(a.as_bytes());
                }
            }
            Command::Data
            | Command::Rset
            | Command::Quit
            | Command::StartTls
            | Command::Turn
            | Command::Verb
            | Command::Onex => verb(out),
        }
        out.extend_from_slice(b"\r\n");
    }
}
