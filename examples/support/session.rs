//! The policy of the example servers, shared by the tokio and the blocking
//! driver: every event of one session is answered here, synchronously,
//! except the end of a message, which the driver delivers (at once, or on
//! a delivery thread) and then reports with [`Handler::delivered`]. A
//! driver never reads while a decision is pending, and so never makes the
//! session buffer more than one read beyond what it can parse.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use esmtp::reply::Reply;
use esmtp::server::{Credentials, Event, HelloVerb, Server};
use esmtp::values::{EnhancedStatusCode, ReplyCode};

use super::maildir::Spool;
use super::received::{protocol, Trace};
use super::Shared;

/// What the driver must do after an event.
pub enum Next {
    /// Keep going: transmit, then read.
    Continue,
    /// Perform the TLS handshake now, then call `tls_established` or
    /// `tls_failed` on the session.
    StartTls,
    /// A message is complete: make it durable ([`Handler::deliver_now`],
    /// or [`Spool::finish`] plus a `Maildir::sync_new` shared with other
    /// messages, then [`Delivery::log_line`]), then pass the outcome to
    /// [`Handler::delivered`]. The session waits for that answer meanwhile
    /// (`poll_event` returns `None`); the driver should not read more
    /// input until then.
    Deliver(Box<Delivery>),
    /// The session is over: close the connection.
    Close,
}

/// The transaction being received, as far as this policy needs it.
struct Transaction {
    reverse_path: String,
    smtputf8: bool,
    forward_paths: Vec<String>,
    /// Created at the first content (or at the end of an empty message).
    spool: Option<Spool>,
    /// A write to the spool failed: the message will be refused with 451.
    failed: bool,
}

/// A complete message for the driver to deliver ([`Next::Deliver`]).
pub struct Delivery {
    /// The message.
    pub spool: Spool,
    /// Session number, for the log line.
    sid: u64,
    size: u64,
    recipients: u32,
}

impl Delivery {
    /// Appends the log line for the message delivered as `path`. The
    /// driver writes it, so that a busy one can write a group of them at
    /// once (a write to stderr per message costs as much as the delivery).
    pub fn log_line(&self, path: &std::path::Path, out: &mut Vec<u8>) {
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = writeln!(
            out,
            "[{}] delivered {} octets for {} recipient(s) as {}",
            self.sid,
            self.size,
            self.recipients,
            path.display()
        );
    }
}

/// The message handed to the driver for delivery ([`Next::Deliver`]),
/// as far as the reply needs it.
struct InFlight {
    id: String,
    forward_paths: Vec<String>,
}

/// One session's policy state.
pub struct Handler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// Session number, for log lines.
    sid: u64,
    helo: String,
    transaction: Option<Transaction>,
    in_flight: Option<InFlight>,
}

impl Handler {
    /// A handler for a session with `peer`; logs the connection.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, sid: u64) -> Handler {
        eprintln!("[{sid}] connect from {peer}");
        Handler {
            shared,
            peer,
            sid,
            helo: String::new(),
            transaction: None,
            in_flight: None,
        }
    }

    /// Logs a line for this session.
    pub fn log(&self, what: std::fmt::Arguments<'_>) {
        eprintln!("[{}] {what}", self.sid);
    }

    /// Answers `event`. Every decision is taken before returning, so the
    /// session is never left waiting, except for the end of a message
    /// ([`Next::Deliver`]).
    pub fn on_event(&mut self, session: &mut Server, event: Event) -> Next {
        match event {
            Event::Hello { host, .. } => {
                self.helo = host.to_string();
                self.transaction = None;
                let _ = session.accept();
            }
            Event::Mail { from, params, .. } => {
                // A MAIL event always opens a new transaction: RSET and a
                // new EHLO are handled inside the machine.
                self.transaction = Some(Transaction {
                    reverse_path: from.to_string(),
                    smtputf8: params.smtputf8,
                    forward_paths: Vec::new(),
                    spool: None,
                    failed: false,
                });
                let _ = session.accept();
            }
            Event::Rcpt { to, .. } => match self.transaction.as_mut() {
                Some(t) => {
                    t.forward_paths.push(to.to_string());
                    let _ = session.accept();
                }
                None => {
                    let _ = session.deny();
                }
            },
            Event::Content(chunk) => self.content(session, &chunk),
            Event::MessageEnd { size, recipients } => {
                if let Some(spool) = self.message_end(session, size, recipients) {
                    return Next::Deliver(spool);
                }
            }
            Event::MessageAborted { reason } => {
                if let Some(t) = self.transaction.as_mut() {
                    // Dropping the spool deletes the file in tmp/.
                    t.spool = None;
                    t.failed = false;
                }
                self.log(format_args!("message aborted: {reason:?}"));
            }
            Event::Auth(credentials) => self.auth(session, &credentials),
            Event::StartTls => return Next::StartTls,
            Event::Closed { reason } => {
                self.transaction = None;
                self.log(format_args!("closed: {reason:?}"));
                return Next::Close;
            }
            Event::Reversed { .. } => return Next::Close,
            // Nothing else is offered (VRFY/EXPN are answered 252 by the
            // machine); refuse whatever asks for a decision anyway.
            other => {
                if other.needs_decision() {
                    let _ = session.deny();
                }
            }
        }
        Next::Continue
    }

    fn content(&mut self, session: &Server, chunk: &[u8]) {
        let Some(t) = self.transaction.as_mut() else {
            return;
        };
        if t.failed {
            return;
        }
        if t.spool.is_none() {
            match start_spool(&self.shared, &self.helo, self.peer, session, t) {
                Ok(spool) => t.spool = Some(spool),
                Err(e) => {
                    t.failed = true;
                    eprintln!("[{}] cannot spool: {e}", self.sid);
                    return;
                }
            }
        }
        if let Some(spool) = t.spool.as_mut() {
            if let Err(e) = spool.write(chunk) {
                t.failed = true;
                t.spool = None;
                eprintln!("[{}] cannot spool: {e}", self.sid);
            }
        }
    }

    /// The spool to deliver, or `None` when the message was already
    /// refused.
    fn message_end(
        &mut self,
        session: &mut Server,
        size: u64,
        recipients: u32,
    ) -> Option<Box<Delivery>> {
        let Some(mut t) = self.transaction.take() else {
            self.refuse(session, "no transaction", Vec::new());
            return None;
        };
        if t.failed {
            self.refuse(session, "spool write failed", t.forward_paths);
            return None;
        }
        let spool = match t.spool.take() {
            Some(spool) => Ok(spool),
            // An empty message: no content event came.
            None => start_spool(&self.shared, &self.helo, self.peer, session, &t)
                .map_err(|e| e.to_string()),
        };
        match spool {
            Ok(spool) => {
                self.in_flight = Some(InFlight {
                    id: spool.id().to_owned(),
                    forward_paths: t.forward_paths,
                });
                Some(Box::new(Delivery {
                    spool,
                    sid: self.sid,
                    size,
                    recipients,
                }))
            }
            Err(e) => {
                self.refuse(session, &e, t.forward_paths);
                None
            }
        }
    }

    /// Delivers `delivery` on the calling thread, as a group of one: the
    /// file is written, fsynced and renamed into `new/`, then `new/` is
    /// fsynced (RFC 5321 §6.1: durable before the `250`), and the
    /// delivery is logged. Pass the outcome to [`Handler::delivered`].
    pub fn deliver_now(&self, delivery: &mut Delivery) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        let path = delivery.spool.finish()?;
        self.shared.maildir.sync_new()?;
        let mut line = Vec::with_capacity(160);
        delivery.log_line(&path, &mut line);
        let _ = std::io::stderr().write_all(&line);
        Ok(path)
    }

    /// Answers the end of the message handed out with [`Next::Deliver`]:
    /// `250` once `outcome` says it is in `new/` (and durable), else `451`.
    /// A delivery is logged by the driver, a failure here.
    pub fn delivered(&mut self, session: &mut Server, outcome: std::io::Result<PathBuf>) {
        let Some(m) = self.in_flight.take() else {
            return;
        };
        match outcome {
            Ok(_) => {
                let text = format!("Message accepted for delivery as {}", m.id);
                self.answer(
                    session,
                    ReplyCode::OK,
                    EnhancedStatusCode::new(2, 0, 0),
                    &text,
                    &m.forward_paths,
                );
            }
            Err(e) => self.refuse(session, &e.to_string(), m.forward_paths),
        }
    }

    /// Answers the end of a message that could not be delivered with 451.
    fn refuse(&mut self, session: &mut Server, why: &str, forward_paths: Vec<String>) {
        self.log(format_args!("delivery failed: {why}"));
        self.answer(
            session,
            ReplyCode::new(451).unwrap_or(ReplyCode::SERVICE_NOT_AVAILABLE),
            EnhancedStatusCode::new(4, 3, 0),
            "Local error in processing",
            &forward_paths,
        );
    }

    /// One reply, or in LMTP one per accepted recipient.
    fn answer(
        &mut self,
        session: &mut Server,
        code: ReplyCode,
        esc: Option<EnhancedStatusCode>,
        text: &str,
        forward_paths: &[String],
    ) {
        let Some(decision) = session.decision() else {
            return;
        };
        match decision.lmtp() {
            Ok(end) => {
                // RFC 2033 §4.2: one reply per accepted recipient, in order.
                let replies: Vec<Reply<'_>> = forward_paths
                    .iter()
                    .filter_map(|to| Reply::new(code, esc, [format!("{to} {text}")]).ok())
                    .collect();
                if end.respond_each(&replies).is_err() {
                    // The machine counted the recipients differently (it
                    // should not): one reply, repeated for each of them.
                    respond(session, code, esc, text);
                }
            }
            Err(_) => respond(session, code, esc, text),
        }
    }

    fn auth(&mut self, session: &mut Server, credentials: &Credentials) {
        let user = credentials.username().unwrap_or_default();
        if self.shared.auth_throttled(self.peer.ip()) {
            // Not even checked: guessing from this address has to wait.
            self.log(format_args!("AUTH as {user:?}: throttled"));
            let reply = Reply::new(
                ReplyCode::new(454).unwrap_or(ReplyCode::SERVICE_NOT_AVAILABLE),
                EnhancedStatusCode::new(4, 7, 0),
                ["Too many authentication failures, try again later"],
            );
            match reply {
                Ok(r) => drop(session.respond(&r)),
                Err(_) => drop(session.deny()),
            }
            return;
        }
        let password = self
            .shared
            .users
            .iter()
            .find(|(name, _)| name == user)
            .map(|(_, p)| p.as_str());
        let ok = match (credentials, password) {
            (_, None) => false,
            // PLAIN may ask to act as someone else (RFC 4616 §2): not here.
            (
                Credentials::Plain {
                    authzid: Some(z), ..
                },
                Some(_),
            ) if z != user => false,
            (Credentials::CramMd5 { .. }, Some(p)) => credentials.verify_cram_md5(p.as_bytes()),
            (_, Some(p)) => credentials.verify_password(p),
        };
        self.log(format_args!(
            "AUTH {:?} as {user:?}: {}",
            credentials.mechanism(),
            if ok { "ok" } else { "refused" }
        ));
        if !ok {
            self.shared.auth_failed(self.peer.ip());
        }
        let _ = if ok { session.accept() } else { session.deny() };
    }
}

/// Opens the spool file and writes the trace fields.
fn start_spool(
    shared: &Shared,
    helo: &str,
    peer: SocketAddr,
    session: &Server,
    t: &Transaction,
) -> std::io::Result<Spool> {
    let mut spool = shared.maildir.spool()?;
    let ehlo = matches!(session.hello(), Some(HelloVerb::Ehlo | HelloVerb::Lhlo));
    let (id, buffer) = spool.id_and_buffer();
    let trace = Trace {
        reverse_path: &t.reverse_path,
        forward_paths: &t.forward_paths,
        helo,
        client_ip: peer.ip(),
        hostname: shared.config.hostname(),
        protocol: protocol(
            shared.config.lmtp,
            ehlo,
            t.smtputf8,
            session.is_tls(),
            session.is_authenticated(),
        ),
        id,
        date: SystemTime::now(),
    };
    trace.write_to(buffer);
    Ok(spool)
}

/// Answers with `code esc text`, or with the default reply of the same
/// sense if the text cannot be a reply line.
fn respond(session: &mut Server, code: ReplyCode, esc: Option<EnhancedStatusCode>, text: &str) {
    let _ = match Reply::single(code, esc, text) {
        Ok(reply) => session.respond(&reply),
        Err(_) if code.is_positive() => session.accept(),
        Err(_) => session.deny(),
    };
}
