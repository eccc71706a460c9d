//! The policy of the example servers, shared by the tokio and the blocking
//! driver: every event of one session is answered here, synchronously, so
//! a driver never reads while a decision is pending (and so never makes
//! the session buffer more than one read beyond what it can parse).

use std::net::SocketAddr;
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

/// One session's policy state.
pub struct Handler {
    shared: Arc<Shared>,
    peer: SocketAddr,
    /// Session number, for log lines.
    sid: u64,
    helo: String,
    transaction: Option<Transaction>,
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
        }
    }

    /// Logs a line for this session.
    pub fn log(&self, what: std::fmt::Arguments<'_>) {
        eprintln!("[{}] {what}", self.sid);
    }

    /// Answers `event`. Every decision is taken before returning, so the
    /// session is never left waiting.
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
            Event::MessageEnd { size, recipients } => self.message_end(session, size, recipients),
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

    fn message_end(&mut self, session: &mut Server, size: u64, recipients: u32) {
        let outcome = match self.transaction.as_mut() {
            None => Err("no transaction".to_owned()),
            Some(t) if t.failed => Err("spool write failed".to_owned()),
            Some(t) => {
                let spool = match t.spool.take() {
                    Some(s) => Ok(s),
                    // An empty message: no content event came.
                    None => start_spool(&self.shared, &self.helo, self.peer, session, t)
                        .map_err(|e| e.to_string()),
                };
                spool.and_then(|s| {
                    let id = s.id().to_owned();
                    s.commit().map(|path| (id, path)).map_err(|e| e.to_string())
                })
            }
        };
        let transaction = self.transaction.take();
        let forward_paths = transaction.map(|t| t.forward_paths).unwrap_or_default();
        let (code, esc, text) = match &outcome {
            Ok((id, path)) => {
                self.log(format_args!(
                    "delivered {size} octets for {recipients} recipient(s) as {}",
                    path.display()
                ));
                (
                    ReplyCode::OK,
                    EnhancedStatusCode::new(2, 0, 0),
                    format!("Message accepted for delivery as {id}"),
                )
            }
            Err(e) => {
                self.log(format_args!("delivery failed: {e}"));
                (
                    ReplyCode::new(451).unwrap_or(ReplyCode::SERVICE_NOT_AVAILABLE),
                    EnhancedStatusCode::new(4, 3, 0),
                    "Local error in processing".to_owned(),
                )
            }
        };
        if self.shared.config.lmtp {
            // RFC 2033 §4.2: one reply per accepted recipient, in order.
            let replies: Vec<Reply<'_>> = forward_paths
                .iter()
                .filter_map(|to| Reply::new(code, esc, [format!("{to} {}", text)]).ok())
                .collect();
            if session.respond_lmtp(&replies).is_err() {
                // The machine counted the recipients differently (it
                // should not): one reply, repeated for each of them.
                respond(session, code, esc, &text);
            }
        } else {
            respond(session, code, esc, &text);
        }
    }

    fn auth(&mut self, session: &mut Server, credentials: &Credentials) {
        let user = credentials.username().unwrap_or_default();
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
    let trace = Trace {
        reverse_path: &t.reverse_path,
        forward_paths: &t.forward_paths,
        helo,
        client_ip: peer.ip(),
        hostname: &shared.config.hostname,
        protocol: protocol(
            shared.config.lmtp,
            ehlo,
            t.smtputf8,
            session.is_tls(),
            session.is_authenticated(),
        ),
        id: spool.id(),
        date: SystemTime::now(),
    };
    let header = trace.header();
    spool.write(header.as_bytes())?;
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
