//! The I/O-free half of a connection, shared by the tokio and blocking
//! drivers: the client machine, what its events said, how a session that
//! could not be set up failed, and the answer to ETRN or ATRN.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use bytes::{Buf, Bytes};

use crate::client::{AuthError, Client, CloseReason, Event, MessageId, MessageOutcome};
use crate::command::Etrn;
use crate::ehlo::Keyword;
use crate::reply::Reply;
use crate::values::Domain;

use super::endpoint::{Endpoint, Security};
use super::error::{Error, TlsError};
use super::reconnect::{self, Ended, Verdict};

/// One client session and what it reported.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) client: Client,
    /// Outcomes not yet taken (one message is in flight at a time).
    outcomes: Vec<MessageOutcome>,
    greeting: Option<Reply<'static>>,
    auth_failure: Option<(AuthError, Option<Reply<'static>>)>,
    /// The last EHLO reply offered STARTTLS.
    offered_starttls: bool,
    closed: Option<CloseReason>,
    /// The local I/O failure that ended the session.
    failure: Option<io::Error>,
    /// Why the STARTTLS handshake failed.
    tls_failure: Option<TlsError>,
    /// A message is in flight: if the driver is dropped mid-way, the
    /// session's state is unknown and it must not be reused.
    pub(super) busy: bool,
    /// The reply to the ETRN or ATRN in flight.
    reply: Option<Reply<'static>>,
    /// ATRN was accepted: the input after its `250`.
    pub(super) reversed: Option<Bytes>,
}

/// A command a transport sends besides messages.
#[derive(Debug)]
pub(super) enum Request {
    /// ETRN (RFC 1985).
    Etrn(Etrn<'static>),
    /// ATRN (RFC 2645).
    Atrn(Vec<Domain<'static>>),
}

impl Session {
    pub(super) fn new(endpoint: &Endpoint) -> Self {
        let mut client = Client::new(endpoint.config.clone());
        // SCRAM's client nonce (RFC 5802 §5.1): the machine draws none.
        let _ = client.set_sasl_nonce(&crate::runtime::sasl_nonce());
        if endpoint.implicit() {
            client.set_implicit_tls();
        }
        Self {
            client,
            outcomes: Vec::new(),
            greeting: None,
            auth_failure: None,
            offered_starttls: false,
            closed: None,
            failure: None,
            tls_failure: None,
            busy: false,
            reply: None,
            reversed: None,
        }
    }

    /// Takes the machine's events; `true` when the server accepted
    /// STARTTLS and the driver must perform the handshake now.
    pub(super) fn handle_events(&mut self) -> bool {
        while let Some(event) = self.client.poll_event() {
            match event {
                Event::StartTls => return true,
                Event::Greeting(reply) => self.greeting = Some(reply),
                Event::Capabilities(caps) => {
                    self.offered_starttls = caps.supports(Keyword::StartTls);
                }
                Event::AuthFailed { error, reply, .. } => self.auth_failure = Some((error, reply)),
                Event::Message(outcome) => self.outcomes.push(outcome),
                Event::Closed { reason } => self.closed = Some(reason),
                Event::CommandReply { reply, .. } => self.reply = Some(reply),
                Event::Reversed { leftover } => self.reversed = Some(leftover),
                _ => {}
            }
        }
        false
    }

    /// A local failure ended the connection: the session ends as if the
    /// server had closed it.
    pub(super) fn io_failed(&mut self, error: io::Error) {
        if self.failure.is_none() {
            self.failure = Some(error);
        }
        self.client.peer_closed();
        let _ = self.handle_events();
    }

    /// The STARTTLS handshake failed.
    pub(super) fn tls_failed(&mut self, error: TlsError) {
        self.tls_failure = Some(error);
        let _ = self.client.tls_failed();
        let _ = self.handle_events();
    }

    /// Set-up is over: the session is ready for a message, or closed.
    pub(super) fn settled(&self) -> bool {
        self.client.is_idle() || self.client.is_closed()
    }

    /// Ready for a message.
    pub(super) fn usable(&self) -> bool {
        !self.busy && self.client.is_idle()
    }

    /// The result of set-up, once [`Session::settled`].
    pub(super) fn setup_result(&mut self, endpoint: &Endpoint) -> Result<(), Error> {
        if self.client.is_idle() {
            return Ok(());
        }
        if let Some((error, reply)) = self.auth_failure.take() {
            return Err(Error::Auth { error, reply });
        }
        if let Some(e) = self.tls_failure.take() {
            return Err(Error::Tls(e));
        }
        let reason = self.closed.unwrap_or(CloseReason::PeerClosed);
        if endpoint.security == Security::Required
            && !self.client.is_tls()
            && reason == CloseReason::Quit
        {
            // The session quit on its own: STARTTLS was required and not
            // had (RFC 3207 §4).
            return Err(Error::Tls(if self.offered_starttls {
                TlsError::Refused
            } else {
                TlsError::NotOffered
            }));
        }
        let reply = match &self.greeting {
            Some(g) if g.code().get() != 220 => Some(g.clone()),
            _ => None,
        };
        Err(Error::Protocol {
            reason,
            reply,
            source: self.failure.take(),
        })
    }

    /// Sends `request` when the server offered its extension; refuses it
    /// locally otherwise ([`Error::NotOffered`]: nothing is sent).
    pub(super) fn request(&mut self, request: Request) -> Result<(), Error> {
        let keyword = match &request {
            Request::Etrn(_) => Keyword::Etrn,
            Request::Atrn(_) => Keyword::Atrn,
        };
        let caps = self.client.capabilities();
        if !caps.is_some_and(|c| c.supports(keyword)) {
            return Err(Error::NotOffered(keyword));
        }
        self.reply = None;
        match request {
            Request::Etrn(node) => self.client.etrn(node)?,
            Request::Atrn(domains) => self.client.atrn(domains)?,
        }
        self.busy = true;
        Ok(())
    }

    /// The request was answered, or the session ended.
    pub(super) fn answered(&self) -> bool {
        self.reply.is_some() || self.reversed.is_some() || self.client.is_closed()
    }

    /// The answer to the request, once [`Session::answered`]: a positive
    /// reply, or [`Error::Refused`] with a negative one, or how the
    /// session ended.
    pub(super) fn answer(&mut self) -> Result<Reply<'static>, Error> {
        self.busy = false;
        match self.reply.take() {
            Some(reply) if reply.code().is_positive() => Ok(reply),
            Some(reply) => Err(Error::Refused(reply)),
            None => Err(self.ended()),
        }
    }

    /// How the session ended, as an error.
    pub(super) fn ended(&mut self) -> Error {
        Error::Protocol {
            reason: self.closed.unwrap_or(CloseReason::PeerClosed),
            reply: None,
            source: self.failure.take(),
        }
    }

    /// The outcome of message `id`, once it came.
    fn take_outcome(&mut self, id: MessageId) -> Option<MessageOutcome> {
        let at = self.outcomes.iter().position(|o| o.id == id)?;
        Some(self.outcomes.swap_remove(at))
    }

    /// Whether the outcome of `id` came.
    pub(super) fn has_outcome(&self, id: MessageId) -> bool {
        self.outcomes.iter().any(|o| o.id == id)
    }

    /// What becomes of message `id` after the driver ran the session
    /// until its outcome came, or until the session ended.
    pub(super) fn verdict(&mut self, id: MessageId) -> Verdict {
        let ended = Ended {
            reason: self.closed,
            source: self.failure.take(),
            auth_reply: self.auth_failure.take().and_then(|(_, r)| r),
        };
        match self.take_outcome(id) {
            Some(outcome) => reconnect::verdict(outcome, ended),
            // Not reached: every message ends in an outcome, and drivers
            // run the session until it or the end.
            None => Verdict::Retry(Error::Protocol {
                reason: ended.reason.unwrap_or(CloseReason::PeerClosed),
                reply: None,
                source: ended.source,
            }),
        }
    }
}

/// A reversed connection that is gone: there is nothing to connect to.
pub(super) fn gone() -> Error {
    Error::Protocol {
        reason: CloseReason::PeerClosed,
        reply: None,
        source: None,
    }
}

/// A reversed connection that failed as it was taken over.
pub(super) fn lost(source: io::Error) -> Error {
    Error::Protocol {
        reason: CloseReason::PeerClosed,
        reply: None,
        source: Some(source),
    }
}

/// Output taken from the machine and not written yet. Written with
/// vectored I/O, so message content goes out from the machine's `Bytes`
/// without a copy, and small pieces (commands, content cut where a dot
/// was stuffed) still leave in one system call.
#[derive(Debug, Default)]
pub(super) struct Gather {
    pieces: VecDeque<Bytes>,
    len: usize,
}

/// Octets taken from the machine before they are written.
const GATHER_OCTETS: usize = 256 * 1024;
/// Pieces handed to one vectored write (well under any `IOV_MAX`).
const GATHER_PIECES: usize = 64;

impl Gather {
    /// Takes output from the machine up to a bound; `false` when it had
    /// none.
    pub(super) fn fill(&mut self, client: &mut Client) -> bool {
        let before = self.pieces.len();
        while self.len < GATHER_OCTETS {
            let Some(piece) = client.poll_transmit() else {
                break;
            };
            if !piece.is_empty() {
                self.len += piece.len();
                self.pieces.push_back(piece);
            }
        }
        self.pieces.len() > before
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The next pieces, for one vectored write.
    pub(super) fn slices(&self) -> Vec<IoSlice<'_>> {
        self.pieces
            .iter()
            .take(GATHER_PIECES)
            .map(|b| IoSlice::new(b))
            .collect()
    }

    /// `n` octets were written.
    pub(super) fn advance(&mut self, mut n: usize) {
        self.len = self.len.saturating_sub(n);
        while n > 0 {
            let Some(front) = self.pieces.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.pieces.pop_front();
        }
    }

    pub(super) fn clear(&mut self) {
        self.pieces.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Gather;
    use bytes::Bytes;

    #[test]
    fn gather_advances_across_pieces() {
        let mut g = Gather::default();
        for p in [
            "MAIL FROM:<a@b>\r\n",
            "",
            "RCPT TO:<c@d>\r\n",
            "BDAT 2 LAST\r\nhi",
        ] {
            if !p.is_empty() {
                g.len += p.len();
                g.pieces.push_back(Bytes::from_static(p.as_bytes()));
            }
        }
        assert_eq!(g.slices().len(), 3);
        g.advance(5);
        assert_eq!(&*g.slices()[0], b"FROM:<a@b>\r\n");
        g.advance(12 + 5);
        assert_eq!(&*g.slices()[0], b"TO:<c@d>\r\n");
        g.advance(10 + 13);
        assert_eq!(&*g.slices()[0], b"hi");
        g.advance(2);
        assert!(g.is_empty());
        assert_eq!(g.len, 0);
    }
}
