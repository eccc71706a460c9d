//! The server side: one SMTP or LMTP session as a pure state machine.
//!
//! # Driving a session
//!
//! The application owns the connection. It feeds the bytes it reads to
//! [`Server::receive`] (or hands its read buffer over, without a copy, to
//! [`Server::receive_buf`]), takes [`Event`]s from [`Server::poll_event`] (and
//! answers the ones that need a decision), writes out what
//! [`Server::poll_transmit`] returns, and feeds the clock to
//! [`Server::handle_timeout`]. Drain in this order — receive → events →
//! transmit → timeout:
//!
//! ```
//! use esmtp::server::{Event, Server, ServerConfig};
//! use std::time::Instant;
//!
//! let mut session = Server::new(ServerConfig::new("mx.example.org").expect("a valid hostname"));
//! let mut wire = Vec::new(); // stands in for the socket
//! let mut input: &[&[u8]] = &[b"EHLO client.example\r\nMAIL FROM:<a@example.org>\r\n",
//!                             b"RCPT TO:<b@example.org>\r\nDATA\r\n", b"Hi\r\n.\r\nQUIT\r\n"];
//! let mut message = Vec::new();
//! loop {
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Content(chunk) => message.extend_from_slice(&chunk),
//!             Event::Closed { .. } => break,
//!             e if e.needs_decision() => session.accept().unwrap(), // policy goes here
//!             _ => {}
//!         }
//!     }
//!     while let Some(bytes) = session.poll_transmit() {
//!         wire.extend_from_slice(&bytes);
//!     }
//!     if session.is_closed() {
//!         break;
//!     }
//!     let _deadline = session.poll_timeout(Instant::now()); // sleep no longer than this
//!     match input.split_first() {
//!         Some((read, rest)) => { session.receive(read); input = rest; }
//!         None => session.peer_closed(),
//!     }
//! }
//! assert_eq!(message, b"Hi\r\n");
//! assert!(String::from_utf8_lossy(&wire).ends_with("221 2.0.0 mx.example.org closing connection\r\n"));
//! ```
//!
//! A decision may be answered much later (after an asynchronous look-up):
//! until then `poll_event` returns `None`, later pipelined commands wait in
//! the buffer, and replies already owed can be transmitted.
//!
//! The session never panics on peer input, never holds more than
//! [`Limits::max_buffered`] octets of input, and hands message content out
//! as slices of its receive buffer without copying.

// The machine by protocol phase; `mod.rs` keeps the public type and its
// poll surface.
mod auth; // SASL exchanges and credentials (RFC 4954, RFC 4616, RFC 2195)
mod config; // what a listener offers and enforces
mod decision; // pending decisions and what their answers do
mod event; // the events and errors the application sees
mod framing; // input framing: command lines, AUTH lines, content
mod offer; // the EHLO reply, HELP, parameter checks against the offer
mod output; // the reply queue
mod replies; // the machine's own one-line replies
mod session; // session commands: HELO/EHLO, QUIT, STARTTLS, AUTH, ...
mod transaction; // MAIL, RCPT, DATA, BDAT

pub use auth::{Credentials, Secret};
pub use config::{Extensions, Limits, ServerConfig, Timeouts};
pub use event::{AbortReason, ApiError, CloseReason, Event, HelloVerb};

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::data::{BareCheck, ChunkDecoder, DotDecoder};
use crate::ext::body::Body;
use crate::reply::Reply;
use crate::timer::Timer;
use decision::Pending;
use framing::Step;
use output::{sanitize, Answer};
use replies::{
    AUTH_FAILED, COMMAND_REJECTED, CONNECT_REFUSED, ETRN_REJECTED, HELLO_REJECTED,
    MESSAGE_REJECTED, OVERRUN, RECIPIENT_REJECTED, REVERSE_REJECTED, SENDER_REJECTED, TIMEOUT,
    VRFY_REJECTED,
};
use transaction::Refusal;

/// One server session. See the [module documentation](self) for the
/// driver loop.
///
/// `Debug` shows the session's state and buffer sizes, never buffered
/// octets: unread input may hold a client's AUTH response.
pub struct Server {
    /// Bytes received and not consumed yet.
    rx: BytesMut,
    /// `rx` may share its allocation with the caller's read buffer (see
    /// [`Server::receive_buf`]).
    adopted: bool,
    core: Core,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.core;
        f.debug_struct("Server")
            .field("phase", &c.phase)
            .field("pending", &c.pending)
            .field("session", &c.session)
            .field("transaction", &c.transaction)
            .field("buffered_input", &self.rx.len())
            .field("queued_replies", &c.tx.len())
            .finish_non_exhaustive()
    }
}

struct Core {
    config: Arc<ServerConfig>,
    /// Replies not yet taken by `poll_transmit`.
    tx: Vec<u8>,
    phase: Phase,
    pending: Option<Pending>,
    session: Session,
    transaction: Option<Transaction>,
    /// Content handed out that the application has not seen end or abort.
    content_open: bool,
    /// A `MessageAborted` event owed before anything else.
    abort_owed: Option<AbortReason>,
    timer: Timer,
    /// Mixed into CRAM-MD5 challenges.
    nonce: u64,
}

#[derive(Debug, Default)]
struct Session {
    hello: Option<HelloVerb>,
    tls: bool,
    authenticated: bool,
    auth_failures: u32,
    errors: u32,
    transactions: u32,
    auth_exchanges: u64,
}

#[derive(Debug, Default)]
struct Transaction {
    smtputf8: bool,
    body: Option<Body>,
    rcpt_commands: u32,
    accepted: u32,
    used_bdat: bool,
    bdat_size: u64,
    /// A BDAT failed: the state is indeterminate until RSET (RFC 3030 §2).
    bdat_failed: bool,
    /// Bare CR / LF / NUL in BDAT text, across chunks.
    bare: BareCheck,
    /// When the message's content began (the first poll after DATA or
    /// the first BDAT), for [`Timeouts::message`].
    content_started: Option<Instant>,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the application to accept the connection.
    Connecting {
        asked: bool,
    },
    /// The connection was refused; only QUIT is served (RFC 5321 §3.1).
    Refused,
    Command,
    /// Discarding the rest of an overlong line, then back to `Command`
    /// (or to `Refused` when `refused`).
    SkipLine {
        refused: bool,
    },
    Data(DotDecoder),
    Chunk {
        decoder: ChunkDecoder,
        last: bool,
        /// `None`: accepted; `Some`: discard, then send this reply.
        refusal: Option<Refusal>,
    },
    Auth(auth::Exchange),
    /// STARTTLS accepted: emit `StartTls` once the 220 is out.
    TlsPending,
    TlsHandshake,
    /// TURN/ATRN accepted: emit `Reversed` once the 250 is out.
    Reversing,
    Closing(CloseReason),
    Closed,
}

impl Server {
    /// A new session. Unless the configuration asks the application first
    /// ([`ServerConfig::ask_on_connect`]), the 220 greeting is queued.
    pub fn new(config: impl Into<Arc<ServerConfig>>) -> Self {
        let config = config.into();
        let mut core = Core {
            phase: Phase::Connecting { asked: false },
            tx: Vec::new(),
            pending: None,
            session: Session::default(),
            transaction: None,
            content_open: false,
            abort_owed: None,
            timer: Timer::new(),
            nonce: 0,
            config,
        };
        if !core.config.ask_on_connect {
            core.greet();
        }
        Server {
            rx: BytesMut::new(),
            adopted: false,
            core,
        }
    }

    /// Sets the value mixed into CRAM-MD5 challenges (RFC 2195 §2 asks for
    /// a unique challenge): give each session a random number.
    pub fn set_nonce(&mut self, nonce: u64) {
        self.core.nonce = nonce;
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.core.config
    }

    /// Appends bytes read from the client. Input arriving while STARTTLS
    /// is under way is discarded (CVE-2011-0411); input beyond
    /// [`Limits::max_buffered`] ends the session with `421`.
    ///
    /// The bytes are copied into the session's receive buffer. A driver
    /// that reads straight into a [`BytesMut`] can hand the buffer over
    /// instead with [`Server::receive_buf`].
    pub fn receive(&mut self, data: &[u8]) {
        if self.admit(data.len()) {
            self.rx.extend_from_slice(data);
        }
    }

    /// Takes bytes read from the client without copying them, for drivers
    /// that read into a [`BytesMut`] (tokio's `read_buf`, then
    /// [`BytesMut::split`] to pass on what was read and keep reading into
    /// the rest of the allocation).
    ///
    /// Same semantics as [`Server::receive`], and the two can be mixed:
    /// input is discarded while STARTTLS is under way or the session is
    /// closing, and input beyond [`Limits::max_buffered`] ends the session
    /// with `421`. When nothing is buffered the session adopts `buf` as its
    /// receive buffer, and [`Event::Content`] chunks are slices of it; when
    /// `buf` continues the buffered bytes in the same allocation (it was
    /// split off right after them) it is joined to them in place; otherwise
    /// it is appended, as `receive` would.
    ///
    /// The limit counts octets not yet consumed, not `buf`'s capacity: the
    /// session keeps the caller's allocation, spare capacity included, while
    /// it holds unconsumed octets of it. Once everything is consumed it lets
    /// go, so that after the content chunks are dropped the caller's
    /// `BytesMut::reserve` can reuse the memory instead of allocating.
    pub fn receive_buf(&mut self, buf: BytesMut) {
        if self.admit(buf.len()) {
            self.adopted |= buf.capacity() > 0;
            self.rx.unsplit(buf);
        }
    }

    /// Whether `len` more received octets may be buffered; applies the
    /// discard and overrun rules shared by the `receive` methods.
    fn admit(&mut self, len: usize) -> bool {
        match self.core.phase {
            Phase::TlsPending | Phase::TlsHandshake | Phase::Closing(_) | Phase::Closed => {
                return false
            }
            _ => {}
        }
        if self.rx.len().saturating_add(len) > self.core.config.limits.max_buffered {
            // Dropping the buffer, not just clearing it, gives back the
            // memory an adopted buffer may have brought.
            self.rx = BytesMut::new();
            // The 421 is the last reply: a decision still owed can no
            // longer be answered after it.
            self.core.pending = None;
            self.core.abort_content(AbortReason::Disconnected);
            self.core.close_with(OVERRUN, CloseReason::Overrun);
            return false;
        }
        true
    }

    /// The peer closed its side of the connection.
    pub fn peer_closed(&mut self) {
        if !matches!(self.core.phase, Phase::Closed) {
            self.core.abort_content(AbortReason::Disconnected);
            self.core.pending = None;
            self.core.tx.clear();
            self.core.phase = Phase::Closing(CloseReason::PeerClosed);
        }
    }

    /// Ends the session with `421 4.3.0 <hostname> <text>` (e.g. the server
    /// is shutting down, RFC 5321 §3.8). Controls in `text` become spaces,
    /// so it cannot add lines to the reply.
    pub fn shutdown(&mut self, text: &str) {
        self.core.pending = None;
        self.core.abort_content(AbortReason::Disconnected);
        if !matches!(self.core.phase, Phase::Closing(_) | Phase::Closed) {
            let esc = if self.core.enhanced() { "4.3.0 " } else { "" };
            let line = format!("421 {esc}{} {text}\r\n", self.core.config.hostname());
            self.core.tx.extend_from_slice(sanitize(&line).as_bytes());
            self.core.phase = Phase::Closing(CloseReason::Shutdown);
        }
    }

    /// The next event, or `None` when more input or a decision is needed,
    /// or when [`Limits::max_queued_replies`] reply octets wait for
    /// [`Server::poll_transmit`] (transmit, then poll again).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(reason) = self.core.abort_owed.take() {
                return Some(Event::MessageAborted { reason });
            }
            if self.core.pending.is_some() {
                return None;
            }
            if self.core.tx.len() >= self.core.config.limits.max_queued_replies {
                // Back-pressure: the next poll_transmit drains the queue and
                // lets input be consumed again.
                return None;
            }
            let before = self.rx.len();
            let step = self.step();
            // Progress, not octets, restarts the idle timer (RFC 5321
            // §4.5.3.2.7): a complete command line, or consumed content.
            // Octets of a partial or overlong line do not, so a client
            // trickling one octet at a time is still closed in time.
            if self.rx.len() < before && !matches!(self.core.phase, Phase::SkipLine { .. }) {
                self.core.timer.restart();
            }
            match step {
                Step::Continue => continue,
                Step::Event(e) => return Some(e),
                Step::Blocked => {
                    if self.adopted && self.rx.is_empty() {
                        // An empty view still pins the caller's buffer.
                        self.rx = BytesMut::new();
                        self.adopted = false;
                    }
                    return None;
                }
            }
        }
    }

    /// Bytes to write to the client, in order. Replies to a pipelined group
    /// come out together once the group has been read.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.core.tx.is_empty() {
            None
        } else {
            // Taking the buffer whole leaves nothing shared behind: an idle
            // session holds no heap for replies already handed out.
            Some(Bytes::from(std::mem::take(&mut self.core.tx)))
        }
    }

    /// When [`Server::handle_timeout`] should next be called; `now` is the
    /// current time, used to start a new idle period after input. `None`
    /// while the application owes a decision or the session is over.
    #[must_use]
    pub fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        let timeout = match self.core.phase {
            _ if self.core.pending.is_some() => None,
            Phase::Command | Phase::SkipLine { .. } | Phase::Auth(_) | Phase::Refused => {
                Some(self.core.config.timeouts.command)
            }
            Phase::Data(_) | Phase::Chunk { .. } => Some(self.core.config.timeouts.data),
            _ => None,
        };
        let Some(timeout) = timeout else {
            self.core.timer.stop();
            return None;
        };
        let idle = self.core.timer.arm(now, timeout);
        // One message's content has a wall-clock bound too, whatever its
        // rate: DATA, or BDAT from the first chunk to LAST.
        let in_message = matches!(self.core.phase, Phase::Data(_) | Phase::Chunk { .. })
            || self.core.transaction.as_ref().is_some_and(|t| t.used_bdat);
        let message_timeout = self.core.config.timeouts.message;
        let message = match self.core.transaction.as_mut() {
            Some(t) if in_message => {
                let started = *t.content_started.get_or_insert(now);
                started.checked_add(message_timeout)
            }
            _ => None,
        };
        match (idle, message) {
            (Some(d), Some(m)) => Some(d.min(m)),
            (d, m) => d.or(m),
        }
    }

    /// Tells the session the time; past the deadline it sends `421 4.4.2`
    /// and closes (RFC 5321 §4.5.3.2).
    ///
    /// A deadline from before the latest input no longer applies: ask
    /// [`Server::poll_timeout`] again after every `receive`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let message_over = self.core.transaction.as_ref().is_some_and(|t| {
            t.content_started
                .and_then(|s| s.checked_add(self.core.config.timeouts.message))
                .is_some_and(|m| now >= m)
        });
        if message_over && self.core.pending.is_none() && !self.is_closing() {
            self.core.abort_content(AbortReason::Disconnected);
            self.core.close_with(TIMEOUT, CloseReason::Timeout);
            return;
        }
        if self.core.timer.expired(now) && self.core.pending.is_none() && !self.is_closing() {
            self.core.abort_content(AbortReason::Disconnected);
            self.core.close_with(TIMEOUT, CloseReason::Timeout);
        }
    }

    /// Input octets received and not consumed yet; never more than
    /// [`Limits::max_buffered`]. A driver that answers decisions
    /// asynchronously can stop reading while this is high, instead of
    /// letting the session close with `421` when the limit is passed.
    pub fn buffered_len(&self) -> usize {
        self.rx.len()
    }

    /// Reply octets waiting for [`Server::poll_transmit`]. At
    /// [`Limits::max_queued_replies`] the session consumes no more input
    /// ([`Server::poll_event`] returns `None`) until they are taken.
    pub fn queued_reply_len(&self) -> usize {
        self.core.tx.len()
    }

    /// True once the session is over (after [`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        matches!(self.core.phase, Phase::Closed)
    }

    fn is_closing(&self) -> bool {
        matches!(self.core.phase, Phase::Closing(_) | Phase::Closed)
    }

    /// True when the session is on a TLS connection.
    pub fn is_tls(&self) -> bool {
        self.core.session.tls
    }

    /// True once AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.core.session.authenticated
    }

    /// The greeting command the client used, once accepted.
    pub fn hello(&self) -> Option<HelloVerb> {
        self.core.session.hello
    }

    /// Marks the session as running on TLS from the start (implicit TLS,
    /// RFC 8314): STARTTLS is not offered.
    pub fn set_implicit_tls(&mut self) {
        self.core.session.tls = true;
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded: the session
    /// starts over and the client must send EHLO again (RFC 3207 §4.2).
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !matches!(self.core.phase, Phase::TlsHandshake | Phase::TlsPending) {
            return Err(ApiError::NoTlsHandshake);
        }
        self.rx.clear();
        let errors = self.core.session.errors;
        self.core.session = Session {
            tls: true,
            errors,
            ..Session::default()
        };
        self.core.transaction = None;
        self.core.phase = Phase::Command;
        self.core.timer.restart();
        Ok(())
    }

    /// The TLS handshake failed: the session is over.
    pub fn tls_failed(&mut self) -> Result<(), ApiError> {
        if !matches!(self.core.phase, Phase::TlsHandshake | Phase::TlsPending) {
            return Err(ApiError::NoTlsHandshake);
        }
        self.core.tx.clear();
        self.core.phase = Phase::Closing(CloseReason::TlsFailed);
        Ok(())
    }

    /// Answers the pending event with its default positive reply.
    pub fn accept(&mut self) -> Result<(), ApiError> {
        let pending = self
            .core
            .pending
            .take()
            .ok_or(ApiError::NoPendingDecision)?;
        self.core.accept(pending, None);
        Ok(())
    }

    /// Answers the pending event with its default refusal.
    pub fn deny(&mut self) -> Result<(), ApiError> {
        let pending = self
            .core
            .pending
            .take()
            .ok_or(ApiError::NoPendingDecision)?;
        let reply = match pending {
            Pending::Connect => CONNECT_REFUSED,
            Pending::Hello(_) => HELLO_REJECTED,
            Pending::Mail { .. } => SENDER_REJECTED,
            Pending::Rcpt => RECIPIENT_REJECTED,
            Pending::MessageEnd => MESSAGE_REJECTED,
            Pending::Auth => AUTH_FAILED,
            Pending::Vrfy => VRFY_REJECTED,
            Pending::Etrn => ETRN_REJECTED,
            Pending::Reverse => REVERSE_REJECTED,
            Pending::Command => COMMAND_REJECTED,
        };
        self.core.deny(pending, Answer::Mandated(reply));
        Ok(())
    }

    /// Answers the pending event with `reply`: a 2xx reply accepts, a 4xx
    /// or 5xx reply refuses; a `421` also ends the session (RFC 5321 §3.8).
    /// For an LMTP message the same reply goes to every recipient.
    pub fn respond(&mut self, reply: &Reply<'_>) -> Result<(), ApiError> {
        let pending = self.core.pending.ok_or(ApiError::NoPendingDecision)?;
        if reply.code().is_intermediate() {
            return Err(ApiError::IntermediateReply);
        }
        self.core.pending = None;
        if reply.code().is_positive() {
            self.core.accept(pending, Some(reply));
        } else {
            self.core.deny(pending, Answer::Reply(reply));
        }
        // 421 announces that the server closes the channel (RFC 5321
        // §3.8): nothing after it may be read.
        if reply.code().get() == 421 && !self.is_closing() {
            self.core.abort_content(AbortReason::Disconnected);
            self.core.transaction = None;
            self.core.phase = Phase::Closing(CloseReason::Shutdown);
        }
        Ok(())
    }

    /// Answers an LMTP end of message with one reply per accepted recipient,
    /// in RCPT order (RFC 2033 §4.2).
    pub fn respond_lmtp(&mut self, replies: &[Reply<'_>]) -> Result<(), ApiError> {
        if self.core.pending != Some(Pending::MessageEnd) || !self.core.config.lmtp {
            return Err(ApiError::NotLmtpMessageEnd);
        }
        let expected = self.core.transaction.as_ref().map_or(0, |t| t.accepted) as usize;
        if replies.len() != expected {
            return Err(ApiError::RecipientCount {
                expected,
                given: replies.len(),
            });
        }
        if replies.iter().any(|r| r.code().is_intermediate()) {
            return Err(ApiError::IntermediateReply);
        }
        self.core.pending = None;
        for reply in replies {
            reply.write_to(&mut self.core.tx);
        }
        self.core.end_message();
        Ok(())
    }
}
