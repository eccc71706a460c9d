//! The server side: one SMTP or LMTP session as a pure state machine.
//!
//! # Driving a session
//!
//! The application owns the connection and the clock. Whenever it wakes
//! it gives the session the time with [`Server::handle_timeout`], feeds
//! the bytes it read to [`Server::receive`] (or hands its read buffer
//! over, without a copy, to [`Server::receive_buf`]), takes [`Event`]s from
//! [`Server::poll_event`] and answers the ones that need a decision
//! ([`Server::decision`]), writes out what [`Server::poll_transmit`]
//! returns, and sleeps no later than [`Server::poll_timeout`]. In this
//! order — time → receive → events → transmit → deadline:
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
//!     session.handle_timeout(Instant::now()); // the clock, at every wake-up
//!     while let Some(event) = session.poll_event() {
//!         match event {
//!             Event::Content(chunk) => message.extend_from_slice(&chunk),
//!             Event::Closed { .. } => break,
//!             _ => {}
//!         }
//!         if let Some(decision) = session.decision() {
//!             decision.accept(); // policy goes here
//!         }
//!     }
//!     while let Some(bytes) = session.poll_transmit() {
//!         wire.extend_from_slice(&bytes);
//!     }
//!     if session.is_closed() {
//!         break;
//!     }
//!     let _deadline = session.poll_timeout(); // sleep no longer than this
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
//! the buffer, and replies already owed can be transmitted. The timer is
//! paused meanwhile; answering restarts it at the latest time given, so
//! give the time before answering a decision that took a while.
//!
//! # Time
//!
//! The session never reads a clock: [`Server::handle_timeout`] is its
//! clock. Progress — a complete command line, consumed content, an
//! answered decision — starts a new wait at the latest time given; octets
//! of a partial line do not, so a client trickling a line one octet at a
//! time is still closed [`Timeouts::command`] after its last complete line
//! (RFC 5321 §4.5.3.2.7). [`Server::poll_timeout`] is a pure query of the
//! deadline that follows. A session that was never given the time has no
//! deadline, so a driver gives it at the top of its loop: a client silent
//! after connecting is timed from that first tick.
//!
//! The session never panics on peer input, never holds more than
//! [`Limits::max_buffered`] octets of input, and hands message content out
//! as slices of its receive buffer without copying.

// The machine by protocol phase; `mod.rs` keeps the public type and its
// poll surface.
mod ahead; // DATA content decoded as `receive` copies it
mod auth; // SASL exchanges the machine runs (RFC 4954, 4616, 2195, 4422, 5802)
mod auth_decision; // the SASL decisions' views: SCRAM look-up, the application's steps
mod burl; // BURL: the command, the content its URL resolves to (RFC 4468)
mod config; // what a listener offers and enforces
mod credentials; // what a completed exchange hands over; secrets
mod decision; // pending decisions and what their answers do
mod event; // the events and errors the application sees
mod forward; // XCLIENT, XFORWARD (Postfix)
mod framing; // input framing: command lines, AUTH lines, content
mod offer; // the EHLO reply, HELP, parameter checks against the offer
mod output; // the reply queue
mod proxy; // the PROXY protocol header before the greeting
mod replies; // the machine's own one-line replies
mod session; // session commands: HELO/EHLO, QUIT, STARTTLS, AUTH, ...
mod state; // the phase, the session's and the transaction's state
mod transaction; // MAIL, RCPT, DATA, BDAT

pub use auth_decision::{AuthStep, ScramLookup};
pub use config::{Extensions, Limits, ServerConfig, Timeouts};
pub use credentials::{Credentials, Secret};
pub use decision::{Decision, DecisionKind, LmtpMessageEnd};
pub use event::{AbortReason, ApiError, CloseReason, Event, HelloVerb};

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::reply::Reply;
use crate::timer::Timer;
use framing::Step;
use output::sanitize;
use replies::{OVERRUN, TIMEOUT};
use state::{Core, Phase, Session, Transaction};

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

impl Server {
    /// A new session. Unless the configuration asks the application first
    /// ([`ServerConfig::ask_on_connect`]) or waits for a PROXY protocol
    /// header ([`ServerConfig::proxy_protocol`]), the 220 greeting is
    /// queued.
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
            owed: None,
            timer: Timer::new(),
            nonce: 0,
            channel_binding: None,
            forwarding: forward::Forwarding::default(),
            config,
        };
        if core.config.proxy_protocol.is_some() {
            core.phase = Phase::Proxy;
        } else if !core.config.ask_on_connect {
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

    /// Gives the connection's channel-binding data (RFC 5056), which the
    /// driver gets from its TLS library after the handshake: SCRAM's `p=`
    /// is refused without it, and a `-PLUS` mechanism in
    /// [`Extensions::auth`] can only succeed with it (RFC 5802 §6; see
    /// [`crate::sasl`]).
    pub fn set_channel_binding(&mut self, binding: crate::sasl::ChannelBinding) {
        self.core.channel_binding = Some(Box::new(binding));
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
            match &mut self.core.phase {
                Phase::Data(decoder, ahead) if data.len() >= ahead::AHEAD_MIN => {
                    ahead.receive(decoder, &mut self.rx, data);
                }
                _ => self.rx.extend_from_slice(data),
            }
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
        if self.buffered_len().saturating_add(len) > self.core.config.limits.max_buffered {
            if matches!(self.core.phase, Phase::Proxy) {
                // Nothing may be written before the PROXY header.
                self.reject_proxy();
                return false;
            }
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
        if matches!(self.core.phase, Phase::Proxy) {
            // No reply before the PROXY header (its specification, §2.1).
            self.core.phase = Phase::Closing(CloseReason::Shutdown);
            return;
        }
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
            if let Some(event) = self.core.owed.as_mut().and_then(|q| q.pop_front()) {
                return Some(event);
            }
            if self.core.pending.is_some() {
                return None;
            }
            if self.core.tx.len() >= self.core.config.limits.max_queued_replies {
                // Back-pressure: the next poll_transmit drains the queue and
                // lets input be consumed again.
                return None;
            }
            let before = self.buffered_len();
            let step = self.step();
            // Progress, not octets, restarts the idle timer (RFC 5321
            // §4.5.3.2.7): a complete command line, or consumed content.
            // Octets of a partial or overlong line do not, so a client
            // trickling one octet at a time is still closed in time.
            if self.buffered_len() < before && !matches!(self.core.phase, Phase::SkipLine { .. }) {
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

    /// Gives the session the time: the driver's clock, the only one it
    /// has. Call it whenever the driver wakes — before feeding what it
    /// read, before answering a decision that took a while, and when the
    /// deadline from [`Server::poll_timeout`] passes. Past the deadline the
    /// session sends `421 4.4.2` and closes (RFC 5321 §4.5.3.2); content
    /// being received is aborted.
    ///
    /// Progress (a complete command line, consumed content, an answered
    /// decision) starts the next wait at the latest time given here, so a
    /// deadline that input has since moved no longer fires. An instant
    /// earlier than one given before is taken as that one: time never goes
    /// back.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.timer.tick(now);
        if matches!(self.core.phase, Phase::Proxy) {
            self.proxy_timeout();
            return;
        }
        if self.core.in_message() {
            // Content that began before the session knew the time is
            // timed from the first time it is given.
            self.core.content_begins();
        }
        if self
            .poll_timeout()
            .is_some_and(|deadline| self.core.timer.reached(deadline))
        {
            self.core.abort_content(AbortReason::Disconnected);
            self.core.close_with(TIMEOUT, CloseReason::Timeout);
        }
    }

    /// When [`Server::handle_timeout`] must next be called: the end of the
    /// current wait for the client ([`Timeouts::command`] for a command,
    /// [`Timeouts::data`] for content), or the end of
    /// [`Timeouts::message`] for the message being received, whichever is
    /// first. A pure query: asking twice gives the same answer.
    ///
    /// `None` while the application owes a decision (the timer is paused;
    /// answering restarts it), while STARTTLS is handled, once the session
    /// is closing, and before the first [`Server::handle_timeout`]: a
    /// session that was never given the time has no deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let core = &self.core;
        if core.pending.is_some() {
            return None;
        }
        let period = match core.phase {
            Phase::Command
            | Phase::SkipLine { .. }
            | Phase::Auth(_)
            | Phase::Refused
            | Phase::Proxy => core.config.timeouts.command,
            Phase::Data(..) | Phase::Chunk { .. } => core.config.timeouts.data,
            _ => return None,
        };
        let idle = core.timer.deadline(period);
        // One message's content has a wall-clock bound too, whatever its
        // rate: DATA, or BDAT from the first chunk to LAST.
        let message = core
            .transaction
            .as_ref()
            .filter(|_| core.in_message())
            .and_then(|t| t.content_started)
            .and_then(|started| started.checked_add(core.config.timeouts.message));
        match (idle, message) {
            (Some(d), Some(m)) => Some(d.min(m)),
            (d, m) => d.or(m),
        }
    }

    /// Input octets received and not consumed yet; never more than
    /// [`Limits::max_buffered`]. A driver that answers decisions
    /// asynchronously can stop reading while this is high, instead of
    /// letting the session close with `421` when the limit is passed.
    /// Message content decoded as it was received and not yet handed out
    /// counts too.
    pub fn buffered_len(&self) -> usize {
        match &self.core.phase {
            Phase::Data(_, ahead) => self.rx.len() + ahead.len(),
            _ => self.rx.len(),
        }
    }

    /// Reply octets waiting for [`Server::poll_transmit`]. At
    /// [`Limits::max_queued_replies`] the session consumes no more input
    /// ([`Server::poll_event`] returns `None`) until they are taken.
    pub fn queued_reply_len(&self) -> usize {
        self.core.tx.len()
    }

    /// True while a message's content is being received: from DATA's
    /// `354` to the end of the content, or from the first BDAT to the one
    /// with LAST (RFC 3030 §2). A driver shutting down can let the message
    /// finish before it calls [`Server::shutdown`], which would abort it.
    pub fn in_message(&self) -> bool {
        self.core.in_message()
    }

    /// True once the session is over (after [`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        matches!(self.core.phase, Phase::Closed)
    }

    /// True when the session is on a TLS connection.
    pub fn is_tls(&self) -> bool {
        self.core.session.tls
    }

    /// True once AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.core.session.authenticated
    }

    /// True once the client asked for verbose mode with VERB (offered
    /// with [`Extensions::verb`]): sendmail then delivers at once and
    /// reports on the delivery; the application may do likewise.
    pub fn is_verbose(&self) -> bool {
        self.core.session.verbose
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
    /// The wait for it starts at the latest time given: give the time
    /// ([`Server::handle_timeout`]) after the handshake, first.
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

    /// The decision the session waits for, as a view to answer: see
    /// [`Decision`]. `None` when no event waits for one.
    pub fn decision(&mut self) -> Option<Decision<'_>> {
        Decision::new(&mut self.core)
    }

    /// Shorthand for `decision()` then [`Decision::accept`]: the pending
    /// event's default positive reply. [`ApiError::NoPendingDecision`]
    /// when nothing is pending.
    pub fn accept(&mut self) -> Result<(), ApiError> {
        self.decision().ok_or(ApiError::NoPendingDecision)?.accept();
        Ok(())
    }

    /// Shorthand for `decision()` then [`Decision::deny`]: the pending
    /// event's default refusal. [`ApiError::NoPendingDecision`] when
    /// nothing is pending.
    pub fn deny(&mut self) -> Result<(), ApiError> {
        self.decision().ok_or(ApiError::NoPendingDecision)?.deny();
        Ok(())
    }

    /// Shorthand for `decision()` then [`Decision::respond`]: a 2xx reply
    /// accepts, a 4xx or 5xx refuses, a `421` also ends the session (RFC
    /// 5321 §3.8). [`ApiError::NoPendingDecision`] when nothing is pending.
    pub fn respond(&mut self, reply: &Reply<'_>) -> Result<(), ApiError> {
        self.decision()
            .ok_or(ApiError::NoPendingDecision)?
            .respond(reply)
    }
}
