//! The `AUTH=` MAIL parameter of RFC 4954 §5 (the AUTH command and its
//! exchange live elsewhere).

use super::seam::{offered, Extension, MailParamDef, Negotiation, Offer, ParamDef};
use super::{invalid, mailbox_from_cow, write_xtext_mailbox, xtext_cow, MandatedReply};
use crate::client::MessageError;
use crate::ehlo::{Capabilities, Keyword};
use crate::error::SyntaxError;
use crate::options::ParseOptions;
use crate::params::{key, set, MailParams};
use crate::values::Mailbox;

/// The EHLO keyword.
pub const EHLO_KEYWORD: &str = "AUTH";
/// The MAIL parameter keyword.
pub const PARAM: &str = EHLO_KEYWORD;

/// The submitter named by `AUTH=` (RFC 4954 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthParam<'a> {
    /// `AUTH=<>`: the submitter is unknown. A server that does not trust
    /// the client "MUST" act as if this had been sent.
    Unknown,
    /// The authenticated submitter's mailbox.
    Mailbox(Mailbox<'a>),
}

impl<'a> AuthParam<'a> {
    /// Parses the value: the xtext is decoded first, then the decoded text
    /// must be `<>` or a mailbox (RFC 4954 §5). UTF-8 in the mailbox
    /// (from `+XX` escapes) needs `opts.utf8`.
    pub fn parse(value: &'a [u8], opts: &ParseOptions) -> Result<Self, SyntaxError> {
        if value.is_empty() {
            return Err(invalid("empty AUTH= value"));
        }
        let text = xtext_cow(value, opts)?;
        if &*text == "<>" {
            return Ok(AuthParam::Unknown);
        }
        mailbox_from_cow(text, opts.utf8, "AUTH= is neither <> nor a mailbox")
            .map(AuthParam::Mailbox)
    }

    /// Appends the xtext form (`<>` needs no escape: both are xchars).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            AuthParam::Unknown => out.extend_from_slice(b"<>"),
            AuthParam::Mailbox(m) => write_xtext_mailbox(m, out),
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> AuthParam<'static> {
        match self {
            AuthParam::Unknown => AuthParam::Unknown,
            AuthParam::Mailbox(m) => AuthParam::Mailbox(m.into_owned()),
        }
    }
}

/// AUTH: the mechanisms the server offers and the `AUTH=` MAIL parameter
/// (the exchange itself is the machines'); the client sends `AUTH=` only
/// to a server that offers AUTH (RFC 4954 §5).
pub(crate) const EXTENSION: Extension = Extension {
    mail: &[AUTH],
    advertise,
    check_mail,
    accept_mail: |_, p, o| {
        // RFC 4954 §5: an unauthenticated (so untrusted) client's AUTH= is
        // taken as AUTH=<>.
        if p.extras().auth.is_some() && !o.authenticated {
            p.extras_mut().auth = Some(AuthParam::Unknown);
        }
        Ok(())
    },
    choose,
    ..Extension::NONE
};

const AUTH: MailParamDef = ParamDef {
    keyword: PARAM,
    eq_in_value: false,
    parse: |p, v, opts| {
        set(&mut p.extras_mut().auth, || {
            AuthParam::parse(v.need()?, opts)
        })
    },
    write: |p, out| {
        if let Some(a) = &p.extras().auth {
            key(out, PARAM);
            a.write_to(out);
        }
    },
};

/// The configured mechanisms, when AUTH is offered in this session (RFC
/// 4954 §4: only over TLS when so configured).
fn advertise<'s>(o: &Offer<'s>, caps: &mut Capabilities<'s>) {
    if o.auth_offered {
        for m in &o.ext().auth {
            caps.add_auth_mechanism(m.clone());
        }
    }
}

fn check_mail(p: &MailParams<'_>, o: &Offer<'_>) -> Result<(), MandatedReply> {
    if p.extras().auth.is_some() {
        offered(!o.ext().auth.is_empty())?;
    }
    Ok(())
}

/// RFC 4954 §5: `AUTH=` only to a server that offers AUTH; dropped
/// silently otherwise, as it only informs.
fn choose(n: &mut Negotiation<'_>) -> Result<(), MessageError> {
    if !n.has(Keyword::Auth) && n.params.extras().auth.is_some() {
        n.params.extras_mut().auth = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: ParseOptions = ParseOptions::strict();

    #[test]
    fn auth_param_rfc4954_5() {
        assert_eq!(
            AuthParam::parse(b"<>", &STRICT).unwrap(),
            AuthParam::Unknown
        );
        // `+3C+3E` decodes to `<>` too.
        assert_eq!(
            AuthParam::parse(b"+3C+3E", &STRICT).unwrap(),
            AuthParam::Unknown
        );
        // RFC 4954 §7 example: AUTH=e+3Dmc2@example.com
        let AuthParam::Mailbox(m) = AuthParam::parse(b"e+3Dmc2@example.com", &STRICT).unwrap()
        else {
            panic!("mailbox expected")
        };
        assert_eq!(m.local.as_str(), "e=mc2");
        let mut out = Vec::new();
        AuthParam::Mailbox(m).write_to(&mut out);
        assert_eq!(out, b"e+3Dmc2@example.com");
        assert!(AuthParam::parse(b"", &STRICT).is_err());
        assert!(AuthParam::parse(b"nobody", &STRICT).is_err());
        assert!(AuthParam::parse(b"<a@b>", &STRICT).is_err());
        assert!(AuthParam::parse(b"a+3db@x.org", &STRICT).is_err());
        assert!(AuthParam::parse(b"a+3db@x.org", &ParseOptions::lenient()).is_ok());
        // UTF-8 submitter only with SMTPUTF8.
        assert!(AuthParam::parse(b"+C3+A9@x.org", &STRICT).is_err());
        assert!(AuthParam::parse(b"+C3+A9@x.org", &STRICT.with_utf8(true)).is_ok());
    }
}
