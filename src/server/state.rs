//! The session machine's own state: the phase it is in, what the session
//! and the current transaction have established, and the core that the
//! sibling files drive.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::decision::Pending;
use super::transaction::Refusal;
use super::{ahead, auth, forward};
use super::{AbortReason, CloseReason, Event, HelloVerb, ServerConfig};
use crate::data::{BareCheck, ChunkDecoder, DotDecoder};
use crate::ext::body::Body;
use crate::timer::Timer;

pub(super) struct Core {
    pub(super) config: Arc<ServerConfig>,
    /// Replies not yet taken by `poll_transmit`.
    pub(super) tx: Vec<u8>,
    pub(super) phase: Phase,
    pub(super) pending: Option<Pending>,
    pub(super) session: Session,
    pub(super) transaction: Option<Transaction>,
    /// Content handed out that the application has not seen end or abort.
    pub(super) content_open: bool,
    /// A `MessageAborted` event owed before anything else.
    pub(super) abort_owed: Option<AbortReason>,
    /// Events owed next: the content the application supplied for a BURL,
    /// and the end of the message a BURL LAST ended. Made on the first
    /// BURL: most sessions never need it, and the machine stays small.
    #[allow(clippy::box_collection)] // 8 octets in `Server`, not 32
    pub(super) owed: Option<Box<VecDeque<Event>>>,
    pub(super) timer: Timer,
    /// Mixed into CRAM-MD5 challenges.
    pub(super) nonce: u64,
    /// The connection's channel-binding data, for SCRAM `-PLUS` (RFC 5802
    /// §6), from the driver.
    pub(super) channel_binding: Option<Box<crate::sasl::ChannelBinding>>,
    /// XCLIENT and XFORWARD: what is authorised, the attributes in force.
    pub(super) forwarding: forward::Forwarding,
}

#[derive(Debug, Default)]
pub(super) struct Session {
    pub(super) hello: Option<HelloVerb>,
    pub(super) tls: bool,
    pub(super) authenticated: bool,
    pub(super) auth_failures: u32,
    pub(super) errors: u32,
    pub(super) transactions: u32,
    pub(super) auth_exchanges: u64,
    /// VERB was accepted (sendmail's verbose mode).
    pub(super) verbose: bool,
    /// ONEX was accepted: one transaction only from then on.
    pub(super) onex: bool,
    /// A MAIL was accepted after ONEX.
    pub(super) onex_spent: bool,
}

#[derive(Debug, Default)]
pub(super) struct Transaction {
    pub(super) smtputf8: bool,
    pub(super) body: Option<Body>,
    pub(super) rcpt_commands: u32,
    pub(super) accepted: u32,
    /// BDAT or BURL carried content: DATA and RCPT are out of sequence.
    pub(super) used_bdat: bool,
    /// The message size so far with BDAT and BURL, restart offset included.
    pub(super) bdat_size: u64,
    /// A BDAT or BURL failed: the state is indeterminate until RSET (RFC
    /// 3030 §2, RFC 4468 §3.2).
    pub(super) bdat_failed: bool,
    /// CHECKPOINT restarted the transaction with this many octets already
    /// held (RFC 1845 §3): the content received continues from there.
    pub(super) restart: u64,
    /// Bare CR / LF / NUL in BDAT text, across chunks.
    pub(super) bare: BareCheck,
    /// When the message's content began (the 354 to DATA or the first
    /// BDAT), at the latest time the session was given, for
    /// [`Timeouts::message`].
    pub(super) content_started: Option<Instant>,
}

#[derive(Debug)]
pub(super) enum Phase {
    /// Waiting for the PROXY protocol header, before anything else
    /// ([`ServerConfig::proxy_protocol`]).
    Proxy,
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
    /// DATA content: the decoder, and what [`Server::receive`] decoded
    /// ahead.
    Data(DotDecoder, ahead::Ahead),
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
