//! The session commands: dispatch of every parsed command, HELO/EHLO/LHLO,
//! QUIT, STARTTLS (RFC 3207) and AUTH (RFC 4954).

use super::decision::Pending;
use super::event::{AbortReason, CloseReason, Event, HelloVerb};
use super::framing::Step;
use super::output::sanitize;
use super::replies::{
    r, ALREADY_AUTH, ATRN_NEEDS_AUTH, AUTH_CANCELLED, AUTH_FAILED, AUTH_IN_TRANSACTION,
    AUTH_MECH_UNKNOWN, BAD_BASE64, BAD_SEQUENCE, CANNOT_EXPN, CANNOT_VRFY, ETRN_IN_TRANSACTION,
    NEED_EHLO_FOR_AUTH, NOT_IMPLEMENTED, OK, SERVER_FIRST_INITIAL, TLS_ACTIVE, TLS_FIRST,
    TLS_READY, TOO_MANY_AUTH, UNRECOGNIZED,
};
use super::{auth, Core, Phase};
use crate::command::{Command, SaslResponse};
use crate::ehlo::Mechanism;
use crate::ext::MandatedReply;
use crate::sasl::scram::ScramHash;
use crate::sasl::SaslData;

impl Core {
    pub(super) fn quit(&mut self) {
        self.abort_content(AbortReason::Reset);
        self.transaction = None;
        let text = format!(
            "221 {}{} closing connection\r\n",
            self.hostname_prefix_esc(),
            self.config.hostname()
        );
        self.tx.extend_from_slice(sanitize(&text).as_bytes());
        self.phase = Phase::Closing(CloseReason::Quit);
    }

    /// Handles one parsed command.
    pub(super) fn command(&mut self, cmd: Command<'_>) -> Step {
        let lmtp = self.config.lmtp;
        let ext = &self.config.extensions;
        match cmd {
            Command::Ehlo(host) if !lmtp => self.hello(HelloVerb::Ehlo, host),
            Command::Helo(host) if !lmtp => self.hello(HelloVerb::Helo, host),
            Command::Lhlo(host) if lmtp => self.hello(HelloVerb::Lhlo, host),
            // RFC 2033 §4.1: an LMTP server must not accept HELO or EHLO;
            // LHLO is not an SMTP command.
            Command::Ehlo(_) | Command::Helo(_) | Command::Lhlo(_) => self.error_step(UNRECOGNIZED),
            Command::Mail { from, params } => self.mail(from, params, None),
            Command::Send { mode, from, params } => {
                if ext.send && !lmtp {
                    self.mail(from, params, Some(mode))
                } else {
                    self.error_step(NOT_IMPLEMENTED)
                }
            }
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.reset_transaction();
                self.reply(OK);
                Step::Continue
            }
            Command::Noop(_) => {
                self.reply(OK);
                Step::Continue
            }
            Command::Quit => {
                self.quit();
                Step::Continue
            }
            Command::Help(_) => {
                if ext.help {
                    self.help();
                    Step::Continue
                } else {
                    self.error_step(NOT_IMPLEMENTED)
                }
            }
            Command::Vrfy { target, utf8 } => {
                if ext.vrfy {
                    self.pending = Some(Pending::Vrfy);
                    Step::Event(Event::Vrfy {
                        target: target.into_owned(),
                        utf8,
                    })
                } else {
                    self.reply(CANNOT_VRFY);
                    Step::Continue
                }
            }
            Command::Expn { target, utf8 } => {
                if ext.expn {
                    self.pending = Some(Pending::Expn);
                    Step::Event(Event::Expn {
                        target: target.into_owned(),
                        utf8,
                    })
                } else {
                    self.reply(CANNOT_EXPN);
                    Step::Continue
                }
            }
            Command::StartTls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(mechanism, initial),
            Command::Etrn(node) => {
                if !ext.etrn || lmtp {
                    self.error_step(NOT_IMPLEMENTED)
                } else if self.transaction.is_some() {
                    self.error_step(ETRN_IN_TRANSACTION)
                } else {
                    self.pending = Some(Pending::Etrn);
                    Step::Event(Event::Etrn(node.into_owned()))
                }
            }
            Command::Atrn(domains) => {
                if !ext.atrn || lmtp {
                    self.error_step(NOT_IMPLEMENTED)
                } else if !self.session.authenticated {
                    self.error_step(ATRN_NEEDS_AUTH)
                } else if self.transaction.is_some() {
                    self.error_step(BAD_SEQUENCE)
                } else {
                    self.pending = Some(Pending::Atrn);
                    Step::Event(Event::Atrn(
                        domains.into_iter().map(|d| d.into_owned()).collect(),
                    ))
                }
            }
            Command::Turn => {
                if !ext.turn || lmtp {
                    self.error_step(NOT_IMPLEMENTED)
                } else if self.transaction.is_some() {
                    self.error_step(BAD_SEQUENCE)
                } else {
                    self.pending = Some(Pending::Turn);
                    Step::Event(Event::Turn)
                }
            }
            Command::Other { verb, args } => {
                let registered = self
                    .config
                    .private_verbs
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&verb));
                if registered {
                    self.pending = Some(Pending::Command);
                    Step::Event(Event::Command {
                        verb: verb.into_owned(),
                        args: args.map(|a| a.into_owned()),
                    })
                } else {
                    self.error_step(UNRECOGNIZED)
                }
            }
            Command::Xclient(x) => self.xclient(x),
            Command::Xforward(x) => self.xforward(x),
            Command::Burl { url, last } => self.burl(&url, last),
            Command::Verb => self.verb(),
            Command::Onex => self.onex(),
        }
    }

    /// VERB (sendmail): verbose mode on, when offered.
    pub(super) fn verb(&mut self) -> Step {
        if !self.config.extensions.verb {
            return self.error_step(NOT_IMPLEMENTED);
        }
        self.session.verbose = true;
        self.reply(crate::ext::sendmail::VERBOSE_MODE);
        Step::Continue
    }

    /// ONEX (sendmail): from now on the session takes one more
    /// transaction, when offered.
    pub(super) fn onex(&mut self) -> Step {
        if !self.config.extensions.onex {
            return self.error_step(NOT_IMPLEMENTED);
        }
        self.session.onex = true;
        self.reply(crate::ext::sendmail::ONE_TRANSACTION);
        Step::Continue
    }

    pub(super) fn error_step(&mut self, reply: MandatedReply) -> Step {
        self.error(reply);
        Step::Continue
    }

    pub(super) fn hello(&mut self, verb: HelloVerb, host: crate::values::Host<'_>) -> Step {
        // RFC 5321 §4.1.4: a new EHLO resets the session like RSET.
        self.reset_transaction();
        self.pending = Some(Pending::Hello(verb));
        Step::Event(Event::Hello {
            verb,
            host: host.into_owned(),
        })
    }

    pub(super) fn starttls(&mut self) -> Step {
        if !self.config.extensions.starttls {
            return self.error_step(NOT_IMPLEMENTED);
        }
        if self.session.tls {
            return self.error_step(TLS_ACTIVE);
        }
        if self.transaction.is_some() {
            return self.error_step(BAD_SEQUENCE);
        }
        self.reply(TLS_READY);
        self.phase = Phase::TlsPending;
        Step::Continue
    }

    pub(super) fn auth(&mut self, mechanism: Mechanism, initial: Option<SaslResponse<'_>>) -> Step {
        let ext = &self.config.extensions;
        if ext.auth.is_empty() {
            return self.error_step(NOT_IMPLEMENTED);
        }
        if !self.auth_offered() {
            return self.error_step(TLS_FIRST);
        }
        if !self.ehlo_done() {
            return self.error_step(NEED_EHLO_FOR_AUTH);
        }
        if self.session.authenticated {
            return self.error_step(ALREADY_AUTH);
        }
        if self.transaction.is_some() {
            return self.error_step(AUTH_IN_TRANSACTION);
        }
        if !ext.auth.contains(&mechanism) {
            return self.error_step(AUTH_MECH_UNKNOWN);
        }
        self.session.auth_exchanges += 1;
        let (nonce, count, host) = (
            self.nonce,
            self.session.auth_exchanges,
            self.config.hostname().to_owned(),
        );
        let start = auth::start(&mechanism, || format!("<{nonce}.{count}@{host}>"));
        let exchange = match (start, initial) {
            // Server-first mechanism (RFC 4954 §4).
            (Some(_), Some(_)) if mechanism == Mechanism::CramMd5 => {
                return self.error_step(SERVER_FIRST_INITIAL)
            }
            (_, Some(SaslResponse::Cancel)) => {
                self.auth_failure(AUTH_CANCELLED);
                return Step::Continue;
            }
            // The application's mechanism, without an initial response:
            // the application gives the first challenge.
            (None, None) => return self.ask_auth_step(mechanism, None),
            (None, Some(resp)) => (auth::Exchange::Custom(mechanism), resp),
            (Some((exchange, challenge)), None) => {
                self.challenge(&challenge);
                self.phase = Phase::Auth(exchange);
                return Step::Continue;
            }
            (Some((exchange, _)), Some(resp)) => (exchange, resp),
        };
        match exchange.1.decode() {
            Some(bytes) => self.sasl_step(exchange.0, bytes),
            None => self.error_step(BAD_BASE64),
        }
    }

    pub(super) fn challenge(&mut self, b64: &str) {
        // "334 " with the trailing space even when empty (RFC 4954 §4).
        self.tx.extend_from_slice(b"334 ");
        self.tx.extend_from_slice(b64.as_bytes());
        self.tx.extend_from_slice(b"\r\n");
    }

    /// What a server-side exchange may need from the session.
    fn auth_context(&self) -> auth::Context<'_> {
        auth::Context {
            channel_binding: self.channel_binding.as_deref(),
            offers_plus: self
                .config
                .extensions
                .auth
                .iter()
                .any(|m| ScramHash::of(m).is_some_and(|(_, plus)| plus)),
        }
    }

    pub(super) fn sasl_step(&mut self, exchange: auth::Exchange, response: Vec<u8>) -> Step {
        let cx = self.auth_context();
        match auth::step(exchange, response, cx) {
            auth::Step::Challenge(next, b64) => {
                self.challenge(&b64);
                self.phase = Phase::Auth(next);
                Step::Continue
            }
            auth::Step::Done(credentials) => {
                self.phase = Phase::Command;
                self.pending = Some(Pending::Auth);
                Step::Event(Event::Auth(credentials))
            }
            auth::Step::Lookup(mechanism, server) => {
                let event = Event::ScramLookup {
                    mechanism: mechanism.clone(),
                    username: server.username().to_owned(),
                    authzid: server.authzid().map(str::to_owned),
                };
                self.phase = Phase::Auth(auth::Exchange::ScramLookup(mechanism, server));
                self.pending = Some(Pending::ScramLookup);
                Step::Event(event)
            }
            auth::Step::Custom(mechanism, response) => self.ask_auth_step(mechanism, response),
            auth::Step::Malformed(why) => {
                self.phase = Phase::Command;
                self.auth_failure(r(501, 5, 5, 2, why));
                Step::Continue
            }
            auth::Step::Failed {
                mechanism,
                username,
            } => {
                self.phase = Phase::Command;
                self.auth_failure(AUTH_FAILED);
                Step::Event(Event::ScramFailed {
                    mechanism,
                    username,
                })
            }
        }
    }

    /// Hands a response of the application's mechanism to the application.
    fn ask_auth_step(&mut self, mechanism: Mechanism, response: Option<SaslData>) -> Step {
        self.phase = Phase::Auth(auth::Exchange::Custom(mechanism.clone()));
        self.pending = Some(Pending::AuthStep);
        Step::Event(Event::AuthStep {
            mechanism,
            response,
        })
    }

    pub(super) fn auth_failure(&mut self, reply: MandatedReply) {
        self.reply(reply);
        self.session.auth_failures += 1;
        if self.session.auth_failures >= self.config.limits.auth_attempts {
            self.close_with(TOO_MANY_AUTH, CloseReason::TooManyErrors);
        }
    }
}
