//! The client side: one SMTP or LMTP session as a pure state machine, for a
//! mail client or an MTA's outbound queue, delivering any number of
//! messages over one connection.
//!
//! # Driving a session
//!
//! The application owns the connection. It queues messages with
//! [`Client::submit`] (or streams them with [`Client::submit_streaming`]),
//! feeds the bytes it reads to [`Client::receive`], takes [`Event`]s from
//! [`Client::poll_event`], writes out what [`Client::poll_transmit`]
//! returns, and feeds the clock to [`Client::handle_timeout`]. Drain in this
//! order — receive → events → transmit → timeout — as the server does
//! ([`crate::server`]).
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
//!     // The server side (a real driver has a socket here).
//!     while let Some(e) = server.poll_event() {
//!         match e {
//!             server::Event::Content(c) => stored.extend_from_slice(&c),
//!             e if e.needs_decision() => server.accept().unwrap(),
//!             _ => {}
//!         }
//!     }
//!     while let Some(bytes) = server.poll_transmit() {
//!         client.receive(&bytes); // what the client reads
//!     }
//!     // The client side: events, then transmit, then the timer.
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Message(outcome) = event {
//!             assert_eq!(outcome.id, id);
//!             delivered = outcome.all_delivered();
//!         }
//!     }
//!     while let Some(bytes) = client.poll_transmit() {
//!         server.receive(&bytes); // what the client writes
//!     }
//!     let _deadline = client.poll_timeout(Instant::now()); // sleep no longer than this
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
//! it, the caller's DSN, DELIVERBY, MT-PRIORITY, FUTURERELEASE and RRVS
//! parameters only when offered (else [`ParamPolicy`]), REQUIRETLS only on
//! TLS, recipients split per LIMITS RCPTMAX, transactions capped by
//! MAILMAX. A message that cannot be sent as asked fails with a
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

mod auth;
mod config;
mod event;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

pub use config::{AuthConfig, ClientConfig, ClientCredentials, ParamPolicy, Timeouts, TlsPolicy};
pub use event::{
    ApiError, AuthError, CloseReason, Event, MessageError, MessageId, MessageOutcome,
    RecipientOutcome,
};

use crate::command::{Command, Etrn, Utf8Reply, Verb};
use crate::data::{classify, ContentKind, DotEncoder};
use crate::ehlo::{Capabilities, Keyword};
use crate::error::DecodeError;
use crate::ext::body::Body;
use crate::params::{MailParams, RcptParams};
use crate::reply::{Reply, ReplyContext, ReplyParseOptions};
use crate::values::{Domain, ForwardPath, ReversePath};

/// The envelope of one message (RFC 5321 §2.3.1): the reverse path, the
/// recipients and the MAIL parameters the caller wants. The session adds
/// `SIZE`, `BODY` and `SMTPUTF8` itself.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The reverse path (`<>` for notifications).
    pub from: ReversePath<'static>,
    /// The recipients, in order.
    pub recipients: Vec<Recipient>,
    /// MAIL parameters (DSN `RET`/`ENVID`, `BY`, `MT-PRIORITY`, `HOLDFOR`,
    /// `REQUIRETLS`, …).
    pub params: MailParams<'static>,
}

/// One recipient and its RCPT parameters.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The forward path.
    pub to: ForwardPath<'static>,
    /// RCPT parameters (DSN `NOTIFY`/`ORCPT`, `RRVS`, …).
    pub params: RcptParams<'static>,
}

impl Envelope {
    /// An envelope from `from` with no recipients yet.
    pub fn new(from: impl Into<ReversePath<'static>>) -> Self {
        Self {
            from: from.into(),
            recipients: Vec::new(),
            params: MailParams::default(),
        }
    }

    /// Adds a recipient without parameters.
    pub fn to(mut self, to: impl Into<ForwardPath<'static>>) -> Self {
        self.recipients.push(Recipient {
            to: to.into(),
            params: RcptParams::default(),
        });
        self
    }

    /// Adds a recipient with parameters.
    pub fn to_with(
        mut self,
        to: impl Into<ForwardPath<'static>>,
        params: RcptParams<'static>,
    ) -> Self {
        self.recipients.push(Recipient {
            to: to.into(),
            params,
        });
        self
    }

    /// Sets the MAIL parameters.
    pub fn with_params(mut self, params: MailParams<'static>) -> Self {
        self.params = params;
        self
    }
}

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
    caps: Option<Capabilities<'static>>,
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

#[derive(Debug, Default)]
struct Timer {
    deadline: Option<Instant>,
    rearm: bool,
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

/// What a reply owed by the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    Lhlo,
    /// EHLO after AUTH: a refusal keeps the old capabilities.
    ReEhlo,
    StartTls,
    Auth,
    Rset,
    Mail,
    Rcpt(usize),
    Data,
    /// The reply after the final dot (SMTP).
    DataEnd,
    /// The reply after a lone dot sent because no recipient was accepted.
    Discard,
    /// One LMTP reply after the content, for this recipient.
    LmtpEnd(usize),
    Bdat,
    BdatLast,
    Simple(Verb),
    Reverse(Verb),
    Quit,
}

impl Expect {
    /// Commands that may be followed by more commands before their reply
    /// (RFC 2920 §3.1: everything else ends a group).
    fn pipelinable(self) -> bool {
        matches!(
            self,
            Expect::Rset | Expect::Mail | Expect::Rcpt(_) | Expect::Bdat
        )
    }
}

#[derive(Debug)]
enum Job {
    Message(Box<Message>),
    Command(Box<Command<'static>>),
    Quit,
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

#[derive(Debug)]
enum Source {
    Whole(Bytes),
    Stream {
        chunks: VecDeque<Bytes>,
        finished: bool,
        /// Content was sent once: it cannot be sent again.
        consumed: bool,
    },
}

impl Source {
    fn replayable(&self) -> bool {
        match self {
            Source::Whole(_) => true,
            Source::Stream { consumed, .. } => !consumed,
        }
    }
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
    strip_dsn: bool,
    strip_rrvs: bool,
    bdat: bool,
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
}

#[derive(Debug)]
enum ContentPhase {
    NotStarted,
    /// DATA sent, 354 awaited.
    DataSent,
    Data(DotEncoder),
    Bdat,
    /// Everything sent; the final reply(ies) awaited.
    Sent,
}

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
            rx: BytesMut::new(),
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
            timer: Timer {
                deadline: None,
                rearm: true,
            },
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

    /// The capabilities of the last EHLO or LHLO reply (`None` before it,
    /// after HELO, and while STARTTLS resets them).
    pub fn capabilities(&self) -> Option<&Capabilities<'static>> {
        self.caps.as_ref()
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

    fn accepting(&self) -> Result<(), ApiError> {
        if self.quit_queued || matches!(self.phase, Phase::Quitting(_) | Phase::Closed) {
            Err(ApiError::Closing)
        } else {
            Ok(())
        }
    }

    fn new_id(&mut self) -> MessageId {
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// Queues a message whose content is all here. The content is sent as
    /// given, except that every line end becomes CRLF (RFC 5321 §2.3.8;
    /// not for BINARYMIME) and dots are stuffed for DATA.
    pub fn submit(
        &mut self,
        envelope: Envelope,
        content: impl Into<Bytes>,
    ) -> Result<MessageId, ApiError> {
        self.accepting()?;
        check_envelope(&envelope)?;
        let content = content.into();
        let kind = classify(&content);
        let size = crlf_len(&content);
        let id = self.new_id();
        self.queue_message(id, envelope, Source::Whole(content), kind, Some(size));
        Ok(id)
    }

    /// Queues a message whose content will be pushed in chunks with
    /// [`push_content`](Self::push_content) and ended with
    /// [`finish_content`](Self::finish_content). The caller declares what
    /// the content needs (`kind`, for `BODY=`) and its size if known (for
    /// `SIZE=`, RFC 1870), since MAIL goes out before the content.
    /// [`Event::ContentWanted`] says when pushing is useful; chunks pushed
    /// before are held.
    ///
    /// Streamed content can be sent once only: recipients that need a
    /// second transaction fail with [`MessageError::TooManyRecipients`].
    pub fn submit_streaming(
        &mut self,
        envelope: Envelope,
        kind: ContentKind,
        size: Option<u64>,
    ) -> Result<MessageId, ApiError> {
        self.accepting()?;
        check_envelope(&envelope)?;
        let id = self.new_id();
        let source = Source::Stream {
            chunks: VecDeque::new(),
            finished: false,
            consumed: false,
        };
        self.queue_message(id, envelope, source, kind, size);
        Ok(id)
    }

    fn queue_message(
        &mut self,
        id: MessageId,
        envelope: Envelope,
        source: Source,
        kind: ContentKind,
        size: Option<u64>,
    ) {
        let n = envelope.recipients.len();
        let msg = Message {
            id,
            source,
            kind,
            size,
            outcome: MessageOutcome {
                id,
                mail: Vec::new(),
                recipients: vec![RecipientOutcome::default(); n],
                error: None,
            },
            remaining: (0..n).collect(),
            envelope,
        };
        self.jobs.push_back(Job::Message(Box::new(msg)));
        self.pump();
    }

    fn stream_of(&mut self, id: MessageId) -> Option<&mut Source> {
        if let Some(cur) = self.current.as_mut().filter(|c| c.msg.id == id) {
            return Some(&mut cur.msg.source);
        }
        self.jobs.iter_mut().find_map(|j| match j {
            Job::Message(m) if m.id == id => Some(&mut m.source),
            _ => None,
        })
    }

    /// Appends content to a streamed message.
    pub fn push_content(&mut self, id: MessageId, chunk: impl Into<Bytes>) -> Result<(), ApiError> {
        match self.stream_of(id) {
            Some(Source::Stream {
                chunks,
                finished: false,
                ..
            }) => {
                let chunk = chunk.into();
                if !chunk.is_empty() {
                    chunks.push_back(chunk);
                }
                self.timer.rearm = true;
                Ok(())
            }
            _ => Err(ApiError::UnknownMessage),
        }
    }

    /// Ends a streamed message's content.
    pub fn finish_content(&mut self, id: MessageId) -> Result<(), ApiError> {
        match self.stream_of(id) {
            Some(Source::Stream {
                finished: finished @ false,
                ..
            }) => {
                *finished = true;
                self.timer.rearm = true;
                Ok(())
            }
            _ => Err(ApiError::UnknownMessage),
        }
    }

    fn request(&mut self, cmd: Command<'static>) -> Result<(), ApiError> {
        self.accepting()?;
        if cmd.check().is_err() {
            return Err(ApiError::InvalidArgument(
                "the command cannot be written as one line",
            ));
        }
        self.jobs.push_back(Job::Command(Box::new(cmd)));
        self.pump();
        Ok(())
    }

    /// Queues NOOP (RFC 5321 §4.1.1.9); the reply comes as
    /// [`Event::CommandReply`].
    pub fn noop(&mut self) -> Result<(), ApiError> {
        self.request(Command::Noop(None))
    }

    /// Queues VRFY (RFC 5321 §4.1.1.6).
    pub fn vrfy(&mut self, target: &str) -> Result<(), ApiError> {
        let target = checked_text(target)?;
        let utf8 = if target.is_ascii() {
            Utf8Reply::No
        } else {
            Utf8Reply::SmtpUtf8
        };
        self.request(Command::Vrfy {
            target: target.to_owned().into(),
            utf8,
        })
    }

    /// Queues EXPN (RFC 5321 §4.1.1.7).
    pub fn expn(&mut self, target: &str) -> Result<(), ApiError> {
        let target = checked_text(target)?;
        self.request(Command::Expn {
            target: target.to_owned().into(),
            utf8: Utf8Reply::No,
        })
    }

    /// Queues HELP (RFC 5321 §4.1.1.8).
    pub fn help(&mut self, topic: Option<&str>) -> Result<(), ApiError> {
        let topic = topic.map(checked_text).transpose()?;
        self.request(Command::Help(topic.map(|t| t.to_owned().into())))
    }

    /// Queues ETRN (RFC 1985).
    pub fn etrn(&mut self, target: Etrn<'static>) -> Result<(), ApiError> {
        if let Etrn::Queue(q) = &target {
            checked_text(q)?;
        }
        self.request(Command::Etrn(target))
    }

    /// Queues ATRN (RFC 2645): after `250` the roles reverse
    /// ([`Event::Reversed`]).
    pub fn atrn(&mut self, domains: Vec<Domain<'static>>) -> Result<(), ApiError> {
        self.request(Command::Atrn(domains))
    }

    /// Queues TURN (RFC 821 §3.8): after `250` the roles reverse.
    pub fn turn(&mut self) -> Result<(), ApiError> {
        self.request(Command::Turn)
    }

    /// Queues QUIT after everything already queued; nothing can be queued
    /// after it.
    pub fn quit(&mut self) {
        if self.accepting().is_ok() {
            self.quit_queued = true;
            self.jobs.push_back(Job::Quit);
            self.pump();
        }
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
            self.timer.rearm = true;
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
        self.events.pop_front()
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
            self.timer.rearm = true;
        }
        b
    }

    /// When [`Client::handle_timeout`] should next be called; `now` starts
    /// a new wait after activity. `None` while no reply is awaited.
    #[must_use]
    pub fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        let Some(timeout) = self.current_timeout() else {
            self.timer.deadline = None;
            self.timer.rearm = true;
            return None;
        };
        if self.timer.rearm || self.timer.deadline.is_none() {
            self.timer.deadline = now.checked_add(timeout);
            self.timer.rearm = false;
        }
        self.timer.deadline
    }

    /// Tells the session the time; past the deadline every message still
    /// pending fails with [`MessageError::Timeout`] and the session closes
    /// (RFC 5321 §4.5.3.2).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.timer.deadline {
            if now >= deadline && self.current_timeout().is_some() {
                self.fail_all(MessageError::Timeout);
                self.close(CloseReason::Timeout);
            }
        }
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
            _ => t.command,
        })
    }

    // ---- output ----

    fn write(&mut self, cmd: &Command<'_>, expect: Expect) {
        // Commands are built from validated values, and caller text is
        // checked when queued (`request`).
        cmd.write_checked(&mut self.staging);
        self.inflight.push_back(expect);
    }

    fn flush(&mut self) {
        if !self.staging.is_empty() {
            self.out
                .push_back(Bytes::from(std::mem::take(&mut self.staging)));
        }
    }

    fn push_bytes(&mut self, b: Bytes) {
        self.flush();
        if !b.is_empty() {
            self.out.push_back(b);
        }
    }

    fn reply_options(&self) -> ReplyParseOptions {
        let context = match self.inflight.front() {
            Some(Expect::Greeting) => ReplyContext::Greeting,
            Some(Expect::Ehlo | Expect::Helo | Expect::Lhlo | Expect::ReEhlo) => {
                ReplyContext::Hello
            }
            _ => ReplyContext::Command,
        };
        let enhanced = self
            .caps
            .as_ref()
            .is_some_and(|c| c.supports(Keyword::EnhancedStatusCodes));
        ReplyParseOptions::new()
            .with_strictness(self.config.strictness)
            .with_context(context)
            .with_enhanced(enhanced)
    }

    // ---- input ----

    fn process(&mut self) {
        while !matches!(self.phase, Phase::Closed | Phase::TlsHandshake) {
            let opts = self.reply_options();
            let (reply, used) = match Reply::parse(&self.rx, &opts) {
                Ok((reply, used)) => (reply.into_owned(), used),
                Err(DecodeError::Incomplete) => return,
                Err(_) => return self.desync(),
            };
            let _ = self.rx.split_to(used.min(self.rx.len()));
            let Some(expect) = self.inflight.pop_front() else {
                // An unsolicited reply: only 421 is expected (RFC 5321 §3.8).
                if reply.code().get() == 421 {
                    self.ended_by(reply);
                } else {
                    self.desync();
                }
                return;
            };
            self.on_reply(expect, reply);
        }
    }

    fn desync(&mut self) {
        self.fail_all(MessageError::SessionEnded(None));
        self.close(CloseReason::Desynchronised);
    }

    /// 421 (RFC 5321 §3.8): the server is going away; everything pending
    /// fails with its reply.
    fn ended_by(&mut self, reply: Reply<'static>) {
        if let Phase::Quitting(reason) = self.phase {
            return self.close(reason);
        }
        self.fail_all(MessageError::SessionEnded(Some(reply)));
        self.close(CloseReason::ServiceClosing);
    }

    fn on_reply(&mut self, expect: Expect, reply: Reply<'static>) {
        let code = reply.code().get();
        if event::is_closing(&reply) && expect != Expect::Quit {
            // Keep what the 421 answers in the outcome, then end.
            self.record(expect, &reply);
            return self.ended_by(reply);
        }
        match expect {
            Expect::Greeting => {
                self.events.push_back(Event::Greeting(reply.clone()));
                if code == 220 {
                    self.send_hello();
                } else {
                    // 554 and the like: QUIT and go (RFC 5321 §3.1).
                    self.fail_all(MessageError::SessionEnded(Some(reply)));
                    self.send_quit(CloseReason::Refused);
                }
            }
            Expect::Ehlo | Expect::Lhlo | Expect::ReEhlo if code == 250 => {
                let caps = Capabilities::from_reply(&reply)
                    .map(Capabilities::into_owned)
                    .or_else(|_| Capabilities::new("unknown"));
                if let Ok(caps) = caps {
                    self.events.push_back(Event::Capabilities(caps.clone()));
                    self.caps = Some(caps);
                }
                if expect == Expect::ReEhlo {
                    self.phase = Phase::Ready;
                } else {
                    self.after_hello();
                }
            }
            Expect::ReEhlo => {
                // A 503 to EHLO after AUTH: keep what is known.
                self.phase = Phase::Ready;
            }
            Expect::Ehlo if matches!(code, 500 | 501 | 502 | 554) => {
                // RFC 5321 §3.2, RFC 1869 §4.5: an old server.
                let host = self.config.hostname.clone();
                self.write(&Command::Helo(host), Expect::Helo);
            }
            Expect::Helo if code == 250 => {
                self.caps = None;
                self.after_hello();
            }
            Expect::Ehlo | Expect::Helo | Expect::Lhlo => {
                self.fail_all(MessageError::SessionEnded(Some(reply)));
                self.send_quit(CloseReason::Refused);
            }
            Expect::StartTls => {
                if code == 220 {
                    // RFC 3207 §4.2: nothing the server sent after its 220
                    // may be trusted.
                    self.rx.clear();
                    self.phase = Phase::TlsHandshake;
                    self.events.push_back(Event::StartTls);
                } else if self.config.tls == TlsPolicy::Required {
                    self.fail_all(MessageError::TlsRequired);
                    self.send_quit(CloseReason::Quit);
                } else {
                    self.start_auth();
                }
            }
            Expect::Auth => self.auth_reply(reply),
            Expect::Rset => {}
            Expect::Quit => self.close(match self.phase {
                Phase::Quitting(r) => r,
                _ => CloseReason::Quit,
            }),
            Expect::Simple(verb) => self.events.push_back(Event::CommandReply { verb, reply }),
            Expect::Reverse(verb) => {
                if code == 250 {
                    let leftover = self.rx.split().freeze();
                    self.events.push_back(Event::Reversed { leftover });
                    self.fail_all(MessageError::SessionEnded(None));
                    self.close(CloseReason::Reversed);
                } else {
                    self.events.push_back(Event::CommandReply { verb, reply });
                }
            }
            Expect::Mail
            | Expect::Rcpt(_)
            | Expect::Data
            | Expect::DataEnd
            | Expect::Discard
            | Expect::LmtpEnd(_)
            | Expect::Bdat
            | Expect::BdatLast => self.tx_reply(expect, reply),
        }
    }

    /// Stores a transaction reply in the outcome.
    fn record(&mut self, expect: Expect, reply: &Reply<'static>) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let out = &mut cur.msg.outcome;
        match expect {
            Expect::Mail => out.mail.push(reply.clone()),
            Expect::Rcpt(i) => {
                if let Some(r) = out.recipients.get_mut(i) {
                    r.rcpt = Some(reply.clone());
                }
            }
            Expect::LmtpEnd(i) => {
                if let Some(r) = out.recipients.get_mut(i) {
                    r.content = Some(reply.clone());
                }
            }
            Expect::Data | Expect::DataEnd | Expect::Bdat | Expect::BdatLast => {
                for &i in &cur.tx.accepted {
                    if let Some(r) = out.recipients.get_mut(i) {
                        if r.content.as_ref().map_or(true, |c| c.code().is_positive()) {
                            r.content = Some(reply.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn tx_reply(&mut self, expect: Expect, reply: Reply<'static>) {
        let positive = reply.code().is_positive();
        let code = reply.code().get();
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        match expect {
            Expect::Mail => {
                cur.tx.mail_ok = Some(positive);
                if positive {
                    self.needs_rset = true;
                }
                self.record(expect, &reply);
                if !positive && !self.pipelining() {
                    self.finish_tx();
                }
            }
            Expect::Rcpt(i) => {
                cur.tx.rcpt_replies += 1;
                if positive {
                    cur.tx.accepted.push(i);
                } else if code == 452 {
                    cur.tx.retry.push(i);
                }
                self.record(expect, &reply);
            }
            Expect::Data => {
                if code == 354 {
                    if cur.tx.accepted.is_empty() {
                        // Every recipient failed but the server wants the
                        // content: end it at once (RFC 2920 §3.1).
                        cur.tx.content = ContentPhase::Sent;
                        self.staging.extend_from_slice(b".\r\n");
                        self.inflight.push_back(Expect::Discard);
                    } else {
                        cur.tx.content = ContentPhase::Data(DotEncoder::new());
                        if let Source::Stream { consumed, .. } = &mut cur.msg.source {
                            *consumed = true;
                            let id = cur.msg.id;
                            self.events.push_back(Event::ContentWanted(id));
                        }
                    }
                } else {
                    self.record(expect, &reply);
                    self.finish_tx();
                }
            }
            Expect::DataEnd | Expect::BdatLast => {
                self.record(expect, &reply);
                // The final dot always ends the transaction (RFC 5321
                // §4.1.1.4); a refused BDAT leaves it indeterminate until
                // RSET (RFC 3030 §2).
                self.needs_rset = expect == Expect::BdatLast && !positive;
                self.finish_tx();
            }
            Expect::Discard => {
                self.needs_rset = false;
                self.finish_tx();
            }
            Expect::LmtpEnd(_) => {
                self.record(expect, &reply);
                if !self
                    .inflight
                    .iter()
                    .any(|e| matches!(e, Expect::LmtpEnd(_)))
                {
                    self.needs_rset = false;
                    self.finish_tx();
                }
            }
            Expect::Bdat => {
                if !positive {
                    cur.tx.bdat_failed = true;
                    self.record(expect, &reply);
                }
                self.maybe_finish_failed_bdat();
            }
            _ => {}
        }
    }

    /// After a refused BDAT chunk, the transaction ends once no more chunk
    /// replies are owed (RFC 3030 §2: RSET is then needed).
    fn maybe_finish_failed_bdat(&mut self) {
        let failed = self.current.as_ref().is_some_and(|c| c.tx.bdat_failed);
        let owed = self
            .inflight
            .iter()
            .any(|e| matches!(e, Expect::Bdat | Expect::BdatLast | Expect::LmtpEnd(_)));
        if failed && !owed {
            self.needs_rset = true;
            self.finish_tx();
        }
    }

    fn pipelining(&self) -> bool {
        self.config.pipelining
            && (self.config.lmtp
                || self
                    .caps
                    .as_ref()
                    .is_some_and(|c| c.supports(Keyword::Pipelining)))
    }

    /// May another transaction command go out now?
    fn can_send(&self) -> bool {
        self.inflight.is_empty()
            || (self.pipelining() && self.inflight.iter().all(|e| e.pipelinable()))
    }

    // ---- session set-up ----

    fn send_hello(&mut self) {
        self.phase = Phase::Hello;
        let host = self.config.hostname.clone();
        if self.config.lmtp {
            self.write(&Command::Lhlo(host), Expect::Lhlo);
        } else {
            self.write(&Command::Ehlo(host), Expect::Ehlo);
        }
    }

    fn offers(&self, k: Keyword) -> bool {
        self.caps.as_ref().is_some_and(|c| c.supports(k))
    }

    fn after_hello(&mut self) {
        if !self.tls && self.config.tls != TlsPolicy::None {
            if self.offers(Keyword::StartTls) {
                self.phase = Phase::StartTls;
                self.write(&Command::StartTls, Expect::StartTls);
                return;
            }
            if self.config.tls == TlsPolicy::Required {
                self.fail_all(MessageError::TlsRequired);
                return self.send_quit(CloseReason::Quit);
            }
        }
        self.start_auth();
    }

    fn start_auth(&mut self) {
        let Some(auth) = self.config.auth.clone().filter(|_| !self.authenticated) else {
            self.phase = Phase::Ready;
            return;
        };
        if !auth.credentials.is_encodable() {
            return self.refuse_auth(AuthError::UnencodableCredentials);
        }
        if !self.tls && !self.config.allow_plaintext_auth {
            // Whatever the mechanism: even CRAM-MD5's digest can be
            // cracked offline by whoever reads it.
            return self.refuse_auth(AuthError::PlaintextRefused);
        }
        let offered = self
            .caps
            .as_ref()
            .map(|c| c.auth_mechanisms())
            .unwrap_or_default();
        let Some(mech) = auth::choose(&auth.credentials, auth.mechanism.as_ref(), offered) else {
            self.events.push_back(Event::AuthFailed {
                mechanism: None,
                error: AuthError::NoMechanism,
                reply: None,
            });
            self.fail_all(MessageError::Auth(AuthError::NoMechanism));
            return self.send_quit(CloseReason::Quit);
        };
        let mut x = auth::Exchange::new(mech.clone());
        let initial = x.initial(&auth.credentials, MAX_AUTH_LINE);
        self.write(
            &Command::Auth {
                mechanism: mech,
                initial,
            },
            Expect::Auth,
        );
        self.phase = Phase::Auth(x);
    }

    /// AUTH is not attempted: every message fails, the session quits.
    fn refuse_auth(&mut self, error: AuthError) {
        self.events.push_back(Event::AuthFailed {
            mechanism: None,
            error,
            reply: None,
        });
        self.fail_all(MessageError::Auth(error));
        self.send_quit(CloseReason::Quit);
    }

    fn auth_reply(&mut self, reply: Reply<'static>) {
        let Phase::Auth(x) = &mut self.phase else {
            return self.desync();
        };
        let Some(creds) = self.config.auth.as_ref().map(|a| &a.credentials) else {
            return self.desync();
        };
        let code = reply.code().get();
        if code == 334 {
            let text = reply.lines().next().unwrap_or_default().to_vec();
            let challenge = auth::decode_challenge(&text);
            let response = x.respond(creds, challenge.as_deref());
            // `respond` base64-encodes: always a valid response.
            response.write_checked(&mut self.staging, false);
            self.staging.extend_from_slice(b"\r\n");
            self.inflight.push_back(Expect::Auth);
            return;
        }
        let mechanism = x.mechanism.clone();
        if code == 235 {
            self.authenticated = true;
            self.events.push_back(Event::Authenticated { mechanism });
            if self.config.ehlo_after_auth && !self.config.lmtp {
                self.phase = Phase::Hello;
                let host = self.config.hostname.clone();
                self.write(&Command::Ehlo(host), Expect::ReEhlo);
            } else {
                self.phase = Phase::Ready;
            }
        } else {
            let error = AuthError::from_code(code);
            self.events.push_back(Event::AuthFailed {
                mechanism: Some(mechanism),
                error,
                reply: Some(reply),
            });
            self.fail_all(MessageError::Auth(error));
            self.send_quit(CloseReason::Quit);
        }
    }

    fn send_quit(&mut self, reason: CloseReason) {
        self.jobs.clear();
        self.quit_queued = true;
        self.write(&Command::Quit, Expect::Quit);
        self.phase = Phase::Quitting(reason);
    }

    fn close(&mut self, reason: CloseReason) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.inflight.clear();
        self.quit_queued = true;
        self.timer.deadline = None;
        if reason != CloseReason::Quit && reason != CloseReason::Refused {
            // Nothing more may be written on a dead or reversed stream.
            self.staging.clear();
            self.out.clear();
        }
        self.events.push_back(Event::Closed { reason });
    }

    /// Every message not yet reported fails with `error`.
    fn fail_all(&mut self, error: MessageError) {
        if let Some(mut cur) = self.current.take() {
            cur.msg.outcome.error = Some(error.clone());
            self.events.push_back(Event::Message(cur.msg.outcome));
        }
        for job in std::mem::take(&mut self.jobs) {
            if let Job::Message(mut m) = job {
                m.outcome.error = Some(error.clone());
                self.events.push_back(Event::Message(m.outcome));
            }
        }
    }

    // ---- jobs and transactions ----

    /// Starts whatever can start now.
    fn pump(&mut self) {
        loop {
            if !matches!(self.phase, Phase::Ready) {
                return;
            }
            if self.current.is_some() {
                self.tx_pump();
                return;
            }
            if !self.inflight.is_empty() {
                return;
            }
            let Some(job) = self.jobs.pop_front() else {
                return;
            };
            match job {
                Job::Quit => return self.send_quit(CloseReason::Quit),
                Job::Command(cmd) => {
                    let expect = match *cmd {
                        Command::Atrn(_) | Command::Turn => Expect::Reverse(cmd.verb()),
                        _ => Expect::Simple(cmd.verb()),
                    };
                    self.write(&cmd, expect);
                    return;
                }
                Job::Message(msg) => self.start_message(msg),
            }
        }
    }

    fn start_message(&mut self, mut msg: Box<Message>) {
        if let Some(max) = self
            .caps
            .as_ref()
            .and_then(|c| c.limits())
            .and_then(|l| l.mail_max())
        {
            if self.transactions >= max {
                msg.outcome.error = Some(MessageError::SessionLimit);
                self.events.push_back(Event::Message(msg.outcome));
                return;
            }
        }
        match self.negotiate(&msg) {
            Err(e) => {
                msg.outcome.error = Some(e);
                self.events.push_back(Event::Message(msg.outcome));
            }
            Ok(tx) => self.begin_tx(msg, tx),
        }
    }

    fn begin_tx(&mut self, mut msg: Box<Message>, mut tx: Tx) {
        let max = self
            .caps
            .as_ref()
            .and_then(|c| c.limits())
            .and_then(|l| l.rcpt_max())
            .map_or(usize::MAX, |n| (n as usize).max(1));
        let n = msg.remaining.len().min(max);
        tx.rcpts = msg.remaining.drain(..n).collect();
        self.transactions = self.transactions.saturating_add(1);
        self.current = Some(Current { msg, tx });
        self.tx_pump();
    }

    /// Decides the MAIL parameters from what is offered and allowed; an
    /// error fails the message before anything is sent.
    fn negotiate(&self, msg: &Message) -> Result<Tx, MessageError> {
        let empty;
        let caps = match &self.caps {
            Some(c) => c,
            None => {
                empty = Capabilities::new("none").map_err(|_| MessageError::SessionEnded(None))?;
                &empty
            }
        };
        let has = |k| caps.supports(k);
        let strip = self.config.unsupported_params == ParamPolicy::Strip;
        let env = &msg.envelope;
        let mut p = env.params.clone();

        if self.config.tls == TlsPolicy::Required && !self.tls {
            return Err(MessageError::TlsRequired);
        }
        // RFC 1870 §6: do not send what the server said it will refuse.
        if let (Some(size), Some(limit)) = (msg.size, caps.max_size()) {
            if size > limit {
                return Err(MessageError::TooLarge { size, limit });
            }
        }
        p.size = if has(Keyword::Size) {
            msg.size.or(p.size)
        } else {
            None
        };
        let chunking = self.config.chunking && has(Keyword::Chunking);
        let mut bdat = chunking;
        let kind = match p.body {
            Some(Body::BinaryMime) => ContentKind::Binary,
            Some(Body::EightBitMime) => msg.kind.max(ContentKind::EightBit),
            _ => msg.kind,
        };
        p.body = match kind {
            ContentKind::Binary => {
                if !(chunking && has(Keyword::BinaryMime)) {
                    return Err(MessageError::BinaryUnsupported);
                }
                bdat = true;
                Some(Body::BinaryMime)
            }
            ContentKind::EightBit if has(Keyword::EightBitMime) => Some(Body::EightBitMime),
            ContentKind::EightBit if self.config.allow_8bit_without_8bitmime => None,
            ContentKind::EightBit => return Err(MessageError::EightBitUnsupported),
            ContentKind::SevenBit => p.body.filter(|_| has(Keyword::EightBitMime)),
        };
        // RFC 6531 §3.4: SMTPUTF8 when an address needs it.
        let utf8 =
            p.smtputf8 || !env.from.is_ascii() || env.recipients.iter().any(|r| !r.to.is_ascii());
        if utf8 && !has(Keyword::SmtpUtf8) {
            return Err(MessageError::SmtpUtf8Unsupported);
        }
        p.smtputf8 = utf8;
        // RFC 8689 §4.1: never strip REQUIRETLS, never send it in clear.
        if p.requiretls && !(self.tls && has(Keyword::RequireTls)) {
            return Err(MessageError::RequireTls);
        }
        let check = |present: bool, k: Keyword| -> Result<bool, MessageError> {
            if !present || has(k) {
                Ok(false)
            } else if strip {
                Ok(true)
            } else {
                Err(MessageError::ExtensionUnsupported(k))
            }
        };
        let rcpt_dsn = env
            .recipients
            .iter()
            .any(|r| r.params.notify.is_some() || r.params.orcpt.is_some());
        let strip_dsn = check(
            p.ret.is_some() || p.envid.is_some() || rcpt_dsn,
            Keyword::Dsn,
        )?;
        if strip_dsn {
            p.ret = None;
            p.envid = None;
        }
        if check(p.by.is_some(), Keyword::DeliverBy)? {
            p.by = None;
        }
        if check(p.mt_priority.is_some(), Keyword::MtPriority)? {
            p.mt_priority = None;
        }
        if check(p.hold.is_some(), Keyword::FutureRelease)? {
            p.hold = None;
        }
        let rrvs = env.recipients.iter().any(|r| r.params.rrvs.is_some());
        let strip_rrvs = check(rrvs, Keyword::Rrvs)?;
        // RFC 4954 §5: AUTH= only to a server that offers AUTH.
        if !has(Keyword::Auth) {
            p.auth = None;
        }
        Ok(Tx {
            params: p,
            strip_dsn,
            strip_rrvs,
            bdat,
            rcpts: Vec::new(),
            sent_rcpts: 0,
            mail_sent: false,
            mail_ok: None,
            rcpt_replies: 0,
            accepted: Vec::new(),
            retry: Vec::new(),
            content: ContentPhase::NotStarted,
            offset: 0,
            bdat_failed: false,
            line_ends: LineEnds::default(),
            bdat_carry: None,
        })
    }

    /// Sends the transaction's next commands, as far as pipelining allows.
    fn tx_pump(&mut self) {
        let pipelining = self.pipelining();
        let lmtp = self.config.lmtp;
        loop {
            if !self.can_send() {
                return;
            }
            let needs_rset = self.needs_rset;
            let Some(cur) = self.current.as_mut() else {
                return;
            };
            let tx = &mut cur.tx;
            if !tx.mail_sent {
                if needs_rset {
                    self.needs_rset = false;
                    self.write(&Command::Rset, Expect::Rset);
                    continue;
                }
                tx.mail_sent = true;
                let cmd = Command::Mail {
                    from: cur.msg.envelope.from.clone(),
                    params: tx.params.clone(),
                };
                self.write(&cmd, Expect::Mail);
                continue;
            }
            if tx.mail_ok == Some(false) && !pipelining {
                return;
            }
            if tx.sent_rcpts < tx.rcpts.len() {
                let i = tx.rcpts[tx.sent_rcpts];
                tx.sent_rcpts += 1;
                let Some(r) = cur.msg.envelope.recipients.get(i) else {
                    continue;
                };
                let mut params = r.params.clone();
                if tx.strip_dsn {
                    params.notify = None;
                    params.orcpt = None;
                }
                if tx.strip_rrvs {
                    params.rrvs = None;
                }
                let cmd = Command::Rcpt {
                    to: r.to.clone(),
                    params,
                };
                self.write(&cmd, Expect::Rcpt(i));
                continue;
            }
            if !matches!(tx.content, ContentPhase::NotStarted) {
                return;
            }
            // Content: without pipelining (or with BDAT in LMTP, whose
            // final replies depend on the accepted count) wait for every
            // RCPT reply first.
            let all_in = self.inflight.is_empty();
            let must_wait = !pipelining || (tx.bdat && lmtp);
            if must_wait && !all_in {
                return;
            }
            if all_in && (tx.accepted.is_empty() || tx.mail_ok == Some(false)) {
                // Nothing to send the content to.
                return self.finish_tx();
            }
            if tx.bdat {
                tx.content = ContentPhase::Bdat;
                if let Source::Stream { consumed, .. } = &mut cur.msg.source {
                    *consumed = true;
                    let id = cur.msg.id;
                    self.events.push_back(Event::ContentWanted(id));
                }
            } else {
                tx.content = ContentPhase::DataSent;
                self.write(&Command::Data, Expect::Data);
            }
            return;
        }
    }

    /// Produces the next piece of content, if it may go out now.
    fn fill(&mut self) {
        let chunk = self.config.chunk_size.max(1);
        let lmtp = self.config.lmtp;
        let can_send = self.can_send();
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let tx = &mut cur.tx;
        match &mut tx.content {
            ContentPhase::Data(enc) => loop {
                // At most `chunk` octets of content per call, handed out
                // as slices of it wherever it is already canonical.
                let (piece, done) = match &mut cur.msg.source {
                    Source::Whole(b) => {
                        let end = tx.offset.saturating_add(chunk).min(b.len());
                        let piece = b.slice(tx.offset.min(end)..end);
                        tx.offset = end;
                        (piece, end >= b.len())
                    }
                    Source::Stream {
                        chunks, finished, ..
                    } => {
                        let piece = match chunks.pop_front() {
                            Some(mut c) => {
                                if c.len() > chunk {
                                    let rest = c.split_off(chunk);
                                    chunks.push_front(rest);
                                }
                                c
                            }
                            None => Bytes::new(),
                        };
                        (piece, *finished && chunks.is_empty())
                    }
                };
                if !self.staging.is_empty() {
                    self.out
                        .push_back(Bytes::from(std::mem::take(&mut self.staging)));
                }
                let before = self.out.len();
                let out = &mut self.out;
                let emit = |b: Bytes| {
                    if !b.is_empty() {
                        out.push_back(b);
                    }
                };
                if done {
                    enc.finish_shared(&piece, emit);
                    tx.content = ContentPhase::Sent;
                    let ends: Vec<Expect> = if lmtp {
                        tx.accepted.iter().map(|&i| Expect::LmtpEnd(i)).collect()
                    } else {
                        vec![Expect::DataEnd]
                    };
                    self.inflight.extend(ends);
                    break;
                }
                enc.encode_shared(&piece, emit);
                // A piece that was only the LF of a split CRLF encodes to
                // nothing: take the next one, unless none has come yet, so
                // that `poll_transmit` does not return `None` mid-message.
                if self.out.len() > before || piece.is_empty() {
                    break;
                }
            },
            ContentPhase::Bdat if can_send && !tx.bdat_failed => {
                // Text content must reach the server in canonical form
                // (RFC 5321 §2.3.8, RFC 3030 §3: only BINARYMIME is sent as
                // is): bare CR and bare LF become CRLF, as for DATA, which
                // also keeps `SIZE=` (counted that way) true.
                let binary = tx.params.body == Some(Body::BinaryMime);
                let (mut piece, mut last) = loop {
                    if let Some(carried) = tx.bdat_carry.take() {
                        break carried;
                    }
                    let piece = match &mut cur.msg.source {
                        Source::Whole(b) => {
                            let end = tx.offset.saturating_add(chunk).min(b.len());
                            let piece = b.slice(tx.offset.min(end)..end);
                            tx.offset = end;
                            Some((piece, end >= b.len()))
                        }
                        Source::Stream {
                            chunks, finished, ..
                        } => match chunks.pop_front() {
                            Some(mut c) => {
                                if c.len() > chunk {
                                    let rest = c.split_off(chunk);
                                    chunks.push_front(rest);
                                }
                                Some((c, false))
                            }
                            None if *finished => Some((Bytes::new(), true)),
                            None => None,
                        },
                    };
                    let Some((piece, last)) = piece else {
                        return;
                    };
                    let piece = if binary {
                        piece
                    } else {
                        tx.line_ends.normalise(piece)
                    };
                    // A piece that was only the LF of a split CRLF: take
                    // the next one rather than send an empty chunk.
                    if !piece.is_empty() || last {
                        break (piece, last);
                    }
                };
                // `chunk_size` is the largest chunk exactly: what
                // normalisation added goes in the next one.
                if piece.len() > chunk {
                    let rest = piece.split_off(chunk);
                    tx.bdat_carry = Some((rest, last));
                    last = false;
                }
                let cmd = Command::Bdat {
                    size: piece.len() as u64,
                    last,
                };
                cmd.write_checked(&mut self.staging);
                if last {
                    tx.content = ContentPhase::Sent;
                    if lmtp {
                        let ends: Vec<Expect> =
                            tx.accepted.iter().map(|&i| Expect::LmtpEnd(i)).collect();
                        self.inflight.extend(ends);
                    } else {
                        self.inflight.push_back(Expect::BdatLast);
                    }
                } else {
                    self.inflight.push_back(Expect::Bdat);
                }
                self.push_bytes(piece);
            }
            _ => {}
        }
    }

    /// The transaction is over: another one for the same message if
    /// recipients remain, else the outcome.
    fn finish_tx(&mut self) {
        let Some(mut cur) = self.current.take() else {
            return;
        };
        if cur.tx.mail_ok == Some(true) && !matches!(cur.tx.content, ContentPhase::Sent) {
            self.needs_rset = true;
        }
        // RFC 5321 §4.5.3.1.10: recipients refused as too many go in a
        // new transaction, as long as this one made progress.
        let progress = !cur.tx.accepted.is_empty();
        if progress {
            for &i in cur.tx.retry.iter().rev() {
                cur.msg.remaining.push_front(i);
            }
        }
        let more = !cur.msg.remaining.is_empty() && cur.tx.mail_ok == Some(true) && progress;
        if more && cur.msg.source.replayable() {
            let msg = cur.msg;
            self.start_message(msg);
        } else {
            if more {
                cur.msg.outcome.error = Some(MessageError::TooManyRecipients);
            }
            self.events.push_back(Event::Message(cur.msg.outcome));
        }
        self.pump();
    }
}

/// Turns every bare CR and bare LF into CRLF, streaming (a CRLF may be
/// split between two pieces). Content already canonical is passed on
/// without a copy.
#[derive(Debug, Default)]
struct LineEnds {
    /// The last piece ended with a CR, already written as CRLF: an LF
    /// first in the next piece belongs to it.
    after_cr: bool,
}

impl LineEnds {
    fn normalise(&mut self, piece: Bytes) -> Bytes {
        let skip_lf = self.after_cr && piece.first() == Some(&b'\n');
        let body = if skip_lf { piece.slice(1..) } else { piece };
        if body.is_empty() {
            // An empty piece changes nothing; an LF-only piece ends the pair.
            if skip_lf {
                self.after_cr = false;
            }
            return body;
        }
        self.after_cr = body.last() == Some(&b'\r');
        if crlf_len(&body) == body.len() as u64 && !self.after_cr {
            return body;
        }
        let mut out = Vec::with_capacity(body.len().saturating_add(body.len() / 16));
        let mut rest: &[u8] = &body;
        while let Some(at) = memchr::memchr2(b'\r', b'\n', rest) {
            let (text, tail) = rest.split_at(at);
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
            let crlf = tail.starts_with(b"\r\n");
            rest = tail.get(if crlf { 2 } else { 1 }..).unwrap_or_default();
        }
        out.extend_from_slice(rest);
        Bytes::from(out)
    }
}

/// The size of content once its line ends are CRLF (RFC 1870 §3 counts
/// the message as transmitted, without dot-stuffing).
fn crlf_len(content: &[u8]) -> u64 {
    let mut extra = 0u64;
    for i in memchr::memchr2_iter(b'\r', b'\n', content) {
        let bare = match content.get(i) {
            Some(b'\r') => content.get(i.saturating_add(1)) != Some(&b'\n'),
            _ => i == 0 || content.get(i - 1) != Some(&b'\r'),
        };
        if bare {
            extra += 1;
        }
    }
    (content.len() as u64).saturating_add(extra)
}

fn check_envelope(env: &Envelope) -> Result<(), ApiError> {
    if env.recipients.is_empty() {
        return Err(ApiError::InvalidArgument("a message needs a recipient"));
    }
    // A parameter that cannot be written is refused here rather than left
    // off the wire, so the caller knows what the server was (not) told
    // (RFC 5321 §4.1.2 esmtp-keyword / esmtp-value).
    let mut params = env
        .params
        .other
        .iter()
        .chain(env.recipients.iter().flat_map(|r| r.params.other.iter()));
    if params.any(|p| !p.is_valid()) {
        return Err(ApiError::InvalidArgument(
            "a parameter is not a valid esmtp-keyword[=esmtp-value]",
        ));
    }
    Ok(())
}

/// Text the caller puts on a command line can never carry CR, LF or
/// another control (no command injection).
fn checked_text(s: &str) -> Result<&str, ApiError> {
    if s.is_empty() || s.bytes().any(|b| b < b' ' || b == 0x7f) {
        Err(ApiError::InvalidArgument(
            "empty, or holds a control character",
        ))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(pieces: &[&[u8]]) -> Vec<u8> {
        let mut n = LineEnds::default();
        let mut out = Vec::new();
        for p in pieces {
            out.extend_from_slice(&n.normalise(Bytes::copy_from_slice(p)));
        }
        out
    }

    #[test]
    fn line_ends_become_crlf_across_pieces_rfc5321_2_3_8() {
        assert_eq!(normalised(&[b"a\nb\rc\r\nd"]), b"a\r\nb\r\nc\r\nd");
        assert_eq!(normalised(&[b"a\r", b"\nb"]), b"a\r\nb");
        assert_eq!(normalised(&[b"a\r", b"\n", b"\nb"]), b"a\r\n\r\nb");
        assert_eq!(normalised(&[b"a\r", b"", b"\nb"]), b"a\r\nb");
        assert_eq!(normalised(&[b"a\r", b"\r\n"]), b"a\r\n\r\n");
        assert_eq!(normalised(&[b"\n\n"]), b"\r\n\r\n");
        // Every split of the same content gives the same bytes.
        let whole: &[u8] = b"x\ry\n\r\nz\r\r\n\n.";
        for at in 0..=whole.len() {
            let (a, b) = whole.split_at(at);
            assert_eq!(normalised(&[a, b]), normalised(&[whole]), "split at {at}");
        }
    }

    #[test]
    fn crlf_len_counts_bare_cr_and_lf() {
        assert_eq!(crlf_len(b"a\r\nb"), 4);
        assert_eq!(crlf_len(b"a\nb"), 4);
        assert_eq!(crlf_len(b"a\rb"), 4);
        assert_eq!(crlf_len(b"a\r\r\n"), 5);
        assert_eq!(crlf_len(b"\n\n"), 4);
        assert_eq!(crlf_len(b""), 0);
    }
}
