//! The command writer: always the strict RFC form, uppercase verbs (RFC
//! 5321 §2.4: some servers require them), CRLF at the end.

use super::{Command, Etrn, Utf8Reply};
use crate::values::push_decimal;

impl Command<'_> {
    /// Appends the command line, CRLF included.
    pub fn write_to(&self, out: &mut Vec<u8>) {
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
                    Utf8Reply::SmtpUtf8 => out.extend_from_slice(b" SMTPUTF8"),
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
                out.extend_from_slice(b"AUTH ");
                out.extend_from_slice(mechanism.as_str().as_bytes());
                if let Some(r) = initial {
                    out.push(b' ');
                    r.write_to(out, true);
                }
            }
            Command::Etrn(e) => {
                out.extend_from_slice(b"ETRN ");
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
                out.extend_from_slice(b"ATRN");
                for (i, d) in domains.iter().enumerate() {
                    out.push(if i == 0 { b' ' } else { b',' });
                    out.extend_from_slice(d.as_str().as_bytes());
                }
            }
            Command::Burl { url, last } => {
                out.extend_from_slice(b"BURL ");
                out.extend_from_slice(url.as_bytes());
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
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

    /// The command line as bytes, CRLF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_to(&mut out);
        out
    }
}
