//! Commands beyond a message's transaction that the client sends on the
//! caller's request: XCLIENT and XFORWARD (Postfix's XCLIENT_README and
//! XFORWARD_README), only when offered, and checked raw commands for
//! private extensions.

use super::event::{ApiError, Event};
use super::pipeline::Expect;
use super::{Client, Phase};
use crate::command::{Command, Verb};
use crate::ext::xclient::{self, Xclient};
use crate::ext::xforward::{self, Xforward};
use crate::reply::Reply;

/// The verbs whose state the machine keeps (the session, a transaction,
/// TLS, AUTH, the direction of the connection): a raw command may not be
/// one of them.
const MANAGED: [Verb; 19] = [
    Verb::Helo,
    Verb::Ehlo,
    Verb::Lhlo,
    Verb::Mail,
    Verb::Rcpt,
    Verb::Data,
    Verb::Bdat,
    Verb::Rset,
    Verb::Quit,
    Verb::StartTls,
    Verb::Auth,
    Verb::Atrn,
    Verb::Turn,
    Verb::Send,
    Verb::Soml,
    Verb::Saml,
    Verb::Burl,
    Verb::Xclient,
    Verb::Xforward,
];

/// The longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
const MAX_LINE: usize = 512;

impl Client {
    /// Whether the server offers what `cmd` needs: XCLIENT and XFORWARD
    /// must be offered with every attribute sent. Other commands need
    /// nothing.
    pub(super) fn offered_for(&self, cmd: &Command<'_>) -> Result<(), ApiError> {
        let (offered, names, what) = match cmd {
            Command::Xclient(x) => (
                self.caps.as_deref().and_then(xclient::offered),
                x.names(),
                xclient::EHLO_KEYWORD,
            ),
            Command::Xforward(x) => (
                self.caps.as_deref().and_then(xforward::offered),
                x.names(),
                xforward::EHLO_KEYWORD,
            ),
            _ => return Ok(()),
        };
        match offered {
            None => Err(ApiError::NotOffered(what)),
            Some(list) if !list.contains_all(names) => Err(ApiError::AttributeNotOffered(
                names
                    .iter()
                    .find(|n| !list.contains(*n))
                    .unwrap_or(xclient::AttrName::Name),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Checks now when the server's offer is known (the session is set
    /// up), else when the command's turn comes.
    fn queue_offered(&mut self, cmd: Command<'static>) -> Result<(), ApiError> {
        if matches!(self.phase, Phase::Ready) {
            self.offered_for(&cmd)?;
        }
        self.request(cmd)
    }

    /// Queues XCLIENT (XCLIENT_README): the server takes `attrs` as the
    /// SMTP client's, answers with a new `220` greeting, and the session
    /// starts over: EHLO again (and AUTH again, as configured, unless
    /// `attrs` carries a LOGIN). The reply comes as
    /// [`Event::CommandReply`].
    ///
    /// Sent only if the server offers XCLIENT with every attribute given
    /// ([`xclient::offered`]): otherwise refused here
    /// ([`ApiError::NotOffered`], [`ApiError::AttributeNotOffered`]) once
    /// the offer is known, or, when queued before it is, with
    /// [`Event::CommandRefused`] at its turn. Values that cannot be sent
    /// (a space in a host name, a line over 512 octets: send the rest in
    /// another XCLIENT, as XCLIENT_README Note 1 says) are
    /// [`ApiError::Unwritable`].
    pub fn xclient(&mut self, attrs: Xclient<'static>) -> Result<(), ApiError> {
        attrs.check_for_sending()?;
        self.queue_offered(Command::Xclient(Box::new(attrs)))
    }

    /// Queues XFORWARD (XFORWARD_README): attributes of the original
    /// client for the next transaction, which the server logs; they hold
    /// until that transaction ends. Sent only when offered, as
    /// [`Client::xclient`]; the reply comes as [`Event::CommandReply`].
    pub fn xforward(&mut self, attrs: Xforward<'static>) -> Result<(), ApiError> {
        attrs.check_for_sending()?;
        self.queue_offered(Command::Xforward(Box::new(attrs)))
    }

    /// Queues a command of the caller's own, `verb [SP args]`, for a
    /// private extension (RFC 5321 §4.1.5: X- verbs); its reply comes as
    /// [`Event::CommandReply`] with [`Verb::Other`], in the order asked,
    /// between messages.
    ///
    /// The line is checked: `verb` is an `esmtp-keyword`, `args` hold no
    /// control character (no CR or LF: never two lines), the whole is at
    /// most 512 octets ([`ApiError::Unwritable`]); and a verb whose state
    /// the machine keeps — HELO/EHLO/LHLO, MAIL, RCPT, DATA, BDAT, RSET,
    /// QUIT, STARTTLS, AUTH, ATRN, TURN, SEND/SOML/SAML, BURL, XCLIENT,
    /// XFORWARD — is [`ApiError::ManagedVerb`]: those have their own
    /// methods or belong to the transaction.
    ///
    /// ```
    /// use esmtp::client::{ApiError, Client, ClientConfig};
    /// use esmtp::values::Domain;
    ///
    /// let mut client = Client::new(ClientConfig::new(Domain::parse("c.example").unwrap().into_owned()));
    /// client.raw_command("X-PING", Some("now")).unwrap();
    /// assert!(matches!(client.raw_command("X-A", Some("b\r\nRSET")), Err(ApiError::Unwritable(_))));
    /// assert!(matches!(client.raw_command("mail", Some("FROM:<a@b>")), Err(ApiError::ManagedVerb(_))));
    /// ```
    pub fn raw_command(&mut self, verb: &str, args: Option<&str>) -> Result<(), ApiError> {
        if let Some(managed) = MANAGED
            .into_iter()
            .find(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(verb)))
        {
            return Err(ApiError::ManagedVerb(managed));
        }
        let cmd = Command::Other {
            verb: verb.to_owned().into(),
            args: args.map(|a| a.to_owned().into()),
        };
        let len = verb.len() + args.map_or(0, |a| a.len() + 1) + 2;
        if len > MAX_LINE {
            return Err(ApiError::Unwritable(crate::error::EncodeError::TooLong {
                field: "command line",
                limit: MAX_LINE,
            }));
        }
        self.request(cmd)
    }

    /// A queued command's turn came, but the server does not offer what it
    /// needs: reported, not sent.
    pub(super) fn refuse_command(&mut self, verb: Verb, error: ApiError) {
        self.events.push_back(Event::CommandRefused { verb, error });
    }

    /// The reply to XCLIENT: on `220` the session starts over
    /// (XCLIENT_README, "XCLIENT Server response"): the capabilities are
    /// forgotten and EHLO goes out again.
    pub(super) fn xclient_reply(&mut self, login: bool, reply: Reply<'static>) {
        let accepted = reply.code().get() == 220;
        self.events.push_back(Event::CommandReply {
            verb: Verb::Xclient,
            reply,
        });
        if accepted {
            self.caps = None;
            self.authenticated = login;
            self.send_hello();
        }
    }
}

/// What XCLIENT's reply is awaited as.
pub(super) fn expect_for(cmd: &Command<'_>) -> Expect {
    match cmd {
        Command::Atrn(_) | Command::Turn => Expect::Reverse(cmd.verb()),
        Command::Xclient(x) => Expect::Xclient {
            login: x.has_login(),
        },
        _ => Expect::Simple(cmd.verb()),
    }
}
