//! The client side: one SMTP or LMTP session as a pure state machine, for a
//! mail client or an MTA's outbound queue, delivering any number of
//! messages over one connection.
//!
//! # Driving a session
//!
//! The application owns the connection and the clock. It queues messages
//! with [`Client::submit`] (or streams them with
//! [`Client::submit_streaming`]); whenever it wakes it gives the session
//! the time with [`Client::handle_timeout`], feeds the bytes it read to
//! [`Client::receive`], takes [`Event`]s from [`Client::poll_event`],
//! writes out what [`Client::poll_transmit`] returns, and sleeps no later
//! than [`Client::poll_timeout`]. In this order — time → receive → events
//! → transmit → deadline — as the server does ([`crate::server`]).
//!
//! The session never reads a clock. Progress — a complete reply, a command
//! or content written — starts the wait for the next reply at the latest
//! time given; octets of a reply do not (RFC 5321 §4.5.3.2).
//! [`Client::poll_timeout`] is a pure query of the deadline that follows,
//! and a session that was never given the time has none.
//!
//! Here the peer is this crate's own [`crate::server::Server`], in memory:
//!
//! ```
//! use esmtp::client::{Client, ClientConfig, Envelope, Event};
//! use esmtp::server::{self, Server, ServerConfig};
//! use esmtp::values::{Domain, Mailbox};
//! use std::time::Instant;
//!
//! let host = Domain::parse("client.example").unwrap().into_owned();
//! let mut client = Client::new(ClientConfig::new(host));
//! let mut server = Server::new(ServerConfig::new("mx.example.org").expect("a valid hostname"));
//! let envelope = Envelope::new(Mailbox::parse("a@example.org").unwrap().into_owned())
//!     .to(Mailbox::parse("b@example.org").unwrap().into_owned());
//! let id = client.submit(envelope, &b"Subject: hi\r\n\r\n.dot\r\n"[..]).unwrap();
//! client.quit();
//!
//! let mut delivered = false;
//! let mut stored = Vec::new();
//! while !client.is_closed() {
//!     let now = Instant::now(); // the clock, at every wake-up
//!     server.handle_timeout(now);
//!     client.handle_timeout(now);
//!     // The server side (a real driver has a socket here).
//!     while let Some(e) = server.poll_event() {
//!         if let server::Event::Content(c) = e {
//!             stored.extend_from_slice(&c);
//!         }
//!         if let Some(decision) = server.decision() {
//!             decision.accept();
//!         }
//!     }
//!     while let Some(bytes) = server.poll_transmit() {
//!         client.receive(&bytes); // what the client reads
//!     }
//!     // The client side: events, then transmit, then the deadline.
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Message(outcome) = event {
//!             assert_eq!(outcome.id, id);
//!             delivered = outcome.all_delivered();
//!         }
//!     }
//!     while let Some(bytes) = client.poll_transmit() {
//!         server.receive(&bytes); // what the client writes
//!     }
//!     let _deadline = client.poll_timeout(); // sleep no longer than this
//! }
//! assert!(delivered);
//! assert_eq!(stored, b"Subject: hi\r\n\r\n.dot\r\n");
//! ```
//!
//! The session greets, sends EHLO (HELO when EHLO is refused with
//! 500/501/502/554, RFC 5321 §3.2 and RFC 1869 §4.5; LHLO in LMTP),
//! upgrades with STARTTLS and authenticates as configured, then runs the
//! queued messages and requests in order. Each message ends in exactly one
//! [`Event::Message`], whatever happens to the session.
//!
//! # Negotiation
//!
//! A message uses what the server offers and the configuration allows:
//! `SIZE=` (and a local refusal over the server's limit), `BODY=8BITMIME`
//! or `BODY=BINARYMIME` from the content, `SMTPUTF8` when an address needs
//! it (the legacy UTF8SMTP form to a server that offers only that), the
//! caller's DSN, DELIVERBY, MT-PRIORITY, FUTURERELEASE, RRVS,
//! NO-SOLICITING, MTRK, CONNEG and ALT-ADDRESS parameters only when
//! offered (else [`ParamPolicy`]), SUBMITTER only when offered (else left
//! off, RFC 4405 §4.3), CONPERM and SEND/SOML/SAML only when offered (else
//! the message fails), REQUIRETLS only on TLS, recipients split per LIMITS
//! RCPTMAX, transactions capped by MAILMAX. A message that cannot be sent as asked fails with a
//! [`MessageError`] before any command is sent for it.
//!
//! With PIPELINING (RFC 2920) RSET, MAIL, RCPT and DATA go out as one group
//! (or MAIL, RCPT and the BDAT chunks); every other command waits for its
//! reply. Replies are matched to commands by count, in order. Content is
//! converted to CRLF and dot-stuffed for DATA ([`crate::data::DotEncoder`]),
//! or converted to CRLF and sent in BDAT chunks (BINARYMIME content goes
//! as is, RFC 3030 §3), a piece at a time: the whole message is never
//! copied at once.
//!
//! The session never panics on server input and never buffers more than
//! [`ClientConfig::max_buffered`] octets of it.

// The machine by protocol phase; `mod.rs` keeps the public type and its
// poll surface.
mod auth; // SASL client exchanges (RFC 4954, RFC 4616, RFC 2195)
mod config; // what the client may use and requires
mod content; // the content pump: DATA dot-stuffing, BDAT chunks
mod envelope; // what the caller submits
mod event; // the events and errors the application sees
mod forward; // XCLIENT, XFORWARD, raw commands
mod negotiate; // a message's transaction given what the server offers
mod pipeline; // the pipeline queue and the replies owed
mod proxy; // the PROXY protocol header before everything
mod replies; // reply input and routing
mod requests; // the caller's messages and commands
mod resume; // CHECKPOINT restarts: where the content is taken up again
mod session; // greeting, EHLO/HELO/LHLO, STARTTLS, AUTH, QUIT
mod transaction; // MAIL, RCPT, DATA/BDAT replies, message outcomes

pub use crate::ext::burl::Part;
pub use config::{AuthConfig, ClientConfig, ClientCredentials, ParamPolicy, Timeouts, TlsPolicy};
pub use envelope::{Envelope, Recipient};
pub use event::{
    ApiError, AuthError, CloseReason, Event, MessageError, MessageId, MessageOutcome,
    RecipientOutcome,
};

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::command::Verb;
use crate::data::ContentKind;
use crate::ehlo::Capabilities;
use crate::ext::seam::RcptStrip;
use crate::params::MailParams;
use crate::timer::Timer;
use content::{ContentPhase, LineEnds, Source};
use pipeline::{Expect, Job};

/// One client session. See the [module documentation](self) for the
/// driver loop.
///
/// `Debug` shows the session's state and buffer sizes, never buffered
/// octets: queued output may hold an AUTH response with the password.
pub struct Client {
    config: Arc<ClientConfig>,
    /// Bytes received and not parsed yet.
    rx: BytesMut,
    /// Commands not yet moved to `out`.
    staging: Vec<u8>,
    out: VecDeque<Bytes>,
    events: VecDeque<Event>,
    /// The replies owed by the server, in order (RFC 2920 §3.1).
    inflight: VecDeque<Expect>,
    phase: Phase,
    /// Shared with the [`Event::Capabilities`] that announced it.
    caps: Option<Arc<Capabilities<'static>>>,
    tls: bool,
    authenticated: bool,
    jobs: VecDeque<Job>,
    current: Option<Current>,
    transactions: u32,
    /// A transaction may be open on the server: RSET before the next MAIL.
    needs_rset: bool,
    next_id: u64,
    quit_queued: bool,
    timer: Timer,
    /// The nonce for the next SASL exchange that needs one (SCRAM).
    sasl_nonce: Option<String>,
    /// The connection's channel-binding data (SCRAM `-PLUS`).
    channel_binding: Option<Box<crate::sasl::ChannelBinding>>,
    /// A PROXY protocol header was queued (at most one, first).
    proxy_sent: bool,
    /// Octets came while no reply was owed ([`Client::owe`]): the session
    /// ends at the next input.
    unasked: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("phase", &self.phase)
            .field("tls", &self.tls)
            .field("authenticated", &self.authenticated)
            .field("inflight", &self.inflight.len())
            .field(
                "messages",
                &(self.jobs.len() + usize::from(self.current.is_some())),
            )
            .field("transactions", &self.transactions)
            .field("buffered_input", &self.rx.len())
            .field(
                "queued_output",
                &(self.staging.len() + self.out.iter().map(Bytes::len).sum::<usize>()),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Phase {
    Greeting,
    Hello,
    StartTls,
    TlsHandshake,
    Auth(auth::Exchange),
    Ready,
    Quitting(CloseReason),
    Closed,
}

#[derive(Debug)]
struct Message {
    id: MessageId,
    envelope: Envelope,
    source: Source,
    kind: ContentKind,
    size: Option<u64>,
    outcome: MessageOutcome,
    /// Recipients (envelope indices) not yet tried.
    remaining: VecDeque<usize>,
}

/// The message being sent and its transaction.
#[derive(Debug)]
struct Current {
    msg: Box<Message>,
    tx: Tx,
}

#[derive(Debug)]
struct Tx {
    params: MailParams<'static>,
    /// Extensions whose RCPT parameters are left off (not offered,
    /// [`ParamPolicy::Strip`]).
    rcpt_strip: RcptStrip,
    bdat: bool,
    /// The paths' U-label domains go out as A-labels (feature `idna`).
    a_labels: bool,
    rcpts: Vec<usize>,
    sent_rcpts: usize,
    mail_sent: bool,
    mail_ok: Option<bool>,
    rcpt_replies: usize,
    accepted: Vec<usize>,
    /// Recipients refused with 452 (too many recipients): another
    /// transaction may take them (RFC 5321 §4.5.3.1.10).
    retry: Vec<usize>,
    content: ContentPhase,
    /// Offset into whole content.
    offset: usize,
    /// A BDAT chunk was refused: send no more.
    bdat_failed: bool,
    /// Line-end state of text content sent with BDAT.
    line_ends: LineEnds,
    /// Normalised BDAT content past the last chunk's `chunk_size` (CRLF
    /// normalisation can grow a piece), and whether it ends the message.
    bdat_carry: Option<(Bytes, bool)>,
    /// The part being sent, of a message with BURL parts.
    part: usize,
    /// Streamed content still to skip after a CHECKPOINT restart.
    resume: Option<crate::ext::checkpoint::Resume>,
}

/// The receive buffer's first capacity: a greeting and a usual EHLO reply
/// (a dozen capabilities, some 300 octets) fit, so the buffer is allocated
/// once per session instead of growing at the EHLO reply. Replies are
/// consumed by advancing, so the room is reused.
const RX_CAPACITY: usize = 1024;

/// The largest command line written with an AUTH initial response (RFC
/// 5321 §4.5.3.1.4).
const MAX_AUTH_LINE: usize = 512;

impl Client {
    /// A new session, waiting for the server's greeting.
    pub fn new(config: impl Into<Arc<ClientConfig>>) -> Self {
        let mut inflight = VecDeque::new();
        inflight.push_back(Expect::Greeting);
        Client {
            config: config.into(),
            rx: BytesMut::with_capacity(RX_CAPACITY),
            staging: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            inflight,
            phase: Phase::Greeting,
            caps: None,
            tls: false,
            authenticated: false,
            jobs: VecDeque::new(),
            current: None,
            transactions: 0,
            needs_rset: false,
            next_id: 0,
            quit_queued: false,
            timer: Timer::new(),
            sasl_nonce: None,
            channel_binding: None,
            proxy_sent: false,
            unasked: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Marks the session as running on TLS from the start (implicit TLS,
    /// RFC 8314): STARTTLS is not used.
    pub fn set_implicit_tls(&mut self) {
        self.tls = true;
    }

    /// Gives the nonce for the session's SASL exchange: fresh random
    /// printable text without `,` (e.g. 18 random octets in base64), used
    /// once. SCRAM (RFC 5802 §5.1) needs it; without one the client picks
    /// another mechanism. The machine draws no random numbers itself.
    pub fn set_sasl_nonce(&mut self, nonce: &str) -> Result<(), ApiError> {
        if !crate::sasl::scram::server::valid_nonce(nonce) {
            return Err(ApiError::InvalidNonce);
        }
        self.sasl_nonce = Some(nonce.to_owned());
        Ok(())
    }

    /// Gives the connection's channel-binding data (RFC 5056), from the
    /// driver's TLS library after the handshake: SCRAM then binds to it
    /// (`-PLUS`, or `y` to a server that offers no `-PLUS`; RFC 5802 §6).
    pub fn set_channel_binding(&mut self, binding: crate::sasl::ChannelBinding) {
        self.channel_binding = Some(Box::new(binding));
    }

    /// The capabilities of the last EHLO or LHLO reply (`None` before it,
    /// after HELO, and while STARTTLS resets them).
    pub fn capabilities(&self) -> Option<&Capabilities<'static>> {
        self.caps.as_deref()
    }

    /// True when the session runs on TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// True once AUTH succeeded.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// True once the session is over (after [`Event::Closed`]).
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// True when nothing is queued, in progress or awaited: a driver may
    /// [`quit`](Self::quit) or keep the connection for later messages.
    pub fn is_idle(&self) -> bool {
        matches!(self.phase, Phase::Ready)
            && self.jobs.is_empty()
            && self.current.is_none()
            && self.inflight.is_empty()
    }

    /// The TLS handshake after [`Event::StartTls`] succeeded: capabilities
    /// are forgotten and EHLO is sent again (RFC 3207 §4.2).
    pub fn tls_established(&mut self) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::TlsHandshake) {
            return Err(ApiError::NoTlsHandshake);
        }
        self.rx.clear();
        self.tls = true;
        self.caps = None;
        self.send_hello();
        self.pump();
        Ok(())
    }

    /// The TLS handshake failed: the connection is unusable, every message
    /// fails and the session is over.
    pub fn tls_failed(&mut self) -> Result<(), ApiError> {
        if !matches!(self.phase, Phase::TlsHandshake) {
            return Err(ApiError::NoTlsHandshake);
        }
        // The connection is unusable after a failed handshake, whatever the
        // policy: the messages were not refused for lack of TLS, the
        // session ended under them.
        self.fail_all(MessageError::SessionEnded(None));
        self.close(CloseReason::TlsFailed);
        Ok(())
    }

    /// Appends bytes read from the server and handles every complete
    /// reply in them.
    pub fn receive(&mut self, data: &[u8]) {
        match self.phase {
            // Bytes after the 220 to STARTTLS must not be read as replies
            // after the handshake (RFC 3207 §4.2, response injection).
            Phase::TlsHandshake | Phase::Closed => return,
            _ => {}
        }
        let mut data = data;
        let mut progressed = false;
        while !data.is_empty() {
            // Only what stays unparsed is bounded: a read of many complete
            // pipelined replies is taken a buffer's worth at a time.
            let room = self.config.max_buffered.saturating_sub(self.rx.len());
            if room == 0 {
                self.rx.clear();
                self.desync();
                break;
            }
            let (now, later) = data.split_at(room.min(data.len()));
            data = later;
            self.rx.extend_from_slice(now);
            let before = self.rx.len();
            self.process();
            progressed |= self.rx.len() < before;
            if matches!(self.phase, Phase::TlsHandshake | Phase::Closed) {
                // What follows the 220 to STARTTLS is not read (RFC 3207
                // §4.2); a closed session reads nothing.
                break;
            }
        }
        // A reply's deadline (RFC 5321 §4.5.3.2) is met by the reply, not by
        // octets of it: a server trickling one octet at a time does not
        // extend it.
        if progressed {
            self.timer.restart();
        }
        self.pump();
    }

    /// The server closed the connection.
    pub fn peer_closed(&mut self) {
        match self.phase {
            Phase::Closed => {}
            Phase::Quitting(reason) => self.close(reason),
            _ => {
                self.fail_all(MessageError::SessionEnded(None));
                self.close(CloseReason::PeerClosed);
            }
        }
    }

    /// The next event, or `None` until more input or time arrives.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            let e = self.events.pop_front()?;
            // A message that ended in the same read as its 354 (the
            // session desynchronised or closed) wants nothing: its outcome
            // follows, and content pushed for it would be refused.
            if let Event::ContentWanted(id) = e {
                if self.stream_of(id).is_none() {
                    continue;
                }
            }
            return Some(e);
        }
    }

    /// Bytes to write to the server, in order. Message content is produced
    /// here a piece at a time, so keep calling until `None`. Content that
    /// is already canonical comes out as slices of the message's `Bytes`
    /// (no copy), cut where a dot is stuffed; a driver that writes without
    /// vectored I/O may want to coalesce small pieces.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.out.is_empty() && self.staging.is_empty() {
            self.fill();
        }
        self.flush();
        let b = self.out.pop_front();
        if b.is_some() {
            self.timer.restart();
        }
        b
    }

    /// Gives the session the time: the driver's clock, the only one it
    /// has. Call it whenever the driver wakes — before feeding what it
    /// read, before submitting or writing after a wait, and when the
    /// deadline from [`Client::poll_timeout`] passes. Past the deadline
    /// every message still pending fails with [`MessageError::Timeout`]
    /// and the session closes (RFC 5321 §4.5.3.2).
    ///
    /// Progress (a complete reply, a command or content written, content
    /// pushed) starts the next wait at the latest time given here; octets
    /// of a reply do not, so a server trickling one never extends its
    /// deadline. An instant earlier than one given before is taken as that
    /// one: time never goes back.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timer.tick(now);
        if self
            .poll_timeout()
            .is_some_and(|deadline| self.timer.reached(deadline))
        {
            self.fail_all(MessageError::Timeout);
            self.close(CloseReason::Timeout);
        }
    }

    /// When [`Client::handle_timeout`] must next be called: the end of
    /// the wait for the reply owed first (its [`Timeouts`] value, RFC 5321
    /// §4.5.3.2), or for streamed content the caller has yet to give. A
    /// pure query: asking twice gives the same answer.
    ///
    /// `None` while nothing is awaited, during the TLS handshake, once the
    /// session is closed, and before the first [`Client::handle_timeout`]:
    /// a session that was never given the time has no deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer.deadline(self.current_timeout()?)
    }

    fn current_timeout(&self) -> Option<Duration> {
        let t = &self.config.timeouts;
        if matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            return None;
        }
        let Some(front) = self.inflight.front() else {
            // Content asked for and not yet given counts as a data block.
            return match &self.current {
                Some(c) if matches!(c.tx.content, ContentPhase::Data(_) | ContentPhase::Bdat) => {
                    Some(t.data_block)
                }
                _ => None,
            };
        };
        Some(match front {
            Expect::Greeting => t.greeting,
            Expect::Mail => t.mail,
            Expect::Rcpt(_) => t.rcpt,
            Expect::Data => t.data_init,
            Expect::Bdat => t.data_block,
            Expect::DataEnd | Expect::Discard | Expect::LmtpEnd(_) | Expect::BdatLast => {
                t.data_termination
            }
            Expect::Reverse(Verb::Atrn) => t.command.max(crate::ext::atrn::REPLY_TIMEOUT),
            _ => t.command,
        })
    }
}
