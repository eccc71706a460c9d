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

mod auth;
mod config;
mod event;

use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

pub use auth::{Credentials, Secret};
pub use config::{Extensions, Limits, ServerConfig, Timeouts};
pub use event::{AbortReason, ApiError, CloseReason, Event, HelloVerb};

use crate::command::{Command, SaslResponse, SendMode};
use crate::data::{BareCheck, BarePolicy, Chunk, ChunkDecoder, ContentError, Decoded, DotDecoder};
use crate::ehlo::{Capabilities, FutureRelease, Keyword, Limits as EhloLimits, Mechanism};
use crate::error::DecodeError;
use crate::ext::auth::AuthParam;
use crate::ext::body::Body;
use crate::ext::deliverby::ByMode;
use crate::ext::future_release::Hold;
use crate::ext::{self, MandatedReply};
use crate::options::{ParseOptions, Strictness};
use crate::params::{MailParams, RcptParams};
use crate::reply::Reply;
use crate::values::{EnhancedStatusCode, ForwardPath, ReplyCode, ReversePath};

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
struct Timer {
    deadline: Option<Instant>,
    rearm: bool,
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

#[derive(Debug, Clone, Copy)]
enum Refusal {
    Reply(MandatedReply),
    /// LMTP BDAT LAST with no recipient: no reply at all (RFC 2033 §4.3).
    Silent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Connect,
    Hello(HelloVerb),
    Mail { smtputf8: bool, body: Option<Body> },
    Rcpt,
    MessageEnd,
    Auth,
    Vrfy,
    Etrn,
    Reverse,
    Command,
}

/// Internal shorthand for a reply the machine writes itself.
const fn r(code: u16, class: u8, subject: u16, detail: u16, text: &'static str) -> MandatedReply {
    (
        ReplyCode::new_unchecked(code),
        EnhancedStatusCode::new_unchecked(class, subject, detail),
        text,
    )
}

const OK: MandatedReply = r(250, 2, 0, 0, "OK");
const SENDER_OK: MandatedReply = r(250, 2, 1, 0, "Sender OK");
const RECIPIENT_OK: MandatedReply = r(250, 2, 1, 5, "Recipient OK");
const MESSAGE_OK: MandatedReply = r(250, 2, 0, 0, "Message accepted for delivery");
const AUTH_OK: MandatedReply = r(235, 2, 7, 0, "Authentication successful");
const CANNOT_VRFY: MandatedReply = r(
    252,
    2,
    5,
    0,
    "Cannot VRFY user, but will accept message and attempt delivery",
);
const CANNOT_EXPN: MandatedReply = r(
    252,
    2,
    5,
    0,
    "Cannot EXPN list, but will accept message and attempt delivery",
);
const NEED_EHLO_FOR_AUTH: MandatedReply = r(503, 5, 5, 1, "AUTH requires EHLO");
const ETRN_OK: MandatedReply = r(250, 2, 0, 0, "Queuing started");
const BAD_SEQUENCE: MandatedReply = r(503, 5, 5, 1, "Bad sequence of commands");
const NEED_HELLO: MandatedReply = r(503, 5, 5, 1, "Send HELO/EHLO first");
const NEED_LHLO: MandatedReply = r(503, 5, 5, 1, "Send LHLO first");
const NESTED_MAIL: MandatedReply = r(503, 5, 5, 1, "Nested MAIL command");
const NEED_MAIL: MandatedReply = r(503, 5, 5, 1, "Need MAIL command first");
const NEED_RCPT: MandatedReply = r(503, 5, 5, 1, "Need RCPT command first");
const NO_VALID_RCPT: MandatedReply = r(554, 5, 5, 1, "No valid recipients");
const DATA_AFTER_BDAT: MandatedReply = r(503, 5, 5, 1, "DATA not allowed after BDAT");
const BDAT_AFTER_FAILURE: MandatedReply = r(503, 5, 5, 1, "RSET required after a failed BDAT");
const NOT_IMPLEMENTED: MandatedReply = r(502, 5, 5, 1, "Command not implemented");
const UNRECOGNIZED: MandatedReply = r(500, 5, 5, 1, "Command not recognized");
// X.5.2 (syntax error), not X.5.6: RFC 4954 §6 / RFC 5248 register 5.5.6
// as "authentication exchange line is too long" only.
const LINE_TOO_LONG: MandatedReply = r(500, 5, 5, 2, "Line too long");
const AUTH_LINE_TOO_LONG: MandatedReply =
    r(500, 5, 5, 6, "Authentication Exchange line is too long");
const TOO_MANY_RCPTS: MandatedReply = r(452, 4, 5, 3, "Too many recipients");
const TOO_MANY_MAILS: MandatedReply = r(452, 4, 5, 3, "Too many transactions in this session");
const UNKNOWN_PARAM: MandatedReply = r(555, 5, 5, 4, "Parameter not recognized");
const PARAMS_NEED_EHLO: MandatedReply = r(555, 5, 5, 4, "Parameters require EHLO");
const AUTH_REQUIRED: MandatedReply = r(530, 5, 7, 0, "Authentication required");
const TLS_FIRST: MandatedReply = r(530, 5, 7, 0, "Must issue a STARTTLS command first");
const ALREADY_AUTH: MandatedReply = r(503, 5, 5, 1, "Already authenticated");
const AUTH_IN_TRANSACTION: MandatedReply =
    r(503, 5, 5, 1, "AUTH not permitted during a mail transaction");
const AUTH_MECH_UNKNOWN: MandatedReply = r(504, 5, 5, 4, "Unrecognized authentication type");
const AUTH_CANCELLED: MandatedReply = r(501, 5, 7, 0, "Authentication cancelled");
const AUTH_FAILED: MandatedReply = r(535, 5, 7, 8, "Authentication credentials invalid");
const BAD_BASE64: MandatedReply = r(501, 5, 5, 2, "Invalid base64 data");
const SERVER_FIRST_INITIAL: MandatedReply = r(
    501,
    5,
    7,
    0,
    "Initial response not allowed for this mechanism",
);
const TLS_READY: MandatedReply = r(220, 2, 0, 0, "Ready to start TLS");
const TLS_ACTIVE: MandatedReply = r(503, 5, 5, 1, "TLS already active");
const ETRN_IN_TRANSACTION: MandatedReply =
    r(503, 5, 5, 1, "ETRN not permitted during a mail transaction");
const ATRN_NEEDS_AUTH: MandatedReply = r(530, 5, 7, 0, "Authentication required");
const REQUIRETLS_NEEDS_TLS: MandatedReply = r(530, 5, 7, 10, "REQUIRETLS needs a TLS session");
const TOO_MANY_ERRORS: MandatedReply = r(421, 4, 7, 0, "Too many errors, closing connection");
const TOO_MANY_AUTH: MandatedReply = r(
    421,
    4,
    7,
    0,
    "Too many authentication failures, closing connection",
);
const TIMEOUT: MandatedReply = r(421, 4, 4, 2, "Timeout exceeded, closing connection");
const OVERRUN: MandatedReply = r(421, 4, 7, 0, "Too much pipelined input, closing connection");
// A BDAT line that cannot be framed leaves an unknown number of octets
// to skip, so the session ends; a closing server answers 421 (RFC 5321
// §3.8).
const BAD_CHUNK_SIZE: MandatedReply = r(421, 4, 5, 2, "Invalid BDAT command, closing connection");
const MESSAGE_REJECTED: MandatedReply = r(554, 5, 6, 0, "Message rejected");
const SENDER_REJECTED: MandatedReply = r(550, 5, 7, 1, "Sender rejected");
const RECIPIENT_REJECTED: MandatedReply = r(550, 5, 1, 1, "Recipient rejected");
const HELLO_REJECTED: MandatedReply = r(550, 5, 7, 1, "Hello rejected");
const CONNECT_REFUSED: MandatedReply = r(554, 5, 3, 2, "No SMTP service here");
const VRFY_REJECTED: MandatedReply = r(550, 5, 1, 1, "User unknown");
const ETRN_REJECTED: MandatedReply = r(458, 4, 0, 0, "Unable to queue messages");
const REVERSE_REJECTED: MandatedReply = r(450, 4, 7, 1, "Request refused");
const COMMAND_REJECTED: MandatedReply = r(550, 5, 7, 1, "Command rejected");

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
            timer: Timer {
                deadline: None,
                rearm: true,
            },
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
                self.core.timer.rearm = true;
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
            self.core.timer.deadline = None;
            self.core.timer.rearm = true;
            return None;
        };
        if self.core.timer.rearm || self.core.timer.deadline.is_none() {
            self.core.timer.deadline = now.checked_add(timeout);
            self.core.timer.rearm = false;
        }
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
        match (self.core.timer.deadline, message) {
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
        if self.core.timer.rearm {
            return;
        }
        if let Some(deadline) = self.core.timer.deadline {
            if now >= deadline && self.core.pending.is_none() && !self.is_closing() {
                self.core.abort_content(AbortReason::Disconnected);
                self.core.close_with(TIMEOUT, CloseReason::Timeout);
            }
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
        self.core.timer.rearm = true;
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
            return Err(ApiError::WrongAnswer("a 3xx reply cannot answer an event"));
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
            return Err(ApiError::WrongAnswer("no LMTP message is waiting"));
        }
        let expected = self.core.transaction.as_ref().map_or(0, |t| t.accepted);
        if replies.len() != expected as usize {
            return Err(ApiError::WrongAnswer("one reply per accepted recipient"));
        }
        if replies.iter().any(|r| r.code().is_intermediate()) {
            return Err(ApiError::WrongAnswer("a 3xx reply cannot answer an event"));
        }
        self.core.pending = None;
        for reply in replies {
            reply.write_to(&mut self.core.tx);
        }
        self.core.end_message();
        Ok(())
    }

    fn step(&mut self) -> Step {
        let core = &mut self.core;
        match &mut core.phase {
            Phase::Connecting { asked } => {
                if *asked {
                    Step::Blocked
                } else {
                    *asked = true;
                    core.pending = Some(Pending::Connect);
                    Step::Event(Event::Connect)
                }
            }
            Phase::Closing(reason) => {
                if core.tx.is_empty() {
                    let reason = *reason;
                    core.phase = Phase::Closed;
                    self.rx = BytesMut::new();
                    Step::Event(Event::Closed { reason })
                } else {
                    Step::Blocked
                }
            }
            Phase::Closed | Phase::TlsHandshake => Step::Blocked,
            Phase::TlsPending => {
                if core.tx.is_empty() {
                    core.phase = Phase::TlsHandshake;
                    // Nothing pipelined after STARTTLS may be read after the
                    // handshake (CVE-2011-0411).
                    self.rx.clear();
                    Step::Event(Event::StartTls)
                } else {
                    Step::Blocked
                }
            }
            Phase::Reversing => {
                if core.tx.is_empty() {
                    core.phase = Phase::Closed;
                    Step::Event(Event::Reversed {
                        leftover: self.rx.split().freeze(),
                    })
                } else {
                    Step::Blocked
                }
            }
            Phase::SkipLine { refused } => {
                let refused = *refused;
                if skip_line(&mut self.rx, core.strict()) {
                    core.phase = if refused {
                        Phase::Refused
                    } else {
                        Phase::Command
                    };
                    Step::Continue
                } else {
                    Step::Blocked
                }
            }
            Phase::Data(decoder) => match decoder.decode(&mut self.rx) {
                Decoded::Content(chunk) if chunk.is_empty() => Step::Continue,
                Decoded::Content(chunk) => Step::Event(Event::Content(chunk)),
                Decoded::NeedMore => Step::Blocked,
                Decoded::End(Ok(size)) => {
                    core.phase = Phase::Command;
                    core.pending = Some(Pending::MessageEnd);
                    let recipients = core.transaction.as_ref().map_or(0, |t| t.accepted);
                    Step::Event(Event::MessageEnd { size, recipients })
                }
                Decoded::End(Err(e)) => {
                    core.phase = Phase::Command;
                    core.content_failed(e);
                    Step::Event(Event::MessageAborted {
                        reason: AbortReason::Content(e),
                    })
                }
            },
            Phase::Chunk {
                decoder,
                last,
                refusal,
            } => match decoder.decode(&mut self.rx) {
                Chunk::Content(c) if c.is_empty() || refusal.is_some() => Step::Continue,
                Chunk::Content(c) => {
                    let (c, result) = match bare_check(&core.config, &mut core.transaction) {
                        Some(check) => check.check(c),
                        None => (c, Ok(())),
                    };
                    if let Err(e) = result {
                        // The rest of the chunk is consumed and dropped; the
                        // BDAT is answered with the content error and the
                        // transaction has failed (RFC 3030 §2). The content
                        // before the offending octet still goes out first.
                        *refusal = Some(Refusal::Reply(content_reply(e)));
                        if let Some(t) = core.transaction.as_mut() {
                            t.bdat_failed = true;
                        }
                        if core.content_open {
                            core.content_open = false;
                            core.abort_owed = Some(AbortReason::Content(e));
                        }
                    }
                    if c.is_empty() {
                        Step::Continue
                    } else {
                        Step::Event(Event::Content(c))
                    }
                }
                Chunk::NeedMore => Step::Blocked,
                Chunk::Done => {
                    let (last, refusal) = (*last, *refusal);
                    core.phase = Phase::Command;
                    if last && refusal.is_none() {
                        let check = bare_check(&core.config, &mut core.transaction);
                        if let Err(e) = check.map_or(Ok(()), |b| b.finish()) {
                            core.content_failed(e);
                            return Step::Event(Event::MessageAborted {
                                reason: AbortReason::Content(e),
                            });
                        }
                    }
                    core.chunk_done(last, refusal)
                }
            },
            Phase::Auth(_) => self.auth_line(),
            Phase::Refused => self.refused_line(),
            Phase::Command => self.command_line(),
        }
    }

    fn command_line(&mut self) -> Step {
        let core = &mut self.core;
        let opts = core.parse_options();
        let strict = core.strict();
        match Command::parse(&self.rx, &opts) {
            Err(DecodeError::Incomplete) => Step::Blocked,
            Err(DecodeError::LineTooLong { .. }) => {
                // An overlong BDAT line can't be framed: its chunk would be
                // read as commands (smuggling), so the session ends.
                if core.config.extensions.chunking && starts_with_bdat(&self.rx) {
                    self.rx.clear();
                    core.abort_content(AbortReason::Disconnected);
                    core.close_with(BAD_CHUNK_SIZE, CloseReason::Desynchronised);
                    return Step::Continue;
                }
                // Only the overlong line goes: commands pipelined after it
                // are still answered.
                if !skip_line(&mut self.rx, strict) {
                    core.phase = Phase::SkipLine { refused: false };
                }
                core.error(LINE_TOO_LONG);
                Step::Continue
            }
            Err(DecodeError::Syntax { error, consumed }) => {
                // A BDAT whose size cannot be read leaves an unknown number
                // of octets to skip: the stream cannot be resynchronised
                // (catalog §9 item 15), so the session ends.
                let bdat = starts_with_bdat(&self.rx);
                self.rx.advance(consumed);
                if bdat && core.config.extensions.chunking {
                    self.rx.clear();
                    core.abort_content(AbortReason::Disconnected);
                    core.close_with(BAD_CHUNK_SIZE, CloseReason::Desynchronised);
                    return Step::Continue;
                }
                let (code, esc) = error.reply();
                core.error_reply(code, esc, error.detail());
                Step::Continue
            }
            Ok((cmd, used)) => {
                let step = core.command(cmd);
                self.rx.advance(used);
                if matches!(core.phase, Phase::TlsPending) {
                    self.rx.clear();
                }
                step
            }
        }
    }

    fn refused_line(&mut self) -> Step {
        let opts = self.core.parse_options();
        let strict = self.core.strict();
        match Command::parse(&self.rx, &opts) {
            Err(DecodeError::Incomplete) => Step::Blocked,
            Err(DecodeError::LineTooLong { .. }) => {
                if !skip_line(&mut self.rx, strict) {
                    self.core.phase = Phase::SkipLine { refused: true };
                }
                self.core.error(LINE_TOO_LONG);
                Step::Continue
            }
            Err(DecodeError::Syntax { consumed, .. }) => {
                self.rx.advance(consumed);
                self.core.error(BAD_SEQUENCE);
                Step::Continue
            }
            Ok((cmd, used)) => {
                let quit = matches!(cmd, Command::Quit);
                self.rx.advance(used);
                if quit {
                    self.core.quit();
                } else {
                    self.core.error(BAD_SEQUENCE);
                }
                Step::Continue
            }
        }
    }

    fn auth_line(&mut self) -> Step {
        let core = &mut self.core;
        let limit = core.config.limits.auth_line;
        let strict = core.strict();
        match SaslResponse::parse_line(&self.rx, limit) {
            Err(DecodeError::Incomplete) => Step::Blocked,
            Err(DecodeError::LineTooLong { .. }) => {
                core.phase = if skip_line(&mut self.rx, strict) {
                    Phase::Command
                } else {
                    Phase::SkipLine { refused: false }
                };
                core.auth_failure(AUTH_LINE_TOO_LONG);
                Step::Continue
            }
            Err(DecodeError::Syntax { consumed, .. }) => {
                self.rx.advance(consumed);
                core.phase = Phase::Command;
                core.auth_failure(BAD_BASE64);
                Step::Continue
            }
            Ok((response, used)) => {
                let decoded = response.decode();
                self.rx.advance(used);
                let Phase::Auth(exchange) = std::mem::replace(&mut core.phase, Phase::Command)
                else {
                    return Step::Continue;
                };
                match decoded {
                    None => {
                        core.auth_failure(AUTH_CANCELLED);
                        Step::Continue
                    }
                    Some(bytes) => core.sasl_step(exchange, bytes),
                }
            }
        }
    }
}

// An event is moved out once per step; boxing it would cost an allocation.
#[allow(clippy::large_enum_variant)]
enum Step {
    Continue,
    Event(Event),
    Blocked,
}

enum Answer<'r, 'a> {
    Mandated(MandatedReply),
    Reply(&'r Reply<'a>),
}

impl Core {
    fn parse_options(&self) -> ParseOptions {
        ParseOptions::default()
            .with_strictness(self.config.strictness)
            .with_utf8(self.config.extensions.smtputf8)
            .with_max_line(self.config.limits.command_line)
    }

    fn strict(&self) -> bool {
        self.config.strictness == Strictness::Strict
    }

    fn enhanced(&self) -> bool {
        self.config.extensions.enhanced_status_codes || self.config.lmtp
    }

    /// Writes a one-line reply; the enhanced code is left out on 3xx
    /// replies and when the extension is off (RFC 2034 §4).
    fn reply(&mut self, (code, esc, text): MandatedReply) {
        self.tx.extend_from_slice(&code.to_ascii());
        self.tx.extend_from_slice(b" ");
        if self.enhanced() && !code.is_intermediate() {
            esc.write_to(&mut self.tx);
            self.tx.push(b' ');
        }
        self.tx.extend_from_slice(text.as_bytes());
        self.tx.extend_from_slice(b"\r\n");
    }

    fn answer(&mut self, answer: Answer<'_, '_>) {
        match answer {
            Answer::Mandated(m) => self.reply(m),
            Answer::Reply(r) => r.write_to(&mut self.tx),
        }
    }

    fn greet(&mut self) {
        let line = format!(
            "220 {} {}\r\n",
            self.config.hostname(),
            self.config.greeting
        );
        self.tx.extend_from_slice(sanitize(&line).as_bytes());
        self.phase = Phase::Command;
    }

    fn error(&mut self, reply: MandatedReply) {
        self.reply(reply);
        self.count_error();
    }

    fn error_reply(&mut self, code: ReplyCode, esc: EnhancedStatusCode, text: &'static str) {
        self.error((code, esc, text));
    }

    fn count_error(&mut self) {
        self.session.errors = self.session.errors.saturating_add(1);
        if self.session.errors >= self.config.limits.errors {
            self.abort_content(AbortReason::Disconnected);
            self.close_with(TOO_MANY_ERRORS, CloseReason::TooManyErrors);
        }
    }

    fn close_with(&mut self, reply: MandatedReply, reason: CloseReason) {
        if !matches!(self.phase, Phase::Closing(_) | Phase::Closed) {
            self.reply(reply);
            self.phase = Phase::Closing(reason);
        }
    }

    fn quit(&mut self) {
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

    fn hostname_prefix_esc(&self) -> &'static str {
        if self.enhanced() {
            "2.0.0 "
        } else {
            ""
        }
    }

    /// Owes the application a `MessageAborted` if content was handed out.
    fn abort_content(&mut self, reason: AbortReason) {
        if self.content_open {
            self.content_open = false;
            self.abort_owed = Some(reason);
        }
    }

    fn content_failed(&mut self, e: ContentError) {
        self.reply(content_reply(e));
        self.content_open = false;
        self.transaction = None;
    }

    fn end_message(&mut self) {
        self.content_open = false;
        self.transaction = None;
    }

    fn reset_transaction(&mut self) {
        self.abort_content(AbortReason::Reset);
        self.transaction = None;
    }

    fn chunk_done(&mut self, last: bool, refusal: Option<Refusal>) -> Step {
        match refusal {
            Some(Refusal::Silent) => {
                self.transaction = None;
                Step::Continue
            }
            Some(Refusal::Reply(reply)) => {
                self.error(reply);
                Step::Continue
            }
            None if last => {
                self.pending = Some(Pending::MessageEnd);
                let (size, recipients) = self
                    .transaction
                    .as_ref()
                    .map_or((0, 0), |t| (t.bdat_size, t.accepted));
                Step::Event(Event::MessageEnd { size, recipients })
            }
            None => {
                let size = self.transaction.as_ref().map_or(0, |t| t.bdat_size);
                let text = format!("{size} octets received");
                self.tx.extend_from_slice(b"250 ");
                if self.enhanced() {
                    self.tx.extend_from_slice(b"2.0.0 ");
                }
                self.tx.extend_from_slice(text.as_bytes());
                self.tx.extend_from_slice(b"\r\n");
                Step::Continue
            }
        }
    }

    fn accept(&mut self, pending: Pending, reply: Option<&Reply<'_>>) {
        let custom = |core: &mut Core, default: MandatedReply| match reply {
            Some(r) => r.write_to(&mut core.tx),
            None => core.reply(default),
        };
        match pending {
            Pending::Connect => match reply {
                Some(r) => {
                    r.write_to(&mut self.tx);
                    self.phase = Phase::Command;
                }
                None => self.greet(),
            },
            Pending::Hello(verb) => {
                self.transaction = None;
                self.session.hello = Some(verb);
                match (verb, reply) {
                    (_, Some(r)) => r.write_to(&mut self.tx),
                    (HelloVerb::Helo, None) => self.plain_hello(),
                    (_, None) => self.capabilities(),
                }
            }
            Pending::Mail { smtputf8, body } => {
                self.session.transactions = self.session.transactions.saturating_add(1);
                self.transaction = Some(Transaction {
                    smtputf8,
                    body,
                    ..Transaction::default()
                });
                custom(self, SENDER_OK);
            }
            Pending::Rcpt => {
                if let Some(t) = self.transaction.as_mut() {
                    t.accepted += 1;
                }
                custom(self, RECIPIENT_OK);
            }
            Pending::MessageEnd => {
                let n = if self.config.lmtp {
                    self.transaction.as_ref().map_or(0, |t| t.accepted)
                } else {
                    1
                };
                for _ in 0..n {
                    custom(self, MESSAGE_OK);
                }
                self.end_message();
            }
            Pending::Auth => {
                self.session.authenticated = true;
                custom(self, AUTH_OK);
            }
            Pending::Vrfy => custom(self, CANNOT_VRFY),
            Pending::Etrn => custom(self, ETRN_OK),
            Pending::Reverse => {
                custom(self, OK);
                self.phase = Phase::Reversing;
            }
            Pending::Command => custom(self, OK),
        }
    }

    fn deny(&mut self, pending: Pending, answer: Answer<'_, '_>) {
        match pending {
            Pending::Connect => {
                let closes = matches!(&answer, Answer::Reply(r) if r.code().get() == 521 || r.code().get() == 421);
                self.answer(answer);
                self.phase = if closes {
                    Phase::Closing(CloseReason::Refused)
                } else {
                    Phase::Refused
                };
            }
            Pending::Mail { .. } => {
                // RFC 9422 §4.1: MAILMAX counts refused transactions too.
                self.session.transactions = self.session.transactions.saturating_add(1);
                self.answer(answer);
            }
            Pending::MessageEnd => {
                let n = if self.config.lmtp {
                    self.transaction.as_ref().map_or(0, |t| t.accepted)
                } else {
                    1
                };
                for _ in 0..n {
                    match &answer {
                        Answer::Mandated(m) => self.reply(*m),
                        Answer::Reply(r) => r.write_to(&mut self.tx),
                    }
                }
                self.end_message();
            }
            Pending::Auth => {
                self.answer(answer);
                self.session.auth_failures += 1;
                if self.session.auth_failures >= self.config.limits.auth_attempts {
                    self.close_with(TOO_MANY_AUTH, CloseReason::TooManyErrors);
                }
            }
            _ => self.answer(answer),
        }
    }

    /// Builds the EHLO/LHLO reply from the configuration and the session.
    fn capabilities(&mut self) {
        let ext = &self.config.extensions;
        let tls = self.session.tls;
        let mut caps = match Capabilities::new(self.config.hostname()) {
            Ok(c) => c,
            Err(_) => {
                self.plain_hello();
                return;
            }
        };
        let mut add = |k: Keyword, on: bool| {
            if on {
                let _ = caps.insert(k);
            }
        };
        add(Keyword::Pipelining, ext.pipelining || self.config.lmtp);
        add(Keyword::EightBitMime, ext.eight_bit_mime);
        add(Keyword::Chunking, ext.chunking);
        add(Keyword::BinaryMime, ext.binary_mime && ext.chunking);
        add(Keyword::SmtpUtf8, ext.smtputf8 && ext.eight_bit_mime);
        add(Keyword::Dsn, ext.dsn);
        add(Keyword::EnhancedStatusCodes, self.enhanced());
        add(Keyword::StartTls, ext.starttls && !tls);
        add(Keyword::Rrvs, ext.rrvs);
        add(Keyword::RequireTls, ext.requiretls && tls);
        add(Keyword::Vrfy, true);
        add(Keyword::Expn, ext.expn);
        add(Keyword::Help, ext.help);
        add(Keyword::Etrn, ext.etrn && !self.config.lmtp);
        add(Keyword::Atrn, ext.atrn && !self.config.lmtp);
        add(Keyword::Turn, ext.turn && !self.config.lmtp);
        for k in [Keyword::Send, Keyword::Soml, Keyword::Saml] {
            add(k, ext.send && !self.config.lmtp);
        }
        caps.set_size(self.config.limits.message_size.or(Some(0)));
        if self.auth_offered() {
            for m in &ext.auth {
                caps.add_auth_mechanism(m.clone());
            }
        }
        if let Some(min) = ext.deliver_by {
            let _ = caps.set_deliver_by(Some(min.min(ext::deliverby::MAX_MIN_BY_TIME)));
        }
        if let Some(profile) = &ext.mt_priority {
            let _ = caps.set_mt_priority(profile.as_deref().map(std::borrow::Cow::Borrowed));
        }
        if let Some((interval, date)) = &ext.future_release {
            if let Ok(fr) = FutureRelease::new(*interval, date.to_string()) {
                caps.set_future_release(fr);
            }
        }
        if ext.limits {
            let mut limits = EhloLimits::new();
            if let Ok(l) = limits.clone().with_rcpt_max(self.config.limits.recipients) {
                limits = l;
            }
            if let Some(m) = self.config.limits.transactions {
                if let Ok(l) = limits.clone().with_mail_max(m) {
                    limits = l;
                }
            }
            caps.set_limits(limits);
        }
        let mut out = Vec::with_capacity(256);
        if caps.write_to(&mut out).is_ok() {
            self.tx.extend_from_slice(&out);
        } else {
            self.plain_hello();
        }
    }

    /// `250 <hostname>`: the HELO reply, and the EHLO reply when the
    /// configured hostname cannot carry a capability list.
    fn plain_hello(&mut self) {
        let line = format!("250 {}\r\n", self.config.hostname());
        self.tx.extend_from_slice(sanitize(&line).as_bytes());
    }

    fn auth_offered(&self) -> bool {
        !self.config.extensions.auth.is_empty()
            && (self.session.tls || !self.config.extensions.auth_requires_tls)
    }

    fn ehlo_done(&self) -> bool {
        matches!(self.session.hello, Some(HelloVerb::Ehlo | HelloVerb::Lhlo))
    }

    /// Handles one parsed command.
    fn command(&mut self, cmd: Command<'_>) -> Step {
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
                    self.pending = Some(Pending::Vrfy);
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
                    self.pending = Some(Pending::Reverse);
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
                    self.pending = Some(Pending::Reverse);
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
            // BURL needs an IMAP client and VERB/ONEX are sendmail's own:
            // recognised, not implemented (RFC 5321 §4.2.4: 502).
            Command::Burl { .. } | Command::Verb | Command::Onex => {
                self.error_step(NOT_IMPLEMENTED)
            }
        }
    }

    fn error_step(&mut self, reply: MandatedReply) -> Step {
        self.error(reply);
        Step::Continue
    }

    fn hello(&mut self, verb: HelloVerb, host: crate::values::Host<'_>) -> Step {
        // RFC 5321 §4.1.4: a new EHLO resets the session like RSET.
        self.reset_transaction();
        self.pending = Some(Pending::Hello(verb));
        Step::Event(Event::Hello {
            verb,
            host: host.into_owned(),
        })
    }

    /// A one-line 214 naming the commands this session serves (RFC 5321
    /// §4.1.1.8), so it never lists what would be refused.
    fn help(&mut self) {
        let ext = &self.config.extensions;
        let lmtp = self.config.lmtp;
        let mut line = String::from("Commands:");
        let hello: &[&str] = if lmtp { &["LHLO"] } else { &["EHLO", "HELO"] };
        let optional = [
            ("BDAT", ext.chunking),
            ("STARTTLS", ext.starttls && !self.session.tls),
            ("AUTH", self.auth_offered()),
            ("ETRN", ext.etrn && !lmtp),
            ("ATRN", ext.atrn && !lmtp),
            ("TURN", ext.turn && !lmtp),
        ];
        let verbs = hello
            .iter()
            .copied()
            .chain([
                "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "HELP", "VRFY", "EXPN",
            ])
            .chain(optional.iter().filter(|(_, on)| *on).map(|(v, _)| *v));
        for verb in verbs {
            line.push(' ');
            line.push_str(verb);
        }
        self.tx.extend_from_slice(b"214 ");
        if self.enhanced() {
            self.tx.extend_from_slice(b"2.0.0 ");
        }
        self.tx.extend_from_slice(line.as_bytes());
        self.tx.extend_from_slice(b"\r\n");
    }

    fn mail(
        &mut self,
        from: ReversePath<'_>,
        mut params: MailParams<'_>,
        send: Option<SendMode>,
    ) -> Step {
        if self.session.hello.is_none() {
            return self.error_step(if self.config.lmtp {
                NEED_LHLO
            } else {
                NEED_HELLO
            });
        }
        if self.transaction.is_some() {
            return self.error_step(NESTED_MAIL);
        }
        if self.config.extensions.auth_required && !self.session.authenticated {
            return self.error_step(AUTH_REQUIRED);
        }
        if let Some(max) = self.config.limits.transactions {
            if self.session.transactions >= max {
                self.reply(TOO_MANY_MAILS);
                return Step::Continue;
            }
        }
        if let Err(reply) = self.check_mail_params(&params) {
            return self.error_step(reply);
        }
        if !from.is_ascii() && !params.smtputf8 {
            return self.error_step(ext::smtputf8::NON_ASCII_SENDER);
        }
        if let (Some(declared), Some(max)) = (params.size, self.config.limits.message_size) {
            if declared > max {
                self.reply(ext::size::EXCEEDS_FIXED_MAXIMUM);
                return Step::Continue;
            }
        }
        // RFC 4954 §5: an unauthenticated (so untrusted) client's AUTH= is
        // taken as AUTH=<>.
        if params.auth.is_some() && !self.session.authenticated {
            params.auth = Some(AuthParam::Unknown);
        }
        self.pending = Some(Pending::Mail {
            smtputf8: params.smtputf8,
            body: params.body,
        });
        Step::Event(Event::Mail {
            from: from.into_owned(),
            params: params.into_owned(),
            send,
        })
    }

    /// Every parameter must belong to an extension that was offered
    /// (RFC 5321 §4.1.1.11: otherwise 555).
    fn check_mail_params(&self, p: &MailParams<'_>) -> Result<(), MandatedReply> {
        let ext = &self.config.extensions;
        if !p.is_empty() && !self.ehlo_done() {
            return Err(PARAMS_NEED_EHLO);
        }
        if !p.other.is_empty() {
            return Err(UNKNOWN_PARAM);
        }
        let refuse = |on: bool| if on { Ok(()) } else { Err(UNKNOWN_PARAM) };
        if p.size.is_some() {
            refuse(true)?;
        }
        match p.body {
            Some(Body::EightBitMime) => refuse(ext.eight_bit_mime)?,
            Some(Body::BinaryMime) => refuse(ext.binary_mime && ext.chunking)?,
            _ => {}
        }
        if p.smtputf8 {
            refuse(ext.smtputf8 && ext.eight_bit_mime)?;
        }
        if p.ret.is_some() || p.envid.is_some() {
            refuse(ext.dsn)?;
        }
        if p.auth.is_some() {
            refuse(!ext.auth.is_empty())?;
        }
        if let Some(by) = &p.by {
            let Some(min) = ext.deliver_by else {
                return Err(UNKNOWN_PARAM);
            };
            // Compared as i64: a configured u32 must not wrap negative.
            let min = i64::from(min.min(ext::deliverby::MAX_MIN_BY_TIME));
            if by.mode() == ByMode::Return && i64::from(by.time()) < min {
                return Err(ext::deliverby::BELOW_MINIMUM);
            }
        }
        if p.mt_priority.is_some() {
            refuse(ext.mt_priority.is_some())?;
        }
        if let Some(hold) = &p.hold {
            let Some((max_interval, max_date)) = &ext.future_release else {
                return Err(UNKNOWN_PARAM);
            };
            let ok = match hold {
                Hold::For(secs) => *secs >= 1 && *secs <= *max_interval,
                Hold::Until(date) => date.unix_timestamp() <= max_date.unix_timestamp(),
            };
            if !ok {
                return Err(ext::future_release::INVALID);
            }
        }
        if p.requiretls {
            if !ext.requiretls {
                return Err(UNKNOWN_PARAM);
            }
            if !self.session.tls {
                return Err(REQUIRETLS_NEEDS_TLS);
            }
        }
        if p.conperm {
            return Err(ext::conneg::CONPERM_NOT_SUPPORTED);
        }
        if p.solicit.is_some()
            || p.mtrk.is_some()
            || p.submitter.is_some()
            || p.transid.is_some()
            || p.alt_address.is_some()
        {
            return Err(UNKNOWN_PARAM);
        }
        Ok(())
    }

    fn rcpt(&mut self, to: ForwardPath<'_>, params: RcptParams<'_>) -> Step {
        let Some(t) = self.transaction.as_ref() else {
            return self.error_step(NEED_MAIL);
        };
        if t.used_bdat {
            return self.error_step(BAD_SEQUENCE);
        }
        if t.rcpt_commands >= self.config.limits.recipients {
            self.reply(TOO_MANY_RCPTS);
            return Step::Continue;
        }
        let smtputf8 = t.smtputf8;
        if let Err(reply) = self.check_rcpt_params(&params) {
            return self.error_step(reply);
        }
        if !to.is_ascii() && !smtputf8 {
            return self.error_step(ext::smtputf8::NON_ASCII_RECIPIENT);
        }
        if let Some(t) = self.transaction.as_mut() {
            t.rcpt_commands += 1;
        }
        self.pending = Some(Pending::Rcpt);
        Step::Event(Event::Rcpt {
            to: to.into_owned(),
            params: params.into_owned(),
        })
    }

    fn check_rcpt_params(&self, p: &RcptParams<'_>) -> Result<(), MandatedReply> {
        let ext = &self.config.extensions;
        if !p.is_empty() && !self.ehlo_done() {
            return Err(PARAMS_NEED_EHLO);
        }
        if !p.other.is_empty() || p.alt_address.is_some() {
            return Err(UNKNOWN_PARAM);
        }
        if (p.notify.is_some() || p.orcpt.is_some()) && !ext.dsn {
            return Err(UNKNOWN_PARAM);
        }
        if p.rrvs.is_some() && !ext.rrvs {
            return Err(UNKNOWN_PARAM);
        }
        if p.conneg {
            return Err(ext::conneg::CONNEG_NOT_SUPPORTED);
        }
        Ok(())
    }

    fn data(&mut self) -> Step {
        let lmtp = self.config.lmtp;
        let Some(t) = self.transaction.as_ref() else {
            return self.error_step(NEED_MAIL);
        };
        if t.used_bdat {
            return self.error_step(DATA_AFTER_BDAT);
        }
        // RFC 3030 §3: BINARYMIME content cannot be sent with DATA.
        if t.body == Some(Body::BinaryMime) {
            return self.error_step(ext::body::BINARYMIME_NEEDS_BDAT);
        }
        if t.accepted == 0 {
            // RFC 2033 §4.2 (LMTP: 503); RFC 5321 §3.3 (554).
            return self.error_step(if lmtp || t.rcpt_commands == 0 {
                NEED_RCPT
            } else {
                NO_VALID_RCPT
            });
        }
        self.tx
            .extend_from_slice(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n");
        let mut decoder = DotDecoder::new()
            .with_policy(self.config.bare_line_endings)
            .with_max_line(self.config.limits.data_line);
        if let Some(max) = self.config.limits.message_size {
            decoder = decoder.with_max_size(max);
        }
        self.phase = Phase::Data(decoder);
        self.content_open = true;
        Step::Continue
    }

    fn bdat(&mut self, size: u64, last: bool) -> Step {
        let refuse = |core: &mut Core, refusal: Refusal| {
            core.phase = Phase::Chunk {
                decoder: ChunkDecoder::discard(size),
                last,
                refusal: Some(refusal),
            };
            Step::Continue
        };
        if !self.config.extensions.chunking {
            return refuse(self, Refusal::Reply(NOT_IMPLEMENTED));
        }
        let max = self.config.limits.message_size;
        let lmtp = self.config.lmtp;
        let Some(t) = self.transaction.as_mut() else {
            return refuse(self, Refusal::Reply(NEED_MAIL));
        };
        if t.bdat_failed {
            return refuse(self, Refusal::Reply(BDAT_AFTER_FAILURE));
        }
        if t.accepted == 0 {
            if lmtp && last {
                // RFC 2033 §4.3: zero replies for BDAT LAST without recipients.
                return refuse(self, Refusal::Silent);
            }
            t.bdat_failed = true;
            let reply = if lmtp || t.rcpt_commands == 0 {
                NEED_RCPT
            } else {
                NO_VALID_RCPT
            };
            return refuse(self, Refusal::Reply(reply));
        }
        let total = t.bdat_size.saturating_add(size);
        if max.is_some_and(|m| total > m) {
            t.bdat_failed = true;
            self.abort_content(AbortReason::ChunkRejected);
            return refuse(self, Refusal::Reply(ext::size::EXCEEDS_FIXED_MAXIMUM));
        }
        t.used_bdat = true;
        t.bdat_size = total;
        self.content_open = true;
        self.phase = Phase::Chunk {
            decoder: ChunkDecoder::new(size),
            last,
            refusal: None,
        };
        Step::Continue
    }

    fn starttls(&mut self) -> Step {
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

    fn auth(&mut self, mechanism: Mechanism, initial: Option<SaslResponse<'_>>) -> Step {
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
        if !ext.auth.contains(&mechanism)
            || !matches!(
                mechanism,
                Mechanism::Plain
                    | Mechanism::Login
                    | Mechanism::CramMd5
                    | Mechanism::XOAuth2
                    | Mechanism::OAuthBearer
            )
        {
            return self.error_step(AUTH_MECH_UNKNOWN);
        }
        self.session.auth_exchanges += 1;
        let (nonce, count, host) = (
            self.nonce,
            self.session.auth_exchanges,
            self.config.hostname().to_owned(),
        );
        let (exchange, challenge) = auth::start(&mechanism, || format!("<{nonce}.{count}@{host}>"));
        match initial {
            None => {
                self.challenge(&challenge);
                self.phase = Phase::Auth(exchange);
                Step::Continue
            }
            Some(_) if mechanism == Mechanism::CramMd5 => {
                // Server-first mechanism (RFC 4954 §4).
                self.error_step(SERVER_FIRST_INITIAL)
            }
            Some(SaslResponse::Cancel) => {
                self.auth_failure(AUTH_CANCELLED);
                Step::Continue
            }
            Some(resp) => match resp.decode() {
                Some(bytes) => self.sasl_step(exchange, bytes),
                None => self.error_step(BAD_BASE64),
            },
        }
    }

    fn challenge(&mut self, b64: &str) {
        // "334 " with the trailing space even when empty (RFC 4954 §4).
        self.tx.extend_from_slice(b"334 ");
        self.tx.extend_from_slice(b64.as_bytes());
        self.tx.extend_from_slice(b"\r\n");
    }

    fn sasl_step(&mut self, exchange: auth::Exchange, response: Vec<u8>) -> Step {
        match auth::step(exchange, response) {
            auth::Step::Challenge(next, b64) => {
                self.challenge(b64);
                self.phase = Phase::Auth(next);
                Step::Continue
            }
            auth::Step::Done(credentials) => {
                self.phase = Phase::Command;
                self.pending = Some(Pending::Auth);
                Step::Event(Event::Auth(credentials))
            }
            auth::Step::Malformed(why) => {
                self.phase = Phase::Command;
                self.auth_failure(r(501, 5, 5, 2, why));
                Step::Continue
            }
        }
    }

    fn auth_failure(&mut self, reply: MandatedReply) {
        self.reply(reply);
        self.session.auth_failures += 1;
        if self.session.auth_failures >= self.config.limits.auth_attempts {
            self.close_with(TOO_MANY_AUTH, CloseReason::TooManyErrors);
        }
    }
}

/// Drops input up to and including the end of the current line; whether
/// it was found (otherwise what is buffered is dropped and the line goes
/// on). In strict mode only CRLF ends a line, as in the command parser:
/// resynchronising on a bare LF would let a command hidden after an
/// overlong line through (RFC 5321 §2.3.8).
fn skip_line(rx: &mut BytesMut, strict: bool) -> bool {
    let end = if strict {
        memchr::memmem::find(rx, b"\r\n").map(|i| i + 1)
    } else {
        memchr::memchr(b'\n', rx)
    };
    match end {
        Some(i) => {
            rx.advance(i.saturating_add(1));
            true
        }
        None => {
            // A CR last may be the first half of the CRLF that ends it.
            let keep = usize::from(strict && rx.last() == Some(&b'\r'));
            rx.advance(rx.len() - keep);
            false
        }
    }
}

/// Whether buffered input starts a BDAT command (RFC 3030 §2: verbs are
/// case-insensitive).
fn starts_with_bdat(rx: &[u8]) -> bool {
    rx.len() >= 5 && rx[..5].eq_ignore_ascii_case(b"BDAT ")
}

/// Configured text goes on the wire: keep CR, LF and controls out.
/// The bare-octet check of the transaction's BDAT content, when the policy
/// applies to it: [`BarePolicy::Reject`] and a body other than BINARYMIME,
/// the one body that may hold any octet (RFC 3030 §3).
fn bare_check<'t>(
    config: &ServerConfig,
    transaction: &'t mut Option<Transaction>,
) -> Option<&'t mut BareCheck> {
    if config.bare_line_endings != BarePolicy::Reject {
        return None;
    }
    let t = transaction.as_mut()?;
    if t.body == Some(Body::BinaryMime) {
        return None;
    }
    Some(&mut t.bare)
}

/// The reply to content that broke a rule (RFC 3463 codes, see
/// [`ContentError::reply`]).
fn content_reply(e: ContentError) -> MandatedReply {
    let (code, esc) = e.reply();
    let text = match e {
        ContentError::BareCr => "Bare CR not allowed in message content",
        ContentError::BareLf => "Bare LF not allowed in message content",
        ContentError::Nul => "NUL not allowed in message content",
        ContentError::LineTooLong { .. } => "Message line too long",
        ContentError::TooBig { .. } => "Message size exceeds fixed maximum message size",
    };
    (code, esc, text)
}

fn sanitize(line: &str) -> String {
    let body = line.strip_suffix("\r\n").unwrap_or(line);
    let mut s: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    s.push_str("\r\n");
    s
}
