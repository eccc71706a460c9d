//! XCLIENT and XFORWARD (Postfix's XCLIENT_README and XFORWARD_README):
//! who may use them in this session, the commands, and the XFORWARD
//! attributes that hold for the next transaction.

use super::decision::Pending;
use super::event::Event;
use super::framing::Step;
use super::replies::UNRECOGNIZED;
use super::{Core, Server};
use crate::command::Command;
use crate::ext::xclient::{self, Xclient};
use crate::ext::xforward::{self, Xforward};

/// What the application allowed, and the XFORWARD attributes in force.
#[derive(Debug, Default)]
pub(super) struct Forwarding {
    /// XCLIENT authorised for this connection.
    pub(super) xclient: bool,
    /// XFORWARD authorised for this connection.
    pub(super) xforward: bool,
    /// The XFORWARD attributes for the next transaction.
    pub(super) attrs: Option<Box<Xforward<'static>>>,
    /// The attributes of the XFORWARD being decided.
    pub(super) staged: Option<Box<Xforward<'static>>>,
}

impl Core {
    /// A private verb of the same name, when the extension is off: the
    /// application that served XCLIENT or XFORWARD itself before they
    /// were typed still gets them, as written.
    fn forward_as_private(&mut self, cmd: Command<'_>) -> Step {
        let verb = cmd.verb().as_str().unwrap_or_default();
        let registered = self
            .config
            .private_verbs
            .iter()
            .any(|v| v.eq_ignore_ascii_case(verb));
        if !registered {
            return self.error_step(UNRECOGNIZED);
        }
        let mut line = Vec::with_capacity(64);
        cmd.write_checked(&mut line);
        let line = String::from_utf8_lossy(&line);
        let args = line.trim_end().split_once(' ').map(|(_, a)| a.to_owned());
        self.pending = Some(Pending::Command);
        Step::Event(Event::Command {
            verb: verb.to_owned(),
            args,
        })
    }

    /// XCLIENT (XCLIENT_README, "server reply codes"): 503 in a
    /// transaction, 550 unless authorised, else the application decides.
    pub(super) fn xclient(&mut self, x: Box<Xclient<'_>>) -> Step {
        if !self.config.extensions.xclient {
            return self.forward_as_private(Command::Xclient(x));
        }
        if self.transaction.is_some() {
            return self.error_step(xclient::IN_TRANSACTION);
        }
        if !self.forwarding.xclient {
            return self.error_step(xclient::NOT_AUTHORIZED);
        }
        self.pending = Some(Pending::Xclient {
            login: x.has_login(),
        });
        Step::Event(Event::Xclient(Box::new(x.into_owned())))
    }

    /// XFORWARD (XFORWARD_README, "server reply codes").
    pub(super) fn xforward(&mut self, x: Box<Xforward<'_>>) -> Step {
        if !self.config.extensions.xforward {
            return self.forward_as_private(Command::Xforward(x));
        }
        if self.transaction.is_some() {
            return self.error_step(xforward::IN_TRANSACTION);
        }
        if !self.forwarding.xforward {
            return self.error_step(xforward::NOT_AUTHORIZED);
        }
        let x = Box::new(x.into_owned());
        self.forwarding.staged = Some(x.clone());
        self.pending = Some(Pending::Xforward);
        Step::Event(Event::Xforward(x))
    }

    /// XCLIENT accepted: "the server resets state to the initial SMTP
    /// greeting protocol stage" (XCLIENT_README) — a new greeting, EHLO
    /// again; TLS stays (it cannot be undone), and the session counts as
    /// authenticated only with a LOGIN value (Postfix resets SASL state
    /// otherwise). VERB and ONEX were the proxy's requests, not the
    /// client's: they end too.
    pub(super) fn xclient_accepted(&mut self, login: bool) {
        self.transaction = None;
        self.session.hello = None;
        self.session.authenticated = login;
        self.session.verbose = false;
        self.session.onex = false;
        self.session.onex_spent = false;
        self.forwarding.attrs = None;
    }

    /// XFORWARD accepted: its attributes update those in force
    /// (XFORWARD_README, "XFORWARD Server operation").
    pub(super) fn xforward_accepted(&mut self) {
        if let Some(staged) = self.forwarding.staged.take() {
            match &mut self.forwarding.attrs {
                Some(attrs) => attrs.update(*staged),
                None => self.forwarding.attrs = Some(staged),
            }
        }
    }

    /// "At the end of each MAIL FROM transaction (i.e. RSET or DOT), the
    /// server resets all XFORWARD attributes" (XFORWARD_README).
    pub(super) fn xforward_reset(&mut self) {
        self.forwarding.attrs = None;
    }
}

impl Server {
    /// Authorises (or no longer) XCLIENT for this connection: with
    /// [`super::Extensions::xclient`] on, it is then advertised in the
    /// EHLO reply and served as [`Event::Xclient`]; otherwise answered
    /// `550 5.7.0`. The application decides by what it knows of the
    /// connection (Postfix: `smtpd_authorized_xclient_hosts`), before the
    /// EHLO reply — at [`Event::Connect`] or right after
    /// [`Server::new`] — and may decide again after an accepted XCLIENT,
    /// as Postfix does with the new client address.
    pub fn set_xclient_authorized(&mut self, authorized: bool) {
        self.core.forwarding.xclient = authorized;
    }

    /// Authorises (or no longer) XFORWARD for this connection, as
    /// [`Server::set_xclient_authorized`] does XCLIENT (Postfix:
    /// `smtpd_authorized_xforward_hosts`).
    pub fn set_xforward_authorized(&mut self, authorized: bool) {
        self.core.forwarding.xforward = authorized;
    }

    /// The XFORWARD attributes that hold for the transaction being set up
    /// or under way: what was accepted since the last one ended (RSET or
    /// the end of a message clears them, XFORWARD_README). A MAIL decision
    /// reads them here.
    pub fn xforward(&self) -> Option<&Xforward<'static>> {
        self.core.forwarding.attrs.as_deref()
    }
}
