//! The example servers' policy, one [`Mailbox`] per connection: any
//! sender and recipient; AUTH against `--user` (or anyone, `--auth-any`),
//! throttled per address; the trace fields (`esmtp::trace`); complete messages to the
//! Maildir store, or for a `--hold-domain` to its queue; ETRN and ATRN
//! answered by the queue; the answer to each message (per recipient in
//! LMTP); the log and the transcript. The tokio and blocking `Session`
//! impls of the two servers call it: only how they wait differs.

use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use esmtp::client::{Envelope, Recipient};
use esmtp::command::Etrn;
use esmtp::ext::atrn;
use esmtp::params::{MailParams, RcptParams};
use esmtp::reply::Reply;
use esmtp::runtime::server::{Answer, ConnectionInfo, Direction, LmtpAnswer, MessageEnd};
use esmtp::runtime::server::{SessionEnd, TlsInfo, Transcript};
use esmtp::server::{AbortReason, Credentials, HelloVerb};
use esmtp::trace::{self, Received};
use esmtp::values::{
    Domain, EnhancedStatusCode, ForwardPath, Host, Mailbox as Address, ReplyCode, ReversePath,
};

use super::maildir::{private_file, Pending, Spool, Store, Ticket};
use super::queue::Run;
use super::Shared;

/// One connection's policy state.
pub struct Mailbox {
    shared: Arc<Shared>,
    id: u64,
    peer: IpAddr,
    helo: String,
    /// HELO, EHLO or LHLO, TLS, AUTH: what the `with` of `Received:` says.
    verb: HelloVerb,
    tls: bool,
    /// The user AUTH accepted.
    user: Option<String>,
    transaction: Option<Transaction>,
    /// The queues ATRN claimed, for the reversed connection.
    atrn: Option<Run>,
    /// The message handed to the store: its id and recipients, for the
    /// reply.
    in_flight: Option<(String, Vec<String>)>,
    transcript: Option<Transcript<BufWriter<File>>>,
}

struct Transaction {
    /// The paths, and of the MAIL parameters only SMTPUTF8: what a held
    /// message is relayed with.
    envelope: Envelope,
    /// The recipients as text, for the replies and the trace fields.
    to: Vec<String>,
    /// The queue of a held domain the recipients are at (all at one:
    /// another destination gets 452); `None`: the Maildir.
    hold: Option<usize>,
    /// Started at the first content (its trace fields name every
    /// recipient), or at the end of an empty message.
    spool: Option<Spool>,
    /// Storing failed: the message gets 451.
    failed: Option<io::Error>,
    /// Held from the first recipient, so that a group commit can wait for
    /// this message.
    ticket: Option<Ticket>,
}

impl Mailbox {
    /// The session of a new connection; logs it and starts its transcript.
    pub fn new(shared: &Arc<Shared>, conn: &ConnectionInfo) -> Mailbox {
        let (id, tls) = (conn.id, conn.tls.as_ref());
        let implicit = tls.map_or(String::new(), |t| format!(", implicit {t}"));
        let connected = format!("connect from {} to {}{implicit}", conn.client, conn.local);
        say(format!("[{id}] {connected}\n"));
        let transcript = shared.transcripts.as_ref().and_then(|dir| {
            // SECONDS.PpidSid.log, mode 0600.
            let secs = SystemTime::now().duration_since(UNIX_EPOCH);
            let name = format!(
                "{}.P{}S{id}.log",
                secs.map_or(0, |d| d.as_secs()),
                process::id()
            );
            let file = private_file().create_new(true).open(dir.join(name));
            let t = file.map(|file| Transcript::new(BufWriter::new(file)));
            t.map_err(|e| eprintln!("[{id}] no transcript: {e}")).ok()
        });
        let mut mailbox = Mailbox {
            shared: Arc::clone(shared),
            id,
            peer: conn.client.ip(),
            helo: String::new(),
            verb: HelloVerb::Helo,
            tls: tls.is_some(),
            user: None,
            transaction: None,
            atrn: None,
            in_flight: None,
            transcript,
        };
        mailbox.note(&connected);
        mailbox
    }

    /// A line in the log, and in the transcript if there is one.
    fn log(&mut self, what: &str) {
        say(format!("[{}] {what}\n", self.id));
        self.note(what);
    }

    fn note(&mut self, what: &str) {
        if let Some(t) = &mut self.transcript {
            t.note(what);
        }
    }

    pub fn hello(&mut self, verb: HelloVerb, host: Host<'static>) -> Answer {
        (self.helo, self.verb) = (host.to_string(), verb);
        Answer::Accept
    }

    /// MAIL always starts a new transaction: RSET and a new EHLO are the
    /// machine's.
    pub fn mail(&mut self, from: ReversePath<'static>, params: MailParams<'static>) -> Answer {
        let mut envelope = Envelope::new(from);
        envelope.params.smtputf8 = params.smtputf8;
        let (to, hold, spool, failed, ticket) = (Vec::new(), None, None, None, None);
        self.transaction = Some(Transaction {
            envelope,
            to,
            hold,
            spool,
            failed,
            ticket,
        });
        Answer::Accept
    }

    /// Any recipient; those of one transaction go to one place, the
    /// Maildir or one held domain's queue: a recipient for another is
    /// deferred with 452 (RFC 5321 §4.5.3.1.10), and the client sends it
    /// in a transaction of its own.
    pub fn rcpt(&mut self, to: ForwardPath<'static>) -> Answer {
        let queue = self.shared.queue.as_ref();
        let hold = match &to {
            ForwardPath::Mailbox(Address {
                host: Host::Domain(d),
                ..
            }) => queue.and_then(|q| q.holding(d.as_str())),
            _ => None,
        };
        let Some(t) = &mut self.transaction else {
            return Answer::Deny;
        };
        if !t.to.is_empty() && t.hold != hold {
            let text = "Recipient for another destination: send it in another transaction";
            let esc = EnhancedStatusCode::new(4, 5, 3);
            return Answer::Reply(Reply::sanitized(ReplyCode::INSUFFICIENT_STORAGE, esc, text));
        }
        if t.to.is_empty() {
            t.ticket = self.shared.store_for(hold).map(Store::ticket);
        }
        t.hold = hold;
        t.to.push(to.to_string());
        t.envelope.recipients.push(Recipient {
            to,
            params: RcptParams::default(),
        });
        Answer::Accept
    }

    pub fn content(&mut self, chunk: &[u8]) {
        let (shared, Some(t)) = (&self.shared, &mut self.transaction) else {
            return;
        };
        let Some(store) = shared.store_for(t.hold) else {
            return; // --discard
        };
        if t.failed.is_some() {
            return;
        }
        if t.spool.is_none() {
            let utf8 = t.envelope.params.smtputf8;
            let with = trace::protocol(self.verb, self.tls, self.user.is_some(), utf8);
            let now = SystemTime::now().duration_since(UNIX_EPOCH);
            let now = now.map_or(0, |d| d.as_secs() as i64);
            let mut head = Vec::with_capacity(256);
            let spool = store.spool().and_then(|mut spool| {
                let received = Received::new(&shared.hostname, now)
                    .with(with)
                    .id(&spool.id);
                let received = received.from(&self.helo, Some(self.peer));
                write_trace(&mut head, t, received);
                spool.write(&head).map(|()| spool)
            });
            match spool {
                Ok(spool) => t.spool = Some(spool),
                Err(e) => t.failed = Some(e),
            }
        }
        if let Some(Err(e)) = t.spool.as_mut().map(|s| s.write(chunk)) {
            // Dropping the spool deletes its file.
            (t.spool, t.failed) = (None, Some(e));
        }
    }

    /// The end of a message: an answer now, or a delivery to wait for and
    /// pass to [`Mailbox::delivered`].
    pub fn message_end(&mut self, end: MessageEnd) -> Result<Pending, LmtpAnswer> {
        self.content(b""); // an empty message: only its trace fields
        let Some(t) = self.transaction.take() else {
            return Err(self.refuse("no transaction", &[]));
        };
        let shared = Arc::clone(&self.shared);
        let Some(store) = shared.store_for(t.hold) else {
            return Err(self.answer(ReplyCode::OK, (2, 0, 0), "Ok, discarded", &t.to));
        };
        let spool = match (t.spool, t.failed) {
            (Some(spool), None) => spool,
            (_, e) => {
                let why = e.map_or("no spool".into(), |e| format!("cannot store: {e}"));
                return Err(self.refuse(&why, &t.to));
            }
        };
        let (size, n) = (end.size, end.recipients);
        let log = format!("[{}] delivered {size} octets for {n} recipient(s)", self.id);
        self.in_flight = Some((spool.id.clone(), t.to));
        Ok(store.deliver(spool, t.ticket, log))
    }

    /// Answers the end of the message: `250` once it is durable in `new/`,
    /// else `451`.
    pub fn delivered(&mut self, outcome: io::Result<PathBuf>) -> LmtpAnswer {
        let (id, to) = self.in_flight.take().unwrap_or_default();
        match outcome {
            Ok(_) => {
                let text = format!("Message accepted for delivery as {id}");
                self.answer(ReplyCode::OK, (2, 0, 0), &text, &to)
            }
            Err(e) => self.refuse(&e.to_string(), &to),
        }
    }

    pub fn message_aborted(&mut self, reason: AbortReason) {
        self.transaction = None; // the spool's file goes with it
        self.log(&format!("message aborted: {reason:?}"));
    }

    /// `451 4.3.0`, logged.
    fn refuse(&mut self, why: &str, to: &[String]) -> LmtpAnswer {
        self.log(&format!("delivery failed: {why}"));
        let text = "Local error in processing";
        self.answer(ReplyCode::LOCAL_ERROR, (4, 3, 0), text, to)
    }

    /// One reply, or in LMTP one per accepted recipient, in order (RFC
    /// 2033 §4.2).
    fn answer(
        &self,
        code: ReplyCode,
        esc: (u8, u16, u16),
        text: &str,
        to: &[String],
    ) -> LmtpAnswer {
        let esc = EnhancedStatusCode::new(esc.0, esc.1, esc.2);
        let reply = |text: &str| Reply::sanitized(code, esc, text);
        match self.shared.lmtp {
            false => LmtpAnswer::All(Answer::Reply(reply(text))),
            true => LmtpAnswer::Each(to.iter().map(|to| reply(&format!("{to} {text}"))).collect()),
        }
    }

    pub fn auth(&mut self, credentials: Credentials) -> Answer {
        let user = credentials.username().unwrap_or_default().to_owned();
        let mechanism = credentials.mechanism();
        if let Some(refusal) = self.shared.throttle.refusal(self.peer) {
            // Not even checked: guessing from this address has to wait.
            self.log(&format!("AUTH {mechanism:?} as {user:?}: throttled"));
            return refusal;
        }
        let mut users = self.shared.users.iter();
        let ok = self.shared.auth_any || users.any(|(name, p)| credentials.verify(name, p));
        let how = match (ok, self.shared.auth_any) {
            (true, true) => "accepted (--auth-any)",
            (true, false) => "ok",
            (false, _) => "refused",
        };
        self.log(&format!("AUTH {mechanism:?} as {user:?}: {how}"));
        if !ok {
            self.shared.throttle.failed(self.peer);
            return Answer::Deny;
        }
        self.user = Some(user);
        Answer::Accept
    }

    /// ETRN (RFC 1985): the queue's answer.
    pub fn etrn(&mut self, node: Etrn<'static>) -> Answer {
        let answer = match &self.shared.queue {
            Some(queue) => queue.etrn(&node),
            None => Answer::Deny,
        };
        self.log(&format!("ETRN {node:?}: {}", said(&answer)));
        answer
    }

    /// ATRN by the authenticated user (RFC 2645 §5.2.1): `250` with the
    /// queues claimed for the reversed connection, or the queue's refusal.
    pub fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Answer {
        let (Some(queue), Some(user)) = (&self.shared.queue, &self.user) else {
            return Answer::Deny;
        };
        let answer = match queue.atrn(user, &domains) {
            Ok(run) => {
                self.atrn = Some(run);
                Answer::Reply(atrn::REVERSING.to_reply())
            }
            Err(refusal) => refusal,
        };
        self.log(&format!("ATRN {domains:?} by {user}: {}", said(&answer)));
        answer
    }

    /// The roles reversed (RFC 2645 §5.3): the queues ATRN claimed, to
    /// deliver over the connection. The session ends here.
    pub fn reversed(&mut self) -> Option<Run> {
        self.log("roles reversed: delivering the held mail");
        if let Some(t) = &mut self.transcript {
            let _ = t.finish();
        }
        self.atrn.take()
    }

    /// STARTTLS done: the session starts over (RFC 3207 §4.2).
    pub fn tls_established(&mut self, tls: &TlsInfo) {
        (self.tls, self.user) = (true, None);
        self.log(&format!("TLS established: {tls}"));
    }

    pub fn transcript(&mut self, direction: Direction, bytes: &[u8]) {
        if let Some(t) = &mut self.transcript {
            t.record(direction, bytes);
        }
    }

    pub fn closed(&mut self, end: SessionEnd) {
        match end {
            SessionEnd::Closed(reason) => self.log(&format!("closed: {reason:?}")),
            SessionEnd::Failed(e) => self.log(&format!("connection error: {e}")),
            other => self.log(&format!("{other:?}")),
        }
        if let Some(t) = &mut self.transcript {
            let _ = t.finish();
        }
    }
}

/// A log line to stderr in one write (`eprintln!` writes each piece of
/// its format on its own).
fn say(line: String) {
    let _ = io::stderr().write_all(line.as_bytes());
}

/// An answer's code, for the log.
fn said(answer: &Answer) -> String {
    match answer {
        Answer::Reply(r) => r.code().get().to_string(),
        other => format!("{other:?}"),
    }
}

/// SMTP's one answer, from what [`Mailbox`] gives for every recipient.
pub fn single(answer: LmtpAnswer) -> Answer {
    match answer {
        LmtpAnswer::All(answer) => answer,
        _ => Answer::temporary_failure("Local error in processing"),
    }
}

/// The prepended trace fields (RFC 5321 §4.4), or for a held message the
/// envelope for the queue run and `Received:` only: the final delivery
/// adds `Return-Path:` and `Delivered-To:`.
fn write_trace(out: &mut Vec<u8>, t: &Transaction, received: Received<'_>) {
    if t.hold.is_some() {
        // The paths were parsed, so they can be written.
        let _ = t.envelope.write_spooled(out);
    } else {
        trace::return_path(out, &t.envelope.from.to_string());
        t.to.iter().for_each(|to| trace::delivered_to(out, to));
    }
    match &t.to[..] {
        [only] => received.recipient(only).write_to(out),
        _ => received.write_to(out),
    }
}
