//! Commands (RFC 5321 §4.1.1 and the extension RFCs): one type for every
//! verb, a streaming parser and a writer.
//!
//! ```
//! use esmtp::command::Command;
//! use esmtp::ParseOptions;
//!
//! let input = b"MAIL FROM:<a@example.org> SIZE=1000\r\nRCPT TO:<b@exa";
//! let (cmd, used) = Command::parse(input, &ParseOptions::strict()).unwrap();
//! assert!(matches!(cmd, Command::Mail { .. }));
//! // The second line is a prefix: read more before trying again.
//! assert!(Command::parse(&input[used..], &ParseOptions::strict()).is_err());
//! assert_eq!(cmd.to_bytes().unwrap(), b"MAIL FROM:<a@example.org> SIZE=1000\r\n");
//! // Caller text that would end the line early is an error, not a second
//! // command (RFC 5321 §2.3.8).
//! assert!(Command::Noop(Some("x\r\nRSET".into())).to_bytes().is_err());
//! ```

mod fast;
mod parse;
mod sasl;
mod write;

use std::borrow::Cow;
use std::fmt;

#[doc(hidden)]
pub use parse::OUTSIDE_GRAMMAR;
pub use sasl::SaslResponse;

use crate::ehlo::{Keyword, Mechanism};
use crate::params::{MailParams, RcptParams};
use crate::values::{Domain, ForwardPath, Host, ReversePath};

/// One SMTP, ESMTP or LMTP command line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `HELO domain` (RFC 5321 §4.1.1.1; an address literal is accepted
    /// as §4.1.1.1 tells name-less clients to send one).
    Helo(Host<'a>),
    /// `EHLO domain-or-literal` (RFC 5321 §4.1.1.1).
    Ehlo(Host<'a>),
    /// `LHLO domain-or-literal` (RFC 2033 §4.1).
    Lhlo(Host<'a>),
    /// `MAIL FROM:<reverse-path> [params]` (RFC 5321 §4.1.1.2).
    Mail {
        /// The reverse path.
        from: ReversePath<'a>,
        /// The MAIL parameters.
        params: MailParams<'a>,
    },
    /// `RCPT TO:<forward-path> [params]` (RFC 5321 §4.1.1.3).
    Rcpt {
        /// The forward path.
        to: ForwardPath<'a>,
        /// The RCPT parameters.
        params: RcptParams<'a>,
    },
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 §2).
    Bdat {
        /// Octets of the chunk that follow the command line.
        size: u64,
        /// The last chunk of the message.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `VRFY string [SMTPUTF8]` (RFC 5321 §4.1.1.6, RFC 6531 §3.7.4.2).
    Vrfy {
        /// The string to verify, as sent.
        target: Cow<'a, str>,
        /// A UTF-8 reply was allowed.
        utf8: Utf8Reply,
    },
    /// `EXPN string [SMTPUTF8]` (RFC 5321 §4.1.1.7).
    Expn {
        /// The list to expand, as sent.
        target: Cow<'a, str>,
        /// A UTF-8 reply was allowed.
        utf8: Utf8Reply,
    },
    /// `HELP [string]` (RFC 5321 §4.1.1.8).
    Help(Option<Cow<'a, str>>),
    /// `NOOP [string]` (RFC 5321 §4.1.1.9).
    Noop(Option<Cow<'a, str>>),
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism,
        /// The initial response, if given (`=` is [`SaslResponse::Empty`]).
        initial: Option<SaslResponse<'a>>,
    },
    /// `ETRN [option]node` (RFC 1985 §5).
    Etrn(Etrn<'a>),
    /// `ATRN [domain *("," domain)]` (RFC 2645 §5.2.2).
    Atrn(Vec<Domain<'a>>),
    /// `TURN` (RFC 821 §3.8).
    Turn,
    /// `SEND`, `SOML` or `SAML FROM:<reverse-path>` (RFC 821 §3.4).
    Send {
        /// Which of the three.
        mode: SendMode,
        /// The reverse path.
        from: ReversePath<'a>,
        /// MAIL parameters (RFC 5321 treats these as MAIL variants).
        params: MailParams<'a>,
    },
    /// `BURL absolute-URI [LAST]` (RFC 4468 §3).
    Burl {
        /// The URL of the message part.
        url: Cow<'a, str>,
        /// The last part of the message.
        last: bool,
    },
    /// `VERB` (sendmail; registered without an RFC).
    Verb,
    /// `ONEX` (sendmail; registered without an RFC).
    Onex,
    /// `XCLIENT attribute=value…` (Postfix's XCLIENT_README), boxed: it
    /// is large and rare.
    Xclient(Box<crate::ext::xclient::Xclient<'a>>),
    /// `XFORWARD attribute=value…` (Postfix's XFORWARD_README).
    Xforward(Box<crate::ext::xforward::Xforward<'a>>),
    /// Any other verb, X- private ones included (RFC 5321 §4.1.5), kept
    /// verbatim.
    Other {
        /// The verb, as sent.
        verb: Cow<'a, str>,
        /// Everything after the first space, if anything.
        args: Option<Cow<'a, str>>,
    },
}

/// The optional UTF-8 reply request of VRFY and EXPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Utf8Reply {
    /// None requested.
    #[default]
    No,
    /// `SP SMTPUTF8` (RFC 6531 §3.7.4.2).
    SmtpUtf8,
    /// `SP UTF8REPLY` (RFC 5336 §3.7.4.2, deprecated).
    Utf8Reply,
}

/// SEND, SOML or SAML (RFC 821 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendMode {
    /// Deliver to the terminal.
    Send,
    /// Deliver to the terminal or else the mailbox.
    Soml,
    /// Deliver to the terminal and the mailbox.
    Saml,
}

/// The ETRN argument (RFC 1985 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Etrn<'a> {
    /// `ETRN domain`: the queue for one host.
    Domain(Domain<'a>),
    /// `ETRN @domain`: the domain and its subdomains.
    Subdomains(Domain<'a>),
    /// `ETRN #queue`: a named queue.
    Queue(Cow<'a, str>),
}

impl Etrn<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Etrn<'static> {
        match self {
            Etrn::Domain(d) => Etrn::Domain(d.into_owned()),
            Etrn::Subdomains(d) => Etrn::Subdomains(d.into_owned()),
            Etrn::Queue(q) => Etrn::Queue(Cow::Owned(q.into_owned())),
        }
    }

    /// Whether the node names the queue kept for `domain` (RFC 1985 §5),
    /// compared without regard to case: `domain` is that domain,
    /// `@domain` also each of its subdomains (§5.3), and `#queue` a queue
    /// whose name is `domain` (what a named queue holds is a local
    /// matter).
    pub fn matches(&self, domain: &str) -> bool {
        let (node, subdomains) = match self {
            Etrn::Domain(d) => (d.as_str(), false),
            Etrn::Subdomains(d) => (d.as_str(), true),
            Etrn::Queue(q) => (q.as_ref(), false),
        };
        let under = |cut: usize| domain.as_bytes()[cut - 1] == b'.';
        domain.eq_ignore_ascii_case(node)
            || subdomains
                && domain.len() > node.len()
                && domain.is_char_boundary(domain.len() - node.len())
                && domain[domain.len() - node.len()..].eq_ignore_ascii_case(node)
                && under(domain.len() - node.len())
    }
}

impl fmt::Display for Etrn<'_> {
    /// The node as ETRN names it: `example.org`, `@example.org`, `#queue`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Etrn::Domain(d) => write!(f, "{d}"),
            Etrn::Subdomains(d) => write!(f, "@{d}"),
            Etrn::Queue(q) => write!(f, "#{q}"),
        }
    }
}

/// The verb of a command, for state checks and pipelining rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Verb {
    Helo,
    Ehlo,
    Lhlo,
    Mail,
    Rcpt,
    Data,
    Bdat,
    Rset,
    Vrfy,
    Expn,
    Help,
    Noop,
    Quit,
    StartTls,
    Auth,
    Etrn,
    Atrn,
    Turn,
    Send,
    Soml,
    Saml,
    Burl,
    Verb,
    Onex,
    Xclient,
    Xforward,
    /// An unknown or private verb.
    Other,
}

impl Verb {
    /// The verb as written on the wire (uppercase); `None` for [`Verb::Other`].
    /// An extension's verb is spelled by its EHLO keyword.
    pub const fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Verb::Helo => "HELO",
            Verb::Ehlo => "EHLO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Vrfy => Keyword::Vrfy.name(),
            Verb::Expn => Keyword::Expn.name(),
            Verb::Help => Keyword::Help.name(),
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::StartTls => Keyword::StartTls.name(),
            Verb::Auth => Keyword::Auth.name(),
            Verb::Etrn => Keyword::Etrn.name(),
            Verb::Atrn => Keyword::Atrn.name(),
            Verb::Turn => Keyword::Turn.name(),
            Verb::Send => Keyword::Send.name(),
            Verb::Soml => Keyword::Soml.name(),
            Verb::Saml => Keyword::Saml.name(),
            Verb::Burl => Keyword::Burl.name(),
            Verb::Verb => Keyword::Verb.name(),
            Verb::Onex => Keyword::Onex.name(),
            Verb::Xclient => crate::ext::xclient::EHLO_KEYWORD,
            Verb::Xforward => crate::ext::xforward::EHLO_KEYWORD,
            Verb::Other => return None,
        })
    }

    /// RFC 2920 §3.1: may this command appear before the end of a
    /// pipelined group? (RSET, MAIL, SEND, SOML, SAML, RCPT; BDAT per RFC
    /// 3030 §4.2; BURL per RFC 4468 §3.2.) Everything else ends a group.
    pub const fn may_pipeline(self) -> bool {
        matches!(
            self,
            Verb::Rset
                | Verb::Mail
                | Verb::Send
                | Verb::Soml
                | Verb::Saml
                | Verb::Rcpt
                | Verb::Bdat
                | Verb::Burl
        )
    }
}

impl<'a> Command<'a> {
    /// The verb.
    pub fn verb(&self) -> Verb {
        match self {
            Command::Helo(_) => Verb::Helo,
            Command::Ehlo(_) => Verb::Ehlo,
            Command::Lhlo(_) => Verb::Lhlo,
            Command::Mail { .. } => Verb::Mail,
            Command::Rcpt { .. } => Verb::Rcpt,
            Command::Data => Verb::Data,
            Command::Bdat { .. } => Verb::Bdat,
            Command::Rset => Verb::Rset,
            Command::Vrfy { .. } => Verb::Vrfy,
            Command::Expn { .. } => Verb::Expn,
            Command::Help(_) => Verb::Help,
            Command::Noop(_) => Verb::Noop,
            Command::Quit => Verb::Quit,
            Command::StartTls => Verb::StartTls,
            Command::Auth { .. } => Verb::Auth,
            Command::Etrn(_) => Verb::Etrn,
            Command::Atrn(_) => Verb::Atrn,
            Command::Turn => Verb::Turn,
            Command::Send { mode, .. } => match mode {
                SendMode::Send => Verb::Send,
                SendMode::Soml => Verb::Soml,
                SendMode::Saml => Verb::Saml,
            },
            Command::Burl { .. } => Verb::Burl,
            Command::Verb => Verb::Verb,
            Command::Onex => Verb::Onex,
            Command::Xclient(_) => Verb::Xclient,
            Command::Xforward(_) => Verb::Xforward,
            Command::Other { .. } => Verb::Other,
        }
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Command<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        match self {
            Command::Helo(h) => Command::Helo(h.into_owned()),
            Command::Ehlo(h) => Command::Ehlo(h.into_owned()),
            Command::Lhlo(h) => Command::Lhlo(h.into_owned()),
            Command::Mail { from, params } => Command::Mail {
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Command::Rcpt { to, params } => Command::Rcpt {
                to: to.into_owned(),
                params: params.into_owned(),
            },
            Command::Data => Command::Data,
            Command::Bdat { size, last } => Command::Bdat { size, last },
            Command::Rset => Command::Rset,
            Command::Vrfy { target, utf8 } => Command::Vrfy {
                target: own(target),
                utf8,
            },
            Command::Expn { target, utf8 } => Command::Expn {
                target: own(target),
                utf8,
            },
            Command::Help(t) => Command::Help(t.map(own)),
            Command::Noop(t) => Command::Noop(t.map(own)),
            Command::Quit => Command::Quit,
            Command::StartTls => Command::StartTls,
            Command::Auth { mechanism, initial } => Command::Auth {
                mechanism,
                initial: initial.map(SaslResponse::into_owned),
            },
            Command::Etrn(e) => Command::Etrn(e.into_owned()),
            Command::Atrn(d) => Command::Atrn(d.into_iter().map(Domain::into_owned).collect()),
            Command::Turn => Command::Turn,
            Command::Send { mode, from, params } => Command::Send {
                mode,
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Command::Burl { url, last } => Command::Burl {
                url: own(url),
                last,
            },
            Command::Verb => Command::Verb,
            Command::Onex => Command::Onex,
            Command::Xclient(x) => Command::Xclient(Box::new(x.into_owned())),
            Command::Xforward(x) => Command::Xforward(Box::new(x.into_owned())),
            Command::Other { verb, args } => Command::Other {
                verb: own(verb),
                args: args.map(own),
            },
        }
    }
}

#[cfg(test)]
mod tests;
