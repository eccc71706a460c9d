//! The in-memory client↔server pair: this crate's `Client` driven against
//! its `Server` under a simulated clock, with both directions recorded.
//!
//! Tests, fuzz targets and benches that want a whole session without a
//! socket build a [`Pair`], queue work on `pair.client`, and call
//! [`Pair::run`] until neither machine makes progress. Time only moves
//! with [`Pair::advance`], so the RFC 5321 §4.5.3.2 timeouts are tested
//! without sleeping.

use std::fmt;
use std::time::{Duration, Instant};

use crate::client::{self, Client, ClientConfig, MessageOutcome};
use crate::reply::Reply;
use crate::server::{self, Server, ServerConfig};

/// What the simulated server application answers to a decision event.
pub enum Decision {
    /// `server.accept()`.
    Accept,
    /// `server.deny()`.
    Deny,
    /// `server.respond(reply)`.
    Respond(Reply<'static>),
    /// One reply per accepted recipient, for an LMTP end of message
    /// (RFC 2033 §4.2).
    Lmtp(Vec<Reply<'static>>),
    /// Leave it unanswered (to test timeouts); the round stops there.
    Hold,
    /// Shut the server down with a 421 (RFC 5321 §3.8).
    Shutdown,
    /// Answer through the server itself (a view such as the SCRAM
    /// look-up's).
    With(Box<dyn FnOnce(&mut Server)>),
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Accept => f.write_str("Accept"),
            Decision::Deny => f.write_str("Deny"),
            Decision::Respond(r) => f.debug_tuple("Respond").field(r).finish(),
            Decision::Lmtp(rs) => f.debug_tuple("Lmtp").field(rs).finish(),
            Decision::Hold => f.write_str("Hold"),
            Decision::Shutdown => f.write_str("Shutdown"),
            Decision::With(_) => f.write_str("With(..)"),
        }
    }
}

/// Which machine wrote a run of octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client machine.
    Client,
    /// The server machine.
    Server,
}

type Policy = Box<dyn FnMut(&server::Event) -> Decision>;

/// A client and a server connected back to back in memory.
///
/// Every server decision goes to the [`policy`](Pair::with_policy)
/// (accept all by default); a `StartTls` seen on both sides is completed
/// as if the handshake succeeded. Unless [`quiet`](Pair::quiet), both
/// directions of the wire, each client write, every server event (as its
/// `Debug` text) and each stored message are kept for assertions.
pub struct Pair {
    /// The client machine.
    pub client: Client,
    /// The server machine.
    pub server: Server,
    /// The simulated clock's start.
    pub base: Instant,
    /// The simulated clock: what both machines were last told the time is.
    pub now: Instant,
    /// Every octet the client wrote.
    pub c2s: Vec<u8>,
    /// Each client write (all its `poll_transmit` buffers of one round),
    /// separately: where pipelining groups commands (RFC 2920 §3.1).
    pub c2s_writes: Vec<Vec<u8>>,
    /// Every octet the server wrote.
    pub s2c: Vec<u8>,
    /// Both directions in the order they were written: each entry is
    /// everything one side wrote in one round (the rest of the other
    /// side's writes came before or after it, never inside).
    pub wire: Vec<(Side, Vec<u8>)>,
    /// Every client event, in order (kept even when quiet).
    pub client_events: Vec<client::Event>,
    /// Every server event as its `Debug` text, in order.
    pub server_events: Vec<String>,
    /// Content the server handed out, one entry per message end.
    pub stored: Vec<Vec<u8>>,
    current: Vec<u8>,
    policy: Policy,
    record: bool,
    client_tls: bool,
    server_tls: bool,
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pair")
            .field("elapsed", &(self.now - self.base))
            .field("c2s", &String::from_utf8_lossy(&self.c2s))
            .field("s2c", &String::from_utf8_lossy(&self.s2c))
            .field("client_events", &self.client_events)
            .field("server_events", &self.server_events)
            .finish_non_exhaustive()
    }
}

impl Pair {
    /// Fresh machines built from the two configurations; the clock starts
    /// at the current instant (only as an origin: it never moves by
    /// itself).
    pub fn new(client: ClientConfig, server: ServerConfig) -> Self {
        Self::from_machines(Client::new(client), Server::new(server), Instant::now())
    }

    /// Machines the caller built or already drove (a reversed session
    /// fed its leftover bytes, for example), with the clock at `now`.
    pub fn from_machines(client: Client, server: Server, now: Instant) -> Self {
        Pair {
            client,
            server,
            base: now,
            now,
            c2s: Vec::new(),
            c2s_writes: Vec::new(),
            s2c: Vec::new(),
            wire: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            stored: Vec::new(),
            current: Vec::new(),
            policy: Box::new(|_| Decision::Accept),
            record: true,
            client_tls: false,
            server_tls: false,
        }
    }

    /// Answers each server decision with `policy` instead of accepting.
    pub fn with_policy(mut self, policy: impl FnMut(&server::Event) -> Decision + 'static) -> Self {
        self.policy = Box::new(policy);
        self
    }

    /// Keeps no wire copies, server event texts or stored content (client
    /// events are still kept): for long runs where only the outcomes
    /// matter. Not for benches of the machines: even quiet, the driver's
    /// bookkeeping costs about a third more time than a bare loop
    /// (BENCHMARKS.md, "The in-memory pair in a bench").
    pub fn quiet(mut self) -> Self {
        self.record = false;
        self
    }

    /// Runs both machines until neither makes progress. Each round gives
    /// both the time first, as a driver does when it wakes.
    ///
    /// # Panics
    ///
    /// When the machines are still busy after 100,000 rounds (a loop), or
    /// when the machines refuse an answer the policy chose.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            if !self.round() {
                return;
            }
        }
        panic!("no quiescence after 100,000 rounds: {self:?}");
    }

    /// One round: time, server events, server output, client events, the
    /// simulated TLS handshake, client output. Whether anything moved.
    fn round(&mut self) -> bool {
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        let mut progress = false;
        while let Some(e) = self.server.poll_event() {
            progress = true;
            if self.record {
                self.server_events.push(format!("{e:?}"));
            }
            match &e {
                server::Event::Content(c) if self.record => self.current.extend_from_slice(c),
                server::Event::MessageEnd { .. } if self.record => {
                    self.stored.push(std::mem::take(&mut self.current))
                }
                server::Event::MessageAborted { .. } => self.current.clear(),
                server::Event::StartTls => self.server_tls = true,
                _ => {}
            }
            if e.needs_decision() && !self.decide(&e) {
                break;
            }
        }
        let mut reply = Vec::new();
        while let Some(b) = self.server.poll_transmit() {
            progress = true;
            if self.record {
                reply.extend_from_slice(&b);
            }
            self.client.receive(&b);
        }
        if !reply.is_empty() {
            self.s2c.extend_from_slice(&reply);
            self.wire.push((Side::Server, reply));
        }
        while let Some(e) = self.client.poll_event() {
            progress = true;
            if matches!(e, client::Event::StartTls) {
                self.client_tls = true;
            }
            self.client_events.push(e);
        }
        // The simulated TLS handshake: both sides reached it.
        if self.client_tls && self.server_tls {
            self.client_tls = false;
            self.server_tls = false;
            self.server.tls_established().expect("server awaits TLS");
            self.client.tls_established().expect("client awaits TLS");
            progress = true;
        }
        let mut write = Vec::new();
        while let Some(b) = self.client.poll_transmit() {
            if self.record {
                write.extend_from_slice(&b);
            } else {
                // Quiet: each buffer goes over as it is, without a copy.
                self.server.receive(&b);
                progress = true;
            }
        }
        if !write.is_empty() {
            progress = true;
            self.server.receive(&write);
            self.c2s.extend_from_slice(&write);
            self.c2s_writes.push(write.clone());
            self.wire.push((Side::Client, write));
        }
        progress
    }

    /// Applies the policy to a decision event; false when it is held.
    fn decide(&mut self, e: &server::Event) -> bool {
        match (self.policy)(e) {
            Decision::Accept => self.server.accept().expect("accept"),
            Decision::Deny => self.server.deny().expect("deny"),
            Decision::Respond(r) => self.server.respond(&r).expect("respond"),
            Decision::Lmtp(rs) => self
                .server
                .decision()
                .expect("a decision is pending")
                .lmtp()
                .expect("an LMTP end of message")
                .respond_each(&rs)
                .expect("one reply per recipient"),
            Decision::Hold => return false,
            Decision::Shutdown => self.server.shutdown("bye"),
            Decision::With(answer) => answer(&mut self.server),
        }
        true
    }

    /// Moves the clock by `d`, lets both machines see it, and runs.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.run();
    }

    /// The outcome of each message the client reported, in order.
    pub fn outcomes(&self) -> Vec<&MessageOutcome> {
        self.client_events
            .iter()
            .filter_map(|e| match e {
                client::Event::Message(m) => Some(m),
                _ => None,
            })
            .collect()
    }

    /// What the client wrote, as text (invalid UTF-8 replaced).
    pub fn c2s_text(&self) -> String {
        String::from_utf8_lossy(&self.c2s).into_owned()
    }

    /// What the server wrote, as text (invalid UTF-8 replaced).
    pub fn s2c_text(&self) -> String {
        String::from_utf8_lossy(&self.s2c).into_owned()
    }

    /// Both directions as text, one line per wire line: `C: ` or `S: `
    /// before each, with `C> ` / `S> ` marking the first line of each
    /// write (so pipelined groups, RFC 2920 §3.1, show), and CR LF written
    /// as `\r\n` so a bare CR or LF stands out.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for (side, bytes) in &self.wire {
            let who = match side {
                Side::Client => 'C',
                Side::Server => 'S',
            };
            for (i, line) in String::from_utf8_lossy(bytes)
                .split_inclusive("\r\n")
                .enumerate()
            {
                out.push(who);
                out.push_str(if i == 0 { "> " } else { ": " });
                out.push_str(&line.replace('\r', "\\r").replace('\n', "\\n"));
                out.push('\n');
            }
        }
        out
    }

    /// Why the client closed, once it has.
    pub fn closed_reason(&self) -> Option<client::CloseReason> {
        self.client_events.iter().find_map(|e| match e {
            client::Event::Closed { reason } => Some(*reason),
            _ => None,
        })
    }
}
